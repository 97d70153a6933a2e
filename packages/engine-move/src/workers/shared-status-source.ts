/**
 * The status source of a pool's tracker in a worker: the holder of the pool's
 * leader lease makes the round's `Host.getAllTasksStatuses` and publishes it
 * (publishPoolStatus: under the lease's epoch, with a NOTIFY in the same
 * transaction); every other worker reads the last published round instead of
 * calling the SPM. A round it has already read counts as no round, so a
 * poller that died makes the followers wait, not miss their tasks.
 */
import type { Clock } from '@vdsm-kit/client';
import type { MoveLeaseStore } from '../store/leases.js';
import type { SpmPoll, StatusRound, TaskStatusSource } from '../tasks/status-source.js';
import type { PoolLeaseKeeper } from './pool-lease-keeper.js';
import { PublishedRounds } from './published-rounds.js';

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
  /** The tracker's clock (monotonic, this process's own): rounds are on it. */
  readonly clock?: Clock;
  /** Wall time, the only time two processes share: published rounds are on it. */
  readonly wallNow?: () => number;
}

export class SharedStatusSource implements TaskStatusSource {
  readonly #options: SharedStatusSourceOptions;
  readonly #rounds: PublishedRounds<PublishedBody>;

  constructor(options: SharedStatusSourceOptions) {
    this.#options = options;
    this.#rounds = new PublishedRounds(options, isPublishedBody);
  }

  keepPolling(): boolean {
    return this.#options.keeper.current() !== undefined && this.#options.poolBusy();
  }

  async next(poll: SpmPoll): Promise<StatusRound | undefined> {
    const lease = this.#options.keeper.current();
    if (lease) {
      const { spm, statuses, durationMs, polledAt } = await poll();
      const round: StatusRound = { spm: spm.name, statuses, polledAt, polledHere: true, durationMs };
      await this.#rounds.publish(lease, polledAt, { spm: spm.name, statuses });
      this.#options.onRound?.(round);
      return round;
    }
    const published = await this.#rounds.readNew();
    if (!published) return undefined;
    const round: StatusRound = { spm: published.body.spm, statuses: published.body.statuses, polledAt: published.polledAt, polledHere: false, durationMs: 0 };
    this.#options.onRound?.(round);
    return round;
  }
}
