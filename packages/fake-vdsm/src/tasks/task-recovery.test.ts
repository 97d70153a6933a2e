/**
 * Crash and SPM-change behaviour: a manager is closed mid-job (what SIGKILL
 * leaves in the database), the database file is reopened by a new manager,
 * and `recover(pool)` does what VDSM's new SPM does with the loaded tasks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pyTuple, vdsmErrorFromRpc, vdsmMessage } from '@vdsm-kit/client/api';
import type { TaskInternalState } from '@vdsm-kit/client/api';
import { ManualClock, sleep } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { openStateDatabase } from '../model/db.js';
import type { StateDatabase } from '../model/db.js';
import type { JobContext, JobHandler } from './job-handler.js';
import { imageNamespace } from './resource-locks.js';
import { TaskManager } from './task-manager.js';
import { TaskRepo } from './task-repo.js';

const POOL = '8c1a2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER_POOL = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';
const SD = '5e3c6a34-1b3e-4f4c-9f0e-3e4f5a6b7c8d';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface CopyParams {
  readonly image: string;
  readonly ms: number;
  readonly failCode?: number;
  readonly rollbackMs?: number;
  readonly rollbackFails?: boolean;
}

interface CopyRecovery {
  readonly created: string;
}

/** A copy-like job: records its target, locks the image, takes `ms` of clock time. */
class CopyJob implements JobHandler<CopyParams, CopyRecovery> {
  readonly rollbacks: Array<{ taskId: string; recovery: CopyRecovery | undefined }> = [];

  async run(ctx: JobContext<CopyParams, CopyRecovery>): Promise<void> {
    await ctx.locks.acquire(imageNamespace(SD), ctx.params.image, 'exclusive');
    ctx.recovery.set({ created: `target of ${ctx.params.image} on ${SD}` });
    await sleep(ctx.clock, ctx.params.ms, ctx.signal);
    const code = ctx.params.failCode;
    if (code !== undefined) throw vdsmErrorFromRpc({ code, message: vdsmMessage(code, pyTuple()) });
  }

  async rollback(ctx: JobContext<CopyParams, CopyRecovery>): Promise<void> {
    this.rollbacks.push({ taskId: ctx.taskId, recovery: ctx.recovery.get() });
    if (ctx.params.rollbackMs !== undefined) await sleep(ctx.clock, ctx.params.rollbackMs, ctx.signal);
    if (ctx.params.rollbackFails) throw new Error('lvremove failed');
  }
}

describe('TaskManager recovery (SPM start, restart after a crash)', () => {
  let dir: string;
  let clock: ManualClock;
  let db: StateDatabase;
  let manager: TaskManager;
  let job: CopyJob;

  /** A fresh process on the same state folder: new connection, new manager, same handlers. */
  function openProcess(): void {
    db = openStateDatabase(dir);
    manager = new TaskManager({ db, clock });
    job = new CopyJob();
    manager.register('copy', job);
  }

  /** Kills the current "process": jobs let go of, rows untouched, connection closed. */
  async function crash(): Promise<void> {
    await manager.close();
    db.close();
  }

  const schedule = (params: CopyParams, poolId = POOL): string => manager.scheduleSpmTask(poolId, 'moveImage', 'copy', params);
  const state = (id: string): TaskInternalState | undefined => manager.getRecord(id)?.state;
  const lockOwners = (): unknown[] => db.prepare('SELECT owner FROM locks ORDER BY owner').pluck().all();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-vdsm-recovery-'));
    clock = new ManualClock();
    openProcess();
  });

  afterEach(async () => {
    await manager.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rolls back a task killed mid-job with its persisted record; it ends recovered as VDSM reports it', async () => {
    const id = schedule({ image: 'img-1', ms: 60_000 });
    await turn();
    expect(state(id)).to.equal('running');
    await crash();

    openProcess();
    // The row is exactly what the dead process wrote, lock trace included.
    expect(state(id)).to.equal('running');
    expect(lockOwners()).to.deep.equal([id]);
    expect(manager.hasUnfinished(POOL)).to.equal(true);

    await manager.recover(POOL);
    expect(state(id)).to.equal('recovered');
    expect(job.rollbacks).to.deep.equal([{ taskId: id, recovery: { created: `target of img-1 on ${SD}` } }]);
    // A loaded task has the default result: VDSM persists the result only for finished tasks.
    expect(manager.getStatus(id)).to.deep.equal({
      taskID: id,
      taskState: 'finished',
      taskResult: 'cleanSuccess',
      code: 0,
      message: 'Task is initializing',
    });
    expect(lockOwners()).to.deep.equal([]);
    expect(manager.hasUnfinished(POOL)).to.equal(false);
  });

  it('keeps done tasks: finished with its result, recovered/failed with the default result', async () => {
    const finished = schedule({ image: 'img-1', ms: 1 });
    const recovered = schedule({ image: 'img-2', ms: 1, failCode: 268 });
    const failed = schedule({ image: 'img-3', ms: 1, failCode: 261, rollbackFails: true });
    await turn();
    await clock.advanceAsync(1);
    expect(manager.getStatus(recovered)).to.include({ code: 268, taskResult: 'cleanSuccess' });
    await crash();

    openProcess();
    await manager.recover(POOL);
    expect(manager.getStatus(finished)).to.deep.equal({
      taskID: finished,
      taskState: 'finished',
      taskResult: 'success',
      code: 0,
      message: '1 jobs completed successfully',
    });
    expect(manager.getStatus(recovered)).to.include({ taskResult: 'cleanSuccess', code: 0, message: 'Task is initializing' });
    expect(manager.getStatus(failed)).to.include({ taskResult: 'cleanFailure', code: 0, message: 'Task is initializing' });
    expect(job.rollbacks).to.deep.equal([]);
    expect(Object.keys(manager.getAllStatuses(POOL))).to.have.members([finished, recovered, failed]);
  });

  it('restarts a rollback that the crash interrupted', async () => {
    const id = schedule({ image: 'img-1', ms: 1, failCode: 260, rollbackMs: 60_000 });
    await turn();
    await clock.advanceAsync(1);
    expect(state(id)).to.equal('recovering');
    const first = job.rollbacks;
    await crash();
    expect(first).to.have.length(1);

    openProcess();
    const recovering = manager.recover(POOL);
    await turn();
    expect(state(id)).to.equal('recovering');
    await clock.advanceAsync(60_000);
    await recovering;
    expect(state(id)).to.equal('recovered');
    expect(job.rollbacks).to.deep.equal([{ taskId: id, recovery: { created: `target of img-1 on ${SD}` } }]);
  });

  it('ends a task failed when its rollback fails during recovery', async () => {
    const id = schedule({ image: 'img-1', ms: 60_000, rollbackFails: true });
    await turn();
    await crash();
    openProcess();
    await manager.recover(POOL);
    expect(manager.getStatus(id)).to.include({ taskState: 'finished', taskResult: 'cleanFailure' });
  });

  it('fails a task caught in aborting or raborting, without a rollback (task.py recover -> stop(force))', async () => {
    const aborting = schedule({ image: 'img-1', ms: 60_000 });
    const raborting = schedule({ image: 'img-2', ms: 60_000 });
    await turn();
    await crash();
    // What a kill between two of VDSM's state writes leaves behind.
    db = openStateDatabase(dir);
    const repo = new TaskRepo(db);
    repo.setState(aborting, 'aborting', 0, 'x', Date.now());
    repo.setState(raborting, 'raborting', 0, 'x', Date.now());
    db.close();

    openProcess();
    await manager.recover(POOL);
    expect([state(aborting), state(raborting)]).to.deep.equal(['failed', 'failed']);
    expect(manager.getStatus(aborting)).to.include({ taskResult: 'cleanFailure', code: 0, message: 'Task is initializing' });
    expect(job.rollbacks).to.deep.equal([]);
  });

  it('aborts a task still queued at the crash; its job never runs', async () => {
    const id = schedule({ image: 'img-1', ms: 1 });
    await crash();
    openProcess();
    await manager.recover(POOL);
    expect(state(id)).to.equal('recovered');
    expect(job.rollbacks, 'nothing was recorded').to.deep.equal([]);
  });

  it('takes over the running tasks of the pool in this process (SPM change) and leaves other pools alone', async () => {
    const mine = schedule({ image: 'img-1', ms: 60_000 });
    const other = schedule({ image: 'img-2', ms: 60_000 }, OTHER_POOL);
    await turn();
    await manager.recover(POOL);
    expect(state(mine)).to.equal('recovered');
    expect(job.rollbacks.map((r) => r.taskId)).to.deep.equal([mine]);
    expect(state(other)).to.equal('running');
    expect(manager.locks.held().map((lock) => lock.owner)).to.deep.equal([other]);
    expect(lockOwners()).to.deep.equal([other]);
    await clock.advanceAsync(60_000);
    expect(state(other)).to.equal('finished');
  });

  it('keeps finished results across a clean reopen and forgets HSM tasks (in memory only in VDSM)', async () => {
    manager.register('spm-start', { run: async () => {}, rollback: async () => {} });
    const spm = schedule({ image: 'img-1', ms: 1 });
    const hsm = manager.scheduleHsmTask('spmStart', 'spm-start', {});
    await turn();
    await clock.advanceAsync(1);
    const before = manager.getStatus(spm);
    expect(manager.getStatus(hsm)).to.include({ taskResult: 'success' });
    await crash();

    openProcess();
    expect(manager.getStatus(spm)).to.deep.equal(before);
    expect(() => manager.getStatus(hsm)).to.throw(`Task id unknown: ('${hsm}',)`);
  });

  it('fails a task whose job kind nobody registered when it has something to undo', async () => {
    const id = schedule({ image: 'img-1', ms: 60_000 });
    await turn();
    await crash();
    db = openStateDatabase(dir);
    manager = new TaskManager({ db, clock });
    await manager.recover(POOL);
    expect(state(id)).to.equal('failed');
  });
});
