/**
 * Every error path of issue 3, from a real client: `VdsmClient` over TCP to
 * an in-process fake storage host with three hosts (1: the SPM, 2: connected,
 * 3: not connected to the pool), checked against VDSM's codes and exact
 * message texts (support/storage-oracle.ts), in VDSM's order of checks.
 *
 * The fake runs on a ManualClock with a 1 MiB/s wipe, so a postZero delete
 * on the block domain is a task that stays running until the test moves the
 * clock: the task verbs and the resource locks are tested on it without a
 * single real sleep of consequence.
 */
import { randomUUID } from 'node:crypto';
import type { VdsmClient } from '@vdsm-kit/client';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { watch } from './support/outcome.js';
import { lockRows } from './support/storage-db.js';
import { driveClockUntil, isFinished, pollTaskStatus, realDelay, startStorageFake, stepClock, waitUntil } from './support/storage-fake.js';
import type { StorageBed } from './support/storage-fake.js';
import { checksumFile } from '@vdsm-kit/fake-vdsm/data';
import { listVolumeFiles, volumeFile } from './support/storage-files.js';
import { BLOCK_DISK_BYTES, IDS, copyParams } from './support/storage-fixture.js';
import { expectRolledBack, expectSucceeded, expectVdsmError, runningStatus } from './support/storage-expect.js';
import {
  BLANK_UUID,
  COPY_IMAGE_FAILED_MESSAGE,
  ClassMessage,
  NOT_SPM_GET_ALL_MESSAGE,
  NOT_SPM_SECURE_MESSAGE,
  RESOURCE_TIMEOUT_MESSAGE,
  TASK_RESOURCE_TIMEOUT_MS,
  TaskWords,
  VdsmCode,
  cannotCleanMessage,
  discardNotSupportedMessage,
  domainDoesNotExistMessage,
  imageNotInDomainMessage,
  notSpmScheduleMessage,
  poolUnknownMessage,
  sameDomainMoveMessage,
  taskAbortedMessage,
  taskAbortedPrefix,
  unknownTaskMessage,
} from './support/storage-oracle.js';
import { TeardownHelper } from './support/teardown.js';

/** 1 MiB/s: a 256 MiB block disk takes 256 s of the fake's clock to wipe, so it runs until a test moves the clock. */
const SLOW_WIPE_BYTES_PER_SECOND = 1024 * 1024;

type MoveParams = Parameters<VdsmClient['Image']['move']>[0];
type DeleteParams = Parameters<VdsmClient['Image']['delete']>[0];

/** A copy of the data disk from nfs-data to nfs-data2, with `overrides`. */
function move(overrides: Partial<MoveParams> = {}): MoveParams {
  return { ...copyParams(IDS.dataImage), discard: false, ...overrides };
}

/** A delete of the small disk on nfs-data, with `overrides`. */
function remove(overrides: Partial<DeleteParams> = {}): DeleteParams {
  return { imageID: IDS.smallImage, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain, postZero: false, force: false, discard: false, ...overrides };
}

describe('storage errors: each error path of issue 3 from a real client', function () {
  this.timeout(30_000);
  const td = new TeardownHelper();
  let clock: ManualClock;
  let bed: StorageBed;
  let spm: VdsmClient;
  let hsm: VdsmClient;
  let unconnected: VdsmClient;

  beforeEach(async () => {
    clock = new ManualClock();
    bed = await startStorageFake(td, { clock, wipeBytesPerSecond: SLOW_WIPE_BYTES_PER_SECOND });
    spm = bed.host(1);
    hsm = bed.host(2);
    unconnected = bed.host(3);
  });
  afterEach(() => td.run());

  /** Asserts that no task and no lock is left behind (a refused prepare keeps nothing). */
  async function expectNothingKept(): Promise<void> {
    expect(await spm.Host.getAllTasks()).to.deep.equal({});
    expect(await lockRows(bed.state)).to.deep.equal([]);
  }

  /** Starts a postZero delete of block disk A (a wipe of 256 s on the fake's clock) and waits until its job runs. */
  async function startLongWipe(): Promise<string> {
    const taskId = await spm.Image.delete({ imageID: IDS.blockImageA, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain, postZero: true, force: false });
    await pollTaskStatus(spm, taskId, (status) => status.message === TaskWords.runningJob, 5000);
    return taskId;
  }

  describe('Image.move, synchronous checks in VDSM order', () => {
    it('1000 when source and target are the same domain, before any other check', async () => {
      const params = move({ dstSdUUID: IDS.fileDomain });
      const message = sameDomainMoveMessage({
        spUUID: IDS.pool,
        srcDomUUID: IDS.fileDomain,
        dstDomUUID: IDS.fileDomain,
        imgUUID: IDS.dataImage,
        op: 1,
        postZero: false,
        force: false,
        discard: false,
      });
      await expectVdsmError(spm.Image.move(params), VdsmCode.InvalidParameterException, message);
      // First check of all: an unknown pool and a host that is not the SPM change nothing.
      const unknownPool = move({ dstSdUUID: IDS.fileDomain, storagepoolID: IDS.unknownPool, operation: 2, postZero: true, force: true });
      const unknownPoolMessage = sameDomainMoveMessage({
        spUUID: IDS.unknownPool,
        srcDomUUID: IDS.fileDomain,
        dstDomUUID: IDS.fileDomain,
        imgUUID: IDS.dataImage,
        op: 2,
        postZero: true,
        force: true,
        discard: false,
      });
      await expectVdsmError(hsm.Image.move(unknownPool), VdsmCode.InvalidParameterException, unknownPoolMessage);
      await expectNothingKept();
    });

    it('358 for an unknown or unreachable domain, source or target, before the pool is looked at', async () => {
      // sdCache.produce: unknown and unreachable (nfs-gone) domains alike; the last call proves domains come before the pool.
      await expectVdsmError(spm.Image.move(move({ dstSdUUID: IDS.unknownDomain })), VdsmCode.StorageDomainDoesNotExist, domainDoesNotExistMessage(IDS.unknownDomain));
      await expectVdsmError(spm.Image.move(move({ storagedomainID: IDS.unknownDomain })), VdsmCode.StorageDomainDoesNotExist, domainDoesNotExistMessage(IDS.unknownDomain));
      await expectVdsmError(spm.Image.move(move({ dstSdUUID: IDS.unreachableDomain })), VdsmCode.StorageDomainDoesNotExist, domainDoesNotExistMessage(IDS.unreachableDomain));
      await expectVdsmError(
        spm.Image.move(move({ dstSdUUID: IDS.unknownDomain, storagepoolID: IDS.unknownPool })),
        VdsmCode.StorageDomainDoesNotExist,
        domainDoesNotExistMessage(IDS.unknownDomain),
      );
      await expectNothingKept();
    });

    it('309 for an unknown pool, and for the right pool on a host not connected to it, before the SPM check', async () => {
      // HSM.getPool: the pool must be the one this host is connected to; host 2 (not the SPM) proves the order.
      await expectVdsmError(spm.Image.move(move({ storagepoolID: IDS.unknownPool })), VdsmCode.StoragePoolUnknown, poolUnknownMessage(IDS.unknownPool));
      await expectVdsmError(unconnected.Image.move(move()), VdsmCode.StoragePoolUnknown, poolUnknownMessage(IDS.pool));
      await expectVdsmError(hsm.Image.move(move({ storagepoolID: IDS.unknownPool })), VdsmCode.StoragePoolUnknown, poolUnknownMessage(IDS.unknownPool));
      await expectNothingKept();
    });

    it("654 `Not SPM: ('<sp>',)` on a connected host that is not the SPM, even for an image that does not exist", async () => {
      await expectVdsmError(hsm.Image.move(move()), VdsmCode.SpmStatusError, notSpmScheduleMessage(IDS.pool));
      // The image is looked for in the job, which a non-SPM never schedules.
      await expectVdsmError(hsm.Image.move(move({ imageID: IDS.missingImage })), VdsmCode.SpmStatusError, notSpmScheduleMessage(IDS.pool));
      await expectNothingKept();
    });
  });

  it('Image.move of an image missing on the source returns a task that ends finished/cleanSuccess with 268', async () => {
    // Not refused synchronously: the source chain is looked up in the job.
    const taskId = await spm.Image.move(move({ imageID: IDS.missingImage }));
    const message = taskAbortedMessage(imageNotInDomainMessage(IDS.missingImage, IDS.fileDomain), VdsmCode.ImageDoesNotExistInSD);
    const status = expectRolledBack(await bed.wait(taskId), VdsmCode.ImageDoesNotExistInSD, message);
    expect(await spm.Task.getStatus({ taskID: taskId })).to.deep.equal(status);
    expect(await spm.Task.getInfo({ taskID: taskId })).to.deep.equal({ id: taskId, verb: TaskWords.moveVerb });
    expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.not.include(IDS.missingImage);
    // Kept until cleared, then unknown.
    expect(await spm.Task.clear({ taskID: taskId })).to.equal(true);
    await expectVdsmError(spm.Task.getStatus({ taskID: taskId }), VdsmCode.UnknownTask, unknownTaskMessage(taskId));
  });

  describe('Image.delete', () => {
    it('268 synchronously for an image the domain does not have, on the SPM and off it', async () => {
      const message = imageNotInDomainMessage(IDS.missingImage, IDS.fileDomain);
      await expectVdsmError(spm.Image.delete(remove({ imageID: IDS.missingImage })), VdsmCode.ImageDoesNotExistInSD, message);
      // The image is checked before the SPM role.
      await expectVdsmError(hsm.Image.delete(remove({ imageID: IDS.missingImage, postZero: true })), VdsmCode.ImageDoesNotExistInSD, message);
      await expectNothingKept();
    });

    it("654 off the SPM: exactly `Not SPM` without postZero (the secured rename), `Not SPM: ('<sp>',)` with it; the image stays", async () => {
      await expectVdsmError(hsm.Image.delete(remove()), VdsmCode.SpmStatusError, NOT_SPM_SECURE_MESSAGE);
      await expectVdsmError(hsm.Image.delete(remove({ postZero: true })), VdsmCode.SpmStatusError, notSpmScheduleMessage(IDS.pool));
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain })).to.include(IDS.smallImage);
      expect(await spm.Image.getVolumes({ imageID: IDS.smallImage, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain })).to.deep.equal([IDS.smallVolume]);
      await expectNothingKept();
    });

    it('309 before 358: the pool is checked before the domain', async () => {
      await expectVdsmError(
        spm.Image.delete(remove({ storagepoolID: IDS.unknownPool, storagedomainID: IDS.unknownDomain })),
        VdsmCode.StoragePoolUnknown,
        poolUnknownMessage(IDS.unknownPool),
      );
      await expectVdsmError(unconnected.Image.delete(remove()), VdsmCode.StoragePoolUnknown, poolUnknownMessage(IDS.pool));
      await expectVdsmError(spm.Image.delete(remove({ storagedomainID: IDS.unknownDomain })), VdsmCode.StorageDomainDoesNotExist, domainDoesNotExistMessage(IDS.unknownDomain));
      await expectNothingKept();
    });

    it('discard on a file domain: the image is gone from the listing at once, the task ends with 349', async () => {
      const taskId = await spm.Image.delete(remove({ discard: true }));
      // VDSM renames the image before the call returns; the purge job then refuses to discard.
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain })).to.not.include(IDS.smallImage);
      const message = taskAbortedMessage(discardNotSupportedMessage(IDS.fileDomain), VdsmCode.DiscardIsNotSupported);
      expectRolledBack(await bed.wait(taskId), VdsmCode.DiscardIsNotSupported, message);
      expect(await spm.Task.getInfo({ taskID: taskId })).to.deep.equal({ id: taskId, verb: TaskWords.deleteVerb });
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain })).to.not.include(IDS.smallImage);
    });
  });

  describe('Task verbs and the SPM-only task lists', () => {
    it('410 for clearing a running task, 401 for an unknown one, and Task.stop ends the task with 411', async () => {
      const taskId = await startLongWipe();
      expect(await spm.Task.getStatus({ taskID: taskId })).to.deep.equal(runningStatus(taskId));
      await expectVdsmError(spm.Task.clear({ taskID: taskId }), VdsmCode.TaskStateError, cannotCleanMessage('running'));

      const unknown = randomUUID();
      await expectVdsmError(spm.Task.getStatus({ taskID: unknown }), VdsmCode.UnknownTask, unknownTaskMessage(unknown));
      await expectVdsmError(spm.Task.clear({ taskID: unknown }), VdsmCode.UnknownTask, unknownTaskMessage(unknown));
      await expectVdsmError(spm.Task.stop({ taskID: unknown }), VdsmCode.UnknownTask, unknownTaskMessage(unknown));

      expect(await spm.Task.stop({ taskID: taskId })).to.equal(true);
      // The wipe was interrupted by the stop, so the task's value is its own id (task.py `TaskAborted(str(self))`).
      const stopped = expectRolledBack(await bed.wait(taskId), VdsmCode.TaskAborted, taskAbortedMessage(taskId, VdsmCode.TaskAborted));
      // Stopping a done task is a no-op; clearing it forgets it.
      expect(await spm.Task.stop({ taskID: taskId })).to.equal(true);
      expect(await spm.Task.getStatus({ taskID: taskId })).to.deep.equal(stopped);
      expect(await spm.Task.clear({ taskID: taskId })).to.equal(true);
      await expectVdsmError(spm.Task.clear({ taskID: taskId }), VdsmCode.UnknownTask, unknownTaskMessage(taskId));
    });

    it('Host.getAllTasksStatuses and getAllTasksInfo answer on the SPM only; elsewhere 654 `Not SPM: ()`', async () => {
      const taskId = await startLongWipe();
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({ [taskId]: runningStatus(taskId) });
      expect(await spm.Host.getAllTasksInfo()).to.deep.equal({ [taskId]: { id: taskId, verb: TaskWords.deleteVerb } });
      for (const other of [hsm, unconnected]) {
        await expectVdsmError(other.Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, NOT_SPM_GET_ALL_MESSAGE);
        await expectVdsmError(other.Host.getAllTasksInfo(), VdsmCode.SpmStatusError, NOT_SPM_GET_ALL_MESSAGE);
      }
      expect(await spm.Task.stop({ taskID: taskId })).to.equal(true);
      expectRolledBack(await bed.wait(taskId), VdsmCode.TaskAborted, taskAbortedMessage(taskId, VdsmCode.TaskAborted));
    });
  });

  describe("VDSM's resource locks", () => {
    it('a second delete of an image being wiped waits for its lock, and gets 851 after 120 s of the fake clock', async () => {
      const first = await startLongWipe();
      const second = watch(spm.Image.delete({ imageID: IDS.blockImageA, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain, postZero: false, force: false }));
      await realDelay(100);
      expect(second.settled, 'the second delete did not wait for the lock').to.equal(false);
      // Just short of VDSM's task_resource_default_timeout it still waits (the wipe goes on meanwhile).
      await clock.advanceAsync(TASK_RESOURCE_TIMEOUT_MS - 1);
      await realDelay(100);
      expect(second.settled, 'the second delete gave up before 120 s').to.equal(false);
      await clock.advanceAsync(1);
      await expectVdsmError(second.promise, VdsmCode.ResourceTimeout, RESOURCE_TIMEOUT_MESSAGE);
      // The refused call kept no task; the first one still wipes.
      expect(Object.keys(await spm.Host.getAllTasks())).to.deep.equal([first]);
      expect(await spm.Task.getStatus({ taskID: first })).to.deep.equal(runningStatus(first));
      expect(await spm.Task.stop({ taskID: first })).to.equal(true);
      expectRolledBack(await bed.wait(first), VdsmCode.TaskAborted, taskAbortedMessage(first, VdsmCode.TaskAborted));
    });

    it('a second move of the same image waits for the first one, then completes', async () => {
      const original = await checksumFile(volumeFile(bed.state, IDS.blockDomain, IDS.blockImageB, IDS.blockVolumeB));
      const before = await spm.Volume.getInfo({ volumeID: IDS.blockVolumeB, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain, imageID: IDS.blockImageB });
      // First: move block disk B to nfs-data2 and zero its source, which takes 256 s of the fake's clock,
      // holding the image's locks (source and target) all along.
      const first = await spm.Image.move({
        imageID: IDS.blockImageB,
        storagepoolID: IDS.pool,
        storagedomainID: IDS.blockDomain,
        dstSdUUID: IDS.fileDomain2,
        operation: 2,
        postZero: true,
        force: false,
      });
      const targetInfo = { volumeID: IDS.blockVolumeB, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain2, imageID: IDS.blockImageB };
      await waitUntil(
        async () => (await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).includes(IDS.blockImageB) && (await spm.Volume.getInfo(targetInfo)).legality === 'LEGAL',
        'the copy to nfs-data2 completes',
      );
      expect(await spm.Task.getStatus({ taskID: first })).to.deep.equal(runningStatus(first));

      // Second: move the same image from nfs-data2 back. Its job needs the image's lock on nfs-data2.
      const second = await spm.Image.move({
        imageID: IDS.blockImageB,
        storagepoolID: IDS.pool,
        storagedomainID: IDS.fileDomain2,
        dstSdUUID: IDS.blockDomain,
        operation: 2,
        postZero: false,
        force: false,
      });
      const secondOutcome = watch(bed.wait(second));
      await realDelay(200);
      expect(await spm.Task.getStatus({ taskID: second })).to.deep.equal(runningStatus(second));
      expect(secondOutcome.settled).to.equal(false);
      // It holds its domain locks but no image lock: it waits for the first task's.
      const secondLocks = (await lockRows(bed.state)).filter((lock) => lock.owner === second);
      expect(secondLocks.map((lock) => lock.namespace)).to.deep.equal(['00_storage', '00_storage']);
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.blockDomain })).to.not.include(IDS.blockImageB);

      // Let the wipe run its 256 s of the fake's clock; the first task ends, then the second one moves the image back.
      await stepClock(clock, (BLOCK_DISK_BYTES / SLOW_WIPE_BYTES_PER_SECOND) * 1000, 16_000);
      await driveClockUntil(clock, { stepMs: 1000, maxMs: 60_000, until: async () => isFinished(await spm.Task.getStatus({ taskID: first })) });
      expectSucceeded(await bed.wait(first));
      expectSucceeded(await secondOutcome.promise);

      const after = await spm.Volume.getInfo({ volumeID: IDS.blockVolumeB, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain, imageID: IDS.blockImageB });
      expect(after.legality).to.equal('LEGAL');
      // A copy's target is a new volume (VDSM's getVolumeParams carries no generation, so it starts at 0)
      // and ends one generation later; the fixture's source was at 0 too.
      expect(before.generation).to.equal(0);
      expect(after.generation).to.equal(1);
      expect(await checksumFile(volumeFile(bed.state, IDS.blockDomain, IDS.blockImageB, IDS.blockVolumeB))).to.equal(original);
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.not.include(IDS.blockImageB);
      expect(await lockRows(bed.state)).to.deep.equal([]);
    });
  });

  describe('space, as VDSM does it (no up-front check)', () => {
    it('a block domain without enough free extents: the task ends with 504 and leaves nothing on it', async () => {
      // iscsi-small has 2 free extents, the 1 GiB disk needs 8: refused when the job creates the target volume, not before.
      const statsBefore = await spm.StorageDomain.getStats({ storagedomainID: IDS.smallBlockDomain });
      const taskId = await spm.Image.move(move({ dstSdUUID: IDS.smallBlockDomain }));
      expectRolledBack(await bed.wait(taskId), VdsmCode.VolumeGroupSizeError, { prefix: taskAbortedPrefix(ClassMessage.volumeGroupSize) });
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.smallBlockDomain })).to.deep.equal([]);
      expect(await spm.StorageDomain.getVolumes({ storagedomainID: IDS.smallBlockDomain, storagepoolID: IDS.pool, imageID: BLANK_UUID })).to.deep.equal([]);
      expect((await listVolumeFiles(bed.state)).filter((file) => file.domainId === IDS.smallBlockDomain)).to.deep.equal([]);
      expect(await spm.StorageDomain.getStats({ storagedomainID: IDS.smallBlockDomain })).to.deep.equal(statsBefore);
    });

    it('a file domain that fills during the copy: the task ends with 261 and the partial target is removed', async () => {
      // nfs-small takes 8 MiB; the disk holds 24 MiB. The copy starts (no up-front check) and fails part way.
      const source = volumeFile(bed.state, IDS.fileDomain, IDS.dataImage, IDS.dataVolume);
      const sourceDigest = await checksumFile(source);
      const statsBefore = await spm.StorageDomain.getStats({ storagedomainID: IDS.smallFileDomain });
      const taskId = await spm.Image.move(move({ dstSdUUID: IDS.smallFileDomain }));
      expectRolledBack(await bed.wait(taskId), VdsmCode.CopyImageError, taskAbortedMessage(COPY_IMAGE_FAILED_MESSAGE, VdsmCode.CopyImageError));
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.smallFileDomain })).to.deep.equal([]);
      expect((await listVolumeFiles(bed.state)).filter((file) => file.domainId === IDS.smallFileDomain)).to.deep.equal([]);
      expect(await spm.StorageDomain.getStats({ storagedomainID: IDS.smallFileDomain })).to.deep.equal(statsBefore);
      expect(await checksumFile(source)).to.equal(sourceDigest);
      expect(await lockRows(bed.state)).to.deep.equal([]);
    });
  });
});
