/**
 * The checksum of a volume's bytes: a block hash in the scheme of
 * ovirt-imageio's `blkhash` (and nirs/blkhash's first version), so that it
 * costs what the data costs, not what the virtual size costs.
 *
 *   checksum = H( H(block 0) || H(block 1) || ... || H(block N-1) )
 *
 * Blocks are 4 MiB (`CHECKSUM_BLOCK_SIZE`, imageio's BLOCK_SIZE); the last
 * one is shorter when the size is not a multiple. H is SHA-256: imageio uses
 * blake2b with 32-byte digests, which Node's OpenSSL does not offer (only
 * blake2b512), and SHA-256 has CPU instructions on most hosts. A block that
 * holds only zeros gets the precomputed digest of a zero block, so a hole is
 * neither read nor hashed: a 1 GiB disk with 5 MiB of data reads and hashes
 * only the few blocks that hold data, and 256 zero blocks cost 256 x 32 bytes
 * of hashing. The digest depends on the bytes only, not on how they are
 * stored: holes, allocated zeros and written zeros all give the same one.
 *
 * Every data block is read with its own await and hashed on its own (4 MiB,
 * a few milliseconds), so the event loop turns between blocks (heartbeats
 * keep going) and an abort signal is seen before each one.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { throwIfStopped } from './errors.js';
import { dataExtents } from './extents.js';
import type { Extent } from './extents.js';
import { MiB } from './sizes.js';
import { findDataTools } from './tools.js';
import type { DataTools } from './tools.js';

/** The hash of each block and of the block digests. */
export const CHECKSUM_ALGORITHM = 'sha256';

/** The block size of the checksum (ovirt-imageio's `blkhash.BLOCK_SIZE`). */
export const CHECKSUM_BLOCK_SIZE = 4 * MiB;

const DIGEST_BYTES = 32;

/** How many zero-block digests go into the outer hash per update (32 KiB). */
const ZERO_BATCH = 1024;

const ZERO_BLOCK = Buffer.alloc(CHECKSUM_BLOCK_SIZE);
const ZERO_BLOCK_DIGEST = digestOf(ZERO_BLOCK);
const ZERO_DIGESTS = Buffer.alloc(ZERO_BATCH * DIGEST_BYTES);
for (let i = 0; i < ZERO_BATCH; i++) ZERO_BLOCK_DIGEST.copy(ZERO_DIGESTS, i * DIGEST_BYTES);

function digestOf(bytes: Uint8Array): Buffer {
  return createHash(CHECKSUM_ALGORITHM).update(bytes).digest();
}

/**
 * The block hash fed in order: whole blocks with `block`, runs of zeros with
 * `zeros`. Only the last block of the content may be shorter than
 * `CHECKSUM_BLOCK_SIZE`.
 */
export class BlockHash {
  readonly #outer = createHash(CHECKSUM_ALGORITHM);

  /** One block's bytes (all zeros cost a compare, not a hash). */
  block(bytes: Uint8Array): void {
    if (bytes.length > CHECKSUM_BLOCK_SIZE) throw new RangeError(`a block is at most ${CHECKSUM_BLOCK_SIZE} bytes, not ${bytes.length}`);
    const full = bytes.length === CHECKSUM_BLOCK_SIZE;
    this.#outer.update(full && ZERO_BLOCK.equals(bytes) ? ZERO_BLOCK_DIGEST : digestOf(bytes));
  }

  /** `length` bytes of zeros: whole blocks, then (at the content's end only) a shorter one. */
  zeros(length: number): void {
    let blocks = Math.floor(length / CHECKSUM_BLOCK_SIZE);
    for (; blocks > 0; blocks -= ZERO_BATCH) this.#outer.update(ZERO_DIGESTS.subarray(0, Math.min(blocks, ZERO_BATCH) * DIGEST_BYTES));
    const rest = length % CHECKSUM_BLOCK_SIZE;
    if (rest > 0) this.#outer.update(digestOf(ZERO_BLOCK.subarray(0, rest)));
  }

  /** The checksum, hex. Ends the hash. */
  hex(): string {
    return this.#outer.digest('hex');
  }
}

/** The checksum of bytes in memory (what `checksumFile` gives for a file holding them). */
export function checksumBytes(bytes: Uint8Array): string {
  const hash = new BlockHash();
  for (let offset = 0; offset < bytes.length; offset += CHECKSUM_BLOCK_SIZE) {
    hash.block(bytes.subarray(offset, Math.min(offset + CHECKSUM_BLOCK_SIZE, bytes.length)));
  }
  return hash.hex();
}

/**
 * The checksum of a plain file's bytes (a RAW volume, or a qcow2 image's
 * guest view converted to raw). Only the blocks that the extents helper
 * (extents.ts) finds data in are read; without a helper every block is read
 * and zero blocks still cost only a compare. `tools` default to what this
 * machine has.
 *
 * @throws the data plane's "action stopped" error once `signal` aborts.
 */
export async function checksumFile(
  path: string,
  options: {
    readonly tools?: DataTools;
    readonly signal?: AbortSignal | undefined;
    /**
     * The guest size, when it is not the file's: a RAW volume on a block
     * domain lives in an LV rounded up to whole extents (128 MiB), and only
     * its first `capacity` bytes are the guest's. Bytes past the file's end
     * read as zeros.
     */
    readonly length?: number;
  } = {},
): Promise<string> {
  const { signal } = options;
  throwIfStopped(signal);
  const tools = options.tools ?? (await findDataTools());
  const file = await open(path, 'r');
  try {
    const size = options.length ?? (await file.stat()).size;
    const extents: readonly Extent[] = (await dataExtents(path, tools, { signal })) ?? [{ offset: 0, length: size }];
    const hash = new BlockHash();
    const buffer = Buffer.allocUnsafe(CHECKSUM_BLOCK_SIZE);
    /** Everything before `next` (a block boundary, or `size`) is hashed. */
    let next = 0;
    for (let index = 0; index < extents.length; ) {
      const extent = extents[index] as Extent;
      const start = Math.max(next, extent.offset - (extent.offset % CHECKSUM_BLOCK_SIZE));
      if (start >= Math.min(size, extent.offset + extent.length)) {
        index++;
        continue;
      }
      throwIfStopped(signal);
      hash.zeros(start - next);
      const length = Math.min(CHECKSUM_BLOCK_SIZE, size - start);
      const block = buffer.subarray(0, length);
      // Only the extents' bytes are read; the rest of the block is a hole, zeros (reading a hole costs the kernel a zero fill).
      block.fill(0);
      for (let i = index; i < extents.length; i++) {
        const { offset, length: extentLength } = extents[i] as Extent;
        const from = Math.max(offset, start);
        const to = Math.min(offset + extentLength, start + length);
        if (from >= start + length) break;
        // A file that shrank under us reads short: what is gone counts as zeros, as a hole would.
        if (to > from) await file.read(block, from - start, to - from, from);
      }
      hash.block(block);
      next = start + length;
    }
    throwIfStopped(signal);
    hash.zeros(size - next);
    return hash.hex();
  } finally {
    await file.close();
  }
}
