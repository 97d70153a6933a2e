/**
 * The pool's leader lease as one worker holds it (postgres-workers.md s5.1
 * "Leader per pool"): every lease/3 it claims the lease if it is free or
 * lapsed, or renews it if held; a holder whose renewal fails or is overdue
 * past lease - margin (this process's monotonic clock, from when the renewal
 * was sent) stops being the poller at once, before the database could give
 * the pool to another. Only the holder polls the SPM, so several workers on
 * one pool make one `Host.getAllTasksStatuses` per interval; when it dies,
 * another takes the pool within lease + lease/3.
 */
import type { MoveLeaseStore, PoolLease } from '../store/leases.js';

export interface PoolLeaseKeeperOptions {
  readonly store: MoveLeaseStore;
  readonly poolId: string;
  readonly owner: string;
  readonly leaseMs: number;
  readonly marginMs: number;
  /** The poller role was taken (true) or given up (false). */
  readonly onChange?: (holding: boolean, lease: PoolLease | undefined) => void;
  readonly onError?: (error: unknown) => void;
  /** A round reached the store (after errors: it works again). */
  readonly onOk?: () => void;
  readonly now?: () => number;
}

export class PoolLeaseKeeper {
  readonly poolId: string;
  readonly #options: PoolLeaseKeeperOptions;
  readonly #now: () => number;
  #lease: PoolLease | undefined;
  /** When the last claim or renewal that succeeded was sent. */
  #renewedAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: PoolLeaseKeeperOptions) {
    this.#options = options;
    this.poolId = options.poolId;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The lease while this worker may act as the pool's poller, else undefined. */
  current(): PoolLease | undefined {
    if (!this.#lease) return undefined;
    if (this.#now() > this.#renewedAt + this.#options.leaseMs - this.#options.marginMs) return undefined;
    return this.#lease;
  }

  start(): void {
    this.#tick();
  }

  /** The store refused a write under the lease (another took the pool): stop polling at once. */
  lost(): void {
    this.#set(undefined);
  }

  /** Gives the pool up (shutdown): another worker takes it at its next try. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    const lease = this.#lease;
    this.#set(undefined);
    if (lease) await this.#options.store.releasePoolLease(lease).catch((error: unknown) => this.#options.onError?.(error));
  }

  #tick(): void {
    this.#running = this.#round().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#tick(), this.#options.leaseMs / 3);
      this.#timer.unref?.();
    });
  }

  async #round(): Promise<void> {
    const sentAt = this.#now();
    try {
      await this.#claimOrRenew(sentAt);
      this.#options.onOk?.();
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  async #claimOrRenew(sentAt: number): Promise<void> {
    const { store, poolId, owner, leaseMs } = this.#options;
    const held = this.#lease;
    if (held && this.current()) {
      if (await store.renewPoolLease(held, leaseMs)) this.#renewedAt = sentAt;
      else this.#set(undefined);
      return;
    }
    // Not held, or overdue (the database may have given it away): claim it anew; a holder renews.
    const lease = await store.claimPoolLease(poolId, owner, leaseMs);
    if (this.#stopped) {
      if (lease) await store.releasePoolLease(lease);
      return;
    }
    if (lease) this.#renewedAt = sentAt;
    this.#set(lease);
  }

  #set(lease: PoolLease | undefined): void {
    const was = this.#lease !== undefined;
    const changed = was !== (lease !== undefined) || (lease !== undefined && lease.epoch !== this.#lease?.epoch);
    this.#lease = lease;
    if (changed) this.#options.onChange?.(lease !== undefined, lease);
  }
}
