/**
 * The status source of a pool's tracker in a worker: the holder of the pool's
 * leader lease makes the round's `Host.getAllTasksStatuses` and publishes it
 * (publishPoolStatus: under the lease's epoch, with a NOTIFY in the same
 * transaction); every other worker reads the last published round instead of
 * calling the SPM. A round it has already read counts as no round, so a
 * poller that died makes the followers wait, not miss their tasks.
 */
import type { MoveLeaseStore } from '../store/leases.js';
import type { SpmPoll, StatusRound, TaskStatusSource } from '../tasks/status-source.js';
import type { PoolLeaseKeeper } from './pool-lease-keeper.js';

/** What the poller publishes: the SPM that answered and its statuses. */
interface PublishedBody {
  readonly spm: string;
  readonly statuses: Record<string, unknown>;
}

function isPublishedBody(body: unknown): body is PublishedBody {
  if (typeof body !== 'object' || body === null) return false;
  const { spm, statuses } = body as Record<string, unknown>;
  return typeof spm === 'string' && typeof statuses === 'object' && statuses !== null;
}

export interface SharedStatusSourceOptions {
  readonly store: MoveLeaseStore;
  readonly keeper: PoolLeaseKeeper;
  /** True while any instance has tasks of the pool in flight (the poller polls for them all). */
  readonly poolBusy: () => boolean;
  /** A round was published (by this worker) or read (from another's). */
  readonly onRound?: (round: StatusRound) => void;
}

export class SharedStatusSource implements TaskStatusSource {
  readonly #options: SharedStatusSourceOptions;
  #lastSeq = -Infinity;

  constructor(options: SharedStatusSourceOptions) {
    this.#options = options;
  }

  keepPolling(): boolean {
    return this.#options.keeper.current() !== undefined && this.#options.poolBusy();
  }

  async next(poll: SpmPoll): Promise<StatusRound | undefined> {
    const { store, keeper } = this.#options;
    const lease = keeper.current();
    if (lease) {
      const { spm, statuses, durationMs, polledAt } = await poll();
      const round: StatusRound = { spm: spm.name, statuses, polledAt, polledHere: true, durationMs };
      if (!(await store.publishPoolStatus(lease, polledAt, { spm: spm.name, statuses } satisfies PublishedBody))) keeper.lost();
      this.#options.onRound?.(round);
      return round;
    }
    const status = await store.getPoolStatus(keeper.poolId);
    if (!status || status.seq <= this.#lastSeq || !isPublishedBody(status.body)) return undefined;
    this.#lastSeq = status.seq;
    const round: StatusRound = { spm: status.body.spm, statuses: status.body.statuses, polledAt: status.polledAt, polledHere: false, durationMs: 0 };
    this.#options.onRound?.(round);
    return round;
  }
}
