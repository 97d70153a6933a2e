import { expect } from 'chai';
import {
  BLANK_UUID,
  DiskType,
  TaskResult,
  VolumeAllocation,
  VolumeFormat,
  VolumeLegality,
  VolumeRole,
} from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import { findDataTools } from '../data/tools.js';
import { checksum, isQcow2File, sizeOf } from '../data/volume-files.js';
import { openStateDatabase } from '../model/db.js';
import { StateStore } from '../model/store.js';
import { COPY_IDS, copyTestFixture, SMALL_DISK_SIZE, volumeFile, waitForTask } from '../test-support/copy-fixture.js';
import { createVolume, createVolumeJobs, createVolumeVerbs } from './create-volume.js';
import { createStorageTestBed } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const MiB = 1024 * 1024;
const { pool, fileDomain, blockDomain, oneExtentBlockDomain, smallImage, smallVolume } = COPY_IDS;
const NEW_IMAGE = 'f1f1f1f1-0000-4000-8000-0000000000a1';
const NEW_VOLUME = 'f1f1f1f1-0000-4000-8000-0000000000b1';

/** Volume.create params: a sparse RAW 64 MiB volume in a new image on the NFS domain, unless told otherwise. */
function createParams(overrides: Partial<WireParamsOf<'Volume.create'>> = {}): WireParamsOf<'Volume.create'> {
  return {
    volumeID: NEW_VOLUME,
    storagepoolID: pool,
    storagedomainID: fileDomain,
    imageID: NEW_IMAGE,
    size: String(64 * MiB),
    volFormat: VolumeFormat.RAW,
    preallocate: VolumeAllocation.Sparse,
    diskType: DiskType.Data,
    desc: 'new disk',
    srcImgUUID: BLANK_UUID,
    srcVolUUID: BLANK_UUID,
    initialSize: null,
    addBitmaps: false,
    legal: true,
    sequence: 0,
    bitmap: null,
    ...overrides,
  };
}

describe('storage/create-volume (Volume.create)', function () {
  this.timeout(30_000);
  let bed: StorageTestBed;

  beforeEach(async () => {
    bed = await createStorageTestBed({ fixture: copyTestFixture({ hosts: 2 }), jobs: [createVolumeJobs] });
  });

  afterEach(async () => {
    await bed.close();
  });

  /** Runs Volume.create to its end; returns the task's status. */
  async function run(params: WireParamsOf<'Volume.create'>): Promise<ReturnType<StorageTestBed['tasks']['getStatus']>> {
    const taskId = await createVolume(bed.ctx, params);
    await waitForTask(bed, taskId);
    return bed.tasks.getStatus(taskId);
  }

  it('offers Volume.create as an emulated verb', () => {
    expect(createVolumeVerbs(bed.ctx).map((verb) => verb.method)).to.deep.equal(['Volume.create']);
  });

  describe('synchronous checks', () => {
    it('answers 309, then 358, then the create params (202, 231), then 654', async () => {
      const unknown = 'deadbeef-0000-4000-8000-000000000000';
      const bad = { volFormat: 3, preallocate: 9 } as unknown as Partial<WireParamsOf<'Volume.create'>>;
      expect((await vdsmRejection(createVolume(bed.ctx, createParams({ ...bad, storagepoolID: unknown, storagedomainID: unknown })))).code).to.equal(309);
      expect((await vdsmRejection(createVolume(bed.ctx, createParams({ ...bad, storagedomainID: unknown })))).code).to.equal(358);
      const format = await vdsmRejection(createVolume(bed.ctx, createParams(bad)));
      expect([format.code, format.message]).to.deep.equal([202, 'Incorrect Volume format: (3,)']);
      const snapshotRaw = await vdsmRejection(createVolume(bed.ctx, createParams({ srcVolUUID: smallVolume })));
      expect([snapshotRaw.code, snapshotRaw.message]).to.deep.equal([202, "Incorrect Volume format: ('RAW',)"]);
      const allocation = await vdsmRejection(createVolume(bed.ctx, createParams({ preallocate: 9 } as unknown as Partial<WireParamsOf<'Volume.create'>>)));
      expect([allocation.code, allocation.message]).to.deep.equal([231, 'Incorrect Volume Preallocate Type: (9,)']);
      const sparseRawOnBlock = await vdsmRejection(createVolume(bed.ctx, createParams({ storagedomainID: blockDomain })));
      expect([sparseRawOnBlock.code, sparseRawOnBlock.message]).to.deep.equal([202, "Incorrect Volume format: ('RAW',)"]);
      const notSpm = await vdsmRejection(createVolume(bed.contextFor(2), createParams()));
      expect([notSpm.code, notSpm.message]).to.deep.equal([654, `Not SPM: ('${pool}',)`]);
      expect(bed.locks.held()).to.deep.equal([]);
    });

    it('answers an unexpected failure with the default 205 and VDSM\'s argsStr', async () => {
      const db = openStateDatabase(bed.stateDir);
      const closedStore = new StateStore(db);
      db.close();
      const error = await vdsmRejection(createVolume({ ...bed.ctx, store: closedStore }, createParams()));
      expect([error.code, error.message]).to.deep.equal([
        205,
        `Error creating a new volume: ('sdUUID=${fileDomain}, spUUID=${pool}, imgUUID=${NEW_IMAGE}, size=${64 * MiB}, volFormat=5, ` +
          `preallocate=2, diskType=DATA, volUUID=${NEW_VOLUME}, desc=new disk, srcImgUUID=${BLANK_UUID}, srcVolUUID=${BLANK_UUID}, initialSize=None',)`,
      ]);
    });
  });

  describe('the job', () => {
    it('creates a sparse RAW volume: file of the capacity with nothing allocated, LEGAL LEAF row', async () => {
      const taskId = await createVolume(bed.ctx, createParams());
      expect(bed.tasks.getInfo(taskId)).to.deep.equal({ id: taskId, verb: 'createVolume' });
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success, code: 0, message: '1 jobs completed successfully' });
      expect(bed.store.getVolume(fileDomain, NEW_VOLUME)).to.include({
        imageId: NEW_IMAGE,
        parentId: BLANK_UUID,
        format: VolumeFormat.RAW,
        allocation: VolumeAllocation.Sparse,
        role: VolumeRole.Leaf,
        legality: VolumeLegality.Legal,
        generation: 0,
        capacity: 64 * MiB,
        description: 'new disk',
      });
      expect(await sizeOf(volumeFile(bed, fileDomain, NEW_IMAGE, NEW_VOLUME))).to.deep.equal({ apparent: 64 * MiB, true: 0 });
    });

    it('allocates a preallocated RAW volume on a file domain, and creates it ILLEGAL when legal is false', async () => {
      expect(await run(createParams({ preallocate: VolumeAllocation.Preallocated, size: String(8 * MiB), legal: false }))).to.include({ code: 0 });
      expect((await sizeOf(volumeFile(bed, fileDomain, NEW_IMAGE, NEW_VOLUME))).true).to.be.at.least(8 * MiB);
      expect(bed.store.getVolume(fileDomain, NEW_VOLUME)).to.include({ allocation: VolumeAllocation.Preallocated, legality: VolumeLegality.Illegal });
    });

    it('sizes a block volume in whole extents', async () => {
      const status = await run(createParams({ storagedomainID: blockDomain, preallocate: VolumeAllocation.Preallocated, size: String(MiB) }));
      expect(status).to.include({ code: 0 });
      expect((await sizeOf(volumeFile(bed, blockDomain, NEW_IMAGE, NEW_VOLUME))).apparent).to.equal(128 * MiB);
      expect(bed.store.getVolume(blockDomain, NEW_VOLUME)).to.include({ capacity: MiB });
    });

    it('makes a snapshot: COW on the parent, the parent INTERNAL, the parent\'s capacity', async () => {
      const status = await run(
        createParams({ imageID: smallImage, volFormat: VolumeFormat.COW, srcImgUUID: smallImage, srcVolUUID: smallVolume, size: String(MiB) }),
      );
      expect(status).to.include({ code: 0 });
      expect(bed.store.getVolume(fileDomain, NEW_VOLUME)).to.include({
        imageId: smallImage,
        parentId: smallVolume,
        format: VolumeFormat.COW,
        role: VolumeRole.Leaf,
        capacity: SMALL_DISK_SIZE,
      });
      expect(bed.store.getVolume(fileDomain, smallVolume)).to.include({ role: VolumeRole.Internal });
      const leaf = volumeFile(bed, fileDomain, smallImage, NEW_VOLUME);
      if ((await findDataTools()).qemuImg !== undefined) {
        // A qcow2 layer on the parent: the guest reads the parent's data through it.
        expect(await isQcow2File(leaf)).to.equal(true);
        expect(await checksum(leaf, VolumeFormat.COW)).to.equal(await checksum(volumeFile(bed, fileDomain, smallImage, smallVolume), VolumeFormat.RAW));
      }
    });

    it('takes a BLANK srcImgUUID as the volume\'s own image', async () => {
      const status = await run(createParams({ imageID: smallImage, volFormat: VolumeFormat.COW, srcVolUUID: smallVolume }));
      expect(status).to.include({ code: 0 });
      expect(bed.store.getVolume(fileDomain, NEW_VOLUME)).to.include({ parentId: smallVolume });
    });

    it('fails with 201 for a missing parent', async () => {
      const missing = 'dddddddd-0000-4000-8000-000000000000';
      const status = await run(createParams({ volFormat: VolumeFormat.COW, srcVolUUID: missing }));
      expect(status).to.include({ code: 201, message: `value=Volume does not exist: ('${missing}',) abortedcode=201` });
      expect(bed.store.getVolume(fileDomain, NEW_VOLUME)).to.equal(undefined);
    });

    it('refuses an existing volume: 212 on a file domain, 550 on a block domain', async () => {
      expect(await run(createParams({ volumeID: smallVolume, imageID: smallImage }))).to.include({
        code: 212,
        message: `value=Volume already exists: ('${smallVolume}',) abortedcode=212`,
      });
      // The refused volume is not the job's: the rollback leaves it alone.
      expect(bed.store.getVolume(fileDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, removed: false });
      const { blockImage, blockVolume } = COPY_IDS;
      expect(
        await run(createParams({ volumeID: blockVolume, imageID: blockImage, storagedomainID: blockDomain, preallocate: VolumeAllocation.Preallocated })),
      ).to.include({ code: 550, message: `value=Cannot create Logical Volume: ('${blockDomain}', '${blockVolume}') abortedcode=550` });
    });

    it('fails with 504 when the VG lacks the extents', async () => {
      const status = await run(createParams({ storagedomainID: oneExtentBlockDomain, preallocate: VolumeAllocation.Preallocated, size: String(129 * MiB) }));
      expect(status).to.include({
        code: 504,
        message: `value=Volume Group not big enough: ('Not enough free extents for creating LV ${oneExtentBlockDomain}/${NEW_VOLUME} (free=1, needed=2)',) abortedcode=504`,
      });
      expect(bed.store.listVolumes(oneExtentBlockDomain)).to.deep.equal([]);
    });
  });
});
