import { expect } from 'chai';
import { ImageOperation, TaskResult, TaskState, VdsmError, VolumeFormat, VolumeLegality } from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { findDataTools } from '../data/tools.js';
import { checksum } from '../data/volume-files.js';
import { silentLogger } from '../logger.js';
import { cloneStructure, cloneStructureJobs } from '../storage/clone-structure.js';
import { deleteImage, deleteImageJobs } from '../storage/delete-image.js';
import { isSpm, requireSpm } from '../storage/checks.js';
import { moveImage, moveImageJobs } from '../storage/move-image.js';
import { createStorageTestBed } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { TaskManager } from '../tasks/task-manager.js';
import { COPY_IDS, copyTestFixture, volumeFile, waitForTask } from '../test-support/copy-fixture.js';
import { FaultEngine } from './engine.js';
import { nextSpmHost } from './task-faults.js';
import { pathExists } from '../data/path-exists.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

const { pool, fileDomain, roomyFileDomain, blockDomain, smallImage, smallVolume, blockImage, blockVolume } = COPY_IDS;

/** Image.move of the small disk from the master NFS domain to the roomy one (a copy unless told). */
function moveParams(overrides: Partial<WireParamsOf<'Image.move'>> = {}): WireParamsOf<'Image.move'> {
  return {
    imageID: smallImage,
    storagepoolID: pool,
    storagedomainID: fileDomain,
    dstSdUUID: roomyFileDomain,
    operation: ImageOperation.Copy,
    postZero: false,
    force: false,
    discard: false,
    ...overrides,
  };
}

describe('faults/task-faults (task actions on real jobs)', function () {
  this.timeout(60_000);
  let bed: StorageTestBed;
  let engine: FaultEngine;
  let sourceSum: string;
  const crashes: string[] = [];

  async function open(hosts = 1, forceBuiltinCopier = true): Promise<void> {
    engine = new FaultEngine({ seed: 7, clock: new ManualClock(0), logger: silentLogger });
    bed = await createStorageTestBed({
      fixture: copyTestFixture({ hosts }),
      jobs: [moveImageJobs, deleteImageJobs, cloneStructureJobs],
      forceBuiltinCopier,
      faults: engine,
      crash: { mode: 'emulate', onCrash: () => void crashes.push('crashed') },
    });
    sourceSum = await checksum(sourceFile(), VolumeFormat.RAW);
  }

  const sourceFile = (): string => volumeFile(bed, fileDomain, smallImage, smallVolume);
  const targetFile = (): string => volumeFile(bed, roomyFileDomain, smallImage, smallVolume);
  const target = () => bed.store.getVolume(roomyFileDomain, smallVolume);

  /** The source is untouched: LEGAL, same bytes. */
  async function expectSourceIntact(): Promise<void> {
    expect(bed.store.getVolume(fileDomain, smallVolume)?.legality).to.equal(VolumeLegality.Legal);
    expect(await checksum(sourceFile(), VolumeFormat.RAW)).to.equal(sourceSum);
  }

  /** The rolled-back target: no row, no file. */
  async function expectTargetGone(): Promise<void> {
    expect(target()).to.equal(undefined);
    expect(await pathExists(targetFile())).to.equal(false);
  }

  afterEach(async () => {
    crashes.length = 0;
    await bed?.close();
  });

  it('failAt 0.63 / 261 on a copy: stops there, rolls the target back, ends cleanSuccess 261', async () => {
    await open();
    engine.add({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { failAt: 0.63, error: 261 } });
    const taskId = await moveImage(bed.ctx, moveParams());
    const row = await waitForTask(bed, taskId);
    expect(row.state).to.equal('recovered');
    expect(row.progress).to.equal(0.63);
    expect(bed.tasks.getStatus(taskId)).to.deep.equal({
      taskID: taskId,
      taskState: TaskState.Finished,
      taskResult: TaskResult.CleanSuccess,
      code: 261,
      message: 'value=low level Image copy failed: () abortedcode=261',
    });
    await expectTargetGone();
    await expectSourceIntact();
    const firings = engine.log();
    expect(firings.map((f) => [f.kind, f.point.taskId, f.point.phase, f.point.domain])).to.deep.equal([['failAt', taskId, 'copy', roomyFileDomain]]);
  });

  it('failAt 0.63 / 261 through qemu-img convert: the same end state', async function () {
    skipUnless(this, (await findDataTools()).qemuImg !== undefined, 'qemu-img is not installed (Debian: qemu-utils)');
    await open(1, false);
    engine.add({ match: { task: { phase: 'copy' } }, action: { failAt: 0.63, error: 261 } });
    const taskId = await moveImage(bed.ctx, moveParams());
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code, row.progress]).to.deep.equal(['recovered', 261, 0.63]);
    expect(bed.tasks.getStatus(taskId).message).to.equal('value=low level Image copy failed: () abortedcode=261');
    await expectTargetGone();
    await expectSourceIntact();
  });

  it('failAt matches the JSON-RPC method that started the task (Image.move), not the internal verb', async () => {
    await open();
    engine.add({ id: 'by-method', match: { method: 'Image.move', task: { phase: 'copy' } }, action: { failAt: 0.5, error: 261 } });
    expect(() => engine.add({ match: { method: 'moveImage' }, action: { failAt: 0.5, error: 261 } })).to.throw(/'moveImage' is a task's internal verb.*'Image.move'/);
    const taskId = await moveImage(bed.ctx, moveParams());
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code, row.progress]).to.deep.equal(['recovered', 261, 0.5]);
    await expectTargetGone();
    expect(engine.log().map((f) => [f.ruleId, f.point.method, f.point.host, f.point.phase])).to.deep.equal([['by-method', 'Image.move', 1, 'copy']]);
  });

  it('hang: the task stays running (target ILLEGAL) until Task.stop, then ends with 411', async () => {
    await open();
    engine.add({ match: { task: { phase: 'copy' } }, action: { hang: true } });
    const taskId = await moveImage(bed.ctx, moveParams());
    await bed.waitFor(() => engine.log().length === 1);
    await bed.clock.advanceAsync(3_600_000);
    expect(bed.tasks.getStatus(taskId).taskState).to.equal(TaskState.Running);
    expect(target()?.legality).to.equal(VolumeLegality.Illegal);
    bed.tasks.stop(taskId);
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code]).to.deep.equal(['recovered', 411]);
    expect(bed.tasks.getStatus(taskId).taskResult).to.equal(TaskResult.CleanSuccess);
    await expectTargetGone();
    await expectSourceIntact();
  });

  it('phaseDelayMs: the copy starts that much clock time later, then succeeds', async () => {
    await open();
    engine.add({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { phaseDelayMs: 5_000 } });
    const taskId = await moveImage(bed.ctx, moveParams());
    await bed.waitFor(() => engine.log().length === 1 && bed.clock.pending > 0);
    await bed.clock.advanceAsync(4_900);
    expect(bed.tasks.getRecord(taskId)?.state).to.equal('running');
    expect(target()?.legality).to.equal(VolumeLegality.Illegal);
    await bed.clock.advanceAsync(100);
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code]).to.deep.equal(['finished', 0]);
    expect(target()?.legality).to.equal(VolumeLegality.Legal);
    expect(await checksum(targetFile(), VolumeFormat.RAW)).to.equal(sourceSum);
  });

  it('finish cleanSuccess: forced end with the given code, target rolled back', async () => {
    await open();
    engine.add({ match: { task: { phase: 'copy' } }, action: { finish: 'cleanSuccess', error: 350 } });
    const taskId = await moveImage(bed.ctx, moveParams());
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code]).to.deep.equal(['recovered', 350]);
    expect(bed.tasks.getStatus(taskId).taskResult).to.equal(TaskResult.CleanSuccess);
    expect(bed.tasks.getStatus(taskId).message).to.match(/^value=.*: \(\) abortedcode=350$/);
    await expectTargetGone();
  });

  it('finish cleanFailure: the rollback fails, the target stays ILLEGAL with its file', async () => {
    await open();
    engine.add({ match: { task: { phase: 'copy' } }, action: { finish: 'cleanFailure' } });
    const taskId = await moveImage(bed.ctx, moveParams());
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code]).to.deep.equal(['failed', 100]);
    expect(bed.tasks.getStatus(taskId)).to.include({ taskState: TaskState.Finished, taskResult: TaskResult.CleanFailure });
    expect(target()?.legality).to.equal(VolumeLegality.Illegal);
    expect(await pathExists(targetFile())).to.equal(true);
    await expectSourceIntact();
  });

  it('failSourceDelete: an op-2 move reports success, the copy LEGAL, the source still there', async () => {
    await open();
    engine.add({ match: { image: smallImage }, action: { failSourceDelete: true } });
    const taskId = await moveImage(bed.ctx, moveParams({ operation: ImageOperation.Move }));
    const row = await waitForTask(bed, taskId);
    expect(bed.tasks.getStatus(taskId)).to.deep.equal({
      taskID: taskId,
      taskState: TaskState.Finished,
      taskResult: TaskResult.Success,
      code: 0,
      message: '1 jobs completed successfully',
    });
    expect(row.state).to.equal('finished');
    expect(target()?.legality).to.equal(VolumeLegality.Legal);
    expect(await checksum(targetFile(), VolumeFormat.RAW)).to.equal(sourceSum);
    await expectSourceIntact();
    expect(bed.store.listImages(fileDomain)).to.include(smallImage);
    expect(engine.log().map((f) => f.kind)).to.deep.equal(['failSourceDelete']);
  });

  it('without failSourceDelete the same op-2 move removes the source (control)', async () => {
    await open();
    const taskId = await moveImage(bed.ctx, moveParams({ operation: ImageOperation.Move }));
    expect((await waitForTask(bed, taskId)).state).to.equal('finished');
    expect(bed.store.getVolume(fileDomain, smallVolume)).to.equal(undefined);
    expect(await pathExists(sourceFile())).to.equal(false);
  });

  it('loseSpm: the role moves to host 2 (lver + 1), host 1 answers 654, the task is recovered by the new SPM', async () => {
    await open(2);
    const before = bed.store.getPool(pool);
    engine.add({ match: { task: { phase: 'copy' } }, action: { loseSpm: true } });
    const taskId = await moveImage(bed.ctx, moveParams());
    const row = await waitForTask(bed, taskId);
    const after = bed.store.getPool(pool);
    expect(after?.spmHostId).to.equal(2);
    expect(after?.lver).to.equal((before?.lver ?? 0) + 1);
    expect(isSpm(bed.contextFor(1), pool)).to.equal(false);
    expect(() => requireSpm(bed.contextFor(1), pool, 'schedule')).to.throw(VdsmError).with.property('code', 654);
    expect(isSpm(bed.contextFor(2), pool)).to.equal(true);
    // VDSM §7.3: a task recovered by a new SPM reports the default result of a loaded task.
    expect([row.state, row.code, row.message]).to.deep.equal(['recovered', 0, 'Task is initializing']);
    await expectTargetGone();
    await expectSourceIntact();
  });

  it('crash (emulated): the manager lets go mid-copy, onCrash runs, a restart recovers the task', async () => {
    await open();
    engine.add({ match: { task: { phase: 'copy' } }, action: { crash: true } });
    const taskId = await moveImage(bed.ctx, moveParams());
    await bed.waitFor(() => crashes.length === 1);
    // What a SIGKILL at that point leaves: the row running, the empty target ILLEGAL.
    expect(bed.tasks.getRecord(taskId)?.state).to.equal('running');
    expect(target()?.legality).to.equal(VolumeLegality.Illegal);
    // A crashed manager schedules nothing more.
    const late = await moveImage(bed.ctx, moveParams({ imageID: blockImage, storagedomainID: blockDomain })).then(
      () => 'scheduled',
      () => 'refused',
    );
    expect(late).to.equal('refused');

    const restarted = new TaskManager({ db: bed.db, clock: bed.clock, locks: bed.locks });
    try {
      for (const [kind, handler] of Object.entries(moveImageJobs(bed.ctx))) restarted.register(kind, handler);
      for (const [kind, handler] of Object.entries(deleteImageJobs(bed.ctx))) restarted.register(kind, handler);
      await restarted.recover(pool);
      expect(restarted.getRecord(taskId)?.state).to.equal('recovered');
      await expectTargetGone();
      await expectSourceIntact();
    } finally {
      await restarted.close();
    }
  });

  it('reaches the other jobs too: finish on cloneImageStructure\'s create phase ends it cleanSuccess, nothing left on the target', async () => {
    await open();
    engine.add({ match: { task: { kind: 'cloneImageStructure', phase: 'create' } }, action: { finish: 'cleanSuccess', error: 350 } });
    const taskId = await cloneStructure(bed.ctx, { imageID: smallImage, storagepoolID: pool, storagedomainID: fileDomain, dstSdUUID: roomyFileDomain });
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code]).to.deep.equal(['recovered', 350]);
    await expectTargetGone();
  });

  it('failAt 0.5 on a file purge of a two-volume chain: one volume gone, the other left hidden', async () => {
    await open();
    const { chainImage, chainBase, chainLeaf } = COPY_IDS;
    engine.add({ match: { task: { kind: 'purgeImage', phase: 'delete' }, image: chainImage }, action: { failAt: 0.5, error: 256 } });
    const taskId = await deleteImage(bed.ctx, {
      imageID: chainImage,
      storagepoolID: pool,
      storagedomainID: fileDomain,
      postZero: false,
      force: false,
      discard: false,
    });
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code, row.progress]).to.deep.equal(['recovered', 256, 0.5]);
    expect(bed.tasks.getStatus(taskId).taskResult).to.equal(TaskResult.CleanSuccess);
    // The rollback dropped the row of the removed file; the other volume stays, removed from every listing.
    const left = [chainBase, chainLeaf].map((id) => bed.store.getVolume(fileDomain, id));
    expect(left.filter((volume) => volume === undefined)).to.have.length(1);
    expect(left.find((volume) => volume !== undefined)?.removed).to.equal(true);
    expect(bed.store.listImages(fileDomain)).to.not.include(chainImage);
  });

  it('failAt on a postZero wipe: zeroing stops there, the task ends cleanSuccess with the code', async () => {
    await open();
    engine.add({ match: { task: { kind: 'zeroImage', phase: 'zero' }, domain: blockDomain }, action: { failAt: 0.5, error: 374 } });
    const taskId = await deleteImage(bed.ctx, {
      imageID: blockImage,
      storagepoolID: pool,
      storagedomainID: blockDomain,
      postZero: true,
      force: false,
      discard: false,
    });
    // 256 MiB at 100 MiB/s: the wipe would take 2.56 s of clock time.
    while (bed.tasks.getRecord(taskId)?.state === 'running' || bed.tasks.getRecord(taskId)?.state === 'queued') {
      await bed.waitFor(() => bed.clock.pending > 0 || !['running', 'queued'].includes(bed.tasks.getRecord(taskId)?.state ?? ''));
      await bed.clock.advanceAsync(100);
    }
    const row = await waitForTask(bed, taskId);
    expect([row.state, row.code, row.progress]).to.deep.equal(['recovered', 374, 0.5]);
    expect(bed.tasks.getStatus(taskId).message).to.match(/abortedcode=374$/);
    expect(bed.clock.now() - 1_000_000).to.be.below(2_560);
    // The wipe stopped half-way: the renamed volume rows stay (VDSM's _remove_me_ZERO_ LV is left behind).
    expect(bed.store.getVolume(blockDomain, blockVolume)?.removed).to.equal(true);
  });
});

describe('faults/task-faults nextSpmHost', () => {
  const hosts = [1, 2, 3].map((id) => ({ id, uuid: `u${id}`, name: `h${id}`, poolId: 'p' }));

  it('takes toHost when it is another connected host', () => {
    expect(nextSpmHost(hosts, 1, 3)).to.equal(3);
  });

  it('falls back to the next host after the SPM, wrapping, for a missing or invalid toHost', () => {
    expect(nextSpmHost(hosts, 1)).to.equal(2);
    expect(nextSpmHost(hosts, 3)).to.equal(1);
    expect(nextSpmHost(hosts, 2, 2)).to.equal(3);
    expect(nextSpmHost(hosts, 2, 9)).to.equal(3);
  });

  it('answers null when no other host is connected', () => {
    expect(nextSpmHost(hosts.slice(0, 1), 1)).to.equal(null);
  });
});
