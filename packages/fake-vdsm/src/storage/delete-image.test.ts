import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { TaskStatusSchema } from '@vdsm-kit/client/api';
import { imageDir, removedImageDir, volumePath, zeroedImageDir } from '../data/layout.js';
import { deleteImage, deleteImageJobs } from './delete-image.js';
import { domainImages } from './domain-getters.js';
import { createStorageTestBed, storageTestFixture, TEST_BLOCK_DISK_SIZE, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { pathExists } from '../data/path-exists.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const MiB = 1024 * 1024;
const { pool, fileDomain, blockDomain, image, volume, blockImage, blockVolume } = TEST_IDS;

/** Image.delete params with VDSM's defaults. */
function params(overrides: Partial<{ imageID: string; storagepoolID: string; storagedomainID: string; postZero: boolean; discard: boolean }> = {}) {
  return { imageID: image, storagepoolID: pool, storagedomainID: fileDomain, postZero: false, force: false, discard: false, ...overrides };
}

describe('storage/delete-image (Image.delete)', () => {
  let bed: StorageTestBed;

  beforeEach(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture({ hosts: 2 }), jobs: [deleteImageJobs] });
  });
  afterEach(async () => {
    await bed.close();
  });

  const finished = (taskId: string) => () => bed.tasks.getStatus(taskId).taskState === 'finished';

  describe('synchronous checks, in VDSM order', () => {
    it('refuses a pool the host is not connected to with 309', async () => {
      const other = randomUUID();
      const error = await vdsmRejection(deleteImage(bed.ctx, params({ storagepoolID: other })));
      expect(error.code).to.equal(309);
      expect(error.message).to.equal(`Unknown pool id, pool not connected: ('${other}',)`);
    });

    it('refuses an unknown domain with 358 (after the pool check)', async () => {
      const sd = randomUUID();
      const error = await vdsmRejection(deleteImage(bed.ctx, params({ storagedomainID: sd })));
      expect(error.code).to.equal(358);
      expect(error.message).to.equal(`Storage domain does not exist: ('${sd}',)`);
    });

    it('answers 268 synchronously for an image without volumes, creating no task and keeping no lock', async () => {
      const img = randomUUID();
      const error = await vdsmRejection(deleteImage(bed.ctx, params({ imageID: img })));
      expect(error.code).to.equal(268);
      expect(error.message).to.equal(`Image does not exist in domain: 'image=${img}, domain=${fileDomain}'`);
      expect(bed.tasks.getAllTasks()).to.deep.equal({});
      expect(bed.locks.held()).to.deep.equal([]);
    });

    it('answers exactly `Not SPM` on a non-SPM host without postZero, renaming nothing', async () => {
      const error = await vdsmRejection(deleteImage(bed.contextFor(2), params()));
      expect(error.code).to.equal(654);
      expect(error.message).to.equal('Not SPM');
      expect(domainImages(bed.ctx, fileDomain)).to.include(image);
      expect(await pathExists(volumePath(bed.stateDir, fileDomain, image, volume))).to.equal(true);
      expect(bed.locks.held()).to.deep.equal([]);
    });

    it("answers `Not SPM: ('<sp>',)` on a non-SPM host with postZero", async () => {
      const error = await vdsmRejection(deleteImage(bed.contextFor(2), params({ postZero: true })));
      expect(error.code).to.equal(654);
      expect(error.message).to.equal(`Not SPM: ('${pool}',)`);
    });

    it('checks the image before the SPM role (268 wins over 654)', async () => {
      const error = await vdsmRejection(deleteImage(bed.contextFor(2), params({ imageID: randomUUID() })));
      expect(error.code).to.equal(268);
    });
  });

  describe('purge (postZero false)', () => {
    it('drops the image from getImages before returning, then removes files, rows and folder', async () => {
      const taskId = await deleteImage(bed.ctx, params());
      // Renamed now, before the job ran.
      expect(domainImages(bed.ctx, fileDomain)).to.not.include(image);
      expect(await pathExists(imageDir(bed.stateDir, fileDomain, image))).to.equal(false);
      expect(await pathExists(join(removedImageDir(bed.stateDir, fileDomain, image), volume))).to.equal(true);
      expect(bed.tasks.getInfo(taskId)).to.deep.equal({ id: taskId, verb: 'deleteImage' });

      await bed.waitFor(finished(taskId));
      const status = TaskStatusSchema.parse(bed.tasks.getStatus(taskId));
      expect(status).to.deep.include({ taskState: 'finished', taskResult: 'success', code: 0, message: '1 jobs completed successfully' });
      expect(bed.store.getVolume(fileDomain, volume)).to.equal(undefined);
      expect(await pathExists(removedImageDir(bed.stateDir, fileDomain, image))).to.equal(false);
      // The locks lived as long as the task.
      expect(bed.locks.held()).to.deep.equal([]);
    });

    it('holds EXCLUSIVE 00_storage/<img>_<sd> and SHARED 00_storage/<sd> for the task', async () => {
      const taskId = await deleteImage(bed.ctx, params());
      expect(bed.locks.held()).to.have.deep.members([
        { namespace: '00_storage', name: `${image}_${fileDomain}`, mode: 'exclusive', owner: taskId },
        { namespace: '00_storage', name: fileDomain, mode: 'shared', owner: taskId },
      ]);
      await bed.waitFor(finished(taskId));
    });

    it('fails the task with 349 for discard on a file domain, the image already gone from the listing', async () => {
      const taskId = await deleteImage(bed.ctx, params({ discard: true }));
      expect(domainImages(bed.ctx, fileDomain)).to.not.include(image);
      await bed.waitFor(finished(taskId));
      const text = `Discard is not supported by storage domain: 'sdUUID=${fileDomain}, reason=file storage domain'`;
      expect(bed.tasks.getStatus(taskId)).to.deep.equal({
        taskID: taskId,
        taskState: 'finished',
        taskResult: 'cleanSuccess',
        code: 349,
        message: `value=${text} abortedcode=349`,
      });
      // Remnants stay renamed, rows and files together.
      expect(bed.store.getVolume(fileDomain, volume)?.removed).to.equal(true);
      expect(await pathExists(join(removedImageDir(bed.stateDir, fileDomain, image), volume))).to.equal(true);
    });

    it('removes a block image (discard best effort)', async () => {
      const taskId = await deleteImage(bed.ctx, params({ imageID: blockImage, storagedomainID: blockDomain, discard: true }));
      await bed.waitFor(finished(taskId));
      expect(bed.tasks.getStatus(taskId).taskResult).to.equal('success');
      expect(bed.store.listVolumes(blockDomain, blockImage, { includeRemoved: true })).to.deep.equal([]);
      expect(await readdir(join(bed.stateDir, blockDomain, 'images'))).to.deep.equal([]);
    });

    it('makes a second delete of the image wait for the first, then answer 268', async () => {
      // Zeroing holds the image lock for as long as the wipe runs.
      const first = await deleteImage(bed.ctx, params({ imageID: blockImage, storagedomainID: blockDomain, postZero: true }));
      // The wipe is on the clock before the waiter's timeout timer joins it.
      await bed.waitFor(() => bed.clock.pending > 0);
      let settled = false;
      const second = vdsmRejection(deleteImage(bed.ctx, params({ imageID: blockImage, storagedomainID: blockDomain }))).finally(() => {
        settled = true;
      });
      await bed.driveClock(1000);
      expect(settled).to.equal(false);
      await bed.driveClock(1560);
      await bed.waitFor(finished(first));
      const error = await second;
      expect(error.code).to.equal(268);
    });

    it('gives up a lock wait after 120 s with 851', async () => {
      const slow = await createStorageTestBed({ fixture: storageTestFixture(), jobs: [deleteImageJobs], wipeBytesPerSecond: MiB });
      try {
        await deleteImage(slow.ctx, params({ imageID: blockImage, storagedomainID: blockDomain, postZero: true }));
        await slow.waitFor(() => slow.clock.pending > 0);
        const second = vdsmRejection(deleteImage(slow.ctx, params({ imageID: blockImage, storagedomainID: blockDomain })));
        await slow.driveClock(120_000, 10_000);
        const error = await second;
        expect(error.code).to.equal(851);
        expect(error.message).to.equal('Resource timeout: ()');
      } finally {
        await slow.close();
      }
    });
  });

  describe('zero (postZero true)', () => {
    const blockParams = params({ imageID: blockImage, storagedomainID: blockDomain, postZero: true });
    // 256 MiB (two whole extents) at the default 100 MiB/s.
    const wipeMs = (TEST_BLOCK_DISK_SIZE / (100 * MiB)) * 1000;

    it('wipes a block image for size / rate of clock time, then removes it', async () => {
      const taskId = await deleteImage(bed.ctx, blockParams);
      await bed.waitFor(() => bed.store.getVolume(blockDomain, blockVolume)?.removed === true);
      expect(domainImages(bed.ctx, blockDomain)).to.not.include(blockImage);
      await bed.driveClock(wipeMs - 200);
      expect(bed.tasks.getStatus(taskId)).to.deep.include({ taskState: 'running', message: 'running job 1 of 1' });
      expect(bed.tasks.getRecord(taskId)?.progress).to.be.above(0.5).and.below(1);
      expect(bed.store.getVolume(blockDomain, blockVolume)).to.not.equal(undefined);

      await bed.driveClock(200);
      await bed.waitFor(finished(taskId));
      expect(bed.tasks.getStatus(taskId)).to.deep.include({ taskResult: 'success', code: 0 });
      expect(bed.store.getVolume(blockDomain, blockVolume)).to.equal(undefined);
      expect(await pathExists(zeroedImageDir(bed.stateDir, blockDomain, blockImage))).to.equal(false);
    });

    it('stops on Task.stop: 411, the volume not removed and its file partly zeroed', async () => {
      const taskId = await deleteImage(bed.ctx, blockParams);
      await bed.driveClock(wipeMs / 2);
      bed.tasks.stop(taskId);
      await bed.waitFor(finished(taskId));
      expect(bed.tasks.getStatus(taskId)).to.deep.equal({
        taskID: taskId,
        taskState: 'finished',
        taskResult: 'cleanSuccess',
        code: 411,
        message: `value=${taskId} abortedcode=411`,
      });
      // Like VDSM's LVs left tagged _remove_me_ZERO_: still there, out of every listing.
      expect(bed.store.getVolume(blockDomain, blockVolume)?.removed).to.equal(true);
      expect(domainImages(bed.ctx, blockDomain)).to.not.include(blockImage);
      const file = await readFile(join(zeroedImageDir(bed.stateDir, blockDomain, blockImage), blockVolume));
      expect(file.subarray(0, MiB).every((byte) => byte === 0)).to.equal(true);
      expect(file.subarray(TEST_BLOCK_DISK_SIZE - MiB, TEST_BLOCK_DISK_SIZE).every((byte) => byte === 0xa5)).to.equal(true);
      expect(bed.locks.held()).to.deep.equal([]);
    });

    it('does not zero on a file domain: removed at once, no clock time needed', async () => {
      const taskId = await deleteImage(bed.ctx, params({ postZero: true }));
      await bed.waitFor(finished(taskId));
      expect(bed.tasks.getStatus(taskId).taskResult).to.equal('success');
      expect(bed.store.getVolume(fileDomain, volume)).to.equal(undefined);
      expect(await pathExists(imageDir(bed.stateDir, fileDomain, image))).to.equal(false);
      expect(await pathExists(removedImageDir(bed.stateDir, fileDomain, image))).to.equal(false);
    });

    it('fails with 349 for discard on a file domain before renaming anything', async () => {
      const taskId = await deleteImage(bed.ctx, params({ postZero: true, discard: true }));
      await bed.waitFor(finished(taskId));
      expect(bed.tasks.getStatus(taskId)).to.deep.include({ code: 349, taskResult: 'cleanSuccess' });
      expect(domainImages(bed.ctx, fileDomain)).to.include(image);
    });
  });
});
