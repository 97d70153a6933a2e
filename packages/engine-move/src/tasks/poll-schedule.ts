/**
 * When a pool's next status poll is due. The steady rhythm is one poll per
 * interval (the engine's AsyncTaskPollingRate, 10 s); after a submission the
 * next polls are brought forward on a doubling ladder (250 ms, 500 ms, 1 s ...
 * up to the interval), so that a task that ends quickly, like a delete without
 * wipe, is seen at once instead of up to an interval later. This is what wins
 * back the second verb's second poll (the design's price of two verbs).
 * The ladder belongs to the pool, so every move in it shares the early polls.
 */

export const DEFAULT_POLL_INTERVAL_MS = 10_000;
export const DEFAULT_FIRST_EARLY_POLL_MS = 250;

export class PollSchedule {
  readonly intervalMs: number;
  readonly #firstEarlyMs: number;
  /** The next early delay, or undefined once the ladder reached the interval. */
  #nextEarlyMs: number | undefined;

  constructor(intervalMs = DEFAULT_POLL_INTERVAL_MS, firstEarlyMs = DEFAULT_FIRST_EARLY_POLL_MS) {
    if (!(intervalMs > 0)) throw new RangeError(`poll interval must be positive, got ${intervalMs}`);
    if (!(firstEarlyMs > 0)) throw new RangeError(`first early poll must be positive, got ${firstEarlyMs}`);
    this.intervalMs = intervalMs;
    this.#firstEarlyMs = Math.min(firstEarlyMs, intervalMs);
  }

  /** A task was submitted: restart the ladder. Returns the delay of the next poll from now. */
  submitted(): number {
    this.#nextEarlyMs = this.#firstEarlyMs * 2;
    return this.#firstEarlyMs;
  }

  /**
   * A poll ended: the delay until the next one. A busy pool (`busy`: more
   * tasks in flight than early polls are worth) drops a ladder under way, so
   * its rhythm is one poll per interval however its submissions came.
   */
  afterPoll(busy = false): number {
    const early = busy ? undefined : this.#nextEarlyMs;
    if (early === undefined || early >= this.intervalMs) {
      this.#nextEarlyMs = undefined;
      return this.intervalMs;
    }
    this.#nextEarlyMs = early * 2;
    return early;
  }
}
