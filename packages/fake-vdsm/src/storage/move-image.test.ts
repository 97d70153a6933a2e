import { stat } from 'node:fs/promises';
import { expect } from 'chai';
import {
  BLANK_UUID,
  ImageOperation,
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
import type { Logger } from '../logger.js';
import { openStateDatabase } from '../model/db.js';
import { StateStore } from '../model/store.js';
import { imageNamespace, STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { COPY_IDS, copyTestFixture, SMALL_DISK_DATA, volumeFile, waitForTask } from '../test-support/copy-fixture.js';
import { moveImage, moveImageJobs, moveImageVerbs } from './move-image.js';
import { createStorageTestBed } from '../test-support/storage-test-bed.js';
import type { StorageTestBed, StorageTestBedOptions } from '../test-support/storage-test-bed.js';
import { pathExists } from '../data/path-exists.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

const MiB = 1024 * 1024;
const { pool, fileDomain, blockDomain, roomyFileDomain, tinyFileDomain, oneExtentBlockDomain, smallImage, smallVolume } = COPY_IDS;

/** Image.move params: copy `smallImage` from the NFS domain to the iSCSI one unless told otherwise. */
function moveParams(overrides: Partial<WireParamsOf<'Image.move'>> = {}): WireParamsOf<'Image.move'> {
  return {
    imageID: smallImage,
    storagepoolID: pool,
    storagedomainID: fileDomain,
    dstSdUUID: blockDomain,
    operation: ImageOperation.Copy,
    postZero: false,
    force: false,
    discard: false,
    ...overrides,
  };
}

/** VDSM's argsStr of hsm.py moveImage for `params`. */
function argsStr(p: WireParamsOf<'Image.move'>): string {
  const py = (b: boolean): string => (b ? 'True' : 'False');
  return (
    `spUUID=${p.storagepoolID}, srcDomUUID=${p.storagedomainID}, dstDomUUID=${p.dstSdUUID}, imgUUID=${p.imageID}, vmUUID=, ` +
    `op=${p.operation}, force=${py(p.force)}, postZero=${py(p.postZero)}, force=${py(p.force)},discard=${py(p.discard)}`
  );
}

/** A logger that only passes debug lines to `onDebug`. */
function debugHook(onDebug: (fields: Record<string, unknown>, message?: string) => void): Logger {
  const noop = (): void => {};
  const logger: Logger = { debug: onDebug, info: noop, warn: noop, error: noop, child: () => logger };
  return logger;
}

describe('storage/move-image (Image.move)', function () {
  this.timeout(60_000);
  let bed: StorageTestBed;
  let haveQemu = false;

  before(async () => {
    haveQemu = (await findDataTools()).qemuImg !== undefined;
  });

  async function open(options: StorageTestBedOptions = {}): Promise<StorageTestBed> {
    bed = await createStorageTestBed({ fixture: copyTestFixture(), jobs: [moveImageJobs], ...options });
    return bed;
  }

  afterEach(async () => {
    await bed?.close();
  });

  it('offers Image.move as an emulated verb', async () => {
    await open();
    expect(moveImageVerbs(bed.ctx).map((verb) => verb.method)).to.deep.equal(['Image.move']);
  });

  describe('synchronous checks, in VDSM order', () => {
    beforeEach(() => open({ fixture: copyTestFixture({ hosts: 2 }) }));

    it('refuses source == target with 1000 and VDSM\'s argsStr', async () => {
      const params = moveParams({ dstSdUUID: fileDomain });
      const error = await vdsmRejection(moveImage(bed.ctx, params));
      expect(error.code).to.equal(1000);
      expect(error.message).to.equal(`Invalid parameter: 'srcDom=must be different from dstDom: ${argsStr(params)}'`);
    });

    it('checks source == target before anything else (even an unknown pool)', async () => {
      const error = await vdsmRejection(moveImage(bed.ctx, moveParams({ dstSdUUID: fileDomain, storagepoolID: BLANK_UUID })));
      expect(error.code).to.equal(1000);
    });

    it('answers 358 for an unknown source or target domain, before the pool check', async () => {
      const unknown = 'deadbeef-0000-4000-8000-000000000000';
      const src = await vdsmRejection(moveImage(bed.ctx, moveParams({ storagedomainID: unknown, storagepoolID: unknown })));
      expect([src.code, src.message]).to.deep.equal([358, `Storage domain does not exist: ('${unknown}',)`]);
      const dst = await vdsmRejection(moveImage(bed.ctx, moveParams({ dstSdUUID: unknown, storagepoolID: unknown })));
      expect([dst.code, dst.message]).to.deep.equal([358, `Storage domain does not exist: ('${unknown}',)`]);
    });

    it('answers 358 for a domain this host cannot reach', async () => {
      const domain = bed.store.getDomain(blockDomain);
      bed.store.upsertDomain({ ...domain!, reachable: false });
      const error = await vdsmRejection(moveImage(bed.ctx, moveParams()));
      expect(error.message).to.equal(`Storage domain does not exist: ('${blockDomain}',)`);
    });

    it('answers 309 for a pool the host is not connected to', async () => {
      const other = 'abcdabcd-0000-4000-8000-000000000000';
      const error = await vdsmRejection(moveImage(bed.ctx, moveParams({ storagepoolID: other })));
      expect([error.code, error.message]).to.deep.equal([309, `Unknown pool id, pool not connected: ('${other}',)`]);
    });

    it('answers 654 on a host that is not the SPM, and keeps no lock', async () => {
      const error = await vdsmRejection(moveImage(bed.contextFor(2), moveParams()));
      expect([error.code, error.message]).to.deep.equal([654, `Not SPM: ('${pool}',)`]);
      expect(bed.locks.held()).to.deep.equal([]);
      expect(bed.tasks.getAllTasks()).to.deep.equal({});
    });

    it('waits up to 120 s for the shared domain locks, then answers 851 and releases what it got', async () => {
      await bed.locks.acquire(STORAGE_NAMESPACE, blockDomain, 'exclusive', 'another-task');
      let settled = false;
      const call = moveImage(bed.ctx, moveParams());
      call.then(
        () => (settled = true),
        () => (settled = true),
      );
      await bed.clock.advanceAsync(119_999);
      expect(settled).to.equal(false);
      // The source's lock (sorted first) is held while the target's is awaited.
      expect(bed.locks.status(STORAGE_NAMESPACE, fileDomain)).to.equal('shared');
      await bed.clock.advanceAsync(1);
      const error = await vdsmRejection(call);
      expect([error.code, error.message]).to.deep.equal([851, 'Resource timeout: ()']);
      expect(bed.locks.held().map((lock) => lock.owner)).to.deep.equal(['another-task']);
      expect(bed.tasks.getAllTasks()).to.deep.equal({});
    });

    it('answers an unexpected failure with the default 253 and VDSM\'s argsStr', async () => {
      // A store over a closed connection: every statement fails with SQLite's own error.
      const db = openStateDatabase(bed.stateDir);
      const closedStore = new StateStore(db);
      db.close();
      const params = moveParams({ postZero: true });
      const error = await vdsmRejection(moveImage({ ...bed.ctx, store: closedStore }, params));
      expect([error.code, error.message]).to.deep.equal([253, `Error moving image: ('${argsStr(params)}',)`]);
    });

    it('refuses to move an image whose template is missing on the target (268) and a template in use (266)', async () => {
      await bed.close();
      await open({ fixture: templateFixture() });
      const vm = await vdsmRejection(moveImage(bed.ctx, moveParams({ imageID: TEMPLATE_IDS.vmImage })));
      expect([vm.code, vm.message]).to.deep.equal([268, `Image does not exist in domain: 'image=${TEMPLATE_IDS.vmImage}, domain=${blockDomain}'`]);
      const template = await vdsmRejection(moveImage(bed.ctx, moveParams({ imageID: TEMPLATE_IDS.templateImage })));
      expect([template.code, template.message]).to.deep.equal([266, `Cannot move template's image because it is used by a VM: ('${TEMPLATE_IDS.templateImage}',)`]);
    });

    it('returns a task id, holding shared locks on both domains until the task ends', async () => {
      const taskId = await moveImage(bed.ctx, moveParams());
      expect(bed.locks.held().filter((lock) => lock.namespace === STORAGE_NAMESPACE)).to.have.deep.members([
        { namespace: STORAGE_NAMESPACE, name: fileDomain, mode: 'shared', owner: taskId },
        { namespace: STORAGE_NAMESPACE, name: blockDomain, mode: 'shared', owner: taskId },
      ]);
      expect(bed.tasks.getInfo(taskId)).to.deep.equal({ id: taskId, verb: 'moveImage' });
      await waitForTask(bed, taskId);
      expect(bed.locks.held()).to.deep.equal([]);
    });
  });

  describe('the job', () => {
    for (const builtin of [false, true]) {
      const copier = builtin ? 'the built-in copier' : 'qemu-img';
      it(`copies a disk to a block domain with ${copier}: ILLEGAL while copied, then LEGAL, generation + 1, same bytes, holes kept`, async function () {
        skipUnless(this, builtin || haveQemu, 'qemu-img is not installed (Debian: qemu-utils)');
        const whileCopied: unknown[] = [];
        await open({
          forceBuiltinCopier: builtin,
          logger: debugHook((_fields, message) => {
            if (message === 'copying volume') whileCopied.push(bed.store.getVolume(blockDomain, smallVolume));
          }),
        });
        const source = volumeFile(bed, fileDomain, smallImage, smallVolume);
        const sourceSum = await checksum(source, VolumeFormat.RAW);
        const taskId = await moveImage(bed.ctx, moveParams());
        const row = await waitForTask(bed, taskId);
        expect(whileCopied).to.have.length(1);
        expect(whileCopied[0]).to.include({ legality: VolumeLegality.Illegal, generation: 0 });
        expect(bed.tasks.getStatus(taskId)).to.deep.equal({
          taskID: taskId,
          taskState: TaskState.Finished,
          taskResult: TaskResult.Success,
          code: 0,
          message: '1 jobs completed successfully',
        });
        expect(row.progress).to.equal(1);

        const target = bed.store.getVolume(blockDomain, smallVolume);
        expect(target).to.include({
          imageId: smallImage,
          parentId: BLANK_UUID,
          format: VolumeFormat.RAW,
          // A block domain has no sparse RAW volumes.
          allocation: VolumeAllocation.Preallocated,
          role: VolumeRole.Leaf,
          legality: VolumeLegality.Legal,
          generation: 1,
          capacity: 128 * MiB,
          description: 'small disk',
        });
        const copy = volumeFile(bed, blockDomain, smallImage, smallVolume);
        expect(await checksum(copy, VolumeFormat.RAW)).to.equal(sourceSum);
        const sizes = await sizeOf(copy);
        expect(sizes.apparent).to.equal(128 * MiB);
        // Holes stay holes: the copy allocates about what the source holds.
        expect(sizes.true).to.be.at.least(SMALL_DISK_DATA).and.below(SMALL_DISK_DATA + 2 * MiB);
        // A copy leaves the source alone.
        expect(bed.store.getVolume(fileDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, removed: false });
        expect(await checksum(source, VolumeFormat.RAW)).to.equal(sourceSum);
      });
    }

    it('moves a disk between file domains: sparse copy, source image gone', async () => {
      await open();
      const source = volumeFile(bed, fileDomain, smallImage, smallVolume);
      const sourceSum = await checksum(source, VolumeFormat.RAW);
      const taskId = await moveImage(bed.ctx, moveParams({ dstSdUUID: roomyFileDomain, operation: ImageOperation.Move }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success, code: 0 });
      const copy = volumeFile(bed, roomyFileDomain, smallImage, smallVolume);
      expect(await checksum(copy, VolumeFormat.RAW)).to.equal(sourceSum);
      expect(bed.store.getVolume(roomyFileDomain, smallVolume)).to.include({
        allocation: VolumeAllocation.Sparse,
        legality: VolumeLegality.Legal,
        generation: 1,
      });
      expect((await sizeOf(copy)).true).to.be.below(SMALL_DISK_DATA + 2 * MiB);
      expect(bed.store.listVolumes(fileDomain, smallImage, { includeRemoved: true })).to.deep.equal([]);
      expect(bed.store.listImages(fileDomain)).to.not.include(smallImage);
      expect(await pathExists(imageDir(bed.stateDir, fileDomain, smallImage))).to.equal(false);
      expect(await pathExists(source)).to.equal(false);
    });

    it('moves a chain: same UUIDs and parents on the target, the top reads the same', async function () {
      await open();
      const { chainImage, chainBase, chainLeaf } = COPY_IDS;
      const leafSum = await checksum(volumeFile(bed, fileDomain, chainImage, chainLeaf), VolumeFormat.COW);
      const taskId = await moveImage(bed.ctx, moveParams({ imageID: chainImage, dstSdUUID: roomyFileDomain, operation: ImageOperation.Move }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success, code: 0 });
      expect(bed.store.getVolume(roomyFileDomain, chainBase)).to.include({ parentId: BLANK_UUID, role: VolumeRole.Internal, format: VolumeFormat.RAW, legality: VolumeLegality.Legal, generation: 1 });
      expect(bed.store.getVolume(roomyFileDomain, chainLeaf)).to.include({ parentId: chainBase, role: VolumeRole.Leaf, format: VolumeFormat.COW, legality: VolumeLegality.Legal, generation: 1 });
      expect(await checksum(volumeFile(bed, roomyFileDomain, chainImage, chainLeaf), VolumeFormat.COW)).to.equal(leafSum);
      expect(bed.store.listVolumes(fileDomain, chainImage)).to.deep.equal([]);
    });

    it('ends the task with 268 (cleanSuccess) when the source image does not exist', async () => {
      await open();
      const missing = 'dddddddd-0000-4000-8000-000000000000';
      const taskId = await moveImage(bed.ctx, moveParams({ imageID: missing }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.deep.equal({
        taskID: taskId,
        taskState: TaskState.Finished,
        taskResult: TaskResult.CleanSuccess,
        code: 268,
        message: `value=Image does not exist in domain: 'image=${missing}, domain=${fileDomain}' abortedcode=268`,
      });
    });

    it('fails the task with 253 for an operation other than copy or move', async () => {
      await open();
      const params = { ...moveParams(), operation: 3 } as unknown as WireParamsOf<'Image.move'>;
      const taskId = await moveImage(bed.ctx, params);
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({
        taskResult: TaskResult.CleanSuccess,
        code: 253,
        message: `value=Error moving image: ('${smallImage}',) abortedcode=253`,
      });
    });

    it('fails the task with 262 when the source image has no leaf', async () => {
      await open();
      bed.store.updateVolume(fileDomain, COPY_IDS.chainLeaf, { role: VolumeRole.Internal });
      const taskId = await moveImage(bed.ctx, moveParams({ imageID: COPY_IDS.chainImage }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ code: 262, message: `value=Image is not a legal chain: ('${COPY_IDS.chainImage}',) abortedcode=262` });
    });

    it('fails with 504 when the block domain lacks extents, and the rollback removes the volumes it made', async () => {
      await open();
      const { chainImage, chainBase, chainLeaf } = COPY_IDS;
      // Two 64 MiB volumes need two extents; the domain has one.
      const taskId = await moveImage(bed.ctx, moveParams({ imageID: chainImage, dstSdUUID: oneExtentBlockDomain }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.deep.equal({
        taskID: taskId,
        taskState: TaskState.Finished,
        taskResult: TaskResult.CleanSuccess,
        code: 504,
        message:
          `value=Volume Group not big enough: ('Not enough free extents for creating LV ${oneExtentBlockDomain}/${chainLeaf} ` +
          `(free=0, needed=1)',) abortedcode=504`,
      });
      expect(bed.store.listVolumes(oneExtentBlockDomain, undefined, { includeRemoved: true })).to.deep.equal([]);
      expect(await pathExists(volumeFile(bed, oneExtentBlockDomain, chainImage, chainBase))).to.equal(false);
      expect(await pathExists(imageDir(bed.stateDir, oneExtentBlockDomain, chainImage))).to.equal(false);
      expect(bed.tasks.getRecord(taskId)?.recovery).to.equal(null);
    });

    it('fails with 261 when a file domain fills up during the copy, and the rollback removes the partial target', async () => {
      // The built-in copier checks the domain's space before every write: deterministic.
      await open({ forceBuiltinCopier: true });
      const source = volumeFile(bed, fileDomain, smallImage, smallVolume);
      const sourceSum = await checksum(source, VolumeFormat.RAW);
      const taskId = await moveImage(bed.ctx, moveParams({ dstSdUUID: tinyFileDomain, operation: ImageOperation.Move }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.deep.equal({
        taskID: taskId,
        taskState: TaskState.Finished,
        taskResult: TaskResult.CleanSuccess,
        code: 261,
        message: 'value=low level Image copy failed: () abortedcode=261',
      });
      expect(bed.store.listVolumes(tinyFileDomain, undefined, { includeRemoved: true })).to.deep.equal([]);
      expect(await pathExists(imageDir(bed.stateDir, tinyFileDomain, smallImage))).to.equal(false);
      // The source of a failed move is untouched.
      expect(bed.store.getVolume(fileDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, removed: false });
      expect(await checksum(source, VolumeFormat.RAW)).to.equal(sourceSum);
    });

    it('ends with 411 when stopped mid-copy, and removes the target', async () => {
      const { chainImage, chainBase, chainLeaf } = COPY_IDS;
      let taskId = '';
      // Stop the task when the second layer's copy begins (the first is fully copied by then).
      await open({
        logger: debugHook((fields, message) => {
          if (message === 'copying volume' && fields.index === 1) bed.tasks.stop(taskId);
        }),
      });
      taskId = await moveImage(bed.ctx, moveParams({ imageID: chainImage, dstSdUUID: roomyFileDomain, operation: ImageOperation.Move }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.deep.equal({
        taskID: taskId,
        taskState: TaskState.Finished,
        taskResult: TaskResult.CleanSuccess,
        code: 411,
        message: `value=${taskId} abortedcode=411`,
      });
      expect(bed.store.listVolumes(roomyFileDomain, undefined, { includeRemoved: true })).to.deep.equal([]);
      expect(await pathExists(imageDir(bed.stateDir, roomyFileDomain, chainImage))).to.equal(false);
      expect(bed.store.listVolumes(fileDomain, chainImage).map((volume) => volume.id)).to.have.members([chainBase, chainLeaf]);
    });

    it('refuses to overwrite a legal copy without force (550 on block), leaving that copy alone', async () => {
      await open();
      const first = await moveImage(bed.ctx, moveParams());
      await waitForTask(bed, first);
      const copy = volumeFile(bed, blockDomain, smallImage, smallVolume);
      const copySum = await checksum(copy, VolumeFormat.RAW);
      const second = await moveImage(bed.ctx, moveParams());
      await waitForTask(bed, second);
      expect(bed.tasks.getStatus(second)).to.include({
        code: 550,
        message: `value=Cannot create Logical Volume: ('${blockDomain}', '${smallVolume}') abortedcode=550`,
      });
      expect(bed.store.getVolume(blockDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, generation: 1 });
      expect(await checksum(copy, VolumeFormat.RAW)).to.equal(copySum);
    });

    it('refuses to overwrite a legal copy on a file domain with 212', async () => {
      await open();
      await waitForTask(bed, await moveImage(bed.ctx, moveParams({ dstSdUUID: roomyFileDomain })));
      const second = await moveImage(bed.ctx, moveParams({ dstSdUUID: roomyFileDomain }));
      await waitForTask(bed, second);
      expect(bed.tasks.getStatus(second)).to.include({ code: 212, message: `value=Volume already exists: ('${smallVolume}',) abortedcode=212` });
    });

    it('replaces the target copy with force, and an ILLEGAL one even without force', async () => {
      await open();
      await waitForTask(bed, await moveImage(bed.ctx, moveParams()));
      const forced = await moveImage(bed.ctx, moveParams({ force: true }));
      await waitForTask(bed, forced);
      expect(bed.tasks.getStatus(forced)).to.include({ taskResult: TaskResult.Success });
      // A fresh volume: generation 1 again, not 2.
      expect(bed.store.getVolume(blockDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, generation: 1 });

      bed.store.updateVolume(blockDomain, smallVolume, { legality: VolumeLegality.Illegal });
      const illegal = await moveImage(bed.ctx, moveParams());
      await waitForTask(bed, illegal);
      expect(bed.tasks.getStatus(illegal)).to.include({ taskResult: TaskResult.Success });
      expect(bed.store.getVolume(blockDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, generation: 1 });
      expect(await checksum(volumeFile(bed, blockDomain, smallImage, smallVolume), VolumeFormat.RAW)).to.equal(
        await checksum(volumeFile(bed, fileDomain, smallImage, smallVolume), VolumeFormat.RAW),
      );
    });

    it('zeroes a moved block source at the wipe rate (postZero), hidden from listings meanwhile', async () => {
      await open({ wipeBytesPerSecond: 100 * MiB });
      const { blockImage, blockVolume } = COPY_IDS;
      const sourceSum = await checksum(volumeFile(bed, blockDomain, blockImage, blockVolume), VolumeFormat.RAW);
      const taskId = await moveImage(
        bed.ctx,
        moveParams({ imageID: blockImage, storagedomainID: blockDomain, dstSdUUID: roomyFileDomain, operation: ImageOperation.Move, postZero: true }),
      );
      // The copy is done and the source hidden before its wipe starts.
      await bed.waitFor(() => !bed.store.listImages(blockDomain).includes(blockImage));
      expect(bed.store.getVolume(roomyFileDomain, blockVolume)).to.include({ legality: VolumeLegality.Legal });
      // 256 MiB at 100 MiB/s: 2.56 s of clock time.
      await bed.driveClock(2500);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskState: TaskState.Running });
      expect(bed.store.listVolumes(blockDomain, blockImage, { includeRemoved: true })).to.have.length(1);
      await bed.driveClock(100);
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success, code: 0 });
      expect(bed.store.listVolumes(blockDomain, blockImage, { includeRemoved: true })).to.deep.equal([]);
      expect(await checksum(volumeFile(bed, roomyFileDomain, blockImage, blockVolume), VolumeFormat.RAW)).to.equal(sourceSum);
    });

    it('ends with 411 when stopped during the source wipe, keeping the copy and leaving the source hidden', async () => {
      await open({ wipeBytesPerSecond: 100 * MiB });
      const { blockImage, blockVolume } = COPY_IDS;
      const taskId = await moveImage(
        bed.ctx,
        moveParams({ imageID: blockImage, storagedomainID: blockDomain, dstSdUUID: roomyFileDomain, operation: ImageOperation.Move, postZero: true }),
      );
      await bed.waitFor(() => !bed.store.listImages(blockDomain).includes(blockImage));
      await bed.driveClock(1000);
      bed.tasks.stop(taskId);
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.CleanSuccess, code: 411 });
      // The copy's recoveries were cleared before the delete: the target stays.
      expect(bed.store.getVolume(roomyFileDomain, blockVolume)).to.include({ legality: VolumeLegality.Legal, generation: 1 });
      // Like VDSM's _remove_me_ZERO_ LVs: out of every listing, row and partly zeroed file kept.
      expect(bed.store.getVolume(blockDomain, blockVolume)).to.include({ removed: true });
      expect(bed.store.listImages(blockDomain)).to.not.include(blockImage);
    });

    it('only logs a failed source delete and reports success (VDSM\'s habit)', async () => {
      await open();
      // postZero + discard on a file source: 349 inside the delete, which the move swallows.
      const taskId = await moveImage(bed.ctx, moveParams({ operation: ImageOperation.Move, postZero: true, discard: true }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success, code: 0 });
      expect(bed.store.getVolume(blockDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal });
      expect(bed.store.getVolume(fileDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, removed: false });
      expect(await pathExists(volumeFile(bed, fileDomain, smallImage, smallVolume))).to.equal(true);
    });

    it('makes a second operation on the image wait for the image lock, without a timeout', async () => {
      await open();
      // Another job holds the source image exclusively (as a running move does).
      const holder = await bed.locks.acquire(imageNamespace(fileDomain), smallImage, 'exclusive', 'running-move');
      const taskId = await moveImage(bed.ctx, moveParams());
      await bed.waitFor(() => bed.tasks.getRecord(taskId)?.state === 'running');
      // Far past the 120 s of a verb's locks: job-level image locks wait for ever.
      await bed.clock.advanceAsync(600_000);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskState: TaskState.Running, message: 'running job 1 of 1' });
      expect(bed.store.getVolume(blockDomain, smallVolume)).to.equal(undefined);
      holder.release();
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success });
    });

    it('runs two copies of one image one after the other: the second finds the first\'s copy (550)', async () => {
      await open();
      const first = await moveImage(bed.ctx, moveParams());
      const second = await moveImage(bed.ctx, moveParams());
      await waitForTask(bed, first);
      await waitForTask(bed, second);
      const codes = [bed.tasks.getStatus(first).code, bed.tasks.getStatus(second).code].sort();
      expect(codes).to.deep.equal([0, 550]);
      expect(bed.store.getVolume(blockDomain, smallVolume)).to.include({ legality: VolumeLegality.Legal, generation: 1 });
      expect(await checksum(volumeFile(bed, blockDomain, smallImage, smallVolume), VolumeFormat.RAW)).to.equal(
        await checksum(volumeFile(bed, fileDomain, smallImage, smallVolume), VolumeFormat.RAW),
      );
    });

    it('moves an image based on a template once the template is on the target', async () => {
      // VDSM refuses to copy a template in use (266), so the target gets its template from the fixture.
      await open({ fixture: templateFixture({ templateOnBlock: true }) });
      const { templateImage, templateVolume, vmImage, vmVolume } = TEMPLATE_IDS;
      const sourceSum = await checksum(volumeFile(bed, fileDomain, vmImage, vmVolume), VolumeFormat.COW);
      const taskId = await moveImage(bed.ctx, moveParams({ imageID: vmImage, operation: ImageOperation.Move }));
      await waitForTask(bed, taskId);
      expect(bed.tasks.getStatus(taskId)).to.include({ taskResult: TaskResult.Success });
      expect(bed.store.getVolume(blockDomain, vmVolume)).to.include({ parentId: templateVolume, legality: VolumeLegality.Legal });
      expect(await checksum(volumeFile(bed, blockDomain, vmImage, vmVolume), VolumeFormat.COW)).to.equal(sourceSum);
      // The template stays where it is: it is not part of the VM's image.
      expect(bed.store.getVolume(fileDomain, templateVolume)).to.include({ removed: false });
      expect((await stat(volumeFile(bed, fileDomain, templateImage, templateVolume))).isFile()).to.equal(true);
    });
  });
});

/** A template disk and a VM disk based on it, on the NFS domain. */
const TEMPLATE_IDS = {
  templateImage: 'e0e0e0e0-0000-4000-8000-0000000000a1',
  templateVolume: 'e0e0e0e0-0000-4000-8000-0000000000b1',
  vmImage: 'e0e0e0e0-0000-4000-8000-0000000000a2',
  vmVolume: 'e0e0e0e0-0000-4000-8000-0000000000b2',
} as const;

function templateFixture(options: { templateOnBlock?: boolean } = {}): ReturnType<typeof copyTestFixture> {
  const fixture = copyTestFixture({ hosts: 2 });
  const template = (domain: string, allocation: 'SPARSE' | 'PREALLOCATED') => ({
    id: TEMPLATE_IDS.templateImage,
    domain,
    capacity: '64 MiB',
    volumes: [
      { id: TEMPLATE_IDS.templateVolume, format: 'RAW' as const, allocation, role: 'SHARED' as const, data: [{ offset: 0, pattern: 0x7e, length: '256 KiB' }] },
    ],
  });
  return {
    ...fixture,
    disks: [
      ...(fixture.disks ?? []),
      template(fileDomain, 'SPARSE'),
      ...(options.templateOnBlock === true ? [template(blockDomain, 'PREALLOCATED')] : []),
      {
        id: TEMPLATE_IDS.vmImage,
        domain: fileDomain,
        capacity: '64 MiB',
        volumes: [{ id: TEMPLATE_IDS.vmVolume, parent: TEMPLATE_IDS.templateVolume, format: 'COW', data: [{ offset: MiB, pattern: 0x42, length: '64 KiB' }] }],
      },
    ],
  };
}
