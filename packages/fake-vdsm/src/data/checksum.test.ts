import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { VdsmErrorCode } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { BlockHash, CHECKSUM_BLOCK_SIZE, checksumBytes, checksumFile } from './checksum.js';
import { MiB } from './sizes.js';
import { findDataTools } from './tools.js';
import type { DataTools } from './tools.js';

const execFileAsync = promisify(execFile);
const GiB = 1024 * MiB;

/**
 * The block checksum as coreutils compute it, a reference that shares no
 * code with checksum.ts: split into 4 MiB blocks, sha256sum each, the
 * digests back to bytes, sha256sum of those.
 */
async function coreutilsChecksum(path: string): Promise<string> {
  const script = `split -b ${CHECKSUM_BLOCK_SIZE} --filter=sha256sum "$1" | cut -c1-64 | xxd -r -p | sha256sum`;
  const { stdout } = await execFileAsync('sh', ['-c', script, 'sh', path]);
  return stdout.slice(0, 64);
}

/** Writes `bytes` at `offset` of `path`. */
async function writeAt(path: string, offset: number, bytes: Uint8Array): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.write(bytes, 0, bytes.length, offset);
  } finally {
    await file.close();
  }
}

describe('data/checksum', function () {
  let tools: DataTools;
  let dir: string;

  before(async () => {
    tools = await findDataTools();
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-checksum-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the block hash coreutils compute, whichever extent helper finds the data (or none)', async () => {
    const path = join(dir, 'scattered');
    // Not a whole number of blocks, data straddling a block boundary, in a short last block, and at the last byte.
    const size = 3 * CHECKSUM_BLOCK_SIZE + 12_345;
    await writeFile(path, '');
    await truncate(path, size);
    for (const [offset, length] of [[0, 100], [CHECKSUM_BLOCK_SIZE - 4000, 9000], [3 * CHECKSUM_BLOCK_SIZE + 7, 300], [size - 1, 1]] as const) {
      await writeAt(path, offset, randomBytes(length));
    }
    const reference = await coreutilsChecksum(path);
    expect(await checksumFile(path, { tools })).to.equal(reference);
    if (tools.qemuImg !== undefined) expect(await checksumFile(path, { tools: { qemuImg: tools.qemuImg } })).to.equal(reference);
    expect(await checksumFile(path, { tools: {} })).to.equal(reference);
    expect(checksumBytes(await readFile(path))).to.equal(reference);
    // And not sha256sum of the whole file: this is a different digest.
    expect(reference).to.not.equal(createHash('sha256').update(await readFile(path)).digest('hex'));
  });

  it('gives an empty 1 GiB disk the digest of 256 zero-block digests, and an empty file that of nothing', async () => {
    const path = join(dir, 'empty-disk');
    await writeFile(path, '');
    await truncate(path, GiB);
    // for i in $(seq 256); do head -c 4M /dev/zero | sha256sum; done | cut -c1-64 | xxd -r -p | sha256sum
    expect(await checksumFile(path, { tools })).to.equal('9e8b33874ad8566cf0b5d1b0089dd4ec7804978933677fd8019aa64fc5640525');
    const nothing = join(dir, 'nothing');
    await writeFile(nothing, '');
    expect(await checksumFile(nothing, { tools })).to.equal(createHash('sha256').digest('hex'));
  });

  it('gives holes, allocated zeros and written zeros the same checksum, and one changed byte another', async () => {
    const content = randomBytes(MiB);
    const sparse = join(dir, 'same-sparse');
    const written = join(dir, 'same-written');
    await writeFile(sparse, '');
    await truncate(sparse, 2 * CHECKSUM_BLOCK_SIZE);
    await writeAt(sparse, CHECKSUM_BLOCK_SIZE + MiB, content);
    const full = Buffer.alloc(2 * CHECKSUM_BLOCK_SIZE);
    content.copy(full, CHECKSUM_BLOCK_SIZE + MiB);
    await writeFile(written, full);
    const sum = await checksumFile(sparse, { tools });
    expect(await checksumFile(written, { tools })).to.equal(sum);
    expect(checksumBytes(full)).to.equal(sum);
    await writeAt(written, 5, Buffer.from([1]));
    expect(await checksumFile(written, { tools })).to.not.equal(sum);
  });

  it('covers exactly the guest size when given one: an LV larger than its volume, with stale bytes past the end', async () => {
    // A block domain keeps an 8 MiB volume in a 128 MiB LV; what lies past 8 MiB is not the guest's.
    const content = randomBytes(MiB);
    const volume = join(dir, 'guest-sized');
    const lv = join(dir, 'lv-sized');
    await writeFile(volume, '');
    await truncate(volume, 8 * MiB);
    await writeAt(volume, 3 * MiB, content);
    await writeFile(lv, '');
    await truncate(lv, 128 * MiB);
    await writeAt(lv, 3 * MiB, content);
    await writeAt(lv, 100 * MiB, randomBytes(4096));
    const sum = await checksumFile(volume, { tools });
    expect(await checksumFile(lv, { tools, length: 8 * MiB })).to.equal(sum);
    expect(await checksumFile(lv, { tools })).to.not.equal(sum);
    // A length past the file's end reads as zeros, as a guest sees an unwritten tail.
    const short = join(dir, 'short-file');
    await writeFile(short, content);
    const padded = Buffer.alloc(2 * MiB);
    content.copy(padded);
    expect(await checksumFile(short, { tools, length: 2 * MiB })).to.equal(checksumBytes(padded));
  });

  it('costs what the data costs: a 1 TiB sparse disk with three data blocks hashes in the test timeout', async () => {
    // Hashing every byte of 1 TiB takes many minutes; skipping the holes takes a few blocks' worth.
    const path = join(dir, 'huge');
    const size = 1024 * GiB;
    await writeFile(path, '');
    await truncate(path, size);
    const data = [0, 300 * GiB + 5, size - 10].map((offset) => ({ offset, bytes: randomBytes(10) }));
    for (const { offset, bytes } of data) await writeAt(path, offset, bytes);
    // The reference: every block digest spelled out, zero blocks as the digest of 4 MiB of zeros.
    const zeroDigest = createHash('sha256').update(Buffer.alloc(CHECKSUM_BLOCK_SIZE)).digest();
    const digests = Buffer.alloc((size / CHECKSUM_BLOCK_SIZE) * 32);
    for (let i = 0; i < size / CHECKSUM_BLOCK_SIZE; i++) zeroDigest.copy(digests, i * 32);
    for (const { offset, bytes } of data) {
      const block = Buffer.alloc(CHECKSUM_BLOCK_SIZE);
      bytes.copy(block, offset % CHECKSUM_BLOCK_SIZE);
      createHash('sha256').update(block).digest().copy(digests, Math.floor(offset / CHECKSUM_BLOCK_SIZE) * 32);
    }
    expect(await checksumFile(path, { tools })).to.equal(createHash('sha256').update(digests).digest('hex'));
  });

  it('lets the event loop turn between data blocks', async () => {
    const path = join(dir, 'turns');
    const blocks = 8;
    await writeFile(path, randomBytes(blocks * CHECKSUM_BLOCK_SIZE));
    let turns = 0;
    let done = false;
    const counting = (async () => {
      while (!done) {
        await nextTurn();
        turns++;
      }
    })();
    await checksumFile(path, { tools }).finally(() => (done = true));
    await counting;
    expect(turns).to.be.at.least(blocks);
  });

  it('stops with ActionStopped when its signal aborts, before or while it reads', async () => {
    const path = join(dir, 'aborted');
    await writeFile(path, randomBytes(16 * CHECKSUM_BLOCK_SIZE));
    const before = new AbortController();
    before.abort();
    let error: unknown = await checksumFile(path, { tools, signal: before.signal }).catch((e: unknown) => e);
    expect((error as { code?: unknown }).code).to.equal(VdsmErrorCode.ActionStopped);

    // No extent helper: it reads block after block, one event-loop turn each at least, so 3 turns in it is still reading.
    const during = new AbortController();
    const running = checksumFile(path, { tools: {}, signal: during.signal });
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    during.abort();
    error = await running.catch((e: unknown) => e);
    expect((error as { code?: unknown }).code).to.equal(VdsmErrorCode.ActionStopped);
  });

  it('refuses a block longer than the block size', () => {
    expect(() => new BlockHash().block(Buffer.alloc(CHECKSUM_BLOCK_SIZE + 1))).to.throw(RangeError);
  });
});
