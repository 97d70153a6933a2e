/**
 * What several orchestrator instances need from the store to share moves
 * (postgres-workers.md s5): leases on moves with an epoch as fencing token,
 * one leader lease per pool for the SPM poller, the poller's last statuses,
 * and wake-ups. Plain rows and conditional UPDATEs, no advisory locks: a
 * session lock dies silently with a recycled connection and carries no token.
 *
 * Lease times are the database's clock (PostgreSQL `now()`; SQLite, which
 * only serves processes of one machine, the system clock), never the
 * orchestrator's injected clock: a lease is between processes, and a fake
 * clock in one of them must not expire another's lease.
 */

/** A move held by one owner until `leaseUntil`; `epoch` is the fencing token of this claim. */
export interface MoveLease {
  readonly moveId: string;
  readonly owner: string;
  readonly epoch: number;
  /** Milliseconds since the epoch, in the database's clock. */
  readonly leaseUntil: number;
}

/**
 * Carried by a worker's writes: the write is refused (MoveStoreError FENCED,
 * nothing written) unless the move is still held by `owner` with `epoch`. A
 * worker that paused past its lease and lost the move to another therefore
 * cannot change it, whatever it believes.
 */
export interface Fence {
  readonly owner: string;
  readonly epoch: number;
}

export interface ClaimRequest {
  /** Unique per process (a restarted worker is a new owner): a lease is renewed and fenced by owner and epoch. */
  readonly owner: string;
  readonly leaseMs: number;
  /** At most this many moves in one claim. */
  readonly limit: number;
  /** Only moves of these pools (the pools this worker has hosts for). */
  readonly poolIds?: readonly string[];
}

export interface PoolLease {
  readonly poolId: string;
  readonly owner: string;
  readonly epoch: number;
  readonly leaseUntil: number;
}

/** What the pool's poller saw in one `Host.getAllTasksStatuses`, shared with every instance. */
export interface PoolStatus {
  readonly poolId: string;
  /** The poller's pool-lease epoch when it wrote this. */
  readonly epoch: number;
  /** Orchestrator clock time of the poll. */
  readonly polledAt: number;
  /** Bumped by every write; readers that saw `seq` wait for a higher one. */
  readonly seq: number;
  /** The poll's result as the poller serialises it (JSON-safe). */
  readonly body: unknown;
}

/** The pool_status row of a pool's round on `topic` (the SPM's task statuses without one). */
export function poolStatusKey(poolId: string, topic?: string): string {
  return topic === undefined ? poolId : `${poolId}/${topic}`;
}

/** A wake-up: a move to look at (claimable or changed) or a pool with a fresh status. */
export type StoreWakeUp = { readonly kind: 'move'; readonly id: string } | { readonly kind: 'pool'; readonly id: string };

export interface MoveLeaseStore {
  /**
   * Claims moves that are not done and whose lease is free or lapsed, oldest
   * first: owner set, epoch bumped, lease until now + leaseMs. Claim and
   * takeover are the same statement (no sweeper). On PostgreSQL one
   * autocommit `UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)`.
   */
  claimMoves(request: ClaimRequest): Promise<MoveLease[]>;
  /**
   * Extends the leases still held with these epochs; returns the ids of those
   * lost (taken over or released), which the caller must stop acting on at once.
   */
  renewLeases(owner: string, leases: readonly Pick<MoveLease, 'moveId' | 'epoch'>[], leaseMs: number): Promise<{ readonly lost: string[]; readonly leaseUntil: number }>;
  /** Gives a move back (owner cleared, lease ended now) if still held with this epoch, and wakes the others. */
  releaseLease(lease: Pick<MoveLease, 'moveId' | 'owner' | 'epoch'>): Promise<void>;
  /** The current lease of a move, if any (also for status: who owns what). */
  getLease(moveId: string): Promise<MoveLease | undefined>;

  /**
   * Takes the pool's leader lease if free or lapsed (epoch bumped), or renews
   * it if `owner` holds it (epoch kept); undefined while another owner holds it.
   */
  claimPoolLease(poolId: string, owner: string, leaseMs: number): Promise<PoolLease | undefined>;
  /** Renews the pool lease held with `epoch`; false if lost. */
  renewPoolLease(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>, leaseMs: number): Promise<boolean>;
  releasePoolLease(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>): Promise<void>;
  /**
   * Writes the pool's latest status under the pool lease's epoch and wakes the
   * others in the same transaction; false (nothing written) if the lease was lost.
   * `topic` names another round the pool's poller shares than the SPM's task
   * statuses (`jobs/<host>`: a host's SDM jobs); each topic has its own row and seq.
   */
  publishPoolStatus(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>, polledAt: number, body: unknown, topic?: string): Promise<boolean>;
  getPoolStatus(poolId: string, topic?: string): Promise<PoolStatus | undefined>;

  /**
   * Calls `listener` on wake-ups from any instance (PostgreSQL: LISTEN/NOTIFY
   * on a dedicated connection with keepalive and a liveness query. SQLite: the
   * stores of this process on the same file). Sent after the write commits: a
   * created move, a transition or a released move lease wakes `move`; a
   * published status or a released pool lease wakes `pool`.
   *
   * A `rescan` comes once the subscription is live (what happened before it
   * was not heard) and after every reconnect of the listener, since NOTIFY
   * replays nothing: the caller then looks at everything again. Wake-ups are
   * hints: callers still poll as a backstop.
   */
  onWakeUp(listener: (wakeUp: StoreWakeUp | { readonly kind: 'rescan' }) => void): () => void;
}
