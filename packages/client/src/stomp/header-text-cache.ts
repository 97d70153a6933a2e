/**
 * Decoded header text, reused while the same bytes come again: a
 * connection's frames repeat their header names and most values
 * (destination, subscription id, content-type) in every frame, and decoding
 * each one anew (`Buffer#toString`, a native call and a new string) was the
 * parser's largest cost on a pipelined connection. A hit compares the bytes
 * with those of the cached text, so the result is always exactly what
 * `toString('utf8')` gives for them; only the allocation is saved.
 *
 * Bounded: `SLOTS` entries of at most `MAX_CACHED_BYTES` bytes each, in
 * sets of two: a text may sit in either slot of its set, and a new one
 * replaces the one of the pair used less recently. Two texts that hash
 * alike (a connection's reply-to and subscription ids are both random
 * 36-byte UUIDs with a `-` in the middle) then both stay, where one slot
 * each made them evict each other on every frame, a miss per header that
 * some runs of the pipelined benchmark paid and others did not.
 */

const SLOTS = 128;
const SETS_MASK = SLOTS / 2 - 1;
const MAX_CACHED_BYTES = 128;

export class HeaderTextCache {
  readonly #bytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(SLOTS);
  readonly #texts: string[] = new Array<string>(SLOTS);
  /** Per set: which of its two slots the next new text replaces (the one not used last). */
  readonly #victim = new Uint8Array(SLOTS / 2);

  /** `buf.toString('utf8', start, end)`, from the cache when those bytes were decoded before. */
  decode(buf: Buffer, start: number, end: number): string {
    const length = end - start;
    if (length === 0) return '';
    if (length > MAX_CACHED_BYTES) return buf.toString('utf8', start, end);
    const set = setOf(buf, start, end);
    const first = set * 2;
    for (let slot = first; slot < first + 2; slot++) {
      const cached = this.#bytes[slot];
      if (cached !== undefined && cached.length === length && sameBytes(cached, buf, start)) {
        this.#victim[set] = slot === first ? 1 : 0;
        return this.#texts[slot] as string;
      }
    }
    const text = buf.toString('utf8', start, end);
    const slot = first + (this.#victim[set] as number);
    this.#victim[set] = slot === first ? 1 : 0;
    // A copy: the chunk may be reused by its owner once parsed.
    this.#bytes[slot] = Buffer.from(buf.subarray(start, end));
    this.#texts[slot] = text;
    return text;
  }
}

/**
 * The set of a text: its length and nine of its bytes (the first four, the
 * middle one, the last four), mixed by multiplication so that texts alike
 * but for one byte spread over the sets. (A sum of four bytes put SEND,
 * content-type and content-length in one set, which fake-vdsm then missed
 * on every frame.)
 */
function setOf(buf: Buffer, start: number, end: number): number {
  const last = end - 1;
  let h = end - start;
  h = Math.imul(h ^ (buf[start] as number), 0x01000193);
  h = Math.imul(h ^ (buf[Math.min(start + 1, last)] as number), 0x01000193);
  h = Math.imul(h ^ (buf[Math.min(start + 2, last)] as number), 0x01000193);
  h = Math.imul(h ^ (buf[Math.min(start + 3, last)] as number), 0x01000193);
  h = Math.imul(h ^ (buf[(start + end) >> 1] as number), 0x01000193);
  h = Math.imul(h ^ (buf[Math.max(last - 3, start)] as number), 0x01000193);
  h = Math.imul(h ^ (buf[Math.max(last - 2, start)] as number), 0x01000193);
  h = Math.imul(h ^ (buf[Math.max(last - 1, start)] as number), 0x01000193);
  h = Math.imul(h ^ (buf[last] as number), 0x01000193);
  return (h ^ (h >>> 16)) & SETS_MASK;
}

function sameBytes(cached: Buffer, buf: Buffer, start: number): boolean {
  for (let i = 0; i < cached.length; i++) if (cached[i] !== buf[start + i]) return false;
  return true;
}
