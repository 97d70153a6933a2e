import { stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { BLANK_UUID, VolumeInfoSchema } from '@vdsm-kit/client/api';
import { imageDir, volumePath } from '../data/layout.js';
import { volumeInfo } from './volume-info.js';
import { createStorageTestBed, storageTestFixture, TEST_BLOCK_DISK_SIZE, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const { fileDomain, blockDomain, image, volume, blockImage, blockVolume, chainImage, chainBase, chainLeaf } = TEST_IDS;
const GiB = 1024 ** 3;

describe('storage/volume-info (Volume.getInfo)', () => {
  let bed: StorageTestBed;

  before(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture() });
  });
  after(async () => {
    await bed.close();
  });

  it("gives a file volume VDSM's fields and wire types, sizes from the real file", async () => {
    const info = VolumeInfoSchema.strict().parse(await volumeInfo(bed.ctx, fileDomain, image, volume));
    const file = await stat(volumePath(bed.stateDir, fileDomain, image, volume));
    const record = bed.store.getVolume(fileDomain, volume);
    expect(info).to.deep.equal({
      uuid: volume,
      type: 'SPARSE',
      format: 'RAW',
      disktype: 'DATA',
      voltype: 'LEAF',
      capacity: String(GiB),
      parent: BLANK_UUID,
      description: record?.description,
      pool: '',
      domain: fileDomain,
      image,
      ctime: String(record?.ctime),
      mtime: '0',
      legality: 'LEGAL',
      generation: 0,
      sequence: 0,
      apparentsize: String(file.size),
      truesize: String(file.blocks * 512),
      status: 'OK',
      children: [],
      // An NFS domain of format 5 has sanlock volume leases: the lease file beside the volume, nobody holding it.
      lease: { path: `${volumePath(bed.stateDir, fileDomain, image, volume)}.lease`, offset: 0, owners: [], version: null },
    });
    // A sparse 1 GiB disk holding about 5 MiB of data.
    expect(Number(info.truesize)).to.be.below(16 * 1024 * 1024);
  });

  it('reports chains: an internal base and a COW leaf on it', async () => {
    const base = await volumeInfo(bed.ctx, fileDomain, chainImage, chainBase);
    const leaf = await volumeInfo(bed.ctx, fileDomain, chainImage, chainLeaf);
    expect(base).to.deep.include({ voltype: 'INTERNAL', format: 'RAW', parent: BLANK_UUID });
    expect(leaf).to.deep.include({ voltype: 'LEAF', format: 'COW', parent: chainBase });
  });

  it('gives a block volume its LV size (whole extents) as apparent and true size', async () => {
    const info = await volumeInfo(bed.ctx, blockDomain, blockImage, blockVolume);
    expect(info).to.deep.include({ type: 'PREALLOCATED', format: 'RAW', apparentsize: String(TEST_BLOCK_DISK_SIZE), truesize: String(TEST_BLOCK_DISK_SIZE) });
    // Its lease is a slot of the domain's `leases` LV, past the first 100 reserved ones.
    expect(info.lease?.path).to.equal(`/dev/${blockDomain}/leases`);
    expect(info.lease?.offset).to.be.at.least(100 * 1024 * 1024);
    expect(info.lease?.owners).to.deep.equal([]);
  });

  it('reports an ILLEGAL volume with status ILLEGAL', async () => {
    bed.store.updateVolume(fileDomain, chainLeaf, { legality: 'ILLEGAL' });
    try {
      const info = await volumeInfo(bed.ctx, fileDomain, chainImage, chainLeaf);
      expect(info).to.deep.include({ legality: 'ILLEGAL', status: 'ILLEGAL' });
    } finally {
      bed.store.updateVolume(fileDomain, chainLeaf, { legality: 'LEGAL' });
    }
  });

  it('answers 358 for an unknown domain', async () => {
    const sd = randomUUID();
    const error = await vdsmRejection(volumeInfo(bed.ctx, sd, image, volume));
    expect(error.message).to.equal(`Storage domain does not exist: ('${sd}',)`);
  });

  it('answers 254 with the image folder for an image a file domain lacks', async () => {
    const img = randomUUID();
    const error = await vdsmRejection(volumeInfo(bed.ctx, fileDomain, img, volume));
    expect(error.code).to.equal(254);
    expect(error.message).to.equal(`Image path does not exist or cannot be accessed/created: ('${imageDir(bed.stateDir, fileDomain, img)}',)`);
  });

  it('answers 201 for a volume the image lacks (also on block domains, which make image folders lazily)', async () => {
    const vol = randomUUID();
    const error = await vdsmRejection(volumeInfo(bed.ctx, fileDomain, image, vol));
    expect(error.code).to.equal(201);
    expect(error.message).to.equal(`Volume does not exist: ('${vol}',)`);
    expect((await vdsmRejection(volumeInfo(bed.ctx, blockDomain, randomUUID(), blockVolume))).code).to.equal(201);
    // A volume of another image is not this image's.
    expect((await vdsmRejection(volumeInfo(bed.ctx, fileDomain, chainImage, volume))).code).to.equal(201);
  });
});
