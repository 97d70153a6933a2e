/**
 * The seed of the project, end to end on the fake's default fixture: a disk
 * move is a copy to the destination (`Image.move` operation 1) followed by a
 * delete of the source (`Image.delete`), each an SPM task waited for with one
 * `Host.getAllTasksStatuses` per tick. This is the README's client example,
 * run for real: if it breaks, the README lies.
 */
import { TaskWatcher, VdsmClient, VolumeAllocation, VolumeFormat, copyImage, deleteImage, moveImage } from '@vdsm-kit/client';
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { startFake } from './support/fake.js';
import { TeardownHelper } from './support/teardown.js';
import { TEST_CLIENT_DEFAULTS } from './support/transports.js';

describe('the design: a move is a copy, then a delete of the source', () => {
  const td = new TeardownHelper();
  afterEach(() => td.run());

  it('moves the default disk from the NFS domain to the iSCSI domain with the engine-style helpers', async () => {
    const fake = await startFake(td, {});
    const spm = td.track(new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tcp', host: fake.stomp.host, port: fake.stomp.port }), (c) => c.close());
    const watcher = td.track(new TaskWatcher({ caller: spm, intervalMs: 20 }), (w) => w.close());
    const { pool, fileDomain, blockDomain, image, volume } = DEFAULT_IDS;
    const source = await spm.Volume.getInfo({ volumeID: volume, storagepoolID: pool, storagedomainID: fileDomain, imageID: image });

    const copyTask = await moveImage(spm, { imageID: image, storagepoolID: pool, srcDomainID: fileDomain, dstDomainID: blockDomain, operation: 'copy' });
    const copied = await watcher.wait(copyTask, { clear: true });
    expect(copied.kind).to.equal('success');

    // Usable on the target as soon as the copy ends: LEGAL, one generation on.
    const target = await spm.Volume.getInfo({ volumeID: volume, storagepoolID: pool, storagedomainID: blockDomain, imageID: image });
    expect(target).to.include({ legality: 'LEGAL', format: source.format, capacity: source.capacity, generation: source.generation + 1 });

    const deleteTask = await deleteImage(spm, { imageID: image, storagepoolID: pool, storagedomainID: fileDomain });
    const deleted = await watcher.wait(deleteTask, { clear: true });
    expect(deleted.kind).to.equal('success');

    expect(await spm.StorageDomain.getImages({ storagedomainID: fileDomain })).to.not.include(image);
    expect(await spm.StorageDomain.getImages({ storagedomainID: blockDomain })).to.include(image);
    // Both tasks were cleared once waited for: nothing is left on the SPM.
    expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
  });
});

describe("the engine's own wire format", () => {
  const td = new TeardownHelper();
  afterEach(() => td.run());

  it('serves Image.move exactly as oVirt\'s engine sends it: postZero and force as strings', async () => {
    const fake = await startFake(td, {});
    const engine = td.track(new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tcp', host: fake.stomp.host, port: fake.stomp.port }), (c) => c.close());
    const watcher = td.track(new TaskWatcher({ caller: engine, intervalMs: 20 }), (w) => w.close());
    const { pool, fileDomain, blockDomain, image } = DEFAULT_IDS;
    // The untyped call sends the params as given, like MoveImageGroupVDSCommand (engine-move.md 1.3).
    const taskId = await engine.call('Image.move', {
      imageID: image,
      storagepoolID: pool,
      storagedomainID: fileDomain,
      dstSdUUID: blockDomain,
      operation: 1,
      postZero: 'false',
      force: 'false',
    });
    const outcome = await watcher.wait(taskId as string, { clear: true });
    expect(outcome.kind).to.equal('success');
    expect(await engine.StorageDomain.getImages({ storagedomainID: blockDomain })).to.include(image);
  });
});

describe("copyImage is VDSM's copyImage (Volume.copy), not the move's copy", () => {
  const td = new TeardownHelper();
  afterEach(() => td.run());

  it('copies the default disk into a new image on the same domain, leaving the source where it was', async () => {
    const fake = await startFake(td, {});
    const spm = td.track(new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tcp', host: fake.stomp.host, port: fake.stomp.port }), (c) => c.close());
    const watcher = td.track(new TaskWatcher({ caller: spm, intervalMs: 20 }), (w) => w.close());
    const { pool, fileDomain, image, volume } = DEFAULT_IDS;
    const newImage = '5a5a5a5a-0000-4000-8000-000000000001';
    const newVolume = '5a5a5a5a-0000-4000-8000-000000000002';
    const taskId = await copyImage(spm, {
      storagepoolID: pool,
      srcDomainID: fileDomain,
      srcImageID: image,
      srcVolumeID: volume,
      dstDomainID: fileDomain,
      dstImageID: newImage,
      dstVolumeID: newVolume,
      volFormat: VolumeFormat.RAW,
      preallocate: VolumeAllocation.Sparse,
    });
    expect((await watcher.wait(taskId, { clear: true })).kind).to.equal('success');
    expect(await spm.StorageDomain.getImages({ storagedomainID: fileDomain })).to.include.members([image, newImage]);
    expect(await spm.Image.getVolumes({ storagepoolID: pool, storagedomainID: fileDomain, imageID: newImage })).to.deep.equal([newVolume]);
  });
});
