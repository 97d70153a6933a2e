/**
 * One timer that keeps the soonest of the wake-ups asked for: a poller asks
 * "poll in N ms" from many places (a new task, a poll's end, a kick) and only
 * the earliest stands. Both trackers (the pool's and each host's) poll so.
 */
import type { Clock, TimerHandle } from '@vdsm-kit/client';

export class SoonestTimer {
  readonly #clock: Clock;
  readonly #fire: () => void;
  #timer: TimerHandle | undefined;
  #due = Infinity;

  constructor(clock: Clock, fire: () => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  /** Fires in `delayMs` unless a wake-up is already due sooner; the timer never holds the process open. */
  schedule(delayMs: number): void {
    const due = this.#clock.now() + delayMs;
    if (this.#timer && this.#due <= due) return;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#due = Infinity;
      this.#fire();
    }, delayMs);
    this.#timer.unref?.();
  }

  cancel(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = Infinity;
  }
}
