/**
 * Zeroing a volume before it is removed (`Image.delete` with postZero on a
 * block domain). VDSM runs `blkdiscard --zeroout --step 32MiB --length
 * <LV size>` per volume (blockdev.py `zero`); how long that takes depends on
 * the storage's write-zeroes throughput, which a sparse file on the fake's
 * disk does not have. So the duration is modelled: `size / bytesPerSecond`
 * on the injected clock (default 100 MiB/s of volume size), in 32 MiB steps
 * (VDSM's `OPTIMAL_DISCARD_STEP`), each one really zeroing its range of the
 * file, so an interrupted wipe leaves a zeroed prefix as blkdiscard would.
 * Abort (Task.stop) ends it with 443 ActionStopped, like killing blkdiscard.
 *
 * A range is zeroed by punching a hole (`fallocate --punch-hole`, which
 * keeps the size and frees the blocks), or without fallocate(1) by writing
 * zeros over its non-zero 4 KiB blocks (holes stay holes, nothing grows).
 * Steps over holes (found once with SEEK_DATA, extents.ts) need no I/O.
 */
import { open, stat } from 'node:fs/promises';
import { sleep, systemClock } from '@vdsm-kit/client/clock';
import type { Clock } from '@vdsm-kit/client/clock';
import { actionStopped, throwIfStopped } from './errors.js';
import { dataExtents } from './extents.js';
import type { Extent } from './extents.js';
import { BLOCK_SIZE_4K, MiB } from './sizes.js';
import { findDataTools, runCommand } from './tools.js';
import type { DataTools } from './tools.js';

/** VDSM's `blkdiscard.OPTIMAL_DISCARD_STEP`: 32 MiB per zeroout request. */
export const WIPE_STEP = 32 * MiB;

/** The fake's default write-zeroes throughput: 100 MiB of volume size per second. */
export const DEFAULT_WIPE_RATE = 100 * MiB;

/** One wipe. */
export interface ZeroVolumeOptions {
  /** The volume's file. */
  readonly path: string;
  /** Bytes to zero from offset 0: the LV size (whole extents), which sets the duration; the file's bytes past its end need no zeroing. */
  readonly size: number;
  /** Modelled throughput in bytes of volume per second (default DEFAULT_WIPE_RATE). */
  readonly bytesPerSecond?: number;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
  /** Called after each step with the fraction zeroed so far (ends with 1). */
  readonly onProgress?: (fraction: number) => void;
  readonly tools?: DataTools;
}

/**
 * Zeroes `size` bytes of `path` in 32 MiB steps paced on the clock; resolves
 * after `size / bytesPerSecond` seconds of clock time. Rejects with 443
 * ActionStopped when `signal` aborts (the steps done stay zeroed).
 */
export async function zeroVolume(options: ZeroVolumeOptions): Promise<void> {
  const { path, size, signal } = options;
  const rate = options.bytesPerSecond ?? DEFAULT_WIPE_RATE;
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`not a size to zero: ${size}`);
  if (!(rate > 0)) throw new RangeError(`not a wipe rate: ${rate}`);
  const clock = options.clock ?? systemClock;
  const tools = options.tools ?? (await findDataTools());
  const started = clock.now();
  const fileSize = (await stat(path)).size;
  // Where the data is, so steps over holes cost no I/O (nothing writes to a volume being wiped).
  const data = new DataFinder((await dataExtents(path, tools, { signal })) ?? [{ offset: 0, length: fileSize }]);
  throwIfStopped(signal);
  for (let done = 0; done < size; ) {
    const step = Math.min(WIPE_STEP, size - done);
    // Only the part of the step inside the file holds bytes to zero.
    const inFile = Math.max(0, Math.min(step, fileSize - done));
    if (inFile > 0 && data.hasDataIn(done, done + inFile)) await zeroRange(path, done, inFile, tools, signal);
    done += step;
    // Deadlines from the start, so the I/O time is absorbed rather than added.
    const due = started + (done / rate) * 1000;
    try {
      await sleep(clock, Math.max(0, due - clock.now()), signal);
    } catch (error) {
      if (signal?.aborted) throw actionStopped();
      throw error;
    }
    options.onProgress?.(done / size);
  }
  if (size === 0) options.onProgress?.(1);
}

/** Answers "is there data in [start, end)?" for increasing ranges, walking the extents once. */
class DataFinder {
  #index = 0;
  readonly #extents: readonly Extent[];

  constructor(extents: readonly Extent[]) {
    this.#extents = extents;
  }

  hasDataIn(start: number, end: number): boolean {
    // Extents that end before this range can never matter again: ranges only move forward.
    while (this.#index < this.#extents.length) {
      const extent = this.#extents[this.#index]!;
      if (extent.offset + extent.length > start) break;
      this.#index++;
    }
    const next = this.#extents[this.#index];
    return next !== undefined && next.offset < end;
  }
}

/** Zeroes [offset, offset + length) of the file, keeping its size. */
async function zeroRange(path: string, offset: number, length: number, tools: DataTools, signal: AbortSignal | undefined): Promise<void> {
  if (tools.fallocate !== undefined) {
    await runCommand([tools.fallocate, '--punch-hole', '--offset', String(offset), '--length', String(length), path], { signal });
    return;
  }
  const file = await open(path, 'r+');
  try {
    const chunk = Buffer.allocUnsafe(Math.min(length, MiB));
    const zeros = Buffer.alloc(chunk.length);
    for (let done = 0; done < length; done += chunk.length) {
      throwIfStopped(signal);
      const { bytesRead } = await file.read(chunk, 0, Math.min(chunk.length, length - done), offset + done);
      for (let block = 0; block < bytesRead; block += BLOCK_SIZE_4K) {
        const end = Math.min(block + BLOCK_SIZE_4K, bytesRead);
        if (zeros.compare(chunk, block, end, 0, end - block) !== 0) await file.write(zeros, 0, end - block, offset + done + block);
      }
    }
  } finally {
    await file.close();
  }
}
