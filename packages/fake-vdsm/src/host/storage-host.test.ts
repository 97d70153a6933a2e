import { mkdtemp, open as openFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LVER_INVALID, TaskResult, TaskState, UnknownTaskError, VolumeAllocation, VolumeFormat, VolumeLegality } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { imageDir, volumePath, zeroedImageDir } from '../data/layout.js';
import { checksum, createRaw, roundUpToExtents, sizeOf, verifyPattern, writeData } from '../data/volume-files.js';
import { silentLogger } from '../logger.js';
import { openStateDatabase } from '../model/db.js';
import { DEFAULT_IDS, defaultFixture } from '../model/default-fixture.js';
import type { FixtureInput } from '../model/fixture.js';
import type { VolumeRecord } from '../model/records.js';
import { StateStore } from '../model/store.js';
import { deleteImage } from '../storage/delete-image.js';
import { MOVE_IMAGE_JOB } from '../storage/move-image.js';
import type { MoveImageJobParams, MoveImageRecovery } from '../storage/move-image.js';
import { storageTestFixture, TEST_IDS } from '../test-support/storage-test-bed.js';
import { TaskRepo } from '../tasks/task-repo.js';
import { openStorageHost } from './storage-host.js';
import type { StorageHost, StorageHostOptions } from './storage-host.js';
import { pathExists } from '../data/path-exists.js';

const MiB = 1024 * 1024;
const { pool, fileDomain, blockDomain, image, volume } = DEFAULT_IDS;

async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const file = await openFile(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, offset);
    return buffer;
  } finally {
    await file.close();
  }
}

/** Polls `predicate` in real time, firing due timers of `clock` in between. */
async function waitFor(predicate: () => boolean, clock: ManualClock, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await clock.advanceAsync(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('host/storage-host (openStorageHost)', function () {
  this.timeout(30_000);
  let stateDir: string;
  let clock: ManualClock;
  const opened: StorageHost[] = [];

  const open = async (options: Partial<StorageHostOptions> = {}): Promise<StorageHost> => {
    const host = await openStorageHost({ stateDir, clock, logger: silentLogger, ...options });
    opened.push(host);
    return host;
  };

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'fake-vdsm-storage-host-'));
    clock = new ManualClock(1_000_000);
  });
  afterEach(async () => {
    for (const host of opened.splice(0)) await host.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('seeds a fresh state folder from the default fixture: rows, the volume file and its data; host 1 is the SPM', async () => {
    const storage = await open();
    expect(storage.startup.seeded).to.equal(true);
    expect(storage.startup.recoveredPools).to.deep.equal([pool]);
    expect(storage.hosts.map((host) => [host.id, host.uuid, host.poolId])).to.deep.equal([[1, DEFAULT_IDS.host, pool]]);
    expect(storage.store.getPool(pool)).to.include({ spmHostId: 1, lver: 0 });
    expect(storage.store.listDomains().map((domain) => domain.id)).to.have.members([fileDomain, blockDomain]);
    expect(storage.store.getVolume(fileDomain, volume)).to.include({ imageId: image, legality: VolumeLegality.Legal });

    const path = volumePath(stateDir, fileDomain, image, volume);
    const sizes = await sizeOf(path);
    expect(sizes.apparent).to.equal(1024 * MiB);
    // Sparse: about the 5 MiB of data is allocated, not the 1 GiB.
    expect(sizes.true).to.be.below(16 * MiB);
    expect(await verifyPattern(path, 0, MiB, 0xf0)).to.equal(true);
    expect((await readRange(path, 100 * MiB, 9)).toString()).to.equal('vdsm-kit ');
    expect(storage.startup.reconcile.removedFiles).to.deep.equal([]);
  });

  it('keeps the state of a folder that has some: the fixture is not applied again', async () => {
    const first = await open();
    first.store.updateVolume(fileDomain, volume, { description: 'changed while running' });
    await first.close();

    const other: FixtureInput = { pools: [{ id: 'aaaaaaaa-0000-4000-8000-000000000001' }], domains: [{ id: 'aaaaaaaa-0000-4000-8000-000000000002', kind: 'file' }] };
    const second = await open({ fixture: other });
    expect(second.startup.seeded).to.equal(false);
    expect(second.store.listPools().map((p) => p.id)).to.deep.equal([pool]);
    expect(second.store.getVolume(fileDomain, volume)?.description).to.equal('changed while running');
  });

  it('serves the hosts asked for, adding the missing ones connected to the pool; the state remembers them', async () => {
    const storage = await open({ hosts: 3 });
    expect(storage.hosts.map((host) => [host.id, host.poolId])).to.deep.equal([
      [1, pool],
      [2, pool],
      [3, pool],
    ]);
    expect(new Set(storage.hosts.map((host) => host.uuid)).size).to.equal(3);
    expect(storage.store.getPool(pool)?.spmHostId).to.equal(1);
    const uuids = storage.hosts.map((host) => host.uuid);
    await storage.close();

    // Without a count every stored host is served, with the same identities.
    const again = await open();
    expect(again.hosts.map((host) => host.uuid)).to.deep.equal(uuids);
    await again.close();
    // Fewer: the lowest ids; the others stay in the state.
    const fewer = await open({ hosts: 2 });
    expect(fewer.hosts.map((host) => host.id)).to.deep.equal([1, 2]);
    expect(fewer.store.listHosts()).to.have.length(3);
  });

  it('gives a pool its fixture left without hosts the lowest host as SPM, unless the fixture says "spm": null', async () => {
    const fixture = (spm?: null): FixtureInput => ({
      pools: [{ id: pool, ...(spm === null ? { spm } : {}) }],
      domains: [{ id: fileDomain, kind: 'file' }],
    });
    const storage = await open({ fixture: fixture(), hosts: 2 });
    expect(storage.store.getPool(pool)).to.include({ spmHostId: 1, lver: 0 });
    expect(storage.hosts.map((host) => host.poolId)).to.deep.equal([pool, pool]);
    await storage.close();
    await rm(stateDir, { recursive: true, force: true });
    stateDir = await mkdtemp(join(tmpdir(), 'fake-vdsm-storage-host-'));

    const none = await open({ fixture: fixture(null), hosts: 2 });
    expect(none.store.getPool(pool)).to.include({ spmHostId: null, lver: LVER_INVALID });
    expect(none.startup.recoveredPools).to.deep.equal([]);
  });

  it('keeps finished tasks across restarts until they are cleared', async () => {
    const storage = await open();
    const taskId = await deleteImage(storage.contextFor(1), {
      imageID: image,
      storagepoolID: pool,
      storagedomainID: fileDomain,
      postZero: false,
      force: false,
      discard: false,
    });
    await waitFor(() => storage.tasks.getStatus(taskId).taskState === TaskState.Finished, clock);
    expect(await pathExists(imageDir(stateDir, fileDomain, image))).to.equal(false);
    await storage.close();

    const restarted = await open();
    expect(restarted.tasks.getStatus(taskId)).to.include({ taskState: TaskState.Finished, taskResult: TaskResult.Success });
    expect(restarted.tasks.getAllStatuses(pool)).to.have.keys(taskId);
    expect(restarted.store.listImages(fileDomain)).to.deep.equal([]);
    restarted.tasks.clear(taskId);
    await restarted.close();

    const cleared = await open();
    expect(() => cleared.tasks.getStatus(taskId)).to.throw(UnknownTaskError);
  });

  it('recovers a copy left running (as SIGKILL leaves one): rolled back, its partial target gone, the source intact', async () => {
    const first = await open();
    const sourcePath = volumePath(stateDir, fileDomain, image, volume);
    const sourceSum = await checksum(sourcePath, VolumeFormat.RAW);
    await first.close();

    // What a move killed mid-copy leaves: the target volume recorded, created ILLEGAL, half written, the task running.
    const taskId = 'c0ffee00-0000-4000-8000-000000000001';
    const targetPath = volumePath(stateDir, blockDomain, image, volume);
    await createRaw(targetPath, roundUpToExtents(1024 * MiB));
    await writeData(targetPath, 0, Buffer.alloc(MiB, 0xf0));
    const db = openStateDatabase(stateDir);
    try {
      const store = new StateStore(db);
      const source = store.getVolume(fileDomain, volume) as VolumeRecord;
      store.insertVolume({ ...source, domainId: blockDomain, legality: VolumeLegality.Illegal, allocation: VolumeAllocation.Preallocated });
      const repo = new TaskRepo(db);
      const params: MoveImageJobParams = { spUUID: pool, srcSdUUID: fileDomain, dstSdUUID: blockDomain, imgUUID: image, op: 1, postZero: false, force: false, discard: false };
      repo.insertTask({ id: taskId, poolId: pool, verb: 'moveImage', tag: 'spm', state: 'running', code: 0, message: 'running job 1 of 1', job: { kind: MOVE_IMAGE_JOB, params }, now: Date.now() });
      const recovery: MoveImageRecovery = { created: [{ sdUUID: blockDomain, imgUUID: image, volUUID: volume }] };
      repo.setRecovery(taskId, JSON.stringify(recovery), Date.now());
      repo.insertLock({ namespace: `01_img_${blockDomain}`, name: image, mode: 'exclusive', owner: taskId });
    } finally {
      db.close();
    }

    const restarted = await open();
    expect(restarted.startup.recoveredPools).to.deep.equal([pool]);
    expect(restarted.tasks.getStatus(taskId)).to.include({ taskState: TaskState.Finished, taskResult: TaskResult.CleanSuccess });
    expect(restarted.tasks.getRecord(taskId)).to.include({ state: 'recovered', recovery: null });
    expect(await pathExists(targetPath)).to.equal(false);
    expect(restarted.store.getVolume(blockDomain, volume)).to.equal(undefined);
    expect(restarted.store.getVolume(fileDomain, volume)).to.include({ legality: VolumeLegality.Legal });
    expect(await checksum(sourcePath, VolumeFormat.RAW)).to.equal(sourceSum);
    expect(restarted.startup.reconcile.violations).to.deep.equal([]);
    // The crash's lock row went with the recovery.
    const locks = restarted.db.prepare('SELECT COUNT(*) AS n FROM locks').get() as { n: number };
    expect(locks.n).to.equal(0);
  });

  it('recovers a wipe caught mid-flight by close(): rolled back, rows and files still in step', async () => {
    const storage = await open({ fixture: storageTestFixture(), wipeBytesPerSecond: 16 * MiB });
    const taskId = await deleteImage(storage.contextFor(1), {
      imageID: TEST_IDS.blockImage,
      storagepoolID: pool,
      storagedomainID: blockDomain,
      postZero: true,
      force: false,
      discard: false,
    });
    // 256 MiB at 16 MiB/s: 16 s of clock time. Let a few steps of it pass, then let go.
    await waitFor(() => storage.tasks.getRecord(taskId)?.state === 'running' && clock.pending > 0, clock);
    await clock.advanceAsync(2000);
    expect(storage.tasks.getRecord(taskId)?.state).to.equal('running');
    await storage.close();

    const restarted = await open();
    expect(restarted.tasks.getStatus(taskId)).to.include({ taskState: TaskState.Finished, taskResult: TaskResult.CleanSuccess });
    // The block image was renamed _remove_me_ZERO_ before the wipe: it stays there, rows removed, out of every listing.
    const row = restarted.store.getVolume(blockDomain, TEST_IDS.blockVolume);
    expect(row?.removed).to.equal(true);
    expect(await pathExists(join(zeroedImageDir(stateDir, blockDomain, TEST_IDS.blockImage), TEST_IDS.blockVolume))).to.equal(true);
    expect(restarted.store.listImages(blockDomain)).to.deep.equal([]);
    expect(restarted.startup.reconcile).to.deep.include({ removedFiles: [], deletedRows: [], violations: [] });
  });

  it('leaves the unfinished tasks of a pool without an SPM for the next spmStart', async () => {
    const fixture = defaultFixture();
    const storage = await open({ fixture: { ...fixture, pools: [{ id: pool, spm: null }] } });
    await storage.close();
    const taskId = 'c0ffee00-0000-4000-8000-000000000002';
    const db = openStateDatabase(stateDir);
    try {
      new TaskRepo(db).insertTask({ id: taskId, poolId: pool, verb: 'moveImage', tag: 'spm', state: 'running', code: 0, message: 'running job 1 of 1', job: { kind: MOVE_IMAGE_JOB, params: {} }, now: Date.now() });
    } finally {
      db.close();
    }
    const restarted = await open();
    expect(restarted.startup.recoveredPools).to.deep.equal([]);
    expect(restarted.tasks.getRecord(taskId)?.state).to.equal('running');
  });

  it('refuses a bad host count or wipe rate and leaves nothing open', async () => {
    for (const options of [{ hosts: 0 }, { hosts: 2.5 }, { wipeBytesPerSecond: 0 }]) {
      let error: unknown;
      try {
        await open(options);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(RangeError);
    }
    // The database was closed each time: it opens again.
    const storage = await open();
    expect(storage.hosts).to.have.length(1);
  });
});
