/**
 * The built-in copier, for machines without qemu-img: copies a raw (or
 * plain) file and keeps its holes, in time that grows with the data.
 *
 * - Holes are not read: the source's data extents come from SEEK_DATA /
 *   SEEK_HOLE (extents.ts); without a helper the whole file is read.
 * - Data is read in 1 MiB chunks, four in flight; a chunk of zeros is skipped with one
 *   memcmp, otherwise each 4 KiB block is compared against a shared zero
 *   buffer (`Buffer.compare`, no allocation) and runs of non-zero blocks are
 *   written with one positional write each. Zero blocks stay holes, as with
 *   qemu-img's default `-S 4k`, so allocated zeros in the source become holes.
 * - The target ends at the source's size (`ftruncate`), or keeps a larger
 *   size it already had (a block volume sized in whole extents).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { NoSpaceError, actionStopped, isNoSpaceErrno } from './errors.js';
import { dataExtents, extentBytes } from './extents.js';
import type { Extent } from './extents.js';
import { BLOCK_SIZE_4K, MiB } from './sizes.js';
import type { DataTools } from './tools.js';
import { mapNoSpace, preallocateFile } from './volume-files.js';

/** Read size. */
export const COPY_CHUNK = MiB;
/** Chunks in flight at once (libuv's default thread pool size). */
export const COPY_CONCURRENCY = 4;
/** Zero-detection granularity (qemu-img's default `-S 4k`; the file system block). */
export const ZERO_BLOCK = BLOCK_SIZE_4K;

const ZEROS = Buffer.alloc(COPY_CHUNK);

/** What the built-in copier needs. */
export interface ZeroSkipCopyOptions {
  readonly src: string;
  readonly dst: string;
  /** The target already reads as zeros (a new file volume): no need to clear it first. */
  readonly targetIsZero: boolean;
  /** Allocate every block of the target afterwards (a PREALLOCATED file volume). */
  readonly preallocate: boolean;
  readonly tools: DataTools;
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
  readonly spaceLeft?: () => number | Promise<number>;
}

/** Progress is reported in steps of at least 1%, as qemu-img's `-p` does. */
const PROGRESS_STEP = 0.01;

/**
 * Copies `src` to `dst` (created when missing). Rejects with 443
 * ActionStopped on abort, `NoSpaceError` on ENOSPC or when `spaceLeft()` is
 * smaller than the next write; the partial target stays for the caller.
 */
export async function zeroSkipCopy(options: ZeroSkipCopyOptions): Promise<void> {
  const { signal } = options;
  const source = await open(options.src, 'r');
  try {
    const target = await open(options.dst, constants.O_RDWR | constants.O_CREAT, 0o660);
    try {
      const { size } = await source.stat();
      const targetStats = await target.stat();
      // Only regular files can be truncated (a device target, e.g. in tests /dev/full, cannot).
      const resizable = targetStats.isFile();
      if (resizable && !options.targetIsZero && targetStats.size > 0) {
        // Truncating to zero frees every block: the target then reads as zeros, like a fresh file.
        await target.truncate(0);
      }
      const extents: readonly Extent[] = (await dataExtents(options.src, options.tools, { signal })) ?? [{ offset: 0, length: size }];
      const progress = progressReporter(extentBytes(extents), options.onProgress);
      const chunks = chunksOf(extents, size);
      const space = options.spaceLeft === undefined ? undefined : new SpaceGuard(options.spaceLeft, options.dst);
      // Several chunks in flight: reads and zero scans overlap (libuv's 4 threads, the
      // machine's cores) and the event loop stays free for the RPC server meanwhile.
      let failed = false;
      let failure: unknown;
      const worker = async (): Promise<void> => {
        const buffer = Buffer.allocUnsafe(COPY_CHUNK);
        try {
          for (let next = chunks.next(); !next.done && !failed; next = chunks.next()) {
            if (signal?.aborted) throw actionStopped();
            const [position, length] = next.value;
            const { bytesRead } = await source.read(buffer, 0, length, position);
            await writeNonZero(target, buffer, bytesRead, position, options.dst, space);
            progress.add(length);
          }
        } catch (error) {
          // The first failure stops the others after their current chunk.
          if (!failed) failure = error;
          failed = true;
        }
      };
      // Every worker settles before the handles close; then the first failure is reported.
      await Promise.all(Array.from({ length: COPY_CONCURRENCY }, worker));
      if (failed) throw failure;
      // Stopped while the last chunks were written: stopped all the same (as qemu-img's path is).
      if (signal?.aborted) throw actionStopped();
      // The source's size, or the larger size the target had (a block volume in whole extents).
      const finalSize = Math.max(size, targetStats.size);
      if (resizable) await target.truncate(finalSize);
      if (options.preallocate) await preallocateFile(options.dst, finalSize, { tools: options.tools, signal });
      progress.done();
    } catch (error) {
      throw mapNoSpace(error, options.dst);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * The emulated domain capacity for writes that run in parallel. `spaceLeft()`
 * reads the domain's usage (the files' allocated blocks), which counts the
 * writes finished before the call and maybe some finished during it; the
 * writes still running when it started, or started since, are subtracted
 * too. So the check may stop a little early, never late: the target never
 * takes more than the space there was.
 */
class SpaceGuard {
  #inFlight = 0;
  #started = 0;
  readonly #spaceLeft: () => number | Promise<number>;
  readonly #path: string;

  constructor(spaceLeft: () => number | Promise<number>, path: string) {
    this.#spaceLeft = spaceLeft;
    this.#path = path;
  }

  /** Claims `bytes` for a write, or throws NoSpaceError; `release` once the write is done. */
  async claim(bytes: number): Promise<void> {
    const inFlightBefore = this.#inFlight;
    const startedBefore = this.#started;
    const left = (await this.#spaceLeft()) - inFlightBefore - (this.#started - startedBefore);
    if (left < bytes) throw new NoSpaceError(this.#path, `the storage domain is full (${bytes} bytes to write, ${Math.max(0, left)} left)`);
    this.#inFlight += bytes;
    this.#started += bytes;
  }

  release(bytes: number): void {
    this.#inFlight -= bytes;
  }
}

/** The [position, length] chunks (at most COPY_CHUNK) covering `extents`, clipped to `size`. */
function* chunksOf(extents: readonly Extent[], size: number): Generator<[position: number, length: number]> {
  for (const extent of extents) {
    const end = Math.min(extent.offset + extent.length, size);
    for (let position = extent.offset; position < end; position += COPY_CHUNK) yield [position, Math.min(COPY_CHUNK, end - position)];
  }
}

/**
 * Writes the non-zero 4 KiB blocks of `buffer[0, length)` to `position` of
 * the target, one write per run of consecutive non-zero blocks.
 */
async function writeNonZero(target: FileHandle, buffer: Buffer, length: number, position: number, path: string, space: SpaceGuard | undefined): Promise<void> {
  // A chunk of zeros (common inside preallocated or zero-written ranges) costs one memcmp.
  if (ZEROS.compare(buffer, 0, length, 0, length) === 0) return;
  const runs: Array<[start: number, end: number]> = [];
  let bytes = 0;
  let runStart = -1;
  for (let block = 0; block < length; block += ZERO_BLOCK) {
    const blockEnd = Math.min(block + ZERO_BLOCK, length);
    const zero = ZEROS.compare(buffer, block, blockEnd, 0, blockEnd - block) === 0;
    if (!zero && runStart < 0) runStart = block;
    if (zero && runStart >= 0) {
      runs.push([runStart, block]);
      bytes += block - runStart;
      runStart = -1;
    }
  }
  if (runStart >= 0) {
    runs.push([runStart, length]);
    bytes += length - runStart;
  }

  await space?.claim(bytes);
  try {
    for (const [start, end] of runs) await target.write(buffer, start, end - start, position + start);
  } catch (error) {
    if (isNoSpaceErrno(error)) throw new NoSpaceError(path, (error as Error).message, { cause: error });
    throw error;
  } finally {
    space?.release(bytes);
  }
}

/** Reports the fraction of `total` bytes processed, monotonic, in steps of at least 1%, from 0 to 1. */
function progressReporter(total: number, onProgress: ((fraction: number) => void) | undefined): { add(bytes: number): void; done(): void } {
  let processed = 0;
  let reported = 0;
  onProgress?.(0);
  return {
    add(bytes) {
      processed += bytes;
      const fraction = total === 0 ? 1 : Math.min(1, processed / total);
      if (fraction - reported >= PROGRESS_STEP && fraction < 1) {
        reported = fraction;
        onProgress?.(fraction);
      }
    },
    done() {
      onProgress?.(1);
    },
  };
}
