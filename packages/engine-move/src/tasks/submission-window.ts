/**
 * The per-SPM submission window: how many of our tasks may be on the SPM at
 * once. Real VDSM runs 10 tasks at a time and refuses a task beyond
 * `[irs] max_tasks` (500) with 405 AddTaskError; an orchestrator with a
 * thousand moves must queue on its side rather than be refused, and must treat
 * a 405 that still comes (other clients share the SPM) as "wait", not "fail".
 * FIFO, so moves start in the order they were asked for.
 */
import { TrackerClosedError } from './errors.js';

/** Half of VDSM's max_tasks: leaves room for other clients of the same SPM. */
export const DEFAULT_SUBMISSION_WINDOW = 250;

export class SubmissionWindow {
  readonly size: number;
  #used = 0;
  readonly #waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #closed = false;

  constructor(size = DEFAULT_SUBMISSION_WINDOW) {
    if (!(Number.isSafeInteger(size) && size >= 1)) throw new RangeError(`submission window must be an integer >= 1, got ${size}`);
    this.size = size;
  }

  get used(): number {
    return this.#used;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves once a slot is held; the holder must `release()` it when its task is gone from the SPM. */
  acquire(): Promise<void> {
    if (this.#closed) return Promise.reject(new TrackerClosedError());
    if (this.#used < this.size && this.#waiting.length === 0) {
      this.#used += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Takes a slot without waiting (a task adopted after a restart is already on the SPM). */
  hold(): void {
    this.#used += 1;
  }

  release(): void {
    if (this.#used === 0) throw new Error('SubmissionWindow.release() without a held slot');
    const next = this.#waiting.shift();
    if (next) next.resolve();
    else this.#used -= 1;
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new TrackerClosedError());
  }
}
