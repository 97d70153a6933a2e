import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  pyTuple,
  TASK_STATE_ON_WIRE,
  TaskDetailsSchema,
  TaskInfoSchema,
  TaskStatusSchema,
  vdsmErrorFromRpc,
  vdsmMessage,
  VdsmError,
} from '@vdsm-kit/client/api';
import type { TaskInternalState, TaskStatus } from '@vdsm-kit/client/api';
import { ManualClock, sleep } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { openStateDatabase } from '../model/db.js';
import type { StateDatabase } from '../model/db.js';
import type { Logger } from '../logger.js';
import type { JobContext, JobHandler } from './job-handler.js';
import { imageNamespace, STORAGE_NAMESPACE } from './resource-locks.js';
import { TaskManager } from './task-manager.js';

const POOL = '8c1a2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER_POOL = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';
const SD = '5e3c6a34-1b3e-4f4c-9f0e-3e4f5a6b7c8d';
const IMG = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

/** Resolves on the next macrotask: the manager starts jobs on a later turn. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the test job does, all on the clock. */
interface StepParams {
  readonly ms: number;
  /** Recorded in ctx.recovery before sleeping. */
  readonly record?: { readonly created: string };
  /** How the job ends after its sleep. */
  readonly fail?: { readonly code: number; readonly value?: string } | { readonly plain: string };
  /** Sleep without the signal, so a stop does not interrupt it. */
  readonly ignoreSignal?: boolean;
  readonly rollbackMs?: number;
  readonly rollbackFails?: boolean;
  /** Exclusive image lock taken by the job. */
  readonly lockImage?: boolean;
}

interface Recovery {
  readonly created: string;
}

/** A job kind whose calls the test can inspect. */
class StepJob implements JobHandler<StepParams, Recovery> {
  readonly runs: string[] = [];
  readonly rollbacks: Array<{ taskId: string; recovery: Recovery | undefined }> = [];

  async run(ctx: JobContext<StepParams, Recovery>): Promise<void> {
    this.runs.push(ctx.taskId);
    if (ctx.params.lockImage) await ctx.locks.acquire(imageNamespace(SD), IMG, 'exclusive');
    if (ctx.params.record !== undefined) ctx.recovery.set(ctx.params.record);
    await sleep(ctx.clock, ctx.params.ms, ctx.params.ignoreSignal ? undefined : ctx.signal);
    const { fail } = ctx.params;
    if (fail === undefined) return;
    if ('plain' in fail) throw new Error(fail.plain);
    throw vdsmErrorFromRpc({ code: fail.code, message: vdsmMessage(fail.code, fail.value ?? pyTuple()) });
  }

  async rollback(ctx: JobContext<StepParams, Recovery>): Promise<void> {
    this.rollbacks.push({ taskId: ctx.taskId, recovery: ctx.recovery.get() });
    if (ctx.params.rollbackMs !== undefined) await sleep(ctx.clock, ctx.params.rollbackMs, ctx.signal);
    if (ctx.params.rollbackFails) throw new Error('cannot remove the target volume');
  }
}

/** One log call, with the bindings of its logger merged in. */
type LogEntry = { level: string; message?: string } & Record<string, unknown>;

/** A logger that keeps every entry, to read state sequences and catch swallowed errors. */
function captureLogger(entries: LogEntry[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message?: string): void => {
      entries.push({ ...bindings, ...fields, level, message });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => captureLogger(entries, { ...bindings, ...more }),
  };
}

/** The error a call threw, for exact code and message checks. */
async function failure(call: () => unknown): Promise<VdsmError> {
  try {
    await call();
  } catch (error) {
    expect(error).to.be.instanceOf(VdsmError);
    return error as VdsmError;
  }
  return expect.fail('expected a VdsmError');
}

function wire(state: TaskInternalState): Pick<TaskStatus, 'taskState' | 'taskResult'> {
  return TASK_STATE_ON_WIRE[state];
}

describe('TaskManager (VDSM task life cycle)', () => {
  let dir: string;
  let db: StateDatabase;
  let clock: ManualClock;
  let manager: TaskManager;
  let job: StepJob;
  let logs: LogEntry[];

  /** The states task `id` moved through, in order (from the manager's log). */
  const history = (id: string): unknown[] => logs.filter((e) => e.task === id && e.message === 'task state').map((e) => e.state);
  const schedule = (params: StepParams, poolId = POOL): string => manager.scheduleSpmTask(poolId, 'moveImage', 'step', params);
  const state = (id: string): TaskInternalState | undefined => manager.getRecord(id)?.state;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-vdsm-tasks-'));
    db = openStateDatabase(dir);
    clock = new ManualClock();
    logs = [];
    manager = new TaskManager({ db, clock, logger: captureLogger(logs) });
    job = new StepJob();
    manager.register('step', job);
  });

  afterEach(async () => {
    await manager.close();
    expect(logs.filter((e) => e.level === 'error'), 'no internal error was swallowed').to.deep.equal([]);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('life cycle', () => {
    it('walks queued -> running -> finished with VDSM messages and wire states at each step', async () => {
      const id = schedule({ ms: 10_000 });
      // Persisted before the id came back, job not started yet.
      expect(state(id)).to.equal('queued');
      expect(manager.getStatus(id)).to.deep.equal({ taskID: id, ...wire('queued'), code: 0, message: 'Task is initializing' });
      expect(manager.getStatus(id)).to.include({ taskState: 'running', taskResult: '' });
      expect(job.runs).to.deep.equal([]);

      await turn();
      expect(state(id)).to.equal('running');
      expect(manager.getStatus(id)).to.deep.equal({ taskID: id, taskState: 'running', taskResult: '', code: 0, message: 'running job 1 of 1' });

      await clock.advanceAsync(10_000);
      expect(state(id)).to.equal('finished');
      expect(manager.getStatus(id)).to.deep.equal({
        taskID: id,
        taskState: 'finished',
        taskResult: 'success',
        code: 0,
        message: '1 jobs completed successfully',
      });
      expect(job.rollbacks).to.deep.equal([]);
      expect(history(id)).to.deep.equal(['running', 'finished']);
    });

    it('ends recovered (cleanSuccess) with the storage error code and VDSM message when the job fails', async () => {
      const id = schedule({
        ms: 1000,
        record: { created: 'target volumes on sd X' },
        fail: { code: 268, value: `image=${IMG}, domain=${SD}` },
        rollbackMs: 500,
      });
      await turn();
      await clock.advanceAsync(1000);
      // Rolling back: recovering, reported as cleaning.
      expect(state(id)).to.equal('recovering');
      expect(manager.getStatus(id)).to.include({ taskState: 'cleaning', taskResult: '', code: 268 });
      await clock.advanceAsync(500);
      expect(state(id)).to.equal('recovered');
      expect(manager.getStatus(id)).to.deep.equal({
        taskID: id,
        taskState: 'finished',
        taskResult: 'cleanSuccess',
        code: 268,
        message: `value=Image does not exist in domain: 'image=${IMG}, domain=${SD}' abortedcode=268`,
      });
      expect(job.rollbacks).to.deep.equal([{ taskId: id, recovery: { created: 'target volumes on sd X' } }]);
      expect(manager.getRecord(id)?.recovery, 'a rollback consumes the record').to.equal(null);
      expect(history(id)).to.deep.equal(['running', 'aborting', 'racquiring', 'recovering', 'recovered']);
    });

    it('reports code 100 for an error that is not a VDSM storage error', async () => {
      const plain = schedule({ ms: 1, fail: { plain: 'ENOSPC: no space left on device, write' } });
      // ResourceTimeout is a GeneralException in VDSM, not a StorageException.
      const lockTimeout = schedule({ ms: 1, fail: { code: 851 } });
      await turn();
      await clock.advanceAsync(1);
      expect(manager.getStatus(plain)).to.include({
        taskResult: 'cleanSuccess',
        code: 100,
        message: 'value=ENOSPC: no space left on device, write abortedcode=100',
      });
      expect(manager.getStatus(lockTimeout)).to.include({ code: 100, message: 'value=Resource timeout: () abortedcode=100' });
      expect(job.rollbacks, 'nothing recorded, nothing to roll back').to.deep.equal([]);
    });

    it('ends failed (cleanFailure) through raborting when the rollback throws', async () => {
      const id = schedule({ ms: 1, record: { created: 'x' }, fail: { code: 261 }, rollbackFails: true });
      await turn();
      await clock.advanceAsync(1);
      expect(state(id)).to.equal('failed');
      expect(manager.getStatus(id)).to.deep.equal({
        taskID: id,
        taskState: 'finished',
        taskResult: 'cleanFailure',
        code: 261,
        message: 'value=low level Image copy failed: () abortedcode=261',
      });
      expect(manager.getRecord(id)?.recovery, 'a failed rollback keeps its record').to.equal('{"created":"x"}');
      expect(history(id)).to.deep.equal(['running', 'aborting', 'racquiring', 'recovering', 'raborting', 'failed']);
    });

    it('releases the locks a task took when it is done, and persists them while held', async () => {
      const first = schedule({ ms: 1000, lockImage: true });
      const second = schedule({ ms: 1000, lockImage: true });
      await turn();
      expect(manager.locks.held()).to.deep.equal([{ namespace: imageNamespace(SD), name: IMG, mode: 'exclusive', owner: first }]);
      expect(db.prepare('SELECT owner FROM locks').pluck().all()).to.deep.equal([first]);
      await clock.advanceAsync(1000);
      expect(state(first)).to.equal('finished');
      expect(manager.locks.held().map((lock) => lock.owner)).to.deep.equal([second]);
      await clock.advanceAsync(1000);
      expect(state(second)).to.equal('finished');
      expect(manager.locks.held()).to.deep.equal([]);
      expect(db.prepare('SELECT count(*) FROM locks').pluck().get()).to.equal(0);
    });

    it('runs at most threadPoolSize jobs at once; the others stay queued', async () => {
      await manager.close();
      manager = new TaskManager({ db, clock, threadPoolSize: 2, logger: captureLogger(logs) });
      manager.register('step', job);
      const ids = [schedule({ ms: 100 }), schedule({ ms: 100 }), schedule({ ms: 100 })];
      await turn();
      expect(ids.map(state)).to.deep.equal(['running', 'running', 'queued']);
      await clock.advanceAsync(100);
      await turn();
      expect(ids.map(state)).to.deep.equal(['finished', 'finished', 'running']);
    });

    it('refuses a task beyond maxTasks waiting ones with 405, running ones aside, and takes one again once a worker is free', async () => {
      await manager.close();
      manager = new TaskManager({ db, clock, threadPoolSize: 2, maxTasks: 3, logger: captureLogger(logs) });
      manager.register('step', job);
      // In one turn, before any worker started: 2 will run, 3 wait.
      const ids = [1, 2, 3, 4, 5].map(() => schedule({ ms: 100 }));
      const refused = await failure(() => schedule({ ms: 100 }));
      expect([refused.code, refused.message]).to.deep.equal([405, 'TaskManager error, unable to add task: ()']);
      expect(manager.getAllStatuses(POOL), 'the refused task left no row').to.have.keys(ids);
      await turn();
      expect(ids.map(state)).to.deep.equal(['running', 'running', 'queued', 'queued', 'queued']);
      expect(() => schedule({ ms: 100 }), 'still full while the workers are busy').to.throw('unable to add task');
      await clock.advanceAsync(100);
      await turn();
      expect(ids.map(state)).to.deep.equal(['finished', 'finished', 'running', 'running', 'queued']);
      const later = schedule({ ms: 100 });
      expect(state(later)).to.equal('queued');
    });

    it('refuses a maxTasks that is not a positive integer', () => {
      for (const maxTasks of [0, -1, 1.5, Number.NaN]) {
        expect(() => new TaskManager({ db, clock, maxTasks }), String(maxTasks)).to.throw(RangeError, 'max tasks');
      }
    });

    it('persists progress at most once a second of clock time, and at 1', async () => {
      let ctxOf: JobContext | undefined;
      manager.register('manual', {
        run: async (ctx) => {
          ctxOf = ctx;
          await sleep(ctx.clock, 10_000, ctx.signal);
        },
        rollback: async () => {},
      });
      const id = manager.scheduleSpmTask(POOL, 'copyImage', 'manual', null);
      await turn();
      const ctx = ctxOf as JobContext;
      ctx.progress(0.1);
      expect(manager.getRecord(id)?.progress).to.equal(0.1);
      ctx.progress(0.2);
      expect(manager.getRecord(id)?.progress, 'throttled').to.equal(0.1);
      await clock.advanceAsync(1000);
      ctx.progress(0.3);
      expect(manager.getRecord(id)?.progress).to.equal(0.3);
      ctx.progress(1);
      expect(manager.getRecord(id)?.progress).to.equal(1);
    });

    it('accepts a task id chosen by the verb and refuses one in use with 405', async () => {
      const id = '0b5a2c1d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
      expect(manager.scheduleSpmTask(POOL, 'deleteImage', 'step', { ms: 1 }, { taskId: id })).to.equal(id);
      const error = await failure(() => manager.scheduleSpmTask(POOL, 'deleteImage', 'step', { ms: 1 }, { taskId: id }));
      expect(error.code).to.equal(405);
      expect(error.message).to.equal(`TaskManager error, unable to add task: ('Task id already in use: ${id}',)`);
      const dotted = await failure(() => manager.scheduleSpmTask(POOL, 'deleteImage', 'step', { ms: 1 }, { taskId: 'a.b' }));
      expect([dotted.code, dotted.message]).to.deep.equal([1000, "Invalid parameter: 'taskID=a.b'"]);
    });
  });

  describe('Task.stop', () => {
    it('aborts a running job, which ends recovered with 411 value=<taskID>', async () => {
      const id = schedule({ ms: 60_000, record: { created: 'y' } });
      await turn();
      manager.stop(id);
      await turn();
      expect(state(id)).to.equal('recovered');
      expect(manager.getStatus(id)).to.deep.equal({
        taskID: id,
        taskState: 'finished',
        taskResult: 'cleanSuccess',
        code: 411,
        message: `value=${id} abortedcode=411`,
      });
      expect(job.rollbacks).to.deep.equal([{ taskId: id, recovery: { created: 'y' } }]);
      expect(clock.pending, 'the job sleep was cancelled').to.equal(0);
    });

    it('reports value=shutting down when the job returns normally after the stop', async () => {
      const id = schedule({ ms: 1000, ignoreSignal: true });
      await turn();
      manager.stop(id);
      await clock.advanceAsync(1000);
      expect(manager.getStatus(id)).to.include({ taskResult: 'cleanSuccess', code: 411, message: 'value=shutting down abortedcode=411' });
    });

    it('refuses a second stop while the first is pending with 411, as task.py _incref does', async () => {
      const id = schedule({ ms: 1000, ignoreSignal: true });
      await turn();
      manager.stop(id);
      const error = await failure(() => manager.stop(id));
      expect(error.code).to.equal(411);
      expect(error.message).to.equal(`Task is aborted: 'value=${id} abortedcode=411'`);
      // The job ignores its signal; let it return so the task ends (and close() has nothing to wait for).
      await clock.advanceAsync(1000);
      expect(manager.getStatus(id)).to.include({ code: 411, message: 'value=shutting down abortedcode=411' });
    });

    it('aborts a queued task at once, before its job runs', async () => {
      const id = schedule({ ms: 1000 });
      manager.stop(id);
      expect(state(id)).to.equal('recovered');
      expect(manager.getStatus(id)).to.include({ taskResult: 'cleanSuccess', code: 0, message: 'Task is initializing' });
      await turn();
      expect(job.runs).to.deep.equal([]);
      expect(history(id)).to.deep.equal(['aborting', 'racquiring', 'recovering', 'recovered']);
    });

    it('is a no-op on a done task', async () => {
      const id = schedule({ ms: 1 });
      await turn();
      await clock.advanceAsync(1);
      manager.stop(id);
      expect(manager.getStatus(id)).to.include({ taskResult: 'success' });
    });

    it('aborts a rollback in progress: raborting -> failed (cleanFailure)', async () => {
      const id = schedule({ ms: 1, record: { created: 'z' }, fail: { code: 260 }, rollbackMs: 60_000 });
      await turn();
      await clock.advanceAsync(1);
      expect(state(id)).to.equal('recovering');
      manager.stop(id);
      await turn();
      expect(state(id)).to.equal('failed');
      expect(manager.getStatus(id)).to.include({ taskState: 'finished', taskResult: 'cleanFailure', code: 260 });
      expect(history(id).slice(-3)).to.deep.equal(['recovering', 'raborting', 'failed']);
    });
  });

  describe('Task.clear, getStatus validation, Task.revert', () => {
    it('refuses to clear an unfinished task with 410, clears a done one, then answers 401', async () => {
      const id = schedule({ ms: 1000 });
      await turn();
      const refused = await failure(() => manager.clear(id));
      expect(refused.code).to.equal(410);
      expect(refused.message).to.equal(`Operation is not allowed in this task state: ("can't clean in state running",)`);
      await clock.advanceAsync(1000);
      manager.clear(id);
      const unknown = await failure(() => manager.getStatus(id));
      expect(unknown.code).to.equal(401);
      expect(unknown.message).to.equal(`Task id unknown: ('${id}',)`);
      expect((await failure(() => manager.clear(id))).code).to.equal(401);
      expect(manager.getAllTasks()).to.deep.equal({});
    });

    it('validates task ids as VDSM validateID does', async () => {
      const dotted = await failure(() => manager.getStatus('a.b'));
      expect([dotted.code, dotted.message]).to.deep.equal([1000, "Invalid parameter: 'taskID=a.b'"]);
      const empty = await failure(() => manager.getInfo(''));
      expect([empty.code, empty.message]).to.deep.equal([1000, "Invalid parameter: 'taskID='"]);
      const unknown = await failure(() => manager.stop('no-such-task'));
      expect([unknown.code, unknown.message]).to.deep.equal([401, "Task id unknown: ('no-such-task',)"]);
    });

    it('refuses to revert an unfinished task with 403', async () => {
      const id = schedule({ ms: 1000 });
      await turn();
      const error = await failure(() => manager.revert(id));
      expect(error.code).to.equal(403);
      expect(error.message).to.equal(`Task not finished: ("can't rollback in state running",)`);
    });

    it('reverts a finished task to recovered, then refuses with 441', async () => {
      const id = schedule({ ms: 1, record: { created: 'kept by the job' } });
      await turn();
      await clock.advanceAsync(1);
      expect(state(id)).to.equal('finished');
      await manager.revert(id);
      expect(state(id)).to.equal('recovered');
      expect(manager.getStatus(id)).to.deep.equal({
        taskID: id,
        taskState: 'finished',
        taskResult: 'cleanSuccess',
        code: 0,
        message: '1 jobs completed successfully',
      });
      expect(job.rollbacks).to.deep.equal([{ taskId: id, recovery: { created: 'kept by the job' } }]);
      const again = await failure(() => manager.revert(id));
      expect(again.code).to.equal(441);
      expect(again.message).to.equal("cannot move task to requested state: ('from recovered to racquiring',)");
      expect(history(id)).to.deep.equal(['running', 'finished', 'racquiring', 'recovering', 'recovered']);
    });

    it('refuses to revert a failed task with 441 from failed', async () => {
      const id = schedule({ ms: 1, record: { created: 'x' }, fail: { code: 261 }, rollbackFails: true });
      await turn();
      await clock.advanceAsync(1);
      const error = await failure(() => manager.revert(id));
      expect(error.message).to.equal("cannot move task to requested state: ('from failed to racquiring',)");
    });
  });

  describe('listings', () => {
    it('answers getInfo, getAllInfo, getAllStatuses (SPM tasks of the pool) and getAllTasks (everything)', async () => {
      manager.register('spm-start', { run: (ctx) => sleep(ctx.clock, 1000, ctx.signal), rollback: async () => {} });
      const move = schedule({ ms: 1000 });
      const elsewhere = schedule({ ms: 1000 }, OTHER_POOL);
      const hsm = manager.scheduleHsmTask('spmStart', 'spm-start', {});
      await turn();

      expect(manager.getInfo(move)).to.deep.equal({ id: move, verb: 'moveImage' });
      expect(manager.getAllInfo(POOL)).to.deep.equal({ [move]: { id: move, verb: 'moveImage' } });
      expect(manager.getAllStatuses(POOL)).to.deep.equal({
        [move]: { taskID: move, taskState: 'running', taskResult: '', code: 0, message: 'running job 1 of 1' },
      });
      expect(Object.keys(manager.getAllStatuses(OTHER_POOL))).to.deep.equal([elsewhere]);
      expect(manager.getAllTasks()).to.deep.equal({
        [move]: { id: move, verb: 'moveImage', state: 'running', code: 0, message: 'running job 1 of 1', result: '', tag: 'spm' },
        [elsewhere]: { id: elsewhere, verb: 'moveImage', state: 'running', code: 0, message: 'running job 1 of 1', result: '', tag: 'spm' },
        [hsm]: { id: hsm, verb: 'spmStart', state: 'running', code: 0, message: 'running job 1 of 1', result: '', tag: 'hsm' },
      });
      // What the fake sends must pass the client's own schemas of these results.
      for (const status of Object.values(manager.getAllStatuses(POOL))) TaskStatusSchema.parse(status);
      for (const info of Object.values(manager.getAllInfo(POOL))) TaskInfoSchema.parse(info);
      for (const details of Object.values(manager.getAllTasks())) TaskDetailsSchema.parse(details);
      expect(manager.hasUnfinished(POOL)).to.equal(true);
      await clock.advanceAsync(1000);
      expect(manager.hasUnfinished(POOL)).to.equal(false);
    });

    it('clears an HSM task even while it runs (no store to refuse it)', async () => {
      manager.register('spm-start', { run: (ctx) => sleep(ctx.clock, 1000, ctx.signal), rollback: async () => {} });
      const hsm = manager.scheduleHsmTask('spmStart', 'spm-start', {});
      await turn();
      manager.clear(hsm);
      expect((await failure(() => manager.getStatus(hsm))).code).to.equal(401);
      await clock.advanceAsync(1000);
      expect(manager.getAllTasks()).to.deep.equal({});
    });
  });

  describe('close', () => {
    it('lets go of running jobs without changing their rows and leaves no timer', async () => {
      const running = schedule({ ms: 60_000, record: { created: 'r' }, lockImage: true });
      await turn();
      const queued = schedule({ ms: 60_000 });
      await manager.close();
      expect(clock.pending).to.equal(0);
      expect([state(running), state(queued)]).to.deep.equal(['running', 'queued']);
      expect(manager.getStatus(running)).to.include({ message: 'running job 1 of 1' });
      expect(db.prepare('SELECT owner FROM locks').pluck().all(), 'the crash leaves its lock rows').to.deep.equal([running]);
      expect(job.rollbacks).to.deep.equal([]);
      expect(() => schedule({ ms: 1 })).to.throw('task manager is closed');
    });
  });

  describe('STORAGE_NAMESPACE locks taken in prepare under the task id', () => {
    it('are released when the task ends', async () => {
      const taskId = '6d7e8f90-a1b2-4c3d-8e4f-5a6b7c8d9e0f';
      await manager.locks.acquire(STORAGE_NAMESPACE, SD, 'shared', taskId);
      manager.scheduleSpmTask(POOL, 'moveImage', 'step', { ms: 5 }, { taskId });
      await turn();
      expect(manager.locks.status(STORAGE_NAMESPACE, SD)).to.equal('shared');
      await clock.advanceAsync(5);
      expect(manager.locks.status(STORAGE_NAMESPACE, SD)).to.equal('free');
    });
  });
});
