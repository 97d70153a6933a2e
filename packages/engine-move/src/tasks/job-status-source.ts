/**
 * Where a HostJobTracker gets each round of its host's SDM jobs, as
 * status-source.ts is for a pool's SPM tasks: one process alone asks the
 * host itself (`localJobStatusSource`); several instances sharing a pool let
 * the holder of the pool's leader lease make the one `Host.getJobs` of the
 * round, for every instance's jobs on that host, and publish it, while the
 * others read what it published (workers/shared-job-source.ts). Either way the
 * tracker judges the round the same way (ends, missing, unreachable).
 */
import type { HostJobInfo } from '@vdsm-kit/client';

/** One round of a host's jobs as the tracker reads it. */
export interface JobRound {
  /** `Host.getJobs` as the host answered it, for (at least) the ids asked. */
  readonly jobs: Readonly<Record<string, HostJobInfo>>;
  /** When the poll was made, on the tracker's clock: a job watched only since after it cannot be missing from it. */
  readonly polledAt: number;
  /** True when this instance made the call (it counts as one of its polls). */
  readonly polledHere: boolean;
}

/** The tracker's own `Host.getJobs` of these ids; rejects when the host cannot be asked. */
export type JobPoll = (jobIds: readonly string[]) => Promise<JobRound>;

export interface JobStatusSource {
  /**
   * The next round for the `watched` ids: polled through `poll`, or one
   * another instance published; undefined when there is nothing new, which
   * counts as no round (no job is judged on it). Rejects when the host could
   * not be asked (here, or by the instance that polls): a miss.
   */
  next(poll: JobPoll, watched: readonly string[]): Promise<JobRound | undefined>;
  /** True while the host needs polling with no job watched here (the leader polls for every instance's jobs). */
  keepPolling?(): boolean;
}

/** One process, one poller: every round is this tracker's own call. */
export const localJobStatusSource: JobStatusSource = {
  next: (poll, watched) => poll(watched),
};
