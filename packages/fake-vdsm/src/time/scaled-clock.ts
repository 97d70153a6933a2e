/**
 * A `Clock` over real time with a scale factor (`fake-vdsm serve
 * --time-scale F`): every duration the storage model waits for (a wipe's
 * pace, a lock's 120 s timeout, a copy's space poll) takes `F` times as long
 * in real time, so `0.01` runs a 100 s wipe in one real second.
 *
 * `now()` runs on the same scale: it advances `1 / F` milliseconds per real
 * millisecond, from 0 when the clock is made. A real `now()` would not do:
 * pacers such as the wiper compute deadlines from `now()` (`started +
 * done / rate`) and sleep the difference, so with real `now()` and scaled
 * timers every step would see the deadline still far away and the whole wipe
 * would take close to its unscaled time. One scale for both keeps every
 * `deadline - now()` consistent with what a timer of that length does.
 *
 * The protocol side (heart-beats, detection) stays on the real clock: a
 * client measures heart-beats in real time.
 */
import type { Clock, TimerHandle } from '@vdsm-kit/client/clock';

/** Node's largest timer delay (2^31 - 1 ms). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The scale factor is not a finite number > 0. */
export class TimeScaleError extends RangeError {
  override name = 'TimeScaleError';
}

/**
 * Checks a time scale: a finite number greater than 0 (1 = real time,
 * 0.01 = 100 times faster, 2 = twice as slow).
 *
 * @throws TimeScaleError otherwise.
 */
export function assertTimeScale(scale: number): number {
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new TimeScaleError(`time scale must be a number greater than 0 (1 = real time, 0.01 = 100x faster), not ${scale}`);
  }
  return scale;
}

/** Real time, scaled (see the module comment). */
export class ScaledClock implements Clock {
  /** Real milliseconds per clock millisecond. */
  readonly scale: number;
  readonly #realNow: () => number;
  readonly #origin: number;

  /**
   * @param scale real milliseconds per clock millisecond (0.01: 100x faster).
   * @param realNow the real monotonic time source (tests may pass their own).
   * @throws TimeScaleError for a scale that is not a finite number > 0.
   */
  constructor(scale: number, realNow: () => number = () => performance.now()) {
    this.scale = assertTimeScale(scale);
    this.#realNow = realNow;
    this.#origin = realNow();
  }

  /** Clock milliseconds since the clock was made (real elapsed time divided by the scale). */
  now(): number {
    return (this.#realNow() - this.#origin) / this.scale;
  }

  /**
   * Fires after `ms` clock milliseconds, i.e. `ms * scale` real ones. Real
   * delays are capped at Node's maximum (about 24.8 days): past it Node would
   * warn and fire after 1 ms instead.
   */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const real = Math.max(0, ms) * this.scale;
    return setTimeout(callback, Number.isNaN(real) ? 0 : Math.min(real, MAX_TIMER_DELAY_MS));
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }
}
