import { expect } from 'chai';
import { parseTaskStatus } from './task-status.js';
import { finishedOutcome } from './task-outcome.js';
import { ImageDoesNotExistInSDError, TaskAbortedError, VdsmError } from '../api/errors.js';

const ID = '5b7c8f0e-1d2a-4c3b-9e8f-0a1b2c3d4e5f';
const running = { taskID: ID, taskState: 'running', taskResult: '', code: 0, message: 'running job 1 of 1' };

describe('parseTaskStatus (engine-style entry parsing)', () => {
  it('accepts a VDSM status as sent', () => {
    expect(parseTaskStatus(ID, running)).to.deep.equal({ ok: true, status: running });
  });

  it('fills in taskID from the map key and parses a string code as the engine does', () => {
    const parsed = parseTaskStatus(ID, { taskState: 'finished', taskResult: 'success', code: '0', message: 'OK' });
    expect(parsed).to.deep.equal({ ok: true, status: { taskID: ID, taskState: 'finished', taskResult: 'success', code: 0, message: 'OK' } });
  });

  const bad: Array<[string, unknown]> = [
    ['null', null],
    ['an array', [running]],
    ['a string', 'running'],
    ['an internal state name', { ...running, taskState: 'preparing' }],
    ['no taskState', { taskResult: '', code: 0, message: '' }],
    ['no taskResult', { taskState: 'running', code: 0, message: '' }],
    ['an unknown taskResult', { ...running, taskResult: 'failure' }],
    ['finished without a result', { ...running, taskState: 'finished' }],
    ['no code', { taskState: 'running', taskResult: '', message: '' }],
    ['a fractional code', { ...running, code: 1.5 }],
    ['a non-integer string code', { ...running, code: '12abc' }],
    ['a null message', { ...running, message: null }],
    ['a taskID naming another task', { ...running, taskID: 'another' }],
  ];
  for (const [what, raw] of bad) {
    it(`refuses ${what}`, () => {
      const parsed = parseTaskStatus(ID, raw);
      expect(parsed.ok).to.equal(false);
      if (!parsed.ok) expect(parsed.reason).to.be.a('string').and.not.equal('');
    });
  }
});

describe('finishedOutcome', () => {
  it('is a success only for success + code 0', () => {
    const status = { taskID: ID, taskState: 'finished', taskResult: 'success', code: 0, message: '1 jobs completed successfully' } as const;
    expect(finishedOutcome(status)).to.deep.equal({ kind: 'success', taskId: ID, status });
  });

  it('fails cleanSuccess with a typed error from the code and message', () => {
    const message = "value=Image does not exist in domain: 'image=I, domain=S' abortedcode=268";
    const outcome = finishedOutcome({ taskID: ID, taskState: 'finished', taskResult: 'cleanSuccess', code: 268, message });
    expect(outcome.kind).to.equal('failure');
    if (outcome.kind !== 'failure') return;
    expect(outcome).to.include({ result: 'cleanSuccess', code: 268, message });
    expect(outcome.error).to.be.instanceOf(ImageDoesNotExistInSDError);
    expect(outcome.error.message).to.equal(message);
  });

  it('fails cleanSuccess even with code 0, and success with a nonzero code', () => {
    const clean = finishedOutcome({ taskID: ID, taskState: 'finished', taskResult: 'cleanSuccess', code: 0, message: '' });
    expect(clean).to.include({ kind: 'failure', result: 'cleanSuccess', code: 0 });
    const odd = finishedOutcome({ taskID: ID, taskState: 'finished', taskResult: 'success', code: 411, message: 'value=x abortedcode=411' });
    expect(odd).to.include({ kind: 'failure', result: 'success', code: 411 });
    if (odd.kind === 'failure') expect(odd.error).to.be.instanceOf(TaskAbortedError).and.instanceOf(VdsmError);
  });
});
