/**
 * The SDM host jobs of a fake process: one `HostJobTable` per host, the
 * process's volume leases, and how a job runs (vdsm-sdm.md §1.3, §2).
 *
 * A job runs inside an `sdm` task of the task manager (VDSM's
 * `scheduleJob("sdm", None, ...)`), so it waits for one of its host's 10
 * workers with that host's SPM tasks, meets the task fault rules
 * (failAt, hang, phaseDelayMs, crash: faults/task-faults.ts) and shows in
 * `Host.getAllTasks` while it runs. Its outcome is the job's own, as in
 * VDSM's `Job.run`, which catches everything: `done`; `failed` with the
 * VdsmError's code and `str()` (a fault's error wins over what the
 * interrupted work threw) or 100 `General Exception: (...)`; `aborted`
 * when the control API aborted it.
 *
 * Resource locks are VDSM's per process: a job on host N locks in host N's
 * scope, which for the SPM host is the scope its SPM tasks lock in, so a
 * copy on another host never waits on this host's image locks. Volume
 * leases (sanlock) are the one thing hosts share.
 */
import { HostJobStatus, VdsmError } from '@vdsm-kit/client/api';
import type { HostJobError, HostJobInfo } from '@vdsm-kit/client/api';
import type { Clock } from '@vdsm-kit/client/clock';
import type { StateStore } from '../model/store.js';
import type { JobContext } from '../tasks/job-handler.js';
import type { TaskManager } from '../tasks/task-manager.js';
import type { LockMode } from '../tasks/resource-locks.js';
import { JobAbortError, jobGeneralError } from './job-errors.js';
import { HostJobTable } from './job-table.js';
import type { HostJob } from './job-table.js';
import { VolumeLeases } from './volume-leases.js';

/** What every SDM task gets besides its own params: which host's job it carries. */
export interface HostJobRef {
  readonly jobId: string;
  readonly hostId: number;
}

/** Options of a `HostJobs`. */
export interface HostJobsOptions {
  readonly clock: Clock;
  /** `[jobs] autodelete_delay` in ms (default 3600 s); negative keeps ended jobs for good. */
  readonly autodeleteDelayMs?: number;
}

/** The host job tables and volume leases of one fake process (module comment). */
export class HostJobs {
  readonly leases = new VolumeLeases();
  readonly #clock: Clock;
  readonly #autodeleteMs: number | undefined;
  readonly #tables = new Map<number, HostJobTable>();
  /** Jobs between their start and their end, by task id: a job dropped from its table still ends here. */
  readonly #running = new Map<string, { readonly table: HostJobTable; readonly job: HostJob }>();

  constructor({ clock, autodeleteDelayMs }: HostJobsOptions) {
    if (autodeleteDelayMs !== undefined && !Number.isFinite(autodeleteDelayMs)) {
      throw new RangeError(`the job autodelete delay must be a number of milliseconds, not ${autodeleteDelayMs}`);
    }
    this.#clock = clock;
    this.#autodeleteMs = autodeleteDelayMs;
  }

  /** Host `hostId`'s table (made on first use). */
  table(hostId: number): HostJobTable {
    let table = this.#tables.get(hostId);
    if (table === undefined) {
      table = new HostJobTable({ clock: this.#clock, ...(this.#autodeleteMs === undefined ? {} : { autodeleteDelayMs: this.#autodeleteMs }) });
      this.#tables.set(hostId, table);
    }
    return table;
  }

  /** Remembers that task `taskId` carries `job` of `table`. */
  track(taskId: string, table: HostJobTable, job: HostJob): void {
    this.#running.set(taskId, { table, job });
  }

  /**
   * Runs `work` as the job the SDM task `task` carries, and ends the job
   * with its outcome (module comment). Never rejects for the job's own
   * failure: the task itself always ends well, as VDSM's sdm task does.
   */
  async run(task: JobContext<HostJobRef>, work: (job: HostJob) => Promise<void>): Promise<void> {
    const entry = this.#running.get(task.taskId);
    // A job whose table is gone (the process crashed and came back) has nobody to report to.
    if (entry === undefined) return;
    const { table, job } = entry;
    table.started(job);
    try {
      await work(job);
      if (job.abortRequested) table.end(job, HostJobStatus.Aborted);
      else table.end(job, HostJobStatus.Done);
    } catch (error) {
      // Let go of by a crash or a close: the process is gone, nothing is reported (no end, no event).
      if (lostWithTheProcess(task)) return;
      if (job.abortRequested) table.end(job, HostJobStatus.Aborted);
      else table.end(job, HostJobStatus.Failed, jobError(task.signal, error));
    } finally {
      this.#running.delete(task.taskId);
    }
  }

  /**
   * Aborts job `jobId` of host `hostId` (jobs.py `abort`, which VDSM offers
   * no verb for): a pending job ends `aborted` at once and never runs; a
   * running one has its task stopped (the copy is killed) and ends
   * `aborted`, its destination left as the copy left it (ILLEGAL at G once
   * the copy began). Either way the event is sent. Returns the job's info.
   *
   * @throws JobAbortError `NoSuchJob` when not listed, `JobNotActive` when it has ended.
   */
  abort(hostId: number, jobId: string, tasks: Pick<TaskManager, 'stop'>): HostJobInfo {
    const table = this.table(hostId);
    const job = table.get(jobId);
    if (job === undefined) throw new JobAbortError('NoSuchJob', `host ${hostId} has no job ${jobId}`);
    if (job.status !== HostJobStatus.Pending && job.status !== HostJobStatus.Running) {
      throw new JobAbortError('JobNotActive', `job ${jobId} of host ${hostId} is ${job.status}: only a pending or running job can be aborted`);
    }
    job.abortRequested = true;
    const { taskId } = job;
    if (job.status === HostJobStatus.Pending) {
      table.end(job, HostJobStatus.Aborted);
      if (taskId !== undefined) this.#running.delete(taskId);
    }
    // A queued task is dropped from its queue; a running one has its signal fired.
    if (taskId !== undefined) tasks.stop(taskId);
    return table.infos(null, [jobId])[jobId] ?? { id: jobId, status: job.status, description: job.description, job_type: 'storage' };
  }

  /**
   * Host `hostId`'s process died (StorageHost.crashHost): its job table goes
   * and a new, empty one is made when the host comes back. The leases its
   * jobs held are freed as their work stops (sanlock frees a dead holder's).
   */
  dropHost(hostId: number): void {
    const table = this.#tables.get(hostId);
    if (table === undefined) return;
    for (const [taskId, entry] of this.#running) if (entry.table === table) this.#running.delete(taskId);
    table.close();
    this.#tables.delete(hostId);
  }

  /** Forgets every job and lease (the process is gone; a restart starts empty). */
  close(): void {
    for (const table of this.#tables.values()) table.close();
    this.#tables.clear();
    this.#running.clear();
    this.leases.clear();
  }
}

/**
 * True when the task manager has let go of the task (a crash, a close): its
 * recovery record then refuses writes with the reason it was let go of, which
 * is not a VdsmError (a fault's error, the other refusal, is one). The sdm
 * task keeps no record, so clearing it is a no-op otherwise.
 */
function lostWithTheProcess(task: JobContext<HostJobRef>): boolean {
  try {
    task.recovery.clear();
    return false;
  } catch (error) {
    return !(error instanceof VdsmError);
  }
}

/** jobs.py `_run_failed`: a VdsmError's code and `str()`, else 100 General Exception. A fault's error wins. */
function jobError(signal: AbortSignal, error: unknown): HostJobError {
  const cause = signal.aborted && signal.reason instanceof VdsmError ? signal.reason : error;
  if (cause instanceof VdsmError) return { code: cause.code, message: cause.message };
  const failure = jobGeneralError(cause instanceof Error ? cause.message : String(cause));
  return { code: failure.code, message: failure.message };
}

/**
 * The namespace host `hostId` locks `namespace` in (module comment): the
 * plain one on its pool's SPM, a host-suffixed one elsewhere.
 */
export function hostLockNamespace(store: StateStore, hostId: number, namespace: string): string {
  return store.spmPoolOf(hostId) !== undefined ? namespace : `${namespace}_host${hostId}`;
}

/** One lock of a job: namespace (unscoped), name, mode. */
export interface JobLock {
  readonly namespace: string;
  readonly name: string;
  readonly mode: LockMode;
}

/**
 * guarded.py `context`: the locks deduplicated (an exclusive request wins
 * over a shared one of the same resource), sorted by namespace then name,
 * and acquired in that order in host `hostId`'s scope, each waiting without
 * a timeout as VDSM's resource manager locks of jobs do.
 */
export async function acquireJobLocks(store: StateStore, task: JobContext<HostJobRef>, locks: readonly JobLock[]): Promise<void> {
  const unique = new Map<string, JobLock>();
  for (const lock of locks) {
    const key = `${lock.namespace}/${lock.name}`;
    const held = unique.get(key);
    if (held === undefined || lock.mode === 'exclusive') unique.set(key, held?.mode === 'exclusive' ? held : lock);
  }
  const sorted = [...unique.values()].sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
  for (const lock of sorted) {
    await task.locks.acquire(hostLockNamespace(store, task.params.hostId, lock.namespace), lock.name, lock.mode, { timeoutMs: Infinity });
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
