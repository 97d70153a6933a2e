import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmError, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { copierName, copyVolume } from './copier.js';
import type { CopierName } from './copier.js';
import { NoSpaceError, UnsupportedFormatError } from './errors.js';
import { backingVolumePath } from './layout.js';
import { writeScatteredData } from './scattered-data.js';
import { MiB, roundUpToExtents } from './sizes.js';
import { findDataTools } from './tools.js';
import type { DataTools } from './tools.js';
import { checksum, createQcow2, createRaw, layerPattern, sizeOf, verifyPattern, writeData, writePattern } from './volume-files.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

const GiB = 1024 * MiB;
const { COW, RAW } = VolumeFormat;
const IMG = '0b6f2f5e-3c1a-4d0e-9a7b-5c4d3e2f1a0b';
const BASE = '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const TOP = '2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a';

/** The error `promise` rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('expected a rejection');
}

describe('data/copier', function () {
  let tools: DataTools;
  let dir: string;
  /** 1 GiB sparse RAW volume with 16 MiB of data in 64 scattered pieces. */
  let source: string;
  let sourceSum: string;
  let sourceTrue: number;

  before(async () => {
    tools = await findDataTools();
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-copier-'));
    source = join(dir, 'source');
    await createRaw(source, GiB);
    await writeScatteredData(source, { pieces: 64, pieceSize: 256 * 1024, seed: 3 });
    sourceSum = await checksum(source, RAW);
    sourceTrue = (await sizeOf(source)).true;
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let serial = 0;
  /** A fresh target path. */
  function target(name: string): string {
    return join(dir, `${name}-${++serial}`);
  }

  for (const copier of ['builtin', 'qemu-img'] as const satisfies readonly CopierName[]) {
    describe(`${copier} copier`, () => {
      beforeEach(function () {
        skipUnless(this, copier !== 'qemu-img' || tools.qemuImg !== undefined, 'qemu-img is not installed (Debian: qemu-utils)');
      });

      it('copies a 1 GiB sparse volume: same content, allocation within 5%, holes kept', async () => {
        const dst = target('copy');
        await createRaw(dst, GiB);
        const result = await copyVolume({ src: source, dst, srcFormat: RAW, dstFormat: RAW, copier });
        expect(result.copier).to.equal(copier);
        expect(await checksum(dst, RAW)).to.equal(sourceSum);
        const sizes = await sizeOf(dst);
        expect(sizes.apparent).to.equal(GiB);
        expect(Math.abs(sizes.true / sourceTrue - 1)).to.be.at.most(0.05);
        // Holes stayed holes: 16 MiB of data in 1 GiB.
        expect(sizes.true).to.be.below(20 * MiB);
      });

      it('takes time in proportion to the data, not the virtual size (a 100 GiB volume with 4 MiB of data)', async () => {
        const src = target('huge-source');
        await createRaw(src, 100 * GiB);
        for (const [i, offset] of [0, 33 * GiB, 67 * GiB + 4096, 100 * GiB - MiB].entries()) await writePattern(src, offset, MiB, layerPattern(i));
        const dst = target('huge-copy');
        await createRaw(dst, 100 * GiB);
        // Copying 100 GiB of holes byte by byte would run far past the test's timeout; the data is 4 MiB.
        await copyVolume({ src, dst, srcFormat: RAW, dstFormat: RAW, copier });
        for (const [i, offset] of [0, 33 * GiB, 67 * GiB + 4096, 100 * GiB - MiB].entries()) expect(await verifyPattern(dst, offset, MiB, layerPattern(i))).to.equal(true);
        expect(await verifyPattern(dst, 50 * GiB, MiB, 0)).to.equal(true);
        expect(await sizeOf(dst)).to.deep.include({ apparent: 100 * GiB });
        expect((await sizeOf(dst)).true).to.be.at.most(4 * MiB + 64 * 1024);
      });

      it('turns allocated zeros into holes, as qemu-img does', async () => {
        const src = target('zeros-source');
        await createRaw(src, 256 * MiB);
        await writeData(src, 16 * MiB, Buffer.alloc(8 * MiB));
        await writePattern(src, 100 * MiB, MiB, 0xf0);
        expect((await sizeOf(src)).true).to.equal(9 * MiB);
        const dst = target('zeros-copy');
        await createRaw(dst, 256 * MiB);
        await copyVolume({ src, dst, srcFormat: RAW, dstFormat: RAW, copier });
        expect(await checksum(dst, RAW)).to.equal(await checksum(src, RAW));
        expect((await sizeOf(dst)).true).to.be.at.most(MiB + 64 * 1024);
      });

      it('reports progress as growing fractions from 0 to 1', async () => {
        const dst = target('progress');
        await createRaw(dst, GiB);
        const seen: number[] = [];
        await copyVolume({ src: source, dst, srcFormat: RAW, dstFormat: RAW, copier, onProgress: (fraction) => seen.push(fraction) });
        // qemu-img's records can arrive several to a chunk under load, and only the
        // newest of a chunk is reported: on a loaded machine all of them can come in
        // one chunk, the final 1 alone (its records split anyhow: qemu-convert.test.ts).
        // The built-in copier reports each piece it wrote.
        expect(seen.at(-1)).to.equal(1);
        if (copier === 'builtin') expect(seen.length).to.be.at.least(2);
        for (const fraction of seen) expect(fraction).to.be.within(0, 1);
        for (let i = 1; i < seen.length; i++) expect(seen[i]).to.be.above(seen[i - 1]!);
      });

      it('stops with 443 ActionStopped when aborted mid-copy, leaving a partial target', async () => {
        const dst = target('abort');
        await createRaw(dst, GiB);
        const controller = new AbortController();
        const seen: number[] = [];
        const error = await rejectionOf(
          copyVolume({
            src: source,
            dst,
            srcFormat: RAW,
            dstFormat: RAW,
            copier,
            signal: controller.signal,
            onProgress: (fraction) => {
              seen.push(fraction);
              // qemu-img's first record is 0.00; the built-in copier's first after 0 is past the first chunks.
              if (copier === 'qemu-img' || fraction > 0) controller.abort();
            },
          }),
        );
        expect(error).to.be.instanceOf(VdsmError);
        expect((error as VdsmError).code).to.equal(443);
        expect(seen).to.not.include(1);
        if (copier === 'builtin') expect((await sizeOf(dst)).true).to.be.below(sourceTrue);
      });

      it('fails with NoSpaceError when the file domain is full (emulated capacity)', async () => {
        const dst = target('full');
        await createRaw(dst, GiB);
        // The built-in copier checks before each write: a domain with 4 MiB left fills mid-copy.
        // qemu-img is checked as it reports progress: a domain with nothing left stops it at its first record.
        const limit = copier === 'builtin' ? 4 * MiB : 0;
        const error = await rejectionOf(
          copyVolume({ src: source, dst, srcFormat: RAW, dstFormat: RAW, copier, spaceLeft: async () => limit - (await sizeOf(dst)).true }),
        );
        expect(error).to.be.instanceOf(NoSpaceError);
        expect((error as NoSpaceError).path).to.equal(dst);
        const written = (await sizeOf(dst)).true;
        expect(written).to.be.below(sourceTrue);
        if (copier === 'builtin') expect(written).to.be.at.most(limit);
      });

      it("copies into a block volume sized in whole extents: keeps its size, clears what was there (block volumes aren't zeroed)", async () => {
        const src = target('block-source');
        await createRaw(src, 200 * MiB);
        await writePattern(src, 10 * MiB, MiB, 0xf0);
        await writePattern(src, 199 * MiB, MiB, 0xf1);
        const dst = target('block-target');
        await createRaw(dst, roundUpToExtents(200 * MiB), { preallocate: true });
        // Old data of a previous LV user, where the source has a hole.
        await writePattern(dst, 50 * MiB, MiB, 0xaa);
        await copyVolume({ src, dst, srcFormat: RAW, dstFormat: RAW, copier, domainKind: 'block', dstAllocation: VolumeAllocation.Preallocated });
        expect((await sizeOf(dst)).apparent).to.equal(256 * MiB);
        expect(await verifyPattern(dst, 10 * MiB, MiB, 0xf0)).to.equal(true);
        expect(await verifyPattern(dst, 199 * MiB, MiB, 0xf1)).to.equal(true);
        expect(await verifyPattern(dst, 50 * MiB, MiB, 0)).to.equal(true);
        expect(await verifyPattern(dst, 200 * MiB, 56 * MiB, 0)).to.equal(true);
      });
    });
  }

  describe('built-in copier only', () => {
    it('fails with NoSpaceError on a real ENOSPC (writing to /dev/full)', async function () {
      try {
        await access('/dev/full');
      } catch {
        skipUnless(this, false, '/dev/full is not available on this machine');
      }
      const error = await rejectionOf(copyVolume({ src: source, dst: '/dev/full', srcFormat: RAW, dstFormat: RAW, copier: 'builtin' }));
      expect(error).to.be.instanceOf(NoSpaceError);
      expect((error as NoSpaceError).cause).to.have.property('code', 'ENOSPC');
    });

    it('reads everything but still keeps the holes when no extent helper is available', async () => {
      const src = target('no-helper-source');
      await createRaw(src, 256 * MiB);
      await writeScatteredData(src, { pieces: 16, pieceSize: 64 * 1024, seed: 9 });
      const dst = target('no-helper-copy');
      await copyVolume({ src, dst, srcFormat: RAW, dstFormat: RAW, copier: 'builtin', tools: {} });
      expect(await checksum(dst, RAW)).to.equal(await checksum(src, RAW));
      expect(await sizeOf(dst)).to.deep.equal(await sizeOf(src));
    });

    it('copies a plain COW file (made without qemu-img) as raw bytes', async () => {
      const src = target('plain-cow');
      await createQcow2(src, 64 * MiB, { tools: {} });
      await writePattern(src, 3 * MiB, MiB, 0xf3);
      const dst = target('plain-cow-copy');
      await createQcow2(dst, 64 * MiB, { tools: {} });
      await copyVolume({ src, dst, srcFormat: COW, dstFormat: COW, tools: {} });
      expect(await checksum(dst, COW, { tools: {} })).to.equal(await checksum(src, COW, { tools: {} }));
    });

    it('refuses a real qcow2 image with a clear UnsupportedFormatError', async function () {
      skipUnless(this, tools.qemuImg !== undefined, 'qemu-img is not installed (Debian: qemu-utils)');
      const src = target('real-cow');
      await createQcow2(src, 64 * MiB);
      const error = await rejectionOf(copyVolume({ src, dst: target('real-cow-copy'), srcFormat: COW, dstFormat: COW, copier: 'builtin' }));
      expect(error).to.be.instanceOf(UnsupportedFormatError);
      expect((error as Error).message).to.include('needs qemu-img');
    });
  });

  describe('qemu-img copier only', () => {
    beforeEach(function () {
      skipUnless(this, tools.qemuImg !== undefined && tools.qemuIo !== undefined, 'qemu-img or qemu-io is not installed (Debian: qemu-utils)');
    });

    /** A two-volume image on a "domain" folder: RAW base with data, qcow2 top with VDSM's patterns. */
    async function makeChain(domain: string): Promise<{ base: string; top: string }> {
      const img = join(dir, domain, 'images', IMG);
      const base = join(img, BASE);
      const top = join(img, TOP);
      await createRaw(base, GiB);
      await writeScatteredData(base, { pieces: 8, pieceSize: MiB, seed: 11 });
      await writePattern(base, 0, 64 * 1024, layerPattern(0));
      await createQcow2(top, GiB, { backing: { path: backingVolumePath(IMG, BASE), format: RAW } });
      await writePattern(top, 32 * 1024, 64 * 1024, layerPattern(1), { format: COW });
      await writePattern(top, 700 * MiB, MiB, layerPattern(1), { format: COW });
      return { base, top };
    }

    it('copies a qcow2 chain volume by volume (Image.move): the top shows the same disk, and holds only its own layer', async () => {
      const src = await makeChain('sd-src');
      const img = join(dir, 'sd-dst', 'images', IMG);
      const dst = { base: join(img, BASE), top: join(img, TOP) };
      const backing = { path: backingVolumePath(IMG, BASE), format: RAW };
      // As the move job does: create each target volume, then copy into it.
      await createRaw(dst.base, GiB);
      const baseCopy = await copyVolume({ src: src.base, dst: dst.base, srcFormat: RAW, dstFormat: RAW });
      await createQcow2(dst.top, GiB, { backing });
      const topCopy = await copyVolume({ src: src.top, dst: dst.top, srcFormat: COW, dstFormat: COW, backing });
      expect(topCopy.plan?.argv).to.include.members(['-B', backing.path, '-F', 'raw', '-n']);
      expect(baseCopy.plan?.create).to.equal(true);

      expect(await checksum(dst.base, RAW)).to.equal(await checksum(src.base, RAW));
      expect(await checksum(dst.top, COW)).to.equal(await checksum(src.top, COW));
      expect(await verifyPattern(dst.top, 0, 32 * 1024, 0xf0, { format: COW })).to.equal(true);
      expect(await verifyPattern(dst.top, 32 * 1024, 64 * 1024, 0xf1, { format: COW })).to.equal(true);
      // The base's 8 MiB stayed in the base: the top copy holds about its own 1 MiB.
      expect((await sizeOf(dst.top)).true).to.be.below(3 * MiB);
    });

    it('collapses a chain into one RAW volume (Volume.copy)', async () => {
      const src = await makeChain('sd-collapse');
      const dst = target('collapsed');
      await createRaw(dst, GiB);
      await copyVolume({ src: src.top, dst, srcFormat: COW, dstFormat: RAW });
      expect(await checksum(dst, RAW)).to.equal(await checksum(src.top, COW));
      expect((await sizeOf(dst)).true).to.be.below(12 * MiB);
    });

    it('copies RAW into a new qcow2 volume without a parent', async () => {
      const dst = target('to-cow');
      await createQcow2(dst, GiB);
      const result = await copyVolume({ src: source, dst, srcFormat: RAW, dstFormat: COW });
      expect(result.plan?.argv).to.include.members(['-n', '--target-is-zero']);
      expect(await checksum(dst, COW)).to.equal(sourceSum);
      // qcow2 allocates 64 KiB clusters: each of the 64 pieces may straddle one more, plus metadata.
      expect((await sizeOf(dst)).true).to.be.below(sourceTrue + 64 * 64 * 1024 + MiB);
    });
  });

  describe('copierName', () => {
    it('is qemu-img when available, else builtin; a forced choice wins', async () => {
      expect(await copierName({ tools: {} })).to.equal('builtin');
      expect(await copierName({ tools: { qemuImg: '/usr/bin/qemu-img' } })).to.equal('qemu-img');
      expect(await copierName({ tools: { qemuImg: '/usr/bin/qemu-img' }, copier: 'builtin' })).to.equal('builtin');
      expect(await copierName({ tools: { qemuImg: '/usr/bin/qemu-img' }, copier: 'qemu-img' })).to.equal('qemu-img');
    });

    it('refuses to force qemu-img when it is not there', async () => {
      expect(await rejectionOf(copierName({ tools: {}, copier: 'qemu-img' }))).to.be.instanceOf(UnsupportedFormatError);
    });
  });
});
