/**
 * Data at scattered offsets of a sparse volume: what the default fixture,
 * the copy benchmark and the data-plane tests put into a disk so a copy has
 * both data and holes to get right. Offsets come from a seeded generator, so
 * a given seed always gives the same layout; the bytes are random.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Extent } from './extents.js';
import { BLOCK_SIZE_4K } from './sizes.js';

/** Where and how much. */
export interface ScatteredDataOptions {
  /** How many pieces (one per equal slot of the file). */
  readonly pieces: number;
  /** Bytes per piece, a multiple of 4 KiB. */
  readonly pieceSize: number;
  /** Seed of the offsets (default 1). */
  readonly seed?: number;
}

/**
 * Writes `pieces` pieces of random bytes into the raw file `path`, one in
 * each of `pieces` equal slots of its apparent size, each at a 4 KiB-aligned
 * place inside its slot (so pieces never touch). Returns the ranges written.
 */
export async function writeScatteredData(path: string, options: ScatteredDataOptions): Promise<Extent[]> {
  const { pieces, pieceSize } = options;
  if (!Number.isInteger(pieces) || pieces <= 0) throw new RangeError(`pieces must be a positive integer: ${pieces}`);
  if (!Number.isInteger(pieceSize) || pieceSize <= 0 || pieceSize % BLOCK_SIZE_4K !== 0) throw new RangeError(`pieceSize must be a positive multiple of 4 KiB: ${pieceSize}`);
  const random = mulberry32(options.seed ?? 1);
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    const slot = Math.floor(size / pieces / BLOCK_SIZE_4K) * BLOCK_SIZE_4K;
    // A gap of at least one block inside each slot keeps neighbouring pieces apart.
    if (slot < pieceSize + BLOCK_SIZE_4K) throw new RangeError(`${pieces} pieces of ${pieceSize} bytes do not fit apart in ${size} bytes`);
    const places = (slot - pieceSize) / BLOCK_SIZE_4K;
    const written: Extent[] = [];
    for (let i = 0; i < pieces; i++) {
      const offset = i * slot + Math.floor(random() * places) * BLOCK_SIZE_4K;
      await file.write(randomBytes(pieceSize), 0, pieceSize, offset);
      written.push({ offset, length: pieceSize });
    }
    return written;
  } finally {
    await file.close();
  }
}

/** A small seeded PRNG (mulberry32): uniform floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
