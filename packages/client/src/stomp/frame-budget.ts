/**
 * One bound on the bytes of unfinished inbound frames, shared by every
 * parser given it (a server's connections): `maxFrameSize` bounds one frame,
 * this bounds them all at once, so many near-limit frames arriving together
 * cannot take the process's memory with them.
 */
export class FrameBudget {
  readonly #maxBytes: number;
  #used = 0;

  /** @throws RangeError unless `maxBytes` is a number greater than 0 (`Infinity`: no bound). */
  constructor(maxBytes: number) {
    if (typeof maxBytes !== 'number' || !(maxBytes > 0)) throw new RangeError(`a frame budget must be a number of bytes greater than 0, not ${String(maxBytes)}`);
    this.#maxBytes = maxBytes;
  }

  /** The bound, in bytes. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Bytes held by unfinished frames now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) when they do not. */
  reserve(bytes: number): boolean {
    if (this.#used + bytes > this.#maxBytes) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back bytes `reserve` took. */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
