/**
 * Turns callback deliveries (a STOMP library's message listener) into
 * awaitable values, with a bounded wait so a missing message fails the test
 * with a clear reason instead of mocha's generic timeout.
 */

/** Default bound of `AsyncQueue.next`: generous for a local socket, short enough for mocha. */
export const DEFAULT_NEXT_TIMEOUT_MS = 3000;

/** A FIFO of pushed values; `next()` waits for the next one. */
export class AsyncQueue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  /** Delivers `item` to the oldest waiter, or keeps it for the next `next()`. */
  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  /** Values pushed and not taken yet. */
  get size(): number {
    return this.#items.length;
  }

  /**
   * The next value. Rejects naming `what` when none comes within
   * `timeoutMs`; the timer never holds the process open.
   */
  next(what = 'a value', timeoutMs = DEFAULT_NEXT_TIMEOUT_MS): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter = (value: T): void => {
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`No ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#waiters.push(waiter);
    });
  }
}
