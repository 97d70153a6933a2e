import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { silentLogger } from '../logger.js';
import { FaultEngine, matches } from './engine.js';
import type { FaultPoint } from './engine.js';
import { FaultRuleError, RPC_ACTIONS, STATUS_ACTIONS } from './rule.js';
import { parseFaultRule } from './rule-reach.js';
import { rpcPoint } from './rpc-faults.js';
import { phasePoint } from './task-faults.js';
import { VERBS } from '@vdsm-kit/client/api';

const IMG = '11111111-1111-4111-8111-111111111111';
const SD = '22222222-2222-4222-8222-222222222222';

function engine(seed = 7): FaultEngine {
  return new FaultEngine({ seed, clock: new ManualClock(), logger: silentLogger });
}

const SRC = '33333333-3333-4333-8333-333333333333';
const SP = '44444444-4444-4444-8444-444444444444';
/** A real `Image.move` call's params, as the verb's schema parses them. */
const moveParams = (operation: number): Record<string, unknown> =>
  VERBS['Image.move'].params.parse({ storagepoolID: SP, storagedomainID: SRC, dstSdUUID: SD, imageID: IMG, operation, postZero: false, force: false });
const move = (params: Record<string, unknown> = {}, host = 1): FaultPoint => rpcPoint(host, 'Image.move', params);

describe('faults/rule', () => {
  it('accepts every documented action and tells kinds apart', () => {
    expect(parseFaultRule({ match: { method: 'Image.move' }, action: { error: 261 } }).action).to.deep.equal({ error: 261 });
    expect(parseFaultRule({ action: { failAt: 0.63, error: 261 } }).action).to.deep.equal({ failAt: 0.63, error: 261 });
    expect(parseFaultRule({ action: { finish: 'cleanFailure', error: 410 } }).match).to.deep.equal({});
    expect(parseFaultRule({ action: { slowBytes: 100 }, times: 2, after: 1, probability: 0.5 }).times).to.equal(2);
  });

  it('lists every issue with its path', () => {
    const attempt = (rule: unknown): string[] => {
      try {
        parseFaultRule(rule);
      } catch (error) {
        expect(error).to.be.instanceOf(FaultRuleError);
        return [...(error as FaultRuleError).issues];
      }
      throw new Error('accepted');
    };
    const issues = attempt({ match: { host: 0, task: { phase: 'dance' } }, action: { failAt: 2, error: 'x' }, times: 0 });
    expect(issues.some((line) => line.startsWith('match.host:'))).to.equal(true);
    expect(issues.some((line) => line.startsWith('match.task.phase:'))).to.equal(true);
    expect(issues.some((line) => line.startsWith('action.failAt:'))).to.equal(true);
    expect(issues.some((line) => line.startsWith('action.error:'))).to.equal(true);
    expect(issues.some((line) => line.startsWith('times:'))).to.equal(true);
    expect(attempt({ action: { delayMs: 5, noAnswer: true } })[0]).to.match(/^action: must have exactly one action key .*found delayMs, noAnswer/);
    expect(attempt({ action: {} })[0]).to.match(/found none/);
    expect(attempt({ action: { delayMs: 5, extra: 1 } })[0]).to.match(/^action/);
    expect(attempt({ match: { methd: 'x' }, action: { hang: true } })[0]).to.match(/^match/);
  });
});

describe('faults/engine', () => {
  it('matches a real Image.move call on method, params, host, either domain and image', () => {
    const point = move(moveParams(2), 2);
    expect(matches({ method: 'Image.move', host: 2 }, point)).to.equal(true);
    expect(matches({ method: 'moveImage' }, point)).to.equal(false);
    expect(matches({ host: 1 }, point)).to.equal(false);
    expect(matches({ params: { operation: 2 } }, point)).to.equal(true);
    expect(matches({ params: { operation: 1 } }, point)).to.equal(false);
    expect(matches({ domain: SD, image: IMG }, point)).to.equal(true);
    expect(matches({ domain: SRC }, point)).to.equal(true);
    expect(matches({ domain: SP }, point)).to.equal(false);
    expect(matches({ task: { kind: 'moveImage' } }, point)).to.equal(false);
  });

  it('matches the task point of a move by the JSON-RPC method and params that started it', () => {
    const task = { taskId: 't1', kind: 'moveImage', method: 'Image.move', params: moveParams(2), host: 1 };
    const copy = phasePoint(task, 'copy', { domain: SD, image: IMG });
    expect(matches({ method: 'Image.move', host: 1, params: { storagedomainID: SRC } }, copy)).to.equal(true);
    expect(matches({ method: 'moveImage' }, copy)).to.equal(false);
    expect(matches({ host: 2 }, copy)).to.equal(false);
    expect(matches({ task: { kind: 'moveImage', phase: 'copy' }, image: IMG }, copy)).to.equal(true);
    expect(matches({ task: { kind: 'moveImage', phase: 'delete' } }, copy)).to.equal(false);
  });

  it('takes the first rule in order that fires, and only the asked kinds', () => {
    const faults = engine();
    faults.add({ id: 'hide', match: {}, action: { hideForPolls: 2 } });
    faults.add({ id: 'a', match: { method: 'Image.move' }, action: { error: 261 } });
    faults.add({ id: 'b', match: { method: 'Image.move' }, action: { error: 262 } });
    expect(faults.fire(move(), RPC_ACTIONS)?.ruleId).to.equal('a');
    expect(faults.fire(move(), RPC_ACTIONS)?.ruleId).to.equal('a');
    expect(faults.fire({ layer: 'rpc', method: 'Image.delete' }, RPC_ACTIONS)).to.equal(undefined);
    expect(faults.remove('a')).to.equal(true);
    expect(faults.remove('a')).to.equal(false);
    expect(faults.fire(move(), RPC_ACTIONS)?.action).to.deep.equal({ error: 262 });
    expect(faults.list().map((rule) => rule.id)).to.deep.equal(['hide', 'b']);
  });

  it('skips the first `after` matches and stops after `times`, then lets the next rule fire', () => {
    const faults = engine();
    faults.add({ id: 'n', match: { method: 'Task.clear' }, action: { error: 410 }, after: 1, times: 2 });
    faults.add({ id: 'rest', match: { method: 'Task.clear' }, action: { delayMs: 10 } });
    const ids = Array.from({ length: 5 }, () => faults.fire({ layer: 'rpc', method: 'Task.clear' }, RPC_ACTIONS)?.ruleId);
    expect(ids).to.deep.equal(['rest', 'n', 'n', 'rest', 'rest']);
    expect(faults.status()[0]).to.include({ matched: 5, fired: 2, spent: true });
  });

  it('draws probabilities from the seed: same seed, same firings', () => {
    const run = (seed: number): boolean[] => {
      const faults = engine(seed);
      faults.add({ match: { method: 'Image.move' }, action: { error: 261 }, probability: 0.5 });
      return Array.from({ length: 64 }, () => faults.fire(move(), RPC_ACTIONS) !== undefined);
    };
    const first = run(42);
    expect(run(42)).to.deep.equal(first);
    expect(run(43)).to.not.deep.equal(first);
    const count = first.filter(Boolean).length;
    expect(count).to.be.within(16, 48);
    // reseed restarts the stream
    const faults = engine(42);
    faults.add({ match: { method: 'Image.move' }, action: { error: 261 }, probability: 0.5 });
    for (let i = 0; i < 10; i++) faults.fire(move(), RPC_ACTIONS);
    faults.reseed(42);
    expect(Array.from({ length: 64 }, () => faults.fire(move(), RPC_ACTIONS) !== undefined)).to.deep.equal(first);
  });

  it('draws nothing for a rule that does not match, so unrelated calls do not shift the stream', () => {
    const faults = engine(5);
    faults.add({ match: { method: 'Image.move' }, action: { error: 261 }, probability: 0.5 });
    const plain = engine(5);
    plain.add({ match: { method: 'Image.move' }, action: { error: 261 }, probability: 0.5 });
    const a: boolean[] = [];
    const b: boolean[] = [];
    for (let i = 0; i < 32; i++) {
      faults.fire({ layer: 'rpc', method: 'Host.ping2' }, RPC_ACTIONS);
      a.push(faults.fire(move(), RPC_ACTIONS) !== undefined);
      b.push(plain.fire(move(), RPC_ACTIONS) !== undefined);
    }
    expect(a).to.deep.equal(b);
  });

  it('logs every firing with clock time, wall time, rule, layer, point and action', () => {
    const clock = new ManualClock();
    const faults = new FaultEngine({ seed: 1, clock, logger: silentLogger, rules: [{ id: 'x', match: { method: 'Image.move' }, action: { noAnswer: true } }] });
    clock.advance(1234);
    const point = move({ imageID: IMG });
    faults.fire(point, RPC_ACTIONS);
    const [firing] = faults.log();
    expect(firing).to.include({ seq: 1, time: clock.now(), ruleId: 'x', layer: 'rpc', kind: 'noAnswer' });
    expect(firing?.point).to.deep.equal(point);
    expect(firing?.action).to.deep.equal({ noAnswer: true });
    expect(Date.parse(firing?.at ?? '')).to.be.closeTo(Date.now(), 5000);
    faults.reset();
    expect(faults.log()).to.deep.equal([]);
    expect(faults.list()).to.deep.equal([]);
  });

  it('assigns ids and refuses a duplicate', () => {
    const faults = engine();
    const rule = faults.add({ action: { hang: true } });
    expect(rule.id).to.equal('fault-1');
    expect(() => faults.add({ id: 'fault-1', action: { hang: true } })).to.throw(/already exists/);
    expect(() => faults.add({ action: { bogus: true } })).to.throw(FaultRuleError);
  });

  it('fires a status rule once per batch (poll) for every task it matches, K polls at most', () => {
    const faults = engine();
    faults.add({ id: 'hide', match: { task: { kind: 'moveImage' } }, action: { hideForPolls: 2 }, times: 5 });
    const poll = [
      { layer: 'status', taskId: 't1', kind: 'moveImage' },
      { layer: 'status', taskId: 't2', kind: 'purgeImage' },
      { layer: 'status', taskId: 't3', kind: 'moveImage' },
    ] as const;
    const hidden = (): (string | undefined)[] => faults.fireBatch(poll, STATUS_ACTIONS).map((fault) => fault?.ruleId);
    expect(hidden()).to.deep.equal(['hide', undefined, 'hide']);
    expect(hidden()).to.deep.equal(['hide', undefined, 'hide']);
    expect(hidden()).to.deep.equal([undefined, undefined, undefined]);
    expect(faults.log().map((firing) => firing.taskIds)).to.deep.equal([['t1', 't3'], ['t1', 't3']]);
  });

  it('decides a domain condition once per operation: after, times and probability count operations', () => {
    const faults = engine();
    faults.add({ id: 'full', match: { domain: SD }, action: { domainFull: true }, after: 1, times: 1 });
    const check = (operation: string): string | undefined => faults.fire({ layer: 'domain', domain: SD, operation }, ['domainFull'])?.ruleId;
    // The first operation is spared by `after`, however often it checks.
    expect([check('op1'), check('op1')]).to.deep.equal([undefined, undefined]);
    // The second gets the condition for every check it makes, counted once.
    expect([check('op2'), check('op2'), check('op2')]).to.deep.equal(['full', 'full', 'full']);
    expect(faults.status()[0]).to.include({ matched: 2, fired: 1, spent: true });
    expect(check('op3')).to.equal(undefined);
    expect(faults.log()).to.have.length(1);
  });

  it('lets a task rule without a phase decide once per task, at its first phase', () => {
    const faults = engine();
    faults.add({ id: 'slow', match: { method: 'Image.move' }, action: { phaseDelayMs: 5 }, after: 1 });
    const task = (taskId: string) => ({ taskId, kind: 'moveImage', method: 'Image.move' });
    const enter = (taskId: string, phase: 'create' | 'copy'): string | undefined => faults.fire(phasePoint(task(taskId), phase), ['phaseDelayMs'])?.ruleId;
    expect([enter('t1', 'create'), enter('t1', 'copy')]).to.deep.equal([undefined, undefined]);
    expect([enter('t2', 'create'), enter('t2', 'copy')]).to.deep.equal(['slow', undefined]);
  });

  it('refuses a bad seed', () => {
    expect(() => engine(-1)).to.throw(RangeError);
    expect(() => engine().reseed(1.5)).to.throw(RangeError);
    expect(new FaultEngine({ clock: new ManualClock(), logger: silentLogger }).seed).to.be.a('number');
  });
});
