/**
 * Where a PoolTaskTracker gets each round of the pool's task statuses. One
 * process alone polls the SPM itself (`localStatusSource`); several instances
 * sharing a pool let one of them, the holder of the pool's leader lease, make
 * the one `Host.getAllTasksStatuses` of the round and publish it, while the
 * others follow what it published (workers/shared-status-source.ts). Either
 * way the tracker reads the round the same way, so misses, zombies and ends
 * are judged by one piece of code.
 */
import type { PoolHost } from './pool-host.js';

/** One round of statuses as the tracker reads it. */
export interface StatusRound {
  /** The SPM's name (PoolHost.name) that answered. */
  readonly spm: string;
  /** `Host.getAllTasksStatuses` as it came over the wire (each entry parsed by the tracker). */
  readonly statuses: Record<string, unknown>;
  /** When the poll was made, on the poller's clock: a task watched only since after it cannot be missing from it. */
  readonly polledAt: number;
  /** True when this instance made the call (it counts as one of its polls). */
  readonly polledHere: boolean;
  /** The call's duration when made here. */
  readonly durationMs: number;
}

/** The SPM poll the tracker makes when the source asks it to (locating the SPM, handling 654). */
export type SpmPoll = () => Promise<{ readonly spm: PoolHost; readonly statuses: Record<string, unknown>; readonly durationMs: number; readonly polledAt: number }>;

export interface TaskStatusSource {
  /**
   * The next round: polls through `poll` (the tracker's own SPM call) or
   * returns one another instance published; undefined when there is nothing
   * new (no round since the last one this tracker read), which counts as no
   * round at all (no task is missed for it).
   */
  next(poll: SpmPoll): Promise<StatusRound | undefined>;
  /**
   * True while the pool needs polling even with no task watched here (the
   * leader polls for every instance's tasks). Absent: only this tracker's
   * own tasks count.
   */
  keepPolling?(): boolean;
}

/** One process, one poller: every round is this tracker's own SPM call. */
export const localStatusSource: TaskStatusSource = {
  async next(poll) {
    const { spm, statuses, durationMs, polledAt } = await poll();
    return { spm: spm.name, statuses, polledAt, polledHere: true, durationMs };
  },
};
