import { expect } from 'chai';
import { SyncType, TaskResult, VolumeFormat, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import { checksum, sizeOf } from '../data/volume-files.js';
import type { Logger } from '../logger.js';
import { COPY_IDS, copyTestFixture, volumeFile, waitForTask } from '../test-support/copy-fixture.js';
import { cloneStructure, cloneStructureJobs } from './clone-structure.js';
import { syncData, syncDataJobs, syncDataVerbs } from './sync-data.js';
import { createStorageTestBed } from '../test-support/storage-test-bed.js';
import type { StorageTestBed, StorageTestBedOptions } from '../test-support/storage-test-bed.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const { pool, fileDomain, roomyFileDomain, chainImage, chainBase, chainLeaf } = COPY_IDS;

function syncParams(overrides: Partial<WireParamsOf<'Image.syncData'>> = {}): WireParamsOf<'Image.syncData'> {
  return { imageID: chainImage, storagepoolID: pool, storagedomainID: fileDomain, dstSdUUID: roomyFileDomain, syncType: SyncType.All, ...overrides };
}

describe('storage/sync-data (Image.syncData)', function () {
  this.timeout(30_000);
  let bed: StorageTestBed;

  async function open(options: StorageTestBedOptions = {}): Promise<void> {
    bed = await createStorageTestBed({ fixture: copyTestFixture({ hosts: 2 }), jobs: [cloneStructureJobs, syncDataJobs], ...options });
  }

  /** Clones the chain's structure onto the roomy NFS domain. */
  async function clone(): Promise<void> {
    const taskId = await cloneStructure(bed.ctx, { imageID: chainImage, storagepoolID: pool, storagedomainID: fileDomain, dstSdUUID: roomyFileDomain });
    await waitForTask(bed, taskId);
    expect(bed.tasks.getStatus(taskId)).to.include({ code: 0 });
  }

  async function sync(params: WireParamsOf<'Image.syncData'>): Promise<ReturnType<StorageTestBed['tasks']['getStatus']>> {
    const taskId = await syncData(bed.ctx, params);
    await waitForTask(bed, taskId);
    return bed.tasks.getStatus(taskId);
  }

  afterEach(async () => {
    await bed.close();
  });

  it('offers Image.syncData as an emulated verb, with cloneStructure\'s synchronous checks', async () => {
    await open();
    expect(syncDataVerbs(bed.ctx).map((verb) => verb.method)).to.deep.equal(['Image.syncData']);
    const unknown = 'deadbeef-0000-4000-8000-000000000000';
    expect((await vdsmRejection(syncData(bed.ctx, syncParams({ dstSdUUID: unknown })))).code).to.equal(358);
    expect((await vdsmRejection(syncData(bed.ctx, syncParams({ storagepoolID: unknown })))).code).to.equal(309);
    expect((await vdsmRejection(syncData(bed.contextFor(2), syncParams()))).message).to.equal(`Not SPM: ('${pool}',)`);
  });

  it('copies every volume (ALL) into the cloned structure: ILLEGAL while written, then LEGAL, generation + 1', async () => {
    const seen: unknown[] = [];
    const noop = (): void => {};
    const logger: Logger = {
      debug: (_fields, message) => {
        if (message === 'copying volume') seen.push(bed.store.getVolume(roomyFileDomain, chainBase)?.legality);
      },
      info: noop,
      warn: noop,
      error: noop,
      child: () => logger,
    };
    await open({ logger });
    await clone();
    const status = await sync(syncParams());
    expect(status).to.include({ taskResult: TaskResult.Success, code: 0 });
    expect(seen).to.deep.equal([VolumeLegality.Illegal, VolumeLegality.Illegal]);
    for (const volume of [chainBase, chainLeaf]) {
      expect(bed.store.getVolume(roomyFileDomain, volume)).to.include({ legality: VolumeLegality.Legal, generation: 1 });
    }
    expect(bed.store.getVolume(roomyFileDomain, chainBase)).to.include({ role: VolumeRole.Internal });
    expect(await checksum(volumeFile(bed, roomyFileDomain, chainImage, chainLeaf), VolumeFormat.COW)).to.equal(
      await checksum(volumeFile(bed, fileDomain, chainImage, chainLeaf), VolumeFormat.COW),
    );
  });

  it('copies all but the leaf (INTERNAL), or only the leaf (LEAF)', async () => {
    await open();
    await clone();
    expect(await sync(syncParams({ syncType: SyncType.Internal }))).to.include({ code: 0 });
    expect(bed.store.getVolume(roomyFileDomain, chainBase)).to.include({ generation: 1 });
    expect(bed.store.getVolume(roomyFileDomain, chainLeaf)).to.include({ generation: 0 });
    // The base's data arrived (64 KiB of 'base').
    expect((await sizeOf(volumeFile(bed, roomyFileDomain, chainImage, chainBase))).true).to.be.at.least(64 * 1024);
    expect(await sync(syncParams({ syncType: SyncType.Leaf }))).to.include({ code: 0 });
    expect(bed.store.getVolume(roomyFileDomain, chainBase)).to.include({ generation: 1 });
    expect(bed.store.getVolume(roomyFileDomain, chainLeaf)).to.include({ generation: 1 });
  });

  it('fails with 268 when the target has no structure, and with 260 when the structures differ', async () => {
    await open();
    const missing = await sync(syncParams());
    expect(missing).to.include({ code: 268, message: `value=Image does not exist in domain: 'image=${chainImage}, domain=${roomyFileDomain}' abortedcode=268` });

    await clone();
    // The target's chain loses its leaf: one volume against the source's two.
    bed.store.deleteVolume(roomyFileDomain, chainLeaf);
    bed.store.updateVolume(roomyFileDomain, chainBase, { role: VolumeRole.Leaf });
    const differ = await sync(syncParams());
    expect(differ).to.include({
      taskResult: TaskResult.CleanSuccess,
      code: 260,
      message: `value=Error during destination image manipulation: ('${chainImage}', '${roomyFileDomain}') abortedcode=260`,
    });
  });
});
