import { expect } from 'chai';
import { ManualClock } from '../clock.js';
import type { CallOptions, RpcCaller } from '../rpc/caller.js';
import { TaskState } from '../api/enums.js';
import type { TaskResult } from '../api/enums.js';
import {
  ImageDoesNotExistInSDError,
  ImageError,
  NotSpmError,
  RecoveryInProgressError,
  RpcTimeoutError,
  TaskStateError,
  VdsmError,
  vdsmErrorFromRpc,
} from '../api/errors.js';
import { VdsmErrorCode } from '../api/error-codes.js';
import { pyTuple, vdsmMessage } from '../api/python-repr.js';
import { DEFAULT_TASK_POLL_INTERVAL_MS, TaskWatcher } from './task-watcher.js';
import type { TaskPollErrorInfo, TaskWatcherOptions } from './task-watcher.js';
import type { TaskOutcome } from './task-outcome.js';
import { InvalidTaskIdError, TaskStatusInvalidError, TaskWaitTimeoutError, TaskWatcherClosedError } from './errors.js';

const INTERVAL = 1_000;
const ALL = 'Host.getAllTasksStatuses';

interface RecordedCall {
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly at: number;
}

/**
 * A scripted SPM: plays VDSM's task table for the verbs the watcher uses and
 * records every call with the clock time it was made at. Answers are
 * asynchronous like a real connection's; `hold()` makes status calls hang
 * until released (a slow SPM); `script()` replaces the next answers of a verb.
 */
class ScriptedSpm implements RpcCaller {
  readonly calls: RecordedCall[] = [];
  /** What getAllTasksStatuses lists, raw, so a test can plant garbage. */
  readonly table = new Map<string, unknown>();
  inFlight = 0;
  maxInFlight = 0;
  readonly #scripted = new Map<string, Array<() => unknown>>();
  #gate: Promise<void> | undefined;

  constructor(readonly clock: ManualClock) {}

  /** Puts a well-formed status for `taskId` in the table. */
  set(taskId: string, taskState: TaskState, taskResult: TaskResult = '', code = 0, message = 'running job 1 of 1'): void {
    this.table.set(taskId, { taskID: taskId, taskState, taskResult, code, message });
  }

  /** The next calls of `method` run these instead of the table (throw to answer an error). */
  script(method: string, ...answers: Array<() => unknown>): void {
    this.#scripted.set(method, [...(this.#scripted.get(method) ?? []), ...answers]);
  }

  /** Status calls hang until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.#gate = undefined;
      release();
    };
  }

  count(method: string): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  times(method: string): number[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.at);
  }

  async call(method: string, params: Readonly<Record<string, unknown>>, options?: CallOptions): Promise<unknown> {
    this.calls.push({ method, params: { ...params }, at: this.clock.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    // Like a real connection, listen on the call's signal while the call is pending.
    const onAbort = (): void => undefined;
    options?.signal?.addEventListener('abort', onAbort);
    try {
      await Promise.resolve();
      if (this.#gate !== undefined && method === ALL) await abortable(this.#gate, options?.signal);
      const scripted = this.#scripted.get(method)?.shift();
      if (scripted !== undefined) return scripted();
      return this.#answer(method, params);
    } finally {
      options?.signal?.removeEventListener('abort', onAbort);
      this.inFlight--;
    }
  }

  #answer(method: string, params: Readonly<Record<string, unknown>>): unknown {
    const taskId = String(params['taskID']);
    switch (method) {
      case ALL:
        return Object.fromEntries(this.table);
      case 'Task.getStatus': {
        const raw = this.table.get(taskId);
        if (raw === undefined) throw unknownTask(taskId);
        return raw;
      }
      case 'Task.clear': {
        const raw = this.table.get(taskId) as { taskState?: string } | undefined;
        if (raw === undefined) throw unknownTask(taskId);
        if (raw.taskState !== TaskState.Finished) {
          throw vdsmErrorFromRpc({ code: VdsmErrorCode.TaskStateError, message: vdsmMessage(VdsmErrorCode.TaskStateError, pyTuple(`can't clean in state ${raw.taskState}`)) });
        }
        this.table.delete(taskId);
        return true;
      }
      default:
        throw vdsmErrorFromRpc({ code: VdsmErrorCode.JsonRpcMethodNotFoundError, message: `no ${method} in this script` });
    }
  }
}

function abortable(gate: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return gate;
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    gate.then(resolve, reject);
  });
}

/** VDSM's 401 exactly as the connection would raise it. */
function unknownTask(taskId: string): VdsmError {
  return vdsmErrorFromRpc({ code: VdsmErrorCode.UnknownTask, message: vdsmMessage(VdsmErrorCode.UnknownTask, pyTuple(taskId)) });
}

function notSpm(): VdsmError {
  return vdsmErrorFromRpc({ code: VdsmErrorCode.SpmStatusError, message: vdsmMessage(VdsmErrorCode.SpmStatusError, pyTuple()) });
}

/** A promise's state without waiting for it. */
function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const T3 = '33333333-3333-4333-8333-333333333333';

describe('TaskWatcher', () => {
  let clock: ManualClock;
  let spm: ScriptedSpm;
  let watcher: TaskWatcher;
  let pollErrors: Array<{ error: unknown; info: TaskPollErrorInfo }>;

  function newWatcher(options: Partial<TaskWatcherOptions> = {}): TaskWatcher {
    const created = new TaskWatcher({ caller: spm, clock, intervalMs: INTERVAL, ...options });
    created.onPollError((error, info) => pollErrors.push({ error, info }));
    return created;
  }

  beforeEach(() => {
    clock = new ManualClock();
    spm = new ScriptedSpm(clock);
    pollErrors = [];
    watcher = newWatcher();
  });

  afterEach(() => watcher.close());

  describe('polling', () => {
    it('makes no call and holds no timer while nothing is watched', async () => {
      await clock.advanceAsync(INTERVAL * 10);
      expect(spm.calls).to.deep.equal([]);
      expect(clock.pending).to.equal(0);
      expect(watcher.watching).to.equal(0);
    });

    it('polls ONE Host.getAllTasksStatuses per interval for all watched tasks', async () => {
      for (const id of [T1, T2, T3]) spm.set(id, TaskState.Running);
      const waits = [T1, T2, T3].map((id) => track(watcher.wait(id)));
      expect(watcher.watching).to.equal(3);
      await clock.advanceAsync(INTERVAL * 4);
      expect(spm.calls.map((call) => call.method)).to.deep.equal([ALL, ALL, ALL, ALL]);
      expect(spm.times(ALL)).to.deep.equal([INTERVAL, INTERVAL * 2, INTERVAL * 3, INTERVAL * 4]);
      expect(spm.calls[0]?.params).to.deep.equal({});
      expect(waits.some((wait) => wait.settled)).to.equal(false);
    });

    it('stops polling (no timer, no call) once the last wait has ended', async () => {
      spm.set(T1, TaskState.Finished, 'success', 0, '1 jobs completed successfully');
      const outcome = await settleAfter(watcher.wait(T1), INTERVAL);
      expect(outcome.kind).to.equal('success');
      expect(watcher.watching).to.equal(0);
      expect(clock.pending).to.equal(0);
      await clock.advanceAsync(INTERVAL * 5);
      expect(spm.count(ALL)).to.equal(1);
    });

    it('never overlaps ticks: a slow answer delays the next tick instead of stacking calls', async () => {
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1));
      const release = spm.hold();
      await clock.advanceAsync(INTERVAL * 6);
      expect(spm.count(ALL)).to.equal(1);
      expect(spm.inFlight).to.equal(1);
      release();
      await clock.advanceAsync(0);
      expect(wait.settled).to.equal(false);
      // The next poll comes a full interval after the slow answer, not on the old beat.
      await clock.advanceAsync(INTERVAL - 1);
      expect(spm.count(ALL)).to.equal(1);
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      await clock.advanceAsync(1);
      expect(spm.times(ALL)).to.deep.equal([INTERVAL, INTERVAL * 7]);
      expect(spm.maxInFlight).to.equal(1);
      expect(wait.value?.kind).to.equal('success');
    });

    it('defaults to a 5 s interval', async () => {
      const watcherWithDefaults = new TaskWatcher({ caller: spm, clock });
      spm.set(T1, TaskState.Running);
      void watcherWithDefaults.wait(T1).catch(() => undefined);
      await clock.advanceAsync(DEFAULT_TASK_POLL_INTERVAL_MS - 1);
      expect(spm.count(ALL)).to.equal(0);
      await clock.advanceAsync(1);
      expect(spm.count(ALL)).to.equal(1);
      expect(DEFAULT_TASK_POLL_INTERVAL_MS).to.equal(5_000);
      watcherWithDefaults.close();
    });
  });

  describe('outcomes', () => {
    it('resolves success for finished + success + code 0', async () => {
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1));
      await clock.advanceAsync(INTERVAL);
      expect(wait.settled).to.equal(false);
      spm.set(T1, TaskState.Finished, 'success', 0, '1 jobs completed successfully');
      await clock.advanceAsync(INTERVAL);
      expect(wait.value).to.deep.equal({
        kind: 'success',
        taskId: T1,
        status: { taskID: T1, taskState: 'finished', taskResult: 'success', code: 0, message: '1 jobs completed successfully' },
      });
    });

    it('fails cleanSuccess with code 268 with its code, message and error class', async () => {
      const message = `value=${vdsmMessage(VdsmErrorCode.ImageDoesNotExistInSD, 'image=I, domain=S')} abortedcode=268`;
      spm.set(T1, TaskState.Finished, 'cleanSuccess', 268, message);
      const outcome = await settleAfter(watcher.wait(T1), INTERVAL);
      expect(outcome).to.include({ kind: 'failure', taskId: T1, result: 'cleanSuccess', code: 268, message });
      if (outcome.kind !== 'failure') return;
      expect(outcome.error).to.be.instanceOf(ImageDoesNotExistInSDError);
      expect(outcome.error.code).to.equal(268);
      expect(outcome.error.message).to.equal(message);
    });

    it('fails cleanFailure (rollback failed)', async () => {
      const message = `value=${vdsmMessage(VdsmErrorCode.CopyImageError, pyTuple())} abortedcode=261`;
      spm.set(T1, TaskState.Finished, 'cleanFailure', 261, message);
      const outcome = await settleAfter(watcher.wait(T1), INTERVAL);
      expect(outcome).to.include({ kind: 'failure', result: 'cleanFailure', code: 261, message });
      // 261 CopyImageError has no class of its own: it comes as its range's ImageError.
      if (outcome.kind === 'failure') expect(outcome.error).to.be.instanceOf(ImageError).and.include({ code: 261 });
    });

    it('fails finished + success with a nonzero code', async () => {
      spm.set(T1, TaskState.Finished, 'success', 100, 'value=boom abortedcode=100');
      const outcome = await settleAfter(watcher.wait(T1), INTERVAL);
      expect(outcome).to.include({ kind: 'failure', result: 'success', code: 100, message: 'value=boom abortedcode=100' });
      if (outcome.kind === 'failure') expect(outcome.error).to.be.instanceOf(VdsmError);
    });

    it('keeps waiting through init, running, aborting and cleaning for many ticks', async () => {
      const wait = track(watcher.wait(T1));
      const states = [TaskState.Init, TaskState.Running, TaskState.Aborting, TaskState.Cleaning];
      for (let tick = 0; tick < 40; tick++) {
        spm.set(T1, states[tick % states.length] ?? TaskState.Running);
        await clock.advanceAsync(INTERVAL);
      }
      expect(wait.settled).to.equal(false);
      expect(spm.count(ALL)).to.equal(40);
      expect(spm.count('Task.getStatus')).to.equal(0);
      spm.set(T1, TaskState.Finished, 'cleanSuccess', 411, `value=${T1} abortedcode=411`);
      await clock.advanceAsync(INTERVAL);
      expect(wait.value).to.include({ kind: 'failure', result: 'cleanSuccess', code: 411 });
    });
  });

  describe('missing tasks', () => {
    it('counts a missing task as unknown only after K misses confirmed by Task.getStatus -> 401', async () => {
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1));
      await clock.advanceAsync(INTERVAL);
      spm.table.delete(T1);
      await clock.advanceAsync(INTERVAL * 2);
      expect(spm.count('Task.getStatus')).to.equal(0);
      expect(wait.settled).to.equal(false);
      await clock.advanceAsync(INTERVAL);
      expect(spm.calls.filter((call) => call.method === 'Task.getStatus')).to.deep.equal([{ method: 'Task.getStatus', params: { taskID: T1 }, at: INTERVAL * 4 }]);
      expect(wait.value).to.deep.equal({
        kind: 'unknown',
        taskId: T1,
        misses: 3,
        lastStatus: { taskID: T1, taskState: 'running', taskResult: '', code: 0, message: 'running job 1 of 1' },
      });
      expect(watcher.watching).to.equal(0);
      expect(pollErrors).to.deep.equal([]);
    });

    it('honours missingPollsBeforeUnknown and leaves lastStatus out for a task never seen', async () => {
      watcher.close();
      watcher = newWatcher({ missingPollsBeforeUnknown: 5 });
      const wait = track(watcher.wait(T1));
      await clock.advanceAsync(INTERVAL * 4);
      expect(spm.count('Task.getStatus')).to.equal(0);
      await clock.advanceAsync(INTERVAL);
      expect(wait.value).to.deep.equal({ kind: 'unknown', taskId: T1, misses: 5 });
    });

    it('confirms each of many missing tasks with one Task.getStatus, in the same tick', async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);
      const warnings: Error[] = [];
      const onWarning = (warning: Error): number => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        const waits = ids.map((id) => watcher.wait(id));
        await clock.advanceAsync(INTERVAL * 3);
        const outcomes = await Promise.all(waits);
        expect(outcomes.map((outcome) => outcome.kind)).to.deep.equal(Array(12).fill('unknown'));
        expect(spm.count(ALL)).to.equal(3);
        expect(spm.calls.filter((call) => call.method === 'Task.getStatus').map((call) => [call.params['taskID'], call.at])).to.deep.equal(
          ids.map((id) => [id, INTERVAL * 3]),
        );
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).to.deep.equal([]);
      } finally {
        process.off('warning', onWarning);
      }
    });

    it('takes the status Task.getStatus gives for a task missing from the list (finished -> success)', async () => {
      const wait = track(watcher.wait(T1));
      // Listed nowhere, but the host still answers for it (e.g. an SPM that has not loaded its tasks yet).
      spm.script('Task.getStatus', () => ({ taskID: T1, taskState: 'finished', taskResult: 'success', code: 0, message: 'OK' }));
      await clock.advanceAsync(INTERVAL * 3);
      expect(spm.count('Task.getStatus')).to.equal(1);
      expect(wait.value).to.include({ kind: 'success', taskId: T1 });
    });

    it('resets the miss count when Task.getStatus shows the task still running', async () => {
      const wait = track(watcher.wait(T1));
      spm.script('Task.getStatus', () => ({ taskID: T1, taskState: 'running', taskResult: '', code: 0, message: '' }));
      await clock.advanceAsync(INTERVAL * 3);
      expect(spm.count('Task.getStatus')).to.equal(1);
      await clock.advanceAsync(INTERVAL * 2);
      expect(spm.count('Task.getStatus')).to.equal(1);
      await clock.advanceAsync(INTERVAL);
      expect(spm.count('Task.getStatus')).to.equal(2);
      expect(wait.value).to.deep.include({ kind: 'unknown', misses: 3 });
      if (wait.value?.kind === 'unknown') expect(wait.value.lastStatus?.taskState).to.equal('running');
    });

    it('keeps polling when Task.getStatus fails with anything but 401, and asks again next tick', async () => {
      const wait = track(watcher.wait(T1));
      spm.script('Task.getStatus', () => {
        throw new RpcTimeoutError('Task.getStatus', 180_000);
      });
      await clock.advanceAsync(INTERVAL * 3);
      expect(wait.settled).to.equal(false);
      expect(pollErrors.map(({ info }) => info)).to.deep.equal([{ method: 'Task.getStatus', taskId: T1 }]);
      await clock.advanceAsync(INTERVAL);
      expect(spm.times('Task.getStatus')).to.deep.equal([INTERVAL * 3, INTERVAL * 4]);
      expect(wait.value).to.include({ kind: 'unknown', misses: 4 });
    });

    it('treats a malformed entry as a miss and reports it', async () => {
      spm.table.set(T1, { taskID: T1, taskState: 'preparing', taskResult: '', code: 0, message: '' });
      spm.set(T2, TaskState.Running);
      const wait = track(watcher.wait(T1));
      const other = track(watcher.wait(T2));
      await clock.advanceAsync(INTERVAL * 2);
      expect(pollErrors).to.have.length(2);
      expect(pollErrors[0]?.error).to.be.instanceOf(TaskStatusInvalidError).and.include({ code: 'VDSM_ERR_TASK_STATUS_INVALID', taskId: T1 });
      expect(pollErrors[0]?.info).to.deep.equal({ method: ALL, taskId: T1 });
      // Task.getStatus answers the same garbage: still not a crash, still not an outcome.
      await clock.advanceAsync(INTERVAL);
      expect(spm.count('Task.getStatus')).to.equal(1);
      expect(wait.settled).to.equal(false);
      expect(pollErrors.at(-1)?.info).to.deep.equal({ method: 'Task.getStatus', taskId: T1 });
      // VDSM fixes itself: the task shows up well-formed and finishes.
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      await clock.advanceAsync(INTERVAL);
      expect(wait.value?.kind).to.equal('success');
      expect(other.settled).to.equal(false);
    });

    it('counts taskState unknown as a miss, and a confirmed unknown state as an unknown outcome', async () => {
      spm.set(T1, TaskState.Unknown);
      const wait = track(watcher.wait(T1));
      await clock.advanceAsync(INTERVAL * 3);
      expect(spm.count('Task.getStatus')).to.equal(1);
      expect(wait.value).to.deep.equal({ kind: 'unknown', taskId: T1, misses: 3 });
    });
  });

  describe('poll errors', () => {
    const failures: Array<[string, () => unknown]> = [
      ['654 Not SPM', notSpm],
      ['5022 network', () => new RpcTimeoutError(ALL, 180_000)],
      ['99 recovering', () => vdsmErrorFromRpc({ code: VdsmErrorCode.RecoveryInProgress, message: vdsmMessage(VdsmErrorCode.RecoveryInProgress) })],
    ];
    for (const [what, makeError] of failures) {
      it(`keeps waiting through ${what}, reports it, and does not count misses`, async () => {
        spm.set(T1, TaskState.Running);
        const wait = track(watcher.wait(T1));
        const error = makeError();
        spm.script(ALL, ...Array.from({ length: 5 }, () => () => Promise.reject(error)));
        await clock.advanceAsync(INTERVAL * 5);
        expect(wait.settled).to.equal(false);
        expect(pollErrors).to.have.length(5);
        expect(pollErrors.every((report) => report.error === error && report.info.method === ALL && report.info.taskId === undefined)).to.equal(true);
        // Five failed rounds are not five misses: no Task.getStatus was needed.
        expect(spm.count('Task.getStatus')).to.equal(0);
        spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
        await clock.advanceAsync(INTERVAL);
        expect(wait.value?.kind).to.equal('success');
      });
    }

    it('checks the error classes the poll errors come as', () => {
      expect(notSpm()).to.be.instanceOf(NotSpmError);
      expect(vdsmErrorFromRpc({ code: 99, message: '' })).to.be.instanceOf(RecoveryInProgressError);
      expect(new RpcTimeoutError(ALL, 1).code).to.equal(5022);
    });

    it('reports an answer that is not a map without touching any task', async () => {
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1));
      spm.script(ALL, () => [], () => null, () => 'garbage');
      await clock.advanceAsync(INTERVAL * 3);
      expect(pollErrors.map(({ error }) => (error as TaskStatusInvalidError).code)).to.deep.equal(Array(3).fill('VDSM_ERR_TASK_STATUS_INVALID'));
      expect(spm.count('Task.getStatus')).to.equal(0);
      expect(wait.settled).to.equal(false);
    });

    it('keeps polling when a poll-error listener throws', async () => {
      watcher.onPollError(() => {
        throw new Error('listener bug');
      });
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1));
      spm.script(ALL, () => Promise.reject(notSpm()));
      await clock.advanceAsync(INTERVAL);
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      await clock.advanceAsync(INTERVAL);
      expect(pollErrors).to.have.length(1);
      expect(wait.value?.kind).to.equal('success');
    });

    it('stops telling a listener once it unsubscribed', async () => {
      const seen: unknown[] = [];
      const off = watcher.onPollError((error) => seen.push(error));
      off();
      spm.script(ALL, () => Promise.reject(notSpm()));
      const wait = track(watcher.wait(T1));
      spm.set(T1, TaskState.Running);
      await clock.advanceAsync(INTERVAL);
      expect(seen).to.deep.equal([]);
      expect(pollErrors).to.have.length(1);
      expect(wait.settled).to.equal(false);
    });
  });

  describe('abort and timeout', () => {
    it('rejects with the signal reason on abort and stops watching the id', async () => {
      spm.set(T1, TaskState.Running);
      const controller = new AbortController();
      const wait = track(watcher.wait(T1, { signal: controller.signal }));
      await clock.advanceAsync(INTERVAL);
      const reason = new Error('user stop');
      controller.abort(reason);
      await clock.advanceAsync(0);
      expect(wait.error).to.equal(reason);
      expect(watcher.watching).to.equal(0);
      expect(clock.pending).to.equal(0);
      await clock.advanceAsync(INTERVAL * 5);
      expect(spm.count(ALL)).to.equal(1);
    });

    it('rejects at once for an already aborted signal, without watching', async () => {
      const reason = new Error('already');
      const error = await watcher.wait(T1, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
      expect(error).to.equal(reason);
      expect(watcher.watching).to.equal(0);
      expect(clock.pending).to.equal(0);
    });

    it('rejects with TaskWaitTimeoutError after timeoutMs, carrying the last status', async () => {
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1, { timeoutMs: INTERVAL * 2.5 }));
      await clock.advanceAsync(INTERVAL * 2);
      expect(wait.settled).to.equal(false);
      await clock.advanceAsync(INTERVAL / 2);
      expect(wait.error).to.be.instanceOf(TaskWaitTimeoutError);
      const error = wait.error as TaskWaitTimeoutError;
      expect(error).to.include({ code: 'VDSM_ERR_TASK_WAIT_TIMEOUT', taskId: T1, timeoutMs: INTERVAL * 2.5 });
      expect(error.lastStatus?.taskState).to.equal('running');
      expect(watcher.watching).to.equal(0);
      expect(clock.pending).to.equal(0);
    });

    it('clears the timeout timer and abort listener when the wait resolves', async () => {
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      const controller = new AbortController();
      const outcome = await settleAfter(watcher.wait(T1, { signal: controller.signal, timeoutMs: INTERVAL * 10 }), INTERVAL);
      expect(outcome.kind).to.equal('success');
      expect(clock.pending).to.equal(0);
      controller.abort(new Error('late'));
    });

    it('keeps polling for the other waiter when one of two waits on an id is aborted', async () => {
      spm.set(T1, TaskState.Running);
      const controller = new AbortController();
      const first = track(watcher.wait(T1, { signal: controller.signal }));
      const second = track(watcher.wait(T1));
      controller.abort(new Error('first gives up'));
      await clock.advanceAsync(INTERVAL);
      expect(first.error).to.be.instanceOf(Error);
      expect(watcher.watching).to.equal(1);
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      await clock.advanceAsync(INTERVAL);
      expect(second.value?.kind).to.equal('success');
    });

    it('rejects bad ids and bad timeouts with typed errors', async () => {
      for (const id of ['', 'a.b', 'not-a-uuid', `${T1}.x`, 42 as unknown as string]) {
        const error = await watcher.wait(id).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(InvalidTaskIdError);
      }
      expect(await watcher.wait(T1, { timeoutMs: -1 }).catch((e: unknown) => e)).to.be.instanceOf(RangeError);
      expect(watcher.watching).to.equal(0);
      expect(() => new TaskWatcher({ caller: spm, intervalMs: 0 })).to.throw(RangeError);
      expect(() => new TaskWatcher({ caller: spm, missingPollsBeforeUnknown: 0 })).to.throw(RangeError);
    });
  });

  describe('shared waits', () => {
    it('shares one entry and one poll between two waits on the same id', async () => {
      spm.set(T1, TaskState.Running);
      const first = track(watcher.wait(T1));
      const second = track(watcher.wait(T1));
      expect(watcher.watching).to.equal(1);
      await clock.advanceAsync(INTERVAL * 2);
      spm.set(T1, TaskState.Finished, 'cleanFailure', 261, 'value=x abortedcode=261');
      await clock.advanceAsync(INTERVAL);
      expect(spm.count(ALL)).to.equal(3);
      expect(first.value).to.include({ kind: 'failure', code: 261 });
      expect(second.value).to.equal(first.value);
    });
  });

  describe('clear', () => {
    it('calls Task.clear once, in the tick the task finished, and resolves after it', async () => {
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1, { clear: true }));
      await clock.advanceAsync(INTERVAL);
      expect(spm.count('Task.clear')).to.equal(0);
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      await clock.advanceAsync(INTERVAL);
      expect(spm.calls.filter((call) => call.method === 'Task.clear')).to.deep.equal([{ method: 'Task.clear', params: { taskID: T1 }, at: INTERVAL * 2 }]);
      expect(spm.table.has(T1)).to.equal(false);
      expect(wait.value?.kind).to.equal('success');
      await clock.advanceAsync(INTERVAL * 3);
      expect(spm.count('Task.clear')).to.equal(1);
      expect(spm.count(ALL)).to.equal(2);
    });

    it('clears failed tasks too', async () => {
      spm.set(T1, TaskState.Finished, 'cleanSuccess', 268, 'value=x abortedcode=268');
      const outcome = await settleAfter(watcher.wait(T1, { clear: true }), INTERVAL);
      expect(outcome.kind).to.equal('failure');
      expect(spm.count('Task.clear')).to.equal(1);
    });

    it('counts 401 on clear as already cleared', async () => {
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      spm.script('Task.clear', () => {
        throw unknownTask(T1);
      });
      const outcome = await settleAfter(watcher.wait(T1, { clear: true }), INTERVAL);
      expect(outcome.kind).to.equal('success');
      expect(pollErrors).to.deep.equal([]);
      expect(watcher.watching).to.equal(0);
    });

    it('retries the clear on a later tick after 410 (and other errors), without re-polling the status', async () => {
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      const stateError = vdsmErrorFromRpc({ code: VdsmErrorCode.TaskStateError, message: vdsmMessage(VdsmErrorCode.TaskStateError, pyTuple("can't clean in state finished")) });
      spm.script('Task.clear', () => Promise.reject(stateError), () => Promise.reject(notSpm()));
      const wait = track(watcher.wait(T1, { clear: true }));
      await clock.advanceAsync(INTERVAL);
      expect(stateError).to.be.instanceOf(TaskStateError);
      expect(wait.settled).to.equal(false);
      await clock.advanceAsync(INTERVAL);
      expect(wait.settled).to.equal(false);
      await clock.advanceAsync(INTERVAL);
      expect(spm.times('Task.clear')).to.deep.equal([INTERVAL, INTERVAL * 2, INTERVAL * 3]);
      expect(spm.count(ALL)).to.equal(1);
      expect(pollErrors.map(({ error, info }) => [(error as VdsmError).code, info.method])).to.deep.equal([
        [410, 'Task.clear'],
        [654, 'Task.clear'],
      ]);
      expect(wait.value?.kind).to.equal('success');
      expect(spm.table.has(T1)).to.equal(false);
    });

    it('does not hold back a wait without clear while another waits for the clear', async () => {
      spm.set(T1, TaskState.Finished, 'success', 0, 'OK');
      spm.script('Task.clear', () => Promise.reject(notSpm()));
      const plain = track(watcher.wait(T1));
      const clearing = track(watcher.wait(T1, { clear: true }));
      await clock.advanceAsync(INTERVAL);
      expect(plain.value?.kind).to.equal('success');
      expect(clearing.settled).to.equal(false);
      // A wait joining now gets the known outcome at once.
      const late = await watcher.wait(T1);
      expect(late).to.equal(plain.value);
      await clock.advanceAsync(INTERVAL);
      expect(clearing.value).to.equal(plain.value);
    });

    it('does not clear a task that ended unknown', async () => {
      const wait = track(watcher.wait(T1, { clear: true }));
      await clock.advanceAsync(INTERVAL * 3);
      expect(wait.value?.kind).to.equal('unknown');
      expect(spm.count('Task.clear')).to.equal(0);
    });
  });

  describe('close', () => {
    it('rejects pending waits with TaskWatcherClosedError, drops the timer, and refuses later waits', async () => {
      spm.set(T1, TaskState.Running);
      const first = track(watcher.wait(T1));
      const second = track(watcher.wait(T2, { timeoutMs: INTERVAL * 100 }));
      await clock.advanceAsync(INTERVAL);
      watcher.close();
      await clock.advanceAsync(0);
      expect(first.error).to.be.instanceOf(TaskWatcherClosedError).and.include({ code: 'VDSM_ERR_TASK_WATCHER_CLOSED', taskId: T1 });
      expect(second.error).to.be.instanceOf(TaskWatcherClosedError).and.include({ taskId: T2 });
      expect(watcher.watching).to.equal(0);
      expect(watcher.closed).to.equal(true);
      expect(clock.pending).to.equal(0);
      expect(await watcher.wait(T1).catch((e: unknown) => e)).to.be.instanceOf(TaskWatcherClosedError);
      await clock.advanceAsync(INTERVAL * 5);
      expect(spm.count(ALL)).to.equal(1);
    });

    it('aborts the call in flight and reports nothing about it', async () => {
      spm.set(T1, TaskState.Running);
      const wait = track(watcher.wait(T1));
      spm.hold();
      await clock.advanceAsync(INTERVAL);
      expect(spm.inFlight).to.equal(1);
      watcher.close();
      await clock.advanceAsync(0);
      expect(spm.inFlight).to.equal(0);
      expect(wait.error).to.be.instanceOf(TaskWatcherClosedError);
      expect(pollErrors).to.deep.equal([]);
      expect(clock.pending).to.equal(0);
    });
  });

  /** Advances the clock by `ms` and returns the wait's outcome, failing if it did not settle. */
  async function settleAfter(promise: Promise<TaskOutcome>, ms: number): Promise<TaskOutcome> {
    const state = track(promise);
    await clock.advanceAsync(ms);
    if (!state.settled) throw new Error(`wait did not settle within ${ms} ms`);
    return promise;
  }
});
