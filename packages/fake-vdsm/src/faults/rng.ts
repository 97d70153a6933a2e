/**
 * A small seeded PRNG (mulberry32) for fault probabilities and jitter.
 *
 * Not `Math.random`: a failing CI run must be replayable, so a scenario names
 * a seed and the same seed with the same calls must fire the same faults.
 * `Math.random` cannot be seeded. mulberry32 is 32-bit state, fast, and good
 * enough for "fire with p = 0.3"; it is not for cryptography.
 */

/** A seeded stream of numbers in [0, 1). */
export class SeededRandom {
  #state: number;
  /** The seed it started from (or was last reseeded with). */
  seed: number;

  constructor(seed: number) {
    this.seed = normalizeSeed(seed);
    this.#state = this.seed;
  }

  /** Starts the stream over from `seed`. */
  reseed(seed: number): void {
    this.seed = normalizeSeed(seed);
    this.#state = this.seed;
  }

  /** The next number in [0, 1). */
  next(): number {
    // mulberry32 (Tommy Ettinger): add a Weyl constant, then mix.
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/**
 * A seed as an unsigned 32-bit integer.
 *
 * @throws RangeError for a non-integer or a value outside 0..2^32-1, so a
 *   seed given as 1.5 or -1 is refused rather than silently changed.
 */
export function normalizeSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`a fault seed must be an integer from 0 to 4294967295, not ${seed}`);
  }
  return seed >>> 0;
}

/** A fresh seed for a run that did not name one (logged, so the run can be replayed). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}
