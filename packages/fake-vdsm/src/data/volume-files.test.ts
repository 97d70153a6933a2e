import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VolumeFormat } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { checksumBytes } from './checksum.js';
import { UnsupportedFormatError } from './errors.js';
import { BLOCK_EXTENT_SIZE, MiB, extentCount, roundUp, roundUpToExtents } from './sizes.js';
import { findDataTools } from './tools.js';
import type { DataTools } from './tools.js';
import {
  checksum,
  createQcow2,
  createRaw,
  createVolumeFile,
  isQcow2File,
  layerPattern,
  preallocateFile,
  removeVolumeFile,
  sizeOf,
  verifyPattern,
  writeData,
  writePattern,
} from './volume-files.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

const execFileAsync = promisify(execFile);
const GiB = 1024 * MiB;
const { COW, RAW } = VolumeFormat;
/** No helper programs at all: the code paths of a machine without qemu-utils, util-linux or perl. */
const NO_TOOLS: DataTools = {};

async function qemuInfo(path: string): Promise<Record<string, unknown>> {
  const { stdout } = await execFileAsync('qemu-img', ['info', '--output=json', path]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('data/volume-files', function () {
  let tools: DataTools;
  let dir: string;

  before(async () => {
    tools = await findDataTools();
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-volume-files-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Skips the test on a machine without qemu-img and qemu-io. */
  function needsQemu(context: Mocha.Context): void {
    skipUnless(context, tools.qemuImg !== undefined && tools.qemuIo !== undefined, 'qemu-img or qemu-io is not installed (Debian: qemu-utils)');
  }

  describe('createRaw', () => {
    it('makes a sparse file: apparent size = capacity, nothing allocated', async () => {
      const path = join(dir, 'sparse', 'vol');
      await createRaw(path, 10 * GiB);
      const sizes = await sizeOf(path);
      expect(sizes.apparent).to.equal(10 * GiB);
      expect(sizes.true).to.be.at.most(4096);
    });

    it('refuses to overwrite an existing volume (EEXIST)', async () => {
      const path = join(dir, 'exists');
      await createRaw(path, MiB);
      await writeData(path, 0, Buffer.from('keep'));
      let error: unknown;
      await createRaw(path, MiB).catch((e: unknown) => (error = e));
      expect((error as NodeJS.ErrnoException).code).to.equal('EEXIST');
      expect(await verifyPattern(path, 0, 1, 'k'.charCodeAt(0))).to.equal(true);
    });

    for (const [how, pick] of [
      ['with fallocate', (t: DataTools) => t],
      ['without fallocate (zeros written)', () => NO_TOOLS],
    ] as const) {
      it(`preallocates every block ${how}, reading back zeros`, async function () {
        const chosen = pick(tools);
        skipUnless(this, how !== 'with fallocate' || chosen.fallocate !== undefined, 'fallocate is not installed (Debian: util-linux)');
        const path = join(dir, `prealloc-${chosen.fallocate === undefined ? 'zeros' : 'fallocate'}`);
        await createRaw(path, 16 * MiB, { preallocate: true, tools: chosen });
        const sizes = await sizeOf(path);
        expect(sizes.apparent).to.equal(16 * MiB);
        expect(sizes.true).to.be.at.least(16 * MiB);
        expect(await checksum(path, RAW, { tools: chosen })).to.equal(checksumBytes(Buffer.alloc(16 * MiB)));
      });
    }
  });

  describe('preallocateFile', () => {
    it('allocates the holes of a file with data and keeps the data, with or without fallocate', async () => {
      for (const chosen of [tools, NO_TOOLS]) {
        const path = join(dir, `prealloc-keep-${chosen === NO_TOOLS ? 'zeros' : 'tools'}`);
        await createRaw(path, 8 * MiB);
        const data = randomBytes(5000);
        await writeData(path, 3 * MiB + 100, data);
        const before = await checksum(path, RAW, { tools });
        await preallocateFile(path, 8 * MiB, { tools: chosen });
        expect((await sizeOf(path)).true).to.be.at.least(8 * MiB);
        expect(await checksum(path, RAW, { tools })).to.equal(before);
      }
    });
  });

  describe('createQcow2', () => {
    it('makes a qcow2 image (compat 1.1) of the capacity with qemu-img', async function () {
      needsQemu(this);
      const path = join(dir, 'cow', 'base');
      await createQcow2(path, 2 * GiB);
      expect(await isQcow2File(path)).to.equal(true);
      const info = await qemuInfo(path);
      expect(info['virtual-size']).to.equal(2 * GiB);
      expect((info['format-specific'] as { data: { compat: string } }).data.compat).to.equal('1.1');
      expect((await sizeOf(path)).true).to.be.below(MiB);
    });

    it('records a relative backing file and its format, as VDSM does', async function () {
      needsQemu(this);
      const img = join(dir, 'images', 'img');
      await createRaw(join(img, 'base'), GiB);
      await createQcow2(join(img, 'top'), GiB, { backing: { path: '../img/base', format: RAW } });
      const info = await qemuInfo(join(img, 'top'));
      expect(info['backing-filename']).to.equal('../img/base');
      expect(info['backing-filename-format']).to.equal('raw');
    });

    it('makes a plain sparse file without qemu-img (the format is only metadata then)', async () => {
      const path = join(dir, 'plain-cow');
      await createQcow2(path, 64 * MiB, { tools: NO_TOOLS });
      expect(await isQcow2File(path)).to.equal(false);
      expect(await sizeOf(path)).to.deep.equal({ apparent: 64 * MiB, true: 0 });
      // Its bytes are the guest's bytes, so data and checksums work as for RAW.
      await writeData(path, MiB, Buffer.from('plain'), { format: COW, tools: NO_TOOLS });
      const expected = Buffer.alloc(64 * MiB);
      expected.write('plain', MiB);
      expect(await checksum(path, COW, { tools: NO_TOOLS })).to.equal(checksumBytes(expected));
    });

    it('refuses to overwrite an existing volume (EEXIST)', async function () {
      needsQemu(this);
      const path = join(dir, 'cow-exists');
      await createRaw(path, MiB);
      let error: unknown;
      await createQcow2(path, MiB).catch((e: unknown) => (error = e));
      expect((error as NodeJS.ErrnoException).code).to.equal('EEXIST');
      expect(await isQcow2File(path)).to.equal(false);
    });
  });

  it('createVolumeFile picks the format', async function () {
    await createVolumeFile(join(dir, 'by-format-raw'), { format: RAW, capacity: MiB });
    expect(await isQcow2File(join(dir, 'by-format-raw'))).to.equal(false);
    needsQemu(this);
    await createVolumeFile(join(dir, 'by-format-cow'), { format: COW, capacity: MiB });
    expect(await isQcow2File(join(dir, 'by-format-cow'))).to.equal(true);
  });

  describe('writeData and checksum', () => {
    it('hashes the guest-visible content of a sparse raw file as the bytes it holds, whichever extent helper there is', async () => {
      const path = join(dir, 'hash-sparse');
      await createRaw(path, 256 * MiB);
      for (const offset of [0, 4096 * 7, 100 * MiB + 12345, 256 * MiB - 8192]) await writeData(path, offset, randomBytes(8192 - (offset % 4096)));
      const reference = checksumBytes(await readFile(path));
      expect(await checksum(path, RAW, { tools })).to.equal(reference);
      if (tools.qemuImg !== undefined) expect(await checksum(path, RAW, { tools: { qemuImg: tools.qemuImg } })).to.equal(reference);
      expect(await checksum(path, RAW, { tools: NO_TOOLS })).to.equal(reference);
    });

    it('writes at offsets: the true size grows by the blocks written', async () => {
      const path = join(dir, 'grow');
      await createRaw(path, 64 * MiB);
      await writeData(path, 10 * MiB, randomBytes(MiB));
      await writeData(path, 40 * MiB, randomBytes(2 * MiB));
      const sizes = await sizeOf(path);
      expect(sizes.apparent).to.equal(64 * MiB);
      expect(sizes.true).to.equal(3 * MiB);
    });

    it('writes into and hashes a qcow2 image through qemu', async function () {
      needsQemu(this);
      const path = join(dir, 'cow-data');
      await createQcow2(path, 16 * MiB);
      const data = randomBytes(100_000);
      await writeData(path, 5 * MiB + 3, data, { format: COW });
      const expected = Buffer.alloc(16 * MiB);
      data.copy(expected, 5 * MiB + 3);
      expect(await checksum(path, COW)).to.equal(checksumBytes(expected));
      // The same bytes as RAW are the qcow2 container itself, a different digest.
      expect(await checksum(path, RAW)).to.not.equal(checksumBytes(expected));
    });

    it("hashes a chain's top as the guest sees it: the top's data over its parent's", async function () {
      needsQemu(this);
      const img = join(dir, 'chain', 'img');
      await createRaw(join(img, 'base'), 4 * MiB);
      await writePattern(join(img, 'base'), 0, 64 * 1024, layerPattern(0));
      await createQcow2(join(img, 'top'), 4 * MiB, { backing: { path: '../img/base', format: RAW } });
      await writePattern(join(img, 'top'), 32 * 1024, 64 * 1024, layerPattern(1), { format: COW });
      const expected = Buffer.alloc(4 * MiB);
      expected.fill(0xf0, 0, 64 * 1024);
      expected.fill(0xf1, 32 * 1024, 96 * 1024);
      expect(await checksum(join(img, 'top'), COW)).to.equal(checksumBytes(expected));
      expect(await verifyPattern(join(img, 'top'), 0, 32 * 1024, 0xf0, { format: COW })).to.equal(true);
      expect(await verifyPattern(join(img, 'top'), 32 * 1024, 64 * 1024, 0xf1, { format: COW })).to.equal(true);
      expect(await verifyPattern(join(img, 'top'), 0, 64 * 1024, 0xf0, { format: COW })).to.equal(false);
      // The base is untouched by writes to the top.
      expect(await verifyPattern(join(img, 'base'), 0, 64 * 1024, 0xf0)).to.equal(true);
    });

    it('refuses a real qcow2 image when qemu-img is not available, rather than hashing the container', async function () {
      needsQemu(this);
      const path = join(dir, 'cow-no-tools');
      await createQcow2(path, MiB);
      let error: unknown;
      await checksum(path, COW, { tools: NO_TOOLS }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(UnsupportedFormatError);
      error = undefined;
      await writeData(path, 0, Buffer.from('x'), { format: COW, tools: NO_TOOLS }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(UnsupportedFormatError);
    });
  });

  describe('patterns', () => {
    it("are VDSM's 0xf0 + layer index", () => {
      expect(layerPattern(0)).to.equal(0xf0);
      expect(layerPattern(3)).to.equal(0xf3);
      expect(() => layerPattern(16)).to.throw(RangeError);
      expect(() => layerPattern(-1)).to.throw(RangeError);
    });

    it('are written and verified on raw files, across chunk boundaries', async () => {
      const path = join(dir, 'pattern-raw');
      await createRaw(path, 32 * MiB);
      await writePattern(path, MiB - 5, 9 * MiB + 10, 0xf2);
      expect(await verifyPattern(path, MiB - 5, 9 * MiB + 10, 0xf2)).to.equal(true);
      expect(await verifyPattern(path, MiB - 6, 2, 0xf2)).to.equal(false);
      expect(await verifyPattern(path, 10 * MiB + 5, 1, 0xf2)).to.equal(false);
      expect(await verifyPattern(path, 10 * MiB + 5, 1, 0)).to.equal(true);
    });
  });

  it('removeVolumeFile removes the file and tolerates a missing one', async () => {
    const path = join(dir, 'removed');
    await writeFile(path, 'x');
    await removeVolumeFile(path);
    await removeVolumeFile(path);
    let error: unknown;
    await stat(path).catch((e: unknown) => (error = e));
    expect((error as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  describe('sizes', () => {
    it('rounds up to an alignment', () => {
      expect(roundUp(0, 4096)).to.equal(0);
      expect(roundUp(1, 4096)).to.equal(4096);
      expect(roundUp(4096, 4096)).to.equal(4096);
      expect(() => roundUp(-1, 4096)).to.throw(RangeError);
      expect(() => roundUp(1, 0)).to.throw(RangeError);
    });

    it('sizes block volumes in whole 128 MiB extents', () => {
      expect(BLOCK_EXTENT_SIZE).to.equal(128 * MiB);
      expect(extentCount(1)).to.equal(1);
      expect(extentCount(128 * MiB)).to.equal(1);
      expect(extentCount(128 * MiB + 1)).to.equal(2);
      expect(extentCount(GiB)).to.equal(8);
      expect(roundUpToExtents(GiB + 1)).to.equal(GiB + 128 * MiB);
    });
  });
});
