/**
 * One host's SDM host jobs (lib/vdsm/jobs.py `_jobs`; vdsm-sdm.md §2): the
 * table `Host.getJobs` reads, keyed by the caller's job id.
 *
 * - A job is added `pending` by its verb, moves to `running` when a worker
 *   takes its task, and ends `done`, `failed` (with `error`) or `aborted`.
 * - It stays listed `autodeleteDelayMs` (VDSM's `[jobs] autodelete_delay`,
 *   3600 s, on the storage clock) after it ended, and its id stays taken as
 *   long as it is listed; a negative delay keeps it for good.
 * - It is memory only, like VDSM's: a crash or restart of the fake makes a
 *   new table, and every job is forgotten.
 * - When a job ends, the `ended` listeners get its info once (the host sends
 *   it as the `|jobs|status|<id>` event); nothing is sent for pending ->
 *   running nor for progress.
 */
import { HostJobStatus, HostJobType } from '@vdsm-kit/client/api';
import type { HostJobError, HostJobInfo } from '@vdsm-kit/client/api';
import type { Clock, TimerHandle } from '@vdsm-kit/client/clock';
import { jobExistsError } from './job-errors.js';

/** VDSM's `[jobs] autodelete_delay`: an ended job is dropped this long after it ended. */
export const DEFAULT_JOB_AUTODELETE_MS = 3_600_000;

/** A job as the table keeps it. */
export interface HostJob {
  readonly id: string;
  /** `copy_data`, `update_volume`. */
  readonly description: string;
  status: HostJobStatus;
  /** 0.0..100.0 once known; never set for jobs without progress. */
  progress?: number;
  error?: HostJobError;
  /** The task that carries it (`Host.getAllTasks`), once scheduled. */
  taskId?: string;
  /** Set by `abort`: the work ends `aborted`, whatever it was doing. */
  abortRequested: boolean;
  /** Clock time of the end, for the autodelete. */
  endedAt?: number;
}

/** Options of a `HostJobTable`. */
export interface HostJobTableOptions {
  readonly clock: Clock;
  /** How long an ended job stays listed (default `DEFAULT_JOB_AUTODELETE_MS`); negative: for good. */
  readonly autodeleteDelayMs?: number;
}

type EndedListener = (info: HostJobInfo) => void;

/** The jobs of one host (module comment). */
export class HostJobTable {
  readonly #clock: Clock;
  readonly #autodeleteMs: number;
  readonly #jobs = new Map<string, HostJob>();
  readonly #timers = new Map<string, TimerHandle>();
  readonly #ended = new Set<EndedListener>();
  /** Ids dropped while running (a `dropJob` fault): their end is neither listed nor kept. */
  readonly #dropped = new Set<string>();
  #closed = false;

  constructor({ clock, autodeleteDelayMs = DEFAULT_JOB_AUTODELETE_MS }: HostJobTableOptions) {
    if (!Number.isFinite(autodeleteDelayMs)) throw new RangeError(`the job autodelete delay must be a number of milliseconds, not ${autodeleteDelayMs}`);
    this.#clock = clock;
    this.#autodeleteMs = autodeleteDelayMs;
  }

  /**
   * Adds job `id`, pending (jobs.py `add`).
   *
   * @throws VdsmError 100 `Job '<id>' exists` while a job of that id is listed (ended ones included).
   */
  add(id: string, description: string): HostJob {
    if (this.#jobs.has(id)) throw jobExistsError(id);
    const job: HostJob = { id, description, status: HostJobStatus.Pending, abortRequested: false };
    this.#jobs.set(id, job);
    return job;
  }

  /** The listed job `id`, if any. */
  get(id: string): HostJob | undefined {
    return this.#jobs.get(id);
  }

  /** `Host.getJobs`: infos by id, only of `jobType` (every type when null) and of `ids` (all when empty). */
  infos(jobType: string | null, ids: readonly string[]): Record<string, HostJobInfo> {
    const wanted = ids.length === 0 ? undefined : new Set(ids);
    const result: Record<string, HostJobInfo> = {};
    for (const job of this.#jobs.values()) {
      if (wanted !== undefined && !wanted.has(job.id)) continue;
      // Every SDM job is a storage job (sdm/api/base.py).
      if (jobType !== null && jobType !== HostJobType.Storage) continue;
      result[job.id] = infoOf(job);
    }
    return result;
  }

  /** Every listed job, oldest first (the control API's view). */
  list(): HostJobInfo[] {
    return [...this.#jobs.values()].map(infoOf);
  }

  /** The job's worker took it. */
  started(job: HostJob): void {
    if (job.status === HostJobStatus.Pending) job.status = HostJobStatus.Running;
  }

  /** The job's progress, 0.0..100.0 (a float, as qemu-img reports it). */
  progress(job: HostJob, percent: number): void {
    if (job.status !== HostJobStatus.Running || !Number.isFinite(percent)) return;
    job.progress = Math.min(100, Math.max(0, percent));
  }

  /**
   * Ends the job (once): `done`, `failed` with `error`, or `aborted`; tells
   * the `ended` listeners and arms the autodelete.
   */
  end(job: HostJob, status: typeof HostJobStatus.Done | typeof HostJobStatus.Failed | typeof HostJobStatus.Aborted, error?: HostJobError): void {
    if (job.endedAt !== undefined || this.#closed) return;
    job.status = status;
    job.endedAt = this.#clock.now();
    if (status === HostJobStatus.Failed && error !== undefined) job.error = error;
    const info = infoOf(job);
    for (const listener of [...this.#ended]) listener(info);
    if (this.#dropped.delete(job.id)) return;
    if (this.#jobs.get(job.id) !== job) return;
    if (this.#autodeleteMs < 0) return;
    this.#timers.set(
      job.id,
      this.#clock.setTimeout(() => this.remove(job.id), this.#autodeleteMs),
    );
  }

  /**
   * Takes job `id` out of the listing now (a `dropJob` fault; the autodelete);
   * a running job goes on working unlisted. Returns false when it was not listed.
   */
  remove(id: string): boolean {
    const job = this.#jobs.get(id);
    if (job === undefined) return false;
    this.#jobs.delete(id);
    const timer = this.#timers.get(id);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#timers.delete(id);
    if (job.endedAt === undefined) this.#dropped.add(id);
    return true;
  }

  /** Calls `listener` with the info of every job that ends; returns the function that stops it. */
  onEnded(listener: EndedListener): () => void {
    this.#ended.add(listener);
    return () => this.#ended.delete(listener);
  }

  /** Forgets every job and timer (the host's process is gone): nothing ends or is sent any more. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    this.#jobs.clear();
    this.#ended.clear();
  }
}

/** jobs.py `Job.info()`: `progress` only when known, `error` only when failed. */
function infoOf(job: HostJob): HostJobInfo {
  return {
    id: job.id,
    status: job.status,
    description: job.description,
    job_type: HostJobType.Storage,
    ...(job.progress === undefined ? {} : { progress: job.progress }),
    ...(job.status === HostJobStatus.Failed && job.error !== undefined ? { error: job.error } : {}),
  };
}
