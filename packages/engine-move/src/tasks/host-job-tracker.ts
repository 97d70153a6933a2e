/**
 * Follows the SDM host jobs of one host, as PoolTaskTracker follows a pool's
 * SPM tasks: one `Host.getJobs(job_type="storage", job_ids=[every watched
 * id])` per interval for all of them, brought forward after a new job is
 * watched (the same ladder as the pool's early polls), whoever watches. A
 * job's `|jobs|status|<id>` event, when the host's connection delivers one,
 * ends its wait at once; it is never the only signal, since VDSM drops events
 * while it starts and a reconnect loses them (vdsm-sdm.md s2, s5.3).
 *
 * A job the host does not list ends as `missing`, and a host that cannot be
 * asked `missesBeforeUnreachable` polls in a row ends its jobs as
 * `unreachable`: what happened is then for entity polling to tell (the
 * target volume's lease and generation), never for a guess.
 *
 * Several instances sharing a pool make one `Host.getJobs` per host per
 * interval between them: the rounds come from a JobStatusSource (the pool's
 * poller asks, the others read what it published).
 */
import { HOST_JOB_ENDED_STATUSES, HostJobStatus, jobStatusEventId } from '@vdsm-kit/client';
import type { CallOptions, Clock, EventSource, HostJobInfo } from '@vdsm-kit/client';
import { localJobStatusSource } from './job-status-source.js';
import type { JobRound, JobStatusSource } from './job-status-source.js';
import { PollSchedule } from './poll-schedule.js';
import type { PoolHost } from './pool-host.js';
import { SoonestTimer } from './soonest-timer.js';

export const DEFAULT_MISSES_BEFORE_UNREACHABLE = 3;

export type JobEnd =
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly code: number; readonly message: string }
  | { readonly kind: 'aborted' }
  /** The host answered and does not list the job (never reached it, its vdsm restarted, or autodeleted). */
  | { readonly kind: 'missing' }
  /** The host could not be asked, `misses` polls in a row. */
  | { readonly kind: 'unreachable'; readonly misses: number; readonly error: unknown };

export interface HostJobTrackerOptions {
  readonly host: PoolHost;
  readonly clock: Clock;
  /** One Host.getJobs per interval (default 10 s). */
  readonly intervalMs?: number;
  /** The first early poll after a job is watched (default 250 ms). */
  readonly firstEarlyPollMs?: number;
  readonly missesBeforeUnreachable?: number;
  readonly callTimeoutMs?: number;
  /** The host's events, if its connection delivers them. */
  readonly events?: EventSource;
  /** Where rounds come from (default: this tracker's own Host.getJobs). */
  readonly statusSource?: JobStatusSource;
}

interface Watched {
  readonly jobId: string;
  readonly ends: ((end: JobEnd) => void)[];
  progress: number | undefined;
  status: string | undefined;
  stopListening: () => void;
  /** When the watch began (clock time): a round polled before it says nothing of the job. */
  readonly since: number;
}

export class HostJobTracker {
  readonly host: PoolHost;
  readonly #schedule: PollSchedule;
  readonly #missLimit: number;
  readonly #callOptions: CallOptions;
  readonly #events: EventSource | undefined;
  readonly #source: JobStatusSource;
  readonly #clock: Clock;
  readonly #watched = new Map<string, Watched>();
  #misses = 0;
  #lastError: unknown;
  #polls = 0;
  readonly #timer: SoonestTimer;
  #ticking = false;
  #closed = false;

  constructor(options: HostJobTrackerOptions) {
    this.host = options.host;
    this.#timer = new SoonestTimer(options.clock, () => void this.#tick());
    this.#schedule = new PollSchedule(options.intervalMs, options.firstEarlyPollMs);
    this.#missLimit = options.missesBeforeUnreachable ?? DEFAULT_MISSES_BEFORE_UNREACHABLE;
    this.#callOptions = options.callTimeoutMs === undefined ? {} : { timeoutMs: options.callTimeoutMs };
    this.#events = options.events ?? options.host.events;
    this.#source = options.statusSource ?? localJobStatusSource;
    this.#clock = options.clock;
  }

  /** Host.getJobs calls made. */
  get polls(): number {
    return this.#polls;
  }

  get watching(): number {
    return this.#watched.size;
  }

  /** The job's last reported progress (0..100), if the host gave one. */
  progress(jobId: string): number | undefined {
    return this.#watched.get(jobId)?.progress;
  }

  /** Resolves when the job ends, or when the host can no longer tell (missing, unreachable). */
  watch(jobId: string): Promise<JobEnd> {
    return new Promise((resolve) => {
      let watched = this.#watched.get(jobId);
      if (!watched) {
        const entry: Watched = { jobId, ends: [], progress: undefined, status: undefined, stopListening: () => {}, since: this.#clock.now() };
        if (this.#events) {
          entry.stopListening = this.#events.on(jobStatusEventId(jobId), (event) => {
            const info = event.params as Partial<HostJobInfo>;
            if (typeof info.status === 'string' && HOST_JOB_ENDED_STATUSES.has(info.status)) this.#observe(entry, info as HostJobInfo);
          });
        }
        this.#watched.set(jobId, entry);
        watched = entry;
        this.#pollSoon(this.#schedule.submitted());
      }
      watched.ends.push(resolve);
    });
  }

  /** A round now: the pool's poller was told that another instance has jobs on this host, which its polls must serve. */
  kick(): void {
    if (this.#closed) return;
    this.#timer.schedule(0);
  }

  close(): void {
    this.#closed = true;
    this.#timer.cancel();
    for (const watched of this.#watched.values()) watched.stopListening();
    this.#watched.clear();
  }

  #end(watched: Watched, end: JobEnd): void {
    if (this.#watched.get(watched.jobId) !== watched) return;
    this.#watched.delete(watched.jobId);
    watched.stopListening();
    for (const resolve of watched.ends) resolve(end);
  }

  #observe(watched: Watched, info: HostJobInfo): void {
    watched.status = info.status;
    if (typeof info.progress === 'number') watched.progress = info.progress;
    switch (info.status) {
      case HostJobStatus.Done:
        return this.#end(watched, { kind: 'done' });
      case HostJobStatus.Failed:
        return this.#end(watched, { kind: 'failed', code: info.error?.code ?? 100, message: info.error?.message ?? 'job failed without an error' });
      case HostJobStatus.Aborted:
        return this.#end(watched, { kind: 'aborted' });
      default:
        // pending, running, aborting, or a status VDSM may add: still active.
        return;
    }
  }

  #pollSoon(delayMs: number): void {
    if (this.#closed || (this.#watched.size === 0 && this.#source.keepPolling?.() !== true)) return;
    this.#timer.schedule(delayMs);
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      await this.#poll();
    } finally {
      this.#ticking = false;
      this.#pollSoon(this.#schedule.afterPoll());
    }
  }

  async #poll(): Promise<void> {
    const asked = [...this.#watched.values()];
    if (asked.length === 0 && this.#source.keepPolling?.() !== true) return;
    let round: JobRound | undefined;
    try {
      round = await this.#source.next((ids) => this.#ask(ids), asked.map((w) => w.jobId));
    } catch (error) {
      if (this.#closed) return;
      this.#misses += 1;
      this.#lastError = error;
      if (this.#misses >= this.#missLimit) {
        const misses = this.#misses;
        this.#misses = 0;
        for (const watched of asked) this.#end(watched, { kind: 'unreachable', misses, error: this.#lastError });
      }
      // A VDSM error (99 while it starts, ...) counts as a miss like a lost connection.
      return;
    }
    if (this.#closed || round === undefined) return;
    this.#misses = 0;
    for (const watched of asked) {
      const info = round.jobs[watched.jobId];
      if (info !== undefined) this.#observe(watched, info);
      else if (round.polledAt >= watched.since) this.#end(watched, { kind: 'missing' });
    }
  }

  /** This tracker's own Host.getJobs of `ids`. */
  async #ask(ids: readonly string[]): Promise<JobRound> {
    this.#polls += 1;
    const polledAt = this.#clock.now();
    const jobs = await this.host.api.Host.getJobs({ job_type: 'storage', job_ids: [...ids] }, this.#callOptions);
    return { jobs, polledAt, polledHere: true };
  }
}
