import { expect } from 'chai';
import {
  BLANK_UUID,
  TaskResult,
  TaskState,
  VolumeAllocation,
  VolumeFormat,
  VolumeLegality,
  VolumeRole,
} from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import { imageDir } from '../data/layout.js';
import { findDataTools } from '../data/tools.js';
import { checksum, sizeOf } from '../data/volume-files.js';
import { openStateDatabase } from '../model/db.js';
import { StateStore } from '../model/store.js';
import { STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { COPY_IDS, copyTestFixture, SMALL_DISK_DATA, SMALL_DISK_SIZE, volumeFile, waitForTask } from '../test-support/copy-fixture.js';
import { copyVolume, copyVolumeJobs, copyVolumeVerbs } from './copy-volume.js';
import { createStorageTestBed } from '../test-support/storage-test-bed.js';
import type { StorageTestBed, StorageTestBedOptions } from '../test-support/storage-test-bed.js';
import { pathExists } from '../data/path-exists.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

const MiB = 1024 * 1024;
const { pool, fileDomain, blockDomain, roomyFileDomain, smallImage, smallVolume, chainImage, chainBase, chainLeaf } = COPY_IDS;
const NEW_IMAGE = 'f0f0f0f0-0000-4000-8000-0000000000a1';
const NEW_VOLUME = 'f0f0f0f0-0000-4000-8000-0000000000b1';

/** Volume.copy params: `smallVolume` into a new image on the iSCSI domain, RAW preallocated, unless told otherwise. */
function copyParams(overrides: Partial<WireParamsOf<'Volume.copy'>> = {}): WireParamsOf<'Volume.copy'> {
  return {
    volumeID: smallVolume,
    storagepoolID: pool,
    storagedomainID: fileDomain,
    imageID: smallImage,
    dstSdUUID: blockDomain,
    dstImgUUID: NEW_IMAGE,
    dstVolUUID: NEW_VOLUME,
    desc: 'a copy',
    volType: VolumeRole.Leaf,
    volFormat: VolumeFormat.RAW,
    preallocate: VolumeAllocation.Preallocated,
    postZero: false,
    force: false,
    discard: false,
    ...overrides,
  };
}

/** Params with values the wire schema would refuse (the handler is called directly). */
function rawParams(overrides: Record<string, unknown>): WireParamsOf<'Volume.copy'> {
  return { ...copyParams(), ...overrides } as unknown as WireParamsOf<'Volume.copy'>;
}

describe('storage/copy-volume (Volume.copy)', function () {
  this.timeout(60_000);
  let bed: StorageTestBed;
  let haveQemu = false;

  before(async () => {
    haveQemu = (await findDataTools()).qemuImg !== undefined;
  });

  async function open(options: StorageTestBedOptions = {}): Promise<StorageTestBed> {
    bed = await createStorageTestBed({ fixture: copyTestFixture({ hosts: 2 }), jobs: [copyVolumeJobs], ...options });
    return bed;
  }

  afterEach(async () => {
    await bed?.close();
  });

  it('offers Volume.copy as an emulated verb', async () => {
    await open();
    expect(copyVolumeVerbs(bed.ctx).map((verb) => verb.method)).to.deep.equal(['Volume.copy']);
  });

  describe('synchronous checks, in VDSM order', () => {
    beforeEach(() => open());

    it('refuses a copy into the same image of the same domain with 1000, also when the target domain is BLANK', async () => {
      for (const dstSdUUID of [fileDomain, BLANK_UUID]) {
        const error = await vdsmRejection(copyVolume(bed.ctx, copyParams({ dstSdUUID, dstImgUUID: smallImage, storagepoolID: BLANK_UUID })));
        expect([error.code, error.message]).to.deep.equal([1000, `Invalid parameter: 'dstImgUUID=${smallImage}'`]);
      }
    });

    it('checks the pool (309) before the source domain (358)', async () => {
      const unknown = 'deadbeef-0000-4000-8000-000000000000';
      const pool309 = await vdsmRejection(copyVolume(bed.ctx, copyParams({ storagepoolID: unknown, storagedomainID: unknown })));
      expect([pool309.code, pool309.message]).to.deep.equal([309, `Unknown pool id, pool not connected: ('${unknown}',)`]);
      const domain = await vdsmRejection(copyVolume(bed.ctx, copyParams({ storagedomainID: unknown })));
      expect([domain.code, domain.message]).to.deep.equal([358, `Storage domain does not exist: ('${unknown}',)`]);
    });

    it('refuses a chain with an ILLEGAL volume (262) or a missing image (268), before looking at the target', async () => {
      const unknown = 'deadbeef-0000-4000-8000-000000000000';
      bed.store.updateVolume(fileDomain, chainBase, { legality: VolumeLegality.Illegal });
      const illegal = await vdsmRejection(copyVolume(bed.ctx, copyParams({ imageID: chainImage, volumeID: chainLeaf, dstSdUUID: unknown })));
      expect([illegal.code, illegal.message]).to.deep.equal([262, `Image is not a legal chain: ('${chainImage}',)`]);
      const missing = 'dddddddd-0000-4000-8000-000000000000';
      const absent = await vdsmRejection(copyVolume(bed.ctx, copyParams({ imageID: missing, dstSdUUID: unknown })));
      expect([absent.code, absent.message]).to.deep.equal([268, `Image does not exist in domain: 'image=${missing}, domain=${fileDomain}'`]);
    });

    it('checks the target domain (358) before the format (202) and allocation (231)', async () => {
      const unknown = 'deadbeef-0000-4000-8000-000000000000';
      const domain = await vdsmRejection(copyVolume(bed.ctx, rawParams({ dstSdUUID: unknown, volFormat: 3 })));
      expect([domain.code, domain.message]).to.deep.equal([358, `Storage domain does not exist: ('${unknown}',)`]);
      const format = await vdsmRejection(copyVolume(bed.ctx, rawParams({ volFormat: 3, preallocate: 7 })));
      expect([format.code, format.message]).to.deep.equal([202, 'Incorrect Volume format: (3,)']);
      const allocation = await vdsmRejection(copyVolume(bed.ctx, rawParams({ preallocate: 7 })));
      expect([allocation.code, allocation.message]).to.deep.equal([231, 'Incorrect Volume Preallocate Type: (7,)']);
    });

    it('refuses a sparse RAW volume on a block domain with 202 (\'RAW\',)', async () => {
      const error = await vdsmRejection(copyVolume(bed.ctx, copyParams({ preallocate: VolumeAllocation.Sparse })));
      expect([error.code, error.message]).to.deep.equal([202, "Incorrect Volume format: ('RAW',)"]);
    });

    it('answers 851 when a domain lock is not granted in 120 s, then 654 on a host that is not the SPM', async () => {
      await bed.locks.acquire(STORAGE_NAMESPACE, blockDomain, 'exclusive', 'another-task');
      const outcome = vdsmRejection(copyVolume(bed.ctx, copyParams()));
      await bed.clock.advanceAsync(120_000);
      expect((await outcome).code).to.equal(851);
      bed.locks.release('another-task');
      const error = await vdsmRejection(copyVolume(bed.contextFor(2), copyParams()));
      expect([error.code, error.message]).to.deep.equal([654, `Not SPM: ('${pool}',)`]);
      expect(bed.locks.held()).to.deep.equal([]);
    });

    it('answers an unexpected failure with the default 251 and VDSM\'s argsStr', async () => {
      const db = openStateDatabase(bed.stateDir);
      const closedStore = new StateStore(db);
      db.close();
      const error = await vdsmRejection(copyVolume({ ...bed.ctx, store: closedStore }, copyParams()));
      expect(error.code).to.equal(251);
      expect(error.message).to.equal(
        `Error creating template from VM: ('sdUUID=${fileDomain}, spUUID=${pool}, vmUUID=, srcImgUUID=${smallImage}, ` +
          `srcVolUUID=${smallVolume}, dstImgUUID=${NEW_IMAGE}, dstVolUUID=${NEW_VOLUME}, description=a copy, dstSdUUID=${blockDomain}, ` +
          `volType=8, volFormat=5, preallocate=1 force=False, postZero=False, discard=False',)`,
      );
    });
  });

  describe('the job', () => {
    for (const builtin of [false, true]) {
      it(`copies one volume into a new image with ${builtin ? 'the built-in copier' : 'qemu-img'}`, async function () {
        skipUnless(this, builtin || haveQemu, 'qemu-img is not installed (Debian: qemu-utils)');
        await open({ forceBuiltinCopier: builtin });
        const sourceSum = await checksum(volumeFile(bed, fileDomain, smallImage, smallVolume), VolumeFormat.RAW);
        const taskId = await copyVolume(bed.ctx, copyParams());
        expect(bed.tasks.getInfo(taskId)).to.deep.equal({ id: taskId, verb: 'copyImage' });
        await waitForTask(bed, taskId);
        expect(bed.tasks.getStatus(taskId)).to.deep.equal({
          taskID: taskId,
          taskState: TaskState.Finished,
          taskResult: TaskResult.Success,
          code: 0,
          message: '1 jobs completed successfully',
        });
        expect(bed.store.getVolume(blockDomain, NEW_VOLUME)).to.include({
          imageId: NEW_IMAGE,
          parentId: BLANK_UUID,
          format: VolumeFormat.RAW,
          allocation: VolumeAllocation.Preallocated,
          role: VolumeRole.Leaf,
          legality: VolumeLegality.Legal,
          generation: 1,
          capacity: SMALL_DISK_SIZE,
          description: 'a copy',
        });
        const copy = volumeFile(bed, blockDomain, NEW_IMAGE, NEW_VOLUME);
        expect(await checksum(copy, VolumeFormat.RAW)).to.equal(sourceSum);
        expect((await sizeOf(copy)).true).to.be.below(SMALL_DISK_DATA + 2 * MiB);
      });
    }

    it('collapses a chain into one RAW volume (qemu-img reads through the top)', async function () {
      skipUnless(this, haveQemu, 'qemu-img is not installed (Debian: qemu-utils)');
      await open();
      const topSum = await checksum(volumeFile(bed, fileDomain, chainImage, chainLeaf), VolumeFormat.COW);
      const taskId = await copyVolume(
        bed.ctx,
        copyParams({ imageID: chainImage, volumeID: chainLeaf, dstSdUUID: roomyFileDomain, preallocate: VolumeAllocation.Sparse }),
      );
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success });
      expect(bed.store.listVolumes(roomyFileDomain, NEW_IMAGE).map((volume) => volume.id)).to.deep.equal([NEW_VOLUME]);
      expect(bed.store.getVolume(roomyFileDomain, NEW_VOLUME)).to.include({ parentId: BLANK_UUID, format: VolumeFormat.RAW, allocation: VolumeAllocation.Sparse });
      expect(await checksum(volumeFile(bed, roomyFileDomain, NEW_IMAGE, NEW_VOLUME), VolumeFormat.RAW)).to.equal(topSum);
    });

    it('collapses a chain into one COW volume, SHARED when volType is 6', async function () {
      skipUnless(this, haveQemu, 'qemu-img is not installed (Debian: qemu-utils)');
      await open();
      const topSum = await checksum(volumeFile(bed, fileDomain, chainImage, chainLeaf), VolumeFormat.COW);
      const taskId = await copyVolume(
        bed.ctx,
        copyParams({
          imageID: chainImage,
          volumeID: chainLeaf,
          dstSdUUID: BLANK_UUID,
          volFormat: VolumeFormat.COW,
          preallocate: VolumeAllocation.Sparse,
          volType: VolumeRole.Shared,
        }),
      );
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success });
      // BLANK_UUID: the copy lands on the source domain.
      expect(bed.store.getVolume(fileDomain, NEW_VOLUME)).to.include({ format: VolumeFormat.COW, role: VolumeRole.Shared, legality: VolumeLegality.Legal });
      expect(await checksum(volumeFile(bed, fileDomain, NEW_IMAGE, NEW_VOLUME), VolumeFormat.COW)).to.equal(topSum);
    });

    it('fails with a clear 225 VolumeCopyError (task code 100, as VDSM reports it) when a chain must be collapsed without qemu-img', async () => {
      await open({ forceBuiltinCopier: true });
      const taskId = await copyVolume(bed.ctx, copyParams({ imageID: chainImage, volumeID: chainLeaf, dstSdUUID: roomyFileDomain }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.deep.equal({
        taskID: taskId,
        taskState: TaskState.Finished,
        taskResult: TaskResult.CleanSuccess,
        code: 100,
        message:
          `value=Volume copy failed: ('collapsing 2 layers of image ${chainImage} into one volume needs qemu-img, ` +
          `and the built-in copier is in use',) abortedcode=100`,
      });
      expect(bed.store.listVolumes(roomyFileDomain)).to.deep.equal([]);
    });

    it('fails with 201 when the source volume is not in the source image', async () => {
      await open();
      const taskId = await copyVolume(bed.ctx, copyParams({ volumeID: chainLeaf }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ code: 201, message: `value=Volume does not exist: ('${chainLeaf}',) abortedcode=201` });
    });

    it('fails with 261 when the target file domain fills up, and removes the new volume', async () => {
      await open({ forceBuiltinCopier: true });
      const taskId = await copyVolume(bed.ctx, copyParams({ dstSdUUID: COPY_IDS.tinyFileDomain, preallocate: VolumeAllocation.Sparse }));
      await waitForTask(bed, taskId);
      const status = bed.tasks.getStatus(taskId);
      expect(status).to.include({ taskResult: TaskResult.CleanSuccess, code: 261 });
      expect(status.message).to.match(/^value=low level Image copy failed: \('No space left writing .*: the storage domain is full .*',\) abortedcode=261$/);
      expect(bed.store.listVolumes(COPY_IDS.tinyFileDomain)).to.deep.equal([]);
      expect(await pathExists(imageDir(bed.stateDir, COPY_IDS.tinyFileDomain, NEW_IMAGE))).to.equal(false);
    });

    it('refuses an existing target volume (550 on block) and overwrites it with force', async () => {
      await open();
      await waitForTask(bed, await copyVolume(bed.ctx, copyParams()));
      const again = await copyVolume(bed.ctx, copyParams());
      await waitForTask(bed, again);
      expect(bed.tasks.getStatus(again)).to.include({ code: 550, message: `value=Cannot create Logical Volume: ('${blockDomain}', '${NEW_VOLUME}') abortedcode=550` });
      expect(bed.store.getVolume(blockDomain, NEW_VOLUME)).to.include({ legality: VolumeLegality.Legal });
      const forced = await copyVolume(bed.ctx, copyParams({ force: true }));
      await waitForTask(bed, forced);
      expect(bed.tasks.getStatus(forced)).to.include({ taskResult: TaskResult.Success });
      expect(bed.store.getVolume(blockDomain, NEW_VOLUME)).to.include({ legality: VolumeLegality.Legal, generation: 1 });
    });
  });
});
