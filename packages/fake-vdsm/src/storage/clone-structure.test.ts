import { expect } from 'chai';
import { BLANK_UUID, TaskResult, VolumeAllocation, VolumeFormat, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import { sizeOf } from '../data/volume-files.js';
import { STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { COPY_IDS, copyTestFixture, volumeFile, waitForTask } from '../test-support/copy-fixture.js';
import { cloneStructure, cloneStructureJobs, cloneStructureVerbs } from './clone-structure.js';
import { createStorageTestBed } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const MiB = 1024 * 1024;
const { pool, fileDomain, blockDomain, oneExtentBlockDomain, chainImage, chainBase, chainLeaf } = COPY_IDS;

function cloneParams(overrides: Partial<WireParamsOf<'Image.cloneStructure'>> = {}): WireParamsOf<'Image.cloneStructure'> {
  return { imageID: chainImage, storagepoolID: pool, storagedomainID: fileDomain, dstSdUUID: blockDomain, ...overrides };
}

describe('storage/clone-structure (Image.cloneStructure)', function () {
  this.timeout(30_000);
  let bed: StorageTestBed;

  beforeEach(async () => {
    bed = await createStorageTestBed({ fixture: copyTestFixture({ hosts: 2 }), jobs: [cloneStructureJobs] });
  });

  afterEach(async () => {
    await bed.close();
  });

  it('offers Image.cloneStructure as an emulated verb', () => {
    expect(cloneStructureVerbs(bed.ctx).map((verb) => verb.method)).to.deep.equal(['Image.cloneStructure']);
  });

  it('checks the domains (358), then takes the locks (851), then checks the pool (309), then the SPM (654)', async () => {
    const unknown = 'deadbeef-0000-4000-8000-000000000000';
    const domain = await vdsmRejection(cloneStructure(bed.ctx, cloneParams({ dstSdUUID: unknown, storagepoolID: unknown })));
    expect([domain.code, domain.message]).to.deep.equal([358, `Storage domain does not exist: ('${unknown}',)`]);

    // hsm.py takes the locks before it looks at the pool: a busy domain answers 851 even for a wrong pool.
    await bed.locks.acquire(STORAGE_NAMESPACE, blockDomain, 'exclusive', 'another-task');
    const busy = vdsmRejection(cloneStructure(bed.ctx, cloneParams({ storagepoolID: unknown })));
    await bed.clock.advanceAsync(120_000);
    expect((await busy).code).to.equal(851);
    bed.locks.release('another-task');

    const poolError = await vdsmRejection(cloneStructure(bed.ctx, cloneParams({ storagepoolID: unknown })));
    expect([poolError.code, poolError.message]).to.deep.equal([309, `Unknown pool id, pool not connected: ('${unknown}',)`]);
    const notSpm = await vdsmRejection(cloneStructure(bed.contextFor(2), cloneParams()));
    expect([notSpm.code, notSpm.message]).to.deep.equal([654, `Not SPM: ('${pool}',)`]);
    expect(bed.locks.held()).to.deep.equal([]);
  });

  it('creates the chain on the target without data: same UUIDs, parents and roles, LEGAL, generation 0', async () => {
    const taskId = await cloneStructure(bed.ctx, cloneParams());
    expect(bed.tasks.getInfo(taskId)).to.deep.equal({ id: taskId, verb: 'cloneImageStructure' });
    await waitForTask(bed, taskId);
    expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success, code: 0 });
    expect(bed.store.getVolume(blockDomain, chainBase)).to.include({
      imageId: chainImage,
      parentId: BLANK_UUID,
      format: VolumeFormat.RAW,
      allocation: VolumeAllocation.Preallocated,
      role: VolumeRole.Internal,
      legality: VolumeLegality.Legal,
      generation: 0,
    });
    expect(bed.store.getVolume(blockDomain, chainLeaf)).to.include({ parentId: chainBase, format: VolumeFormat.COW, role: VolumeRole.Leaf, legality: VolumeLegality.Legal });
    // No data: the base's LV stand-in is one empty extent.
    expect(await sizeOf(volumeFile(bed, blockDomain, chainImage, chainBase))).to.deep.equal({ apparent: 128 * MiB, true: 0 });
  });

  it('fails with 268 for an image the source does not have, and 504 (removing what it made) on a short VG', async () => {
    const missing = 'dddddddd-0000-4000-8000-000000000000';
    const absent = await cloneStructure(bed.ctx, cloneParams({ imageID: missing }));
    await waitForTask(bed, absent);
    expect(bed.tasks.getStatus(absent)).to.include({ code: 268 });

    const short = await cloneStructure(bed.ctx, cloneParams({ dstSdUUID: oneExtentBlockDomain }));
    await waitForTask(bed, short);
    expect(bed.tasks.getStatus(short)).to.include({ taskResult: TaskResult.CleanSuccess, code: 504 });
    expect(bed.store.listVolumes(oneExtentBlockDomain)).to.deep.equal([]);
  });

  it('refuses a second clone onto the same target (550 on block) and keeps the first', async () => {
    await waitForTask(bed, await cloneStructure(bed.ctx, cloneParams()));
    const second = await cloneStructure(bed.ctx, cloneParams());
    await waitForTask(bed, second);
    expect(bed.tasks.getStatus(second)).to.include({ code: 550 });
    expect(bed.store.listVolumes(blockDomain, chainImage).map((volume) => volume.id)).to.have.members([chainBase, chainLeaf]);
  });
});
