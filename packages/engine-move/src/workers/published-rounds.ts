/**
 * One round topic of a pool as the instances share it through the store
 * (publishPoolStatus / getPoolStatus): the holder of the pool's leader lease
 * publishes each round under its lease, the others read the newest one.
 * Rounds are on each process's own monotonic clock and the store holds wall
 * time, the only time two processes share, so both directions convert here;
 * a round already read is not read again (it counts as no round). Serves
 * the SPM's task statuses (shared-status-source.ts) and a host's SDM jobs
 * (shared-job-source.ts).
 */
import { systemClock } from '@vdsm-kit/client';
import type { Clock } from '@vdsm-kit/client';
import type { MoveLeaseStore, PoolLease } from '../store/leases.js';
import type { PoolLeaseKeeper } from './pool-lease-keeper.js';

export interface PublishedRoundsOptions {
  readonly store: Pick<MoveLeaseStore, 'publishPoolStatus' | 'getPoolStatus'>;
  readonly keeper: PoolLeaseKeeper;
  /** The topic (undefined: the SPM's task statuses). */
  readonly topic?: string;
  readonly clock?: Clock;
  readonly wallNow?: () => number;
}

export class PublishedRounds<Body> {
  readonly #options: PublishedRoundsOptions;
  readonly #isBody: (body: unknown) => body is Body;
  readonly #clock: Clock;
  readonly #wallNow: () => number;
  #lastSeq = -Infinity;

  constructor(options: PublishedRoundsOptions, isBody: (body: unknown) => body is Body) {
    this.#options = options;
    this.#isBody = isBody;
    this.#clock = options.clock ?? systemClock;
    this.#wallNow = options.wallNow ?? Date.now;
  }

  /** Publishes a round polled at `polledAt` (this clock) under `lease`; a lease found lost is given up (`keeper.lost()`). */
  async publish(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>, polledAt: number, body: Body): Promise<void> {
    const { store, keeper, topic } = this.#options;
    const polledAtWall = Math.round(this.#wallNow() - (this.#clock.now() - polledAt));
    if (!(await store.publishPoolStatus(lease, polledAtWall, body, topic))) keeper.lost();
  }

  /** The newest published round if this instance has not read it yet (its poll time on this clock), else undefined. */
  async readNew(): Promise<{ readonly body: Body; readonly polledAt: number } | undefined> {
    const { store, keeper, topic } = this.#options;
    const status = await store.getPoolStatus(keeper.poolId, topic);
    if (!status || status.seq <= this.#lastSeq || !this.#isBody(status.body)) return undefined;
    this.#lastSeq = status.seq;
    return { body: status.body, polledAt: this.#clock.now() - (this.#wallNow() - status.polledAt) };
  }
}
