/**
 * Cleanup for end-to-end suites, in the manner of MQTT.js's `TeardownHelper`:
 * every server, client and socket a test opens is registered the moment it
 * exists, and `after`/`afterEach` run them all, newest first, so mocha exits
 * by itself even when a test failed half way.
 */

/** Something to undo: close a server, a client, remove a directory. */
export type Cleanup = () => unknown;

/**
 * A stack of cleanups. `run()` calls every one of them (newest first, each
 * awaited, so a client closes before the server it talks to), even when
 * some throw, and then throws the first failure so a broken close is not
 * silently ignored.
 */
export class TeardownHelper {
  readonly #cleanups: Cleanup[] = [];

  /** Registers `cleanup` and returns `value`, so `td.track(await start(), (s) => s.close())` reads in one line. */
  track<T>(value: T, cleanup: (value: T) => unknown): T {
    this.#cleanups.push(() => cleanup(value));
    return value;
  }

  /** Registers a cleanup that is not tied to a value. */
  add(cleanup: Cleanup): void {
    this.#cleanups.push(cleanup);
  }

  /** Number of cleanups waiting. */
  get size(): number {
    return this.#cleanups.length;
  }

  /** Runs and forgets every registered cleanup, newest first. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (let cleanup = this.#cleanups.pop(); cleanup; cleanup = this.#cleanups.pop()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups failed`);
  }
}
