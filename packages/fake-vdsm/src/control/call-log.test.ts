/**
 * The call log behind a real RpcDispatcher: bodies as a client sends them,
 * the log read back as `GET /calls` returns it. The ring's bound and the
 * `since` cursor are checked with a small capacity.
 */
import { SCHEMA_METHODS } from '@vdsm-kit/client/api';
import { ManualClock, sleep } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { hostApi } from '../api/host.js';
import { ApiRegistry, emulate } from '../api/registry.js';
import type { CallContext } from '../api/registry.js';
import { FaultEngine } from '../faults/engine.js';
import { silentLogger } from '../logger.js';
import { RpcDispatcher } from '../server/rpc-dispatcher.js';
import { CallLog, MAX_RECORDED_PARAMS_CHARS } from './call-log.js';

const identity = { uuid: '2d1f2a4e-8a52-4bd4-9d38-1c8f7e6a0b11' };
const TASK_ID = '6b3e3c5e-2a54-4b0c-9d56-1f0f3a0d1e2a';

describe('CallLog', () => {
  let clock: ManualClock;
  let log: CallLog;
  let faults: FaultEngine;
  let dispatcher: RpcDispatcher;

  /** Task.getInfo answers after 100 ms of the fake's clock, so a call can be slow. */
  function setUp(capacity?: number): void {
    clock = new ManualClock(5000);
    log = new CallLog({ clock, ...(capacity === undefined ? {} : { capacity }) });
    faults = new FaultEngine({ clock, logger: silentLogger, seed: 1 });
    const registry = new ApiRegistry([
      hostApi({ identity }),
      {
        namespace: 'Task',
        verbs: [
          emulate('Task.getInfo', async ({ taskID }) => {
            await sleep(clock, 100);
            return { id: taskID, verb: 'moveImage' };
          }),
        ],
      },
    ]);
    dispatcher = new RpcDispatcher({
      registry,
      knownMethods: new Set(SCHEMA_METHODS),
      isReady: () => true,
      logger: silentLogger,
      faults,
      hostId: 2,
      interceptors: [log.interceptor(2)],
    });
  }

  const context: CallContext = { flowId: 'flow-7', connection: { transport: 'tcp', id: 41 } };
  const send = async (body: unknown): Promise<unknown> => dispatcher.prepare(JSON.stringify(body)).run(context);
  /** One request; `id` null sends a notification (no id). */
  const call = (method: string, params: unknown, id: string | number | null): Promise<unknown> =>
    send({ jsonrpc: '2.0', method, params, ...(id === null ? {} : { id }) });

  it('records each call with its host, connection, flow id, JSON-RPC id, params as sent and the code it answered', async () => {
    setUp();
    await call('Host.echo', { message: 'hi' }, 7);
    await call('Host.echo', {}, 'b'); // a missing param: -32602
    await call('Image.move', { imageID: 'x' }, 'c'); // known to VDSM, not emulated: 44
    const page = log.list();
    expect(page.calls.map((c) => [c.seq, c.method, c.code])).to.deep.equal([
      [1, 'Host.echo', 0],
      [2, 'Host.echo', -32602],
      [3, 'Image.move', 44],
    ]);
    const [first] = page.calls;
    expect(first).to.include({ host: 2, connection: 41, transport: 'tcp', flowId: 'flow-7', id: 7, at: 5000, durationMs: 0, paramsTruncated: false });
    expect(first?.params).to.deep.equal({ message: 'hi' });
    expect(Date.parse(first?.time ?? '')).to.be.a('number').and.not.NaN;
    expect(page.calls[2]?.params).to.deep.equal({ imageID: 'x' });
    expect(page).to.include({ next: 3, dropped: 0 });
  });

  it('numbers calls in the order they are answered, with the time they arrived on the fake clock and how long they took', async () => {
    setUp();
    const slow = call('Task.getInfo', { taskID: TASK_ID }, 'slow');
    clock.advance(30);
    await call('Host.ping2', {}, 'fast');
    expect(log.list().calls.map((c) => c.method)).to.deep.equal(['Host.ping2']);
    await clock.advanceAsync(100);
    await slow;
    const calls = log.list().calls;
    expect(calls.map((c) => [c.seq, c.method, c.at, c.durationMs])).to.deep.equal([
      [1, 'Host.ping2', 5030, 0],
      [2, 'Task.getInfo', 5000, 100],
    ]);
  });

  it('keeps code null for a call nothing was answered to: a noAnswer fault, a notification', async () => {
    setUp();
    faults.add({ match: { method: 'Host.ping2' }, action: { noAnswer: true } });
    expect(await call('Host.ping2', {}, 'lost')).to.equal(undefined);
    await call('Host.echo', { message: 'n' }, null);
    expect(log.list().calls.map((c) => [c.method, c.id, c.code])).to.deep.equal([
      ['Host.ping2', 'lost', null],
      ['Host.echo', null, null],
    ]);
  });

  it('records every request of a batch, and no entry for a body that is not a call', async () => {
    setUp();
    await send([
      { jsonrpc: '2.0', method: 'Host.ping2', id: 1 },
      { jsonrpc: '1.0', method: 'Host.ping2', id: 2 },
      { jsonrpc: '2.0', method: 'Host.echo', params: { message: 'x' }, id: 3 },
    ]);
    await dispatcher.prepare('{"jsonrpc": ').run(context);
    expect(log.list().calls.map((c) => [c.method, c.id]).sort()).to.deep.equal([
      ['Host.echo', 3],
      ['Host.ping2', 1],
    ]);
  });

  it('cuts params whose JSON is longer than the bound, keeping its start as a string', async () => {
    setUp();
    const message = 'm'.repeat(MAX_RECORDED_PARAMS_CHARS * 2);
    await call('Host.echo', { message }, 'big');
    await call('Host.echo', { message: 'm'.repeat(MAX_RECORDED_PARAMS_CHARS - 20) }, 'fits');
    const [big, fits] = log.list().calls;
    expect(big?.paramsTruncated).to.equal(true);
    expect(big?.params).to.equal(JSON.stringify({ message }).slice(0, MAX_RECORDED_PARAMS_CHARS));
    expect(big?.code).to.equal(0);
    expect(fits?.paramsTruncated).to.equal(false);
    expect((fits?.params as { message: string }).message).to.have.length(MAX_RECORDED_PARAMS_CHARS - 20);
  });

  it('holds at most `capacity` calls, the newest, and says how many after the cursor are gone', async () => {
    setUp(3);
    for (let index = 1; index <= 5; index++) await call('Host.echo', { message: String(index) }, index);
    const page = log.list();
    expect(page.calls.map((c) => [c.seq, (c.params as { message: string }).message])).to.deep.equal([
      [3, '3'],
      [4, '4'],
      [5, '5'],
    ]);
    expect(page).to.include({ next: 5, dropped: 2 });
    expect(log.list({ since: 1 })).to.include({ dropped: 1 });
    expect(log.list({ since: 2 })).to.include({ dropped: 0 });
    expect(log.list({ since: 4 }).calls.map((c) => c.seq)).to.deep.equal([5]);
  });

  it('lets a poller page with since=next and see every call exactly once, across the ring wrapping and a clear', async () => {
    setUp(4);
    const seen: number[] = [];
    let since = 0;
    const poll = (): void => {
      const page = log.list({ since });
      expect(page.dropped).to.equal(0);
      seen.push(...page.calls.map((c) => c.seq));
      since = page.next;
    };
    for (let round = 0; round < 6; round++) {
      for (let index = 0; index < 3; index++) await call('Host.ping2', {}, `${round}-${index}`);
      poll();
    }
    expect(seen).to.deep.equal(Array.from({ length: 18 }, (_, index) => index + 1));
    poll();
    expect(seen).to.have.length(18);

    expect(log.clear()).to.equal(4);
    expect(log.list()).to.deep.equal({ calls: [], next: 18, dropped: 18 });
    await call('Host.ping2', {}, 'after-clear');
    poll();
    expect(seen.at(-1)).to.equal(19);
  });

  it('filters by method without moving the cursor off the newest call', async () => {
    setUp();
    await call('Image.move', { imageID: 'a' }, 1);
    await call('Host.ping2', {}, 2);
    await call('Image.move', { imageID: 'b' }, 3);
    await call('Host.ping2', {}, 4);
    const page = log.list({ method: 'Image.move' });
    expect(page.calls.map((c) => c.params)).to.deep.equal([{ imageID: 'a' }, { imageID: 'b' }]);
    expect(page.next).to.equal(4);
    expect(log.list({ method: 'Image.move', since: 1 }).calls.map((c) => c.seq)).to.deep.equal([3]);
  });

  it('refuses a capacity that is not a whole number from 1', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN, 2_000_000]) {
      expect(() => new CallLog({ clock: new ManualClock(), capacity }), String(capacity)).to.throw(RangeError);
    }
  });
});
