/**
 * What stops a worker from acting on a move it may no longer own
 * (postgres-workers.md s3, s5.1). Two things, checked before every remote
 * call and every store write of the move:
 *
 * - the lease is lost (a renewal found another epoch, or the worker is giving
 *   the move back): the move's AbortController fires, its runner ends at once;
 * - self-fence: the last renewal that succeeded was *sent* at `renewedAt`
 *   (this process's monotonic clock), so the database's lease cannot run out
 *   before `renewedAt + lease`; past `renewedAt + lease - margin` the worker
 *   cannot know it still holds the move and makes no remote call until a
 *   renewal succeeds again (a paused process, a database that is down).
 *
 * The store refuses a stale owner's writes by the epoch (FENCED) whatever this
 * process believes; the guard is for the SPM, which cannot check an epoch.
 */

export type LeaseErrorCode = 'LEASE_LOST' | 'SELF_FENCED';

export class LeaseError extends Error {
  override name = 'LeaseError';
  constructor(
    readonly code: LeaseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The move went to another owner (or was given back): stop, and touch nothing of it again. */
export class LeaseLostError extends LeaseError {
  override name = 'LeaseLostError';
  constructor(moveId: string, why: string) {
    super('LEASE_LOST', `lease of move ${moveId} lost (${why}): this worker does nothing more to it`);
  }
}

/** No renewal succeeded for too long: no remote call until one does (a passing trouble). */
export class SelfFencedError extends LeaseError {
  override name = 'SelfFencedError';
  constructor(sinceRenewMs: number) {
    super('SELF_FENCED', `no lease renewal for ${Math.round(sinceRenewMs)} ms: no remote call until one succeeds`);
  }
}

/** The worker-wide renewal clock that every move's guard reads. */
export class RenewalClock {
  readonly leaseMs: number;
  readonly marginMs: number;
  readonly #now: () => number;
  #renewedAt: number;

  constructor(leaseMs: number, marginMs: number, now: () => number = () => performance.now()) {
    if (!(marginMs > 0 && marginMs < leaseMs)) throw new RangeError(`self-fence margin must be in (0, lease), got ${marginMs} of ${leaseMs}`);
    this.leaseMs = leaseMs;
    this.marginMs = marginMs;
    this.#now = now;
    this.#renewedAt = now();
  }

  now(): number {
    return this.#now();
  }

  /** A renewal (or claim) sent at `sentAt` succeeded. */
  renewed(sentAt: number): void {
    if (sentAt > this.#renewedAt) this.#renewedAt = sentAt;
  }

  /** A claim sent at `sentAt` holds its lease until at least `sentAt + lease`: the deadline of that move. */
  deadlineOf(sentAt: number): number {
    return sentAt + this.leaseMs - this.marginMs;
  }

  get renewedAt(): number {
    return this.#renewedAt;
  }
}

/** One held move's guard: its abort signal and the self-fence check. */
export class MoveGuard {
  readonly moveId: string;
  readonly #clock: RenewalClock;
  readonly #controller = new AbortController();
  /** When this move's own claim was sent (a move claimed after the last renewal is covered by its claim). */
  readonly #claimedAt: number;

  constructor(moveId: string, clock: RenewalClock, claimedAt: number) {
    this.moveId = moveId;
    this.#clock = clock;
    this.#claimedAt = claimedAt;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get lost(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Ends the move's run: a LeaseLostError (or `reason`) at its next step. */
  abort(reason: Error): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  /** Throws unless the worker may act on the move now. */
  check(): void {
    this.#controller.signal.throwIfAborted();
    const covered = Math.max(this.#clock.renewedAt, this.#claimedAt);
    const now = this.#clock.now();
    if (now > this.#clock.deadlineOf(covered)) throw new SelfFencedError(now - covered);
  }
}
