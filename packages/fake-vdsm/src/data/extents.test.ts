import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { dataExtents, extentBytes, mergeExtents } from './extents.js';
import { writeScatteredData } from './scattered-data.js';
import { MiB } from './sizes.js';
import { findDataTools } from './tools.js';
import type { DataTools } from './tools.js';
import { createRaw, writeData } from './volume-files.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

describe('data/extents', () => {
  let tools: DataTools;
  let dir: string;
  let path: string;

  before(async () => {
    tools = await findDataTools();
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-extents-'));
    path = join(dir, 'sparse');
    await createRaw(path, 512 * MiB);
    await writeData(path, 0, randomBytes(4096));
    await writeData(path, 100 * MiB, randomBytes(MiB));
    await writeData(path, 512 * MiB - 2 * MiB, randomBytes(2 * MiB));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const expected = [
    { offset: 0, length: 4096 },
    { offset: 100 * MiB, length: MiB },
    { offset: 510 * MiB, length: 2 * MiB },
  ];

  it('finds the data extents with SEEK_DATA/SEEK_HOLE (perl)', async function () {
    skipUnless(this, tools.perl !== undefined, 'perl is not installed (Debian: perl)');
    expect(await dataExtents(path, tools, { method: 'seek' })).to.deep.equal(expected);
  });

  it('finds the same extents with qemu-img map', async function () {
    skipUnless(this, tools.qemuImg !== undefined, 'qemu-img is not installed (Debian: qemu-utils)');
    expect(await dataExtents(path, tools, { method: 'qemu-img-map' })).to.deep.equal(expected);
  });

  it('says "unknown" (undefined) when no helper is available, so callers read everything', async () => {
    expect(await dataExtents(path, {})).to.equal(undefined);
  });

  it('says "unknown" rather than "no data" when the helper fails', async () => {
    expect(await dataExtents(join(dir, 'missing'), tools)).to.equal(undefined);
  });

  it('reports no extents for an empty or all-hole file, and the whole of a dense one', async function () {
    skipUnless(this, tools.perl !== undefined, 'perl is not installed (Debian: perl)');
    await writeFile(join(dir, 'empty'), '');
    expect(await dataExtents(join(dir, 'empty'), tools)).to.deep.equal([]);
    await createRaw(join(dir, 'holes'), 64 * MiB);
    expect(await dataExtents(join(dir, 'holes'), tools)).to.deep.equal([]);
    await writeFile(join(dir, 'dense'), randomBytes(10_000));
    expect(await dataExtents(join(dir, 'dense'), tools)).to.deep.equal([{ offset: 0, length: 10_000 }]);
  });

  it('sees every piece of scattered data', async function () {
    skipUnless(this, tools.perl !== undefined, 'perl is not installed (Debian: perl)');
    const scattered = join(dir, 'scattered');
    await createRaw(scattered, 256 * MiB);
    const written = await writeScatteredData(scattered, { pieces: 32, pieceSize: 64 * 1024, seed: 7 });
    expect(await dataExtents(scattered, tools)).to.deep.equal(written);
    expect(extentBytes(written)).to.equal(32 * 64 * 1024);
  });

  it('merges touching and overlapping extents, in order', () => {
    expect(
      mergeExtents([
        { offset: 100, length: 10 },
        { offset: 0, length: 10 },
        { offset: 10, length: 5 },
        { offset: 105, length: 20 },
        { offset: 200, length: 1 },
      ]),
    ).to.deep.equal([
      { offset: 0, length: 15 },
      { offset: 100, length: 25 },
      { offset: 200, length: 1 },
    ]);
  });
});
