import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { VolumeRole } from '@vdsm-kit/client/api';
import { volumePath } from '../data/layout.js';
import { deleteVolumeJobs, deleteVolumes } from './delete-volumes.js';
import type { DeleteVolumesRequest } from './delete-volumes.js';
import { createStorageTestBed, storageTestFixture, TEST_BLOCK_DISK_SIZE, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { pathExists } from '../data/path-exists.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const { pool, fileDomain, blockDomain, chainImage, chainBase, chainLeaf, blockImage, blockVolume } = TEST_IDS;

function request(overrides: Partial<DeleteVolumesRequest> = {}): DeleteVolumesRequest {
  return { spUUID: pool, sdUUID: fileDomain, imgUUID: chainImage, volumes: [chainLeaf], postZero: false, force: false, discard: false, ...overrides };
}

describe('storage/delete-volumes (Image.deleteVolumes, Volume.delete)', () => {
  let bed: StorageTestBed;

  beforeEach(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture({ hosts: 2 }), jobs: [deleteVolumeJobs] });
  });
  afterEach(async () => {
    await bed.close();
  });

  /** Runs the verb and waits for its task to finish; returns its status. */
  async function run(req: DeleteVolumesRequest) {
    const taskId = await deleteVolumes(bed.ctx, req);
    await bed.waitFor(() => bed.tasks.getStatus(taskId).taskState === 'finished');
    return bed.tasks.getStatus(taskId);
  }

  describe('synchronous checks', () => {
    it('refuses an unconnected pool with 309', async () => {
      const other = randomUUID();
      const error = await vdsmRejection(deleteVolumes(bed.ctx, request({ spUUID: other })));
      expect(error.message).to.equal(`Unknown pool id, pool not connected: ('${other}',)`);
    });

    it("refuses a non-SPM host with Not SPM: ('<sp>',)", async () => {
      const error = await vdsmRejection(deleteVolumes(bed.contextFor(2), request()));
      expect(error.code).to.equal(654);
      expect(error.message).to.equal(`Not SPM: ('${pool}',)`);
      expect(bed.locks.held()).to.deep.equal([]);
    });

    it('leaves an unknown domain to the job (358 in the task), as VDSM does', async () => {
      const sd = randomUUID();
      const taskId = await deleteVolumes(bed.ctx, request({ sdUUID: sd }));
      expect(bed.tasks.getInfo(taskId).verb).to.equal('deleteVolume');
      await bed.waitFor(() => bed.tasks.getStatus(taskId).taskState === 'finished');
      expect(bed.tasks.getStatus(taskId)).to.deep.include({
        code: 358,
        message: `value=Storage domain does not exist: ('${sd}',) abortedcode=358`,
      });
    });
  });

  it('deletes a leaf: file and row gone, its parent a leaf again', async () => {
    const status = await run(request());
    expect(status).to.deep.include({ taskResult: 'success', code: 0 });
    expect(bed.store.getVolume(fileDomain, chainLeaf)).to.equal(undefined);
    expect(await pathExists(volumePath(bed.stateDir, fileDomain, chainImage, chainLeaf))).to.equal(false);
    expect(bed.store.getVolume(fileDomain, chainBase)?.role).to.equal(VolumeRole.Leaf);
  });

  it('deletes a whole chain given leaf first', async () => {
    const status = await run(request({ volumes: [chainLeaf, chainBase] }));
    expect(status.taskResult).to.equal('success');
    expect(bed.store.listVolumes(fileDomain, chainImage, { includeRemoved: true })).to.deep.equal([]);
  });

  it('refuses a volume with children unless forced (204 inside, task code 100), leaving it legal', async () => {
    const status = await run(request({ volumes: [chainBase] }));
    const text =
      `Cannot delete volume which has children (non-ethical): ` +
      `['sdUUID: ${fileDomain}', 'imgUUID: ${chainImage}', 'volUUID: ${chainBase}']`;
    // VolumeImageHasChildren is a VolumeGeneralException, not a StorageException:
    // task.py `_run` reports such errors with code 100.
    expect(status).to.deep.include({ taskResult: 'cleanSuccess', code: 100, message: `value=${text} abortedcode=100` });
    expect(bed.store.getVolume(fileDomain, chainBase)?.legality).to.equal('LEGAL');
  });

  it('refuses a shared (template) volume with 223 unless forced', async () => {
    bed.store.updateVolume(fileDomain, chainLeaf, { role: VolumeRole.Shared });
    const status = await run(request());
    const text = `Shared Volume cannot be deleted: 'img ${chainImage} vol ${chainLeaf}'`;
    expect(status).to.deep.include({ code: 223, message: `value=${text} abortedcode=223` });
    const forced = await run(request({ force: true }));
    expect(forced.taskResult).to.equal('success');
  });

  it('fails with 201 for a volume the image does not have', async () => {
    const vol = randomUUID();
    const status = await run(request({ volumes: [vol] }));
    expect(status).to.deep.include({ code: 201, message: `value=Volume does not exist: ('${vol}',) abortedcode=201` });
  });

  it('fails with 349 for discard on a file domain', async () => {
    const status = await run(request({ discard: true }));
    expect(status.code).to.equal(349);
    expect(bed.store.getVolume(fileDomain, chainLeaf)?.legality).to.equal('LEGAL');
  });

  it('zeroes a block volume on the clock with postZero, and stops with 411 leaving it ILLEGAL', async () => {
    const taskId = await deleteVolumes(bed.ctx, request({ sdUUID: blockDomain, imgUUID: blockImage, volumes: [blockVolume], postZero: true }));
    const wipeMs = (TEST_BLOCK_DISK_SIZE / (100 * 1024 * 1024)) * 1000;
    await bed.driveClock(wipeMs / 2);
    expect(bed.tasks.getStatus(taskId).taskState).to.equal('running');
    bed.tasks.stop(taskId);
    await bed.waitFor(() => bed.tasks.getStatus(taskId).taskState === 'finished');
    expect(bed.tasks.getStatus(taskId)).to.deep.include({ code: 411, taskResult: 'cleanSuccess', message: `value=${taskId} abortedcode=411` });
    expect(bed.store.getVolume(blockDomain, blockVolume)?.legality).to.equal('ILLEGAL');
    expect(await pathExists(volumePath(bed.stateDir, blockDomain, blockImage, blockVolume))).to.equal(true);
  });

  it('zeroes a block volume for its whole extents and then removes it', async () => {
    const taskId = await deleteVolumes(bed.ctx, request({ sdUUID: blockDomain, imgUUID: blockImage, volumes: [blockVolume], postZero: true }));
    await bed.driveClock(2500);
    expect(bed.tasks.getStatus(taskId).taskState).to.equal('running');
    await bed.driveClock(100);
    await bed.waitFor(() => bed.tasks.getStatus(taskId).taskState === 'finished');
    expect(bed.tasks.getStatus(taskId).taskResult).to.equal('success');
    expect(bed.store.getVolume(blockDomain, blockVolume)).to.equal(undefined);
  });
});
