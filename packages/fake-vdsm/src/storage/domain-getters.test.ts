import { stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  BLANK_UUID,
  BlockStorageDomainStatsSchema,
  FileStorageDomainStatsSchema,
  StorageDomainClassId,
  StorageDomainInfoSchema,
  StorageDomainTypeId,
} from '@vdsm-kit/client/api';
import { volumePath } from '../data/layout.js';
import { BLOCK_EXTENT_SIZE } from '../data/sizes.js';
import { deleteImage, deleteImageJobs } from './delete-image.js';
import {
  domainImages,
  domainInfo,
  domainStats,
  domainVolumes,
  fileDomainRemotePath,
  imageVolumes,
  listStorageDomains,
  lvmUuid,
  multipathWwid,
} from './domain-getters.js';
import { createStorageTestBed, storageTestFixture, TEST_BLOCK_DISK_SIZE, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { vdsmThrown } from '../test-support/vdsm-rejection.js';

const { pool, fileDomain, blockDomain, image, volume, blockImage, blockVolume, chainImage, chainBase, chainLeaf } = TEST_IDS;
const GiB = 1024 ** 3;

describe('storage/domain-getters', () => {
  let bed: StorageTestBed;

  before(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture({ hosts: 2 }), jobs: [deleteImageJobs] });
  });
  after(async () => {
    await bed.close();
  });

  describe('StorageDomain.getInfo', () => {
    it('gives a file domain its remotePath and a string version', () => {
      const info = StorageDomainInfoSchema.strict().parse(domainInfo(bed.ctx, fileDomain));
      expect(info).to.deep.equal({
        uuid: fileDomain,
        type: 'NFS',
        class: 'Data',
        name: 'nfs-data',
        role: 'Master',
        pool: [pool],
        version: '5',
        block_size: 512,
        alignment: 1048576,
        remotePath: fileDomainRemotePath(bed.stateDir),
      });
    });

    it('gives a block domain its VG uuid, state and metadata devices, stable across calls', () => {
      const info = StorageDomainInfoSchema.strict().parse(domainInfo(bed.ctx, blockDomain));
      expect(info).to.deep.include({ uuid: blockDomain, type: 'ISCSI', role: 'Regular', version: '5', state: 'OK' });
      expect(info.vguuid).to.match(/^[0-9A-Za-z]{6}(-[0-9A-Za-z]{4}){5}-[0-9A-Za-z]{6}$/);
      expect(info.vguuid).to.equal(lvmUuid(blockDomain));
      expect(info.metadataDevice).to.equal(multipathWwid(blockDomain)).and.match(/^36001405[0-9a-f]{25}$/);
      expect(info).to.not.have.property('remotePath');
      expect(info).to.not.have.property('lver');
    });

    it('answers 358 for an unknown domain', () => {
      const sd = randomUUID();
      const error = vdsmThrown(() => domainInfo(bed.ctx, sd));
      expect(error.code).to.equal(358);
      expect(error.message).to.equal(`Storage domain does not exist: ('${sd}',)`);
    });
  });

  describe('StorageDomain.getStats', () => {
    it('sends strings on a file domain, free space from the files really allocated', async () => {
      const stats = FileStorageDomainStatsSchema.strict().parse(await domainStats(bed.ctx, fileDomain));
      let allocated = 0;
      for (const [img, vol] of [[image, volume], [chainImage, chainBase], [chainImage, chainLeaf]] as const) {
        allocated += (await stat(volumePath(bed.stateDir, fileDomain, img, vol))).blocks * 512;
      }
      expect(stats).to.deep.equal({
        disktotal: String(100 * GiB),
        diskfree: String(100 * GiB - allocated),
        mdasize: 0,
        mdafree: 0,
        mdavalid: true,
        mdathreshold: true,
      });
    });

    it('sends ints on a block domain, free space in whole extents', async () => {
      const stats = BlockStorageDomainStatsSchema.strict().parse(await domainStats(bed.ctx, blockDomain));
      expect(stats.disktotal).to.equal(100 * GiB);
      expect(stats.diskfree).to.equal(100 * GiB - Math.ceil(TEST_BLOCK_DISK_SIZE / BLOCK_EXTENT_SIZE) * BLOCK_EXTENT_SIZE);
      expect(stats.mdasize).to.equal(128 * 1024 * 1024);
      expect(stats.mdafree).to.be.above(0).and.below(stats.mdasize);
    });
  });

  describe('listings', () => {
    it('lists images and volumes; BLANK_UUID means every image', () => {
      expect(domainImages(bed.ctx, fileDomain)).to.have.members([image, chainImage]);
      expect(domainVolumes(bed.ctx, fileDomain, chainImage)).to.have.members([chainBase, chainLeaf]);
      expect(domainVolumes(bed.ctx, fileDomain, BLANK_UUID)).to.have.members([volume, chainBase, chainLeaf]);
      expect(domainVolumes(bed.ctx, blockDomain, BLANK_UUID)).to.deep.equal([blockVolume]);
    });

    it('answers [] for an unknown image on Image.getVolumes, and 358 for an unknown domain', () => {
      expect(imageVolumes(bed.ctx, fileDomain, randomUUID())).to.deep.equal([]);
      expect(vdsmThrown(() => domainImages(bed.ctx, randomUUID())).code).to.equal(358);
    });

    it('drops an image being deleted from the listings at once', async () => {
      const own = await createStorageTestBed({ fixture: storageTestFixture(), jobs: [deleteImageJobs] });
      try {
        await deleteImage(own.ctx, { imageID: blockImage, storagepoolID: pool, storagedomainID: blockDomain, postZero: false, force: false, discard: false });
        expect(domainImages(own.ctx, blockDomain)).to.deep.equal([]);
        expect(domainVolumes(own.ctx, blockDomain, BLANK_UUID)).to.deep.equal([]);
      } finally {
        await own.close();
      }
    });
  });

  describe('Host.getStorageDomains', () => {
    const all = { storagepoolID: null, domainClass: null, storageType: null, remotePath: null };

    it('lists every domain, or those of a connected pool', () => {
      expect(listStorageDomains(bed.ctx, all)).to.have.members([fileDomain, blockDomain]);
      expect(listStorageDomains(bed.ctx, { ...all, storagepoolID: BLANK_UUID })).to.have.members([fileDomain, blockDomain]);
      expect(listStorageDomains(bed.ctx, { ...all, storagepoolID: pool })).to.have.members([fileDomain, blockDomain]);
    });

    it('filters by the type and class ints and by remote path', () => {
      expect(listStorageDomains(bed.ctx, { ...all, storageType: StorageDomainTypeId.Iscsi })).to.deep.equal([blockDomain]);
      expect(listStorageDomains(bed.ctx, { ...all, storageType: StorageDomainTypeId.Nfs })).to.deep.equal([fileDomain]);
      expect(listStorageDomains(bed.ctx, { ...all, domainClass: StorageDomainClassId.Iso })).to.deep.equal([]);
      expect(listStorageDomains(bed.ctx, { ...all, remotePath: `${fileDomainRemotePath(bed.stateDir)}/` })).to.deep.equal([fileDomain]);
    });

    it('answers 309 for a pool the host is not connected to', () => {
      const other = randomUUID();
      const error = vdsmThrown(() => listStorageDomains(bed.ctx, { ...all, storagepoolID: other }));
      expect(error.message).to.equal(`Unknown pool id, pool not connected: ('${other}',)`);
    });
  });
});
