/**
 * engine-move.md s5, row by row: each known failure of oVirt's disk move,
 * produced on a real fake VDSM (two hosts, real sockets, real files) through
 * its fault rules, and what the orchestrator does about it (s6 "Improve").
 * Polls are short; every wait is on an outcome, an event or a condition of
 * the fake, never on a fixed sleep or a wall-clock bound.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket, createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TaskWatcher, VdsmClient, VdsmError, moveImage } from '@vdsm-kit/client';
import { PKI_LAYOUT } from '@vdsm-kit/client/transport';
import { startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import type { TempTestPki } from '@vdsm-kit/test-support/pki';
import { expect } from 'chai';
import { MoveStoreError } from '../store/move-store.js';
import type { MoveRecord, MoveState } from '../store/records.js';
import { SqliteMoveStore } from '../store/sqlite-store.js';
import { NoSpmError } from '../tasks/errors.js';
import type { TrackerEvent } from '../tasks/pool-task-tracker.js';
import { poolHost } from '../tasks/pool-host.js';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool, FakePoolOptions, SmallDisk } from '../test-support/fake-pool.js';
import { MoveOrchestrator } from './orchestrator.js';
import type { MoveHandle, MoveOrchestratorOptions } from './orchestrator.js';

const run = promisify(execFile);
const POLL_MS = 50;
/** Codes as VDSM sends them. */
const CODE = { generic: 100, unknownTask: 401, taskState: 410, stopped: 411, imageDelete: 256, copyFailed: 261, notInDomain: 268 } as const;

/** Resolves once `check` holds, looking every 20 ms (a condition of the fake or the store, not a time). */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let round = 0; ; round += 1) {
    if (await check()) return;
    if (round > 3000) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the record once the move is in `state` (at once if it is there already). */
function reach(handle: MoveHandle, state: MoveState): Promise<MoveRecord> {
  if (handle.state === state) return Promise.resolve(handle.record);
  return new Promise((resolve, reject) => {
    const onState = (move: MoveRecord): void => {
      if (move.state !== state) return;
      handle.off('state', onState);
      resolve(move);
    };
    handle.on('state', onState);
    void handle.outcome.then(() => reject(new Error(`move ended without reaching ${state}`)), reject);
  });
}

describe('engine-move.md s5 failure modes against a real fake VDSM', function () {
  this.timeout(90_000);
  let pool: FakePool;
  let folder: string;
  let dbPath: string;
  let store: SqliteMoveStore;
  let orchestrator: MoveOrchestrator;
  let events: TrackerEvent[];
  let cleanups: (() => Promise<unknown> | unknown)[];

  beforeEach(function () {
    folder = mkdtempSync(join(tmpdir(), 'engine-move-rows-'));
    dbPath = join(folder, 'moves.sqlite');
    events = [];
    cleanups = [];
  });
  afterEach(async function () {
    for (const cleanup of cleanups.reverse()) await cleanup();
    orchestrator?.close();
    await store?.close();
    await pool?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  type Tuning = Omit<MoveOrchestratorOptions, 'store' | 'hosts'>;
  function newOrchestrator(tuning: Tuning = {}, into: SqliteMoveStore = store): MoveOrchestrator {
    return new MoveOrchestrator({
      copyPath: 'spm',
      store: into,
      hosts: pool.hosts,
      pollIntervalMs: POLL_MS,
      ...tuning,
      tracker: { firstEarlyPollMs: 10, ...tuning.tracker },
      onTrackerEvent: (_pool, event) => events.push(event),
    });
  }
  async function start(poolOptions: FakePoolOptions = {}, tuning: Tuning = {}): Promise<void> {
    pool = await startFakePool({ hosts: 2, ...poolOptions });
    store = SqliteMoveStore.open({ path: dbPath });
    orchestrator = newOrchestrator(tuning);
  }

  const spm = () => pool.clients[0]!;
  const imagesOn = (domain: string) => spm().StorageDomain.getImages({ storagedomainID: domain });
  const calls = (method: string) => pool.calls.get(method) ?? 0;
  const moveOf = (disk: SmallDisk, extra: { wipeAfterDelete?: boolean; legacy?: boolean; from?: string; to?: string } = {}) =>
    orchestrator.moveDisk({
      poolId: IDS.pool,
      diskId: disk.image,
      srcDomainId: extra.from ?? IDS.fileDomain,
      dstDomainId: extra.to ?? IDS.blockDomain,
      ...(extra.wipeAfterDelete === undefined ? {} : { wipeAfterDelete: extra.wipeAfterDelete }),
      ...(extra.legacy === undefined ? {} : { legacy: extra.legacy }),
    });
  const statuses = async (diskId: string) => (await store.getDisk(diskId))!.volumes.map((v) => [v.volumeId, v.domainId, v.status]);
  const allOn = (disk: SmallDisk, domain: string, status: string) => disk.volumes.map((id) => [id, domain, status]);
  const auditTypes = async (moveId: string) => (await orchestrator.audit({ moveId })).map((a) => a.type);
  const phases = (outcome: { phases: readonly { phase: string; outcome: string | null }[] }) => outcome.phases.map((p) => [p.phase, p.outcome]);
  const firings = async (kind: string) => (await pool.fake.faultLog()).filter((f) => f['kind'] === kind).length;
  const taskOf = async (moveId: string, phase: string) => (await store.listTasks({ moveId })).find((t) => t.phase === phase);

  async function expectNothingLeftOnSpm(): Promise<void> {
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});
    const report = await pool.fake.invariants();
    expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
  }

  /** Stops a task behind the orchestrator's back and clears it once it is done (410 until then). */
  async function stopAndClearBehindItsBack(taskId: string): Promise<void> {
    await spm().Task.stop({ taskID: taskId });
    await until(async () => {
      try {
        await spm().Task.clear({ taskID: taskId });
        return true;
      } catch (error) {
        if (error instanceof VdsmError && error.code === CODE.taskState) return false;
        throw error;
      }
    }, `task ${taskId} cleared`);
  }

  it('row 1: the single verb hides a failed source delete and engine-move reports it; copy + delete has no such blind spot', async function () {
    await start();
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'delete' } }, action: { failSourceDelete: true } });
    const [split, single] = [pool.disks[0]!, pool.disks[1]!];

    const splitOutcome = await (await moveOf(split)).outcome;
    // Operation copy never deletes inside VDSM: the rule had nothing to fire on; the delete was its own verb, and it worked.
    expect(splitOutcome).to.include({ result: 'moved', failedPhase: null, mode: 'copy-delete' });
    expect(splitOutcome.leftovers).to.deep.equal([]);
    expect(await firings('failSourceDelete')).to.equal(0);
    expect(calls('Image.delete')).to.equal(1);
    expect(await imagesOn(IDS.fileDomain)).to.not.include(split.image);

    const singleOutcome = await (await moveOf(single, { legacy: true })).outcome;
    // VDSM's task said success; the orchestrator looked at the source and found the image still there.
    expect(await firings('failSourceDelete')).to.equal(1);
    expect(singleOutcome).to.include({ result: 'moved', mode: 'legacy', failedPhase: 'legacy-move' });
    expect(singleOutcome.leftovers.map((l) => [l.domainId, l.imageId])).to.deep.equal([[IDS.fileDomain, single.image]]);
    expect(await imagesOn(IDS.fileDomain)).to.include(single.image);
    expect(await imagesOn(IDS.blockDomain)).to.include.members([split.image, single.image]);
    expect(calls('Image.delete')).to.equal(1);
  });

  it('row 2: a source delete (where the wipe runs) past the 50 h zombie limit: Task.stop (9500), the source recorded as a leftover, the disk OK on the target; a stop that does not take is forgotten (9501)', async function () {
    // The wipe itself (zeroImage) needs a block source; this row holds the file domain's purge
    // instead, by a phase delay (orchestrator.test.ts moves a disk block to file with wipe).
    // The zombie limit is made short; the small copy ends well within it.
    await start({}, { tracker: { zombieAfterMs: 1500 } });
    const drive = <T>(promise: Promise<T>): Promise<T> => promise;
    // Every source delete takes a day of real time unless stopped.
    await pool.fake.addFault({ match: { task: { kind: 'purgeImage', phase: 'delete' } }, action: { phaseDelayMs: 24 * 3600 * 1000 } });
    const [honoured, ignored] = [pool.disks[0]!, pool.disks[1]!];

    const first = await moveOf(honoured, { wipeAfterDelete: true });
    await drive(reach(first, 'deleting-source'));
    expect((await pool.fake.listTasks()).filter((t) => t.kind === 'purgeImage' && t.state === 'running')).to.have.length(1);
    const stopped = await drive(first.outcome);
    expect(stopped).to.include({ result: 'moved', failedPhase: 'delete-source' });
    expect(stopped.error?.code).to.equal(CODE.stopped);
    expect(stopped.availableAt).to.be.a('number');
    // Tracked, unlike the engine before 2022 that dropped the image from its database only.
    expect(stopped.leftovers.map((l) => [l.domainId, l.imageId])).to.deep.equal([[IDS.fileDomain, honoured.image]]);
    expect(await statuses(honoured.image)).to.deep.equal(allOn(honoured, IDS.blockDomain, 'OK'));
    expect(await auditTypes(first.moveId)).to.deep.equal([2008, 9500, 2053, 2010]);
    expect(calls('Task.stop')).to.equal(1);
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});

    // Task.stop refused: after the stop's grace the move ends anyway, the task forgotten and said so.
    await pool.fake.addFault({ match: { method: 'Task.stop' }, action: { error: CODE.generic } });
    const second = await moveOf(ignored, { wipeAfterDelete: true });
    await drive(reach(second, 'deleting-source'));
    const forgotten = await drive(second.outcome);
    expect(forgotten).to.include({ result: 'moved', failedPhase: 'delete-source' });
    expect(forgotten.leftovers.map((l) => [l.domainId, l.imageId])).to.deep.equal([[IDS.fileDomain, ignored.image]]);
    expect(await auditTypes(second.moveId)).to.deep.equal([2008, 9500, 2053, 2010, 9501]);
    expect(await statuses(ignored.image)).to.deep.equal(allOn(ignored, IDS.blockDomain, 'OK'));
    // The delete still runs on the SPM: nothing pretended it was cleared.
    expect(Object.values(await spm().Host.getAllTasksStatuses()).map((s) => s.taskState)).to.deep.equal(['running']);
  });

  it('row 3: a slow source delete after the copy is followed to its end by the same move, the disk usable on the target meanwhile', async function () {
    await start();
    await pool.fake.addFault({ match: { task: { kind: 'purgeImage', phase: 'delete' } }, action: { phaseDelayMs: 1000 }, times: 1 });
    const disk = pool.disks[0]!;
    const handle = await moveOf(disk);
    const order: string[] = [];
    handle.on('available', () => order.push('available'));
    handle.on('state', (move: MoveRecord) => order.push(move.state));
    await reach(handle, 'deleting-source');
    // Available before the delete ends: the mapping already says the target, OK.
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.blockDomain, 'OK'));
    const outcome = await handle.outcome;
    // (copy-submitting may come before the listener: the order from the copy on is what counts.)
    expect(order.slice(order.indexOf('copying'))).to.deep.equal(['copying', 'source-delete-submitting', 'available', 'deleting-source', 'done']);
    expect(outcome).to.include({ result: 'moved', failedPhase: null, error: null });
    expect(phases(outcome)).to.deep.equal([
      ['copy', 'succeeded'],
      ['delete-source', 'succeeded'],
    ]);
    expect(outcome.phases[1]!.endedAt!).to.be.greaterThan(outcome.availableAt!);
    expect(await auditTypes(handle.moveId)).to.deep.equal([2008, 2010]);
    expect(await imagesOn(IDS.fileDomain)).to.not.include(disk.image);
    await expectNothingLeftOnSpm();
  });

  it('row 4: a second move of a moving disk is refused, from this orchestrator and from another one on the same store', async function () {
    await start();
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { phaseDelayMs: 500 }, times: 1 });
    const disk = pool.disks[1]!;
    const first = await moveOf(disk);
    await reach(first, 'copying');
    const otherStore = SqliteMoveStore.open({ path: dbPath });
    const other = newOrchestrator({}, otherStore);
    cleanups.push(() => otherStore.close(), () => other.close());
    for (const attempt of [moveOf(disk), other.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain })]) {
      const error = await attempt.then(
        () => expect.fail('a second move was accepted'),
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(MoveStoreError);
      expect((error as MoveStoreError).code).to.equal('DISK_ALREADY_MOVING');
    }
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'LOCKED'));
    expect((await first.outcome).result).to.equal('moved');
    expect(calls('Image.move')).to.equal(1);
    expect(await store.listMoves({ diskId: disk.image })).to.have.length(1);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.blockDomain, 'OK'));
  });

  it('row 5: every volume of a snapshot chain is locked for the copy and unlocked after it, on the source when it is cancelled, on the target when it succeeds', async function () {
    await start({ chainDisks: 2 });
    const [cancelled, moved] = [pool.chainDisks[0]!, pool.chainDisks[1]!];
    expect(cancelled.volumes).to.have.length(3);
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' }, image: cancelled.image }, action: { hang: true }, times: 1 });

    const hanging = await moveOf(cancelled);
    await reach(hanging, 'copying');
    expect(await statuses(cancelled.image)).to.deep.equal(allOn(cancelled, IDS.fileDomain, 'LOCKED'));
    await orchestrator.cancel(hanging.moveId);
    expect((await hanging.outcome).result).to.equal('cancelled');
    expect(await statuses(cancelled.image)).to.deep.equal(allOn(cancelled, IDS.fileDomain, 'OK'));

    const outcome = await (await moveOf(moved)).outcome;
    expect(outcome.result).to.equal('moved');
    expect(await statuses(moved.image)).to.deep.equal(allOn(moved, IDS.blockDomain, 'OK'));
    const onTarget = await spm().Image.getVolumes({ imageID: moved.image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain });
    expect([...onTarget].sort()).to.deep.equal([...moved.volumes].sort());
    for (const [index, volumeID] of moved.volumes.entries()) {
      const info = await spm().Volume.getInfo({ volumeID, imageID: moved.image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain });
      expect(info.legality).to.equal('LEGAL');
      if (index > 0) expect(info.parent).to.equal(moved.volumes[index - 1]);
    }
    await expectNothingLeftOnSpm();
  });

  it('row 6: Image.delete answering 256 is checked against the domain: an image already gone counts as deleted, one still there is a leftover (2025)', async function () {
    await start();
    const [failedCopy, movedDisk] = [pool.disks[0]!, pool.disks[1]!];
    // A copy that fails: VDSM's rollback removes the partial target, then the cleanup delete answers 256.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { failAt: 0.5, error: CODE.copyFailed }, times: 1 });
    await pool.fake.addFault({ match: { method: 'Image.delete' }, action: { error: CODE.imageDelete }, times: 1 });
    const gone = await (await moveOf(failedCopy)).outcome;
    expect(gone).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(gone.error?.code).to.equal(CODE.copyFailed);
    expect(calls('Image.delete')).to.equal(1);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(failedCopy.image);
    expect(gone.leftovers).to.deep.equal([]);
    expect(phases(gone)).to.deep.equal([
      ['copy', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    expect(await auditTypes(gone.moveId)).to.deep.equal([2008, 2011]);

    // The source delete answers 256 every time and the source still holds the image: a leftover, the disk OK on the target.
    await pool.fake.addFault({ match: { method: 'Image.delete' }, action: { error: CODE.imageDelete } });
    const kept = await (await moveOf(movedDisk)).outcome;
    expect(kept).to.include({ result: 'moved', failedPhase: 'delete-source' });
    expect(kept.error?.code).to.equal(CODE.imageDelete);
    expect(await imagesOn(IDS.fileDomain)).to.include(movedDisk.image);
    expect(kept.leftovers.map((l) => [l.domainId, l.imageId])).to.deep.equal([[IDS.fileDomain, movedDisk.image]]);
    expect(await auditTypes(kept.moveId)).to.deep.equal([2008, 2025, 2010]);
    expect(await statuses(movedDisk.image)).to.deep.equal(allOn(movedDisk, IDS.blockDomain, 'OK'));
    await expectNothingLeftOnSpm();
  });

  it('row 7: the cleanup delete of a target that was never left (268 ImageDoesNotExistInSD) counts as clean', async function () {
    await start();
    const disk = pool.disks[2]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { failAt: 0.5, error: CODE.copyFailed }, times: 1 });
    const handle = await moveOf(disk);
    const outcome = await handle.outcome;
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
    // The delete really went out and VDSM really answered 268 (no rule made it up): the rollback had removed the target.
    expect(calls('Image.delete')).to.equal(1);
    expect(await taskOf(handle.moveId, 'delete-target')).to.equal(undefined);
    expect(phases(outcome)).to.deep.equal([
      ['copy', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    expect(outcome.leftovers).to.deep.equal([]);
    expect(await auditTypes(handle.moveId)).to.deep.equal([2008, 2011]);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    await expectNothingLeftOnSpm();
  });

  it('row 8: Task.clear refused (410) is retried until it works, and a clear left undone by a stop is done by the next resume()', async function () {
    await start();
    const [retried, resumed] = [pool.disks[0]!, pool.disks[1]!];
    await pool.fake.addFault({ match: { method: 'Task.clear' }, action: { error: CODE.taskState }, times: 3 });
    const outcome = await (await moveOf(retried)).outcome;
    expect(outcome.result).to.equal('moved');
    const refused = events.filter((e) => e.type === 'clear-error');
    expect(refused).to.have.length(3);
    for (const e of refused) expect(((e as { error: VdsmError }).error).code).to.equal(CODE.taskState);
    expect(calls('Task.clear')).to.equal(5);
    expect((await store.listTasks({ moveId: outcome.moveId })).map((t) => t.state)).to.deep.equal(['cleared', 'cleared']);
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});

    // The delete's clear fails for good; the process stops with the move done and its task still on the SPM.
    const failing = await pool.fake.addFault({ match: { method: 'Task.clear' }, action: { error: CODE.generic }, after: 1 });
    const handle = await moveOf(resumed);
    await reach(handle, 'done');
    const deleteTask = (await taskOf(handle.moveId, 'delete-source'))!;
    expect(deleteTask.state).to.equal('ended');
    await until(() => events.some((e) => e.type === 'clear-error' && e.taskId === deleteTask.vdsmTaskId), 'the delete task clear refused');
    orchestrator.close();
    expect(Object.keys(await spm().Host.getAllTasksStatuses())).to.deep.equal([deleteTask.vdsmTaskId]);
    await pool.fake.removeFault(failing.id);
    orchestrator = newOrchestrator();
    const handles = await orchestrator.resume();
    expect(handles.map((h) => h.moveId)).to.deep.equal([handle.moveId]);
    expect((await handles[0]!.outcome).result).to.equal('moved');
    expect((await taskOf(handle.moveId, 'delete-source'))!.state).to.equal('cleared');
    await expectNothingLeftOnSpm();
  });

  it('row 9: no finished task is left on the SPM, so the SPM can be switched and the next move runs on the new one', async function () {
    await start();
    const [before, after] = [pool.disks[0]!, pool.disks[1]!];
    expect((await (await moveOf(before)).outcome).result).to.equal('moved');
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});
    expect(await spm().StoragePool.spmStop({ storagepoolID: IDS.pool })).to.equal(true);
    const host2 = pool.clients[1]!;
    const started = await host2.StoragePool.spmStart({ storagepoolID: IDS.pool, prevID: -1, prevLver: '0', enableScsiFencing: 'false' });
    await until(async () => (await host2.Task.getStatus({ taskID: started })).taskState === 'finished', 'spmStart finished');
    expect((await host2.Task.getStatus({ taskID: started })).taskResult).to.equal('success');
    await host2.Task.clear({ taskID: started });
    // The new SPM loaded the pool's tasks: none.
    expect(await host2.Host.getAllTasksStatuses()).to.deep.equal({});

    const outcome = await (await moveOf(after)).outcome;
    expect(outcome.result).to.equal('moved');
    expect(events.some((e) => e.type === 'spm' && e.spm.startsWith('host-2@'))).to.equal(true);
    expect(await host2.Host.getAllTasksStatuses()).to.deep.equal({});
  });

  it('row 10: a task missing from the status list for several polls is not failed (Task.getStatus finds it)', async function () {
    await start();
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { phaseDelayMs: 500 }, times: 1 });
    // Twice the polls after which the engine would have failed it.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage' } }, action: { hideForPolls: 6 } });
    const outcome = await (await moveOf(disk)).outcome;
    expect(await firings('hideForPolls')).to.equal(6);
    expect(calls('Task.getStatus')).to.be.at.least(1);
    expect(outcome).to.include({ result: 'moved', failedPhase: null });
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.blockDomain, 'OK'));
    await expectNothingLeftOnSpm();
  });

  it('row 10: a task cleared by someone else is unknown only once Task.getStatus says 401, and then the move takes its failure path', async function () {
    await start();
    const disk = pool.disks[1]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { hang: true }, times: 1 });
    await pool.fake.addFault({ match: { task: { kind: 'moveImage' } }, action: { hideForPolls: 100_000 } });
    // While the task is being taken away, Task.getStatus cannot answer: the orchestrator cannot have seen it end.
    const blind = await pool.fake.addFault({ match: { method: 'Task.getStatus' }, action: { error: CODE.generic } });
    const handle = await moveOf(disk);
    await reach(handle, 'copying');
    const copyTask = (await taskOf(handle.moveId, 'copy'))!.vdsmTaskId!;
    await stopAndClearBehindItsBack(copyTask);
    await until(() => calls('Task.getStatus') >= 2, 'the orchestrator asked Task.getStatus');
    expect(handle.state).to.equal('copying');
    await pool.fake.removeFault(blind.id);

    const outcome = await handle.outcome;
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(outcome.error?.code).to.equal(CODE.unknownTask);
    expect(outcome.error?.message).to.contain('vanished');
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});
  });

  it('row 11: a copy that never ends is stopped at the zombie limit (9500) and the move takes its failure path, cleanup included', async function () {
    await start({}, { tracker: { zombieAfterMs: 300 } });
    const disk = pool.disks[2]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { hang: true }, times: 1 });
    const handle = await moveOf(disk);
    const outcome = await handle.outcome;
    expect(calls('Task.stop')).to.equal(1);
    expect(events.filter((e) => e.type === 'zombie')).to.have.length(1);
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(outcome.error?.code).to.equal(CODE.stopped);
    expect(phases(outcome)).to.deep.equal([
      ['copy', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    expect(await auditTypes(handle.moveId)).to.deep.equal([2008, 9500, 2011]);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
    await expectNothingLeftOnSpm();
  });

  it('row 12: after a restart, a task the SPM lost ends its phase as failed: cleanup, unlock, never LOCKED', async function () {
    await start();
    const disk = pool.disks[3]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { hang: true }, times: 1 });
    const handle = await moveOf(disk);
    await reach(handle, 'copying');
    orchestrator.close();
    // While no orchestrator runs, the task goes away on the SPM.
    await stopAndClearBehindItsBack((await taskOf(handle.moveId, 'copy'))!.vdsmTaskId!);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'LOCKED'));

    orchestrator = newOrchestrator();
    const [resumed] = await orchestrator.resume();
    expect(resumed!.moveId).to.equal(handle.moveId);
    const outcome = await resumed!.outcome;
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(outcome.error?.code).to.equal(CODE.unknownTask);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    expect(await auditTypes(handle.moveId)).to.deep.equal([2008, 2011]);
    expect(await imagesOn(IDS.fileDomain)).to.include(disk.image);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
    await expectNothingLeftOnSpm();
  });

  it('row 13: garbled status entries are reported and looked at again, never read as a missing or failed task', async function () {
    await start();
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { phaseDelayMs: 300 }, times: 1 });
    await pool.fake.addFault({ match: { task: { kind: 'moveImage' } }, action: { malformedStatus: true }, times: 6 });
    const outcome = await (await moveOf(disk)).outcome;
    expect(await firings('malformedStatus')).to.equal(6);
    expect(events.filter((e) => e.type === 'malformed')).to.have.length(6);
    // Not one of them was taken for a miss.
    expect(calls('Task.getStatus')).to.equal(0);
    expect(outcome).to.include({ result: 'moved', failedPhase: null });
    await expectNothingLeftOnSpm();
  });

  it('row 14: a copy that ends cleanSuccess or cleanFailure is a failed copy, and what cleanFailure left on the target is deleted', async function () {
    await start();
    const [cleanSuccess, cleanFailure] = [pool.disks[0]!, pool.disks[1]!];
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' }, image: cleanSuccess.image }, action: { finish: 'cleanSuccess' }, times: 1 });
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' }, image: cleanFailure.image }, action: { finish: 'cleanFailure' }, times: 1 });
    const [rolledBack, leftBehind] = await Promise.all([(await moveOf(cleanSuccess)).outcome, (await moveOf(cleanFailure)).outcome]);
    for (const outcome of [rolledBack, leftBehind]) {
      expect(outcome).to.include({ result: 'failed', failedPhase: 'copy', availableAt: null });
      expect(outcome.error?.code).to.equal(CODE.generic);
      expect(outcome.leftovers).to.deep.equal([]);
    }
    // cleanSuccess: VDSM's rollback removed the target (the delete answered 268); cleanFailure: a delete task removed it.
    expect(await taskOf(rolledBack.moveId, 'delete-target')).to.equal(undefined);
    expect((await taskOf(leftBehind.moveId, 'delete-target'))?.vdsmTaskId).to.be.a('string');
    for (const disk of [cleanSuccess, cleanFailure]) {
      expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
      expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    }
    await expectNothingLeftOnSpm();
  });

  it('row 15: the SPM lost mid-copy: polling follows the new SPM, the recovered task counts as failed, and the outcome says what storage holds', async function () {
    await start();
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { loseSpm: true, toHost: 2 }, times: 1 });
    const outcome = await (await moveOf(disk)).outcome;
    const spms = events.filter((e): e is Extract<TrackerEvent, { type: 'spm' }> => e.type === 'spm').map((e) => e.spm.split('@')[0]);
    expect(spms).to.deep.equal(['host-1', 'host-2']);
    const host2 = pool.clients[1]!;
    // The new SPM rolled the copy back: the move failed, and storage agrees.
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy', availableAt: null });
    expect(await host2.StorageDomain.getImages({ storagedomainID: IDS.blockDomain })).to.not.include(disk.image);
    expect(await host2.StorageDomain.getImages({ storagedomainID: IDS.fileDomain })).to.include(disk.image);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    expect(await host2.Host.getAllTasksStatuses()).to.deep.equal({});
    // And the disk moves on a second try, on the new SPM.
    expect((await (await moveOf(disk)).outcome).result).to.equal('moved');
    expect(await host2.StorageDomain.getImages({ storagedomainID: IDS.blockDomain })).to.include(disk.image);
  });

  it('row 15, single verb: the SPM lost as the source delete starts, the recovered task failed: the copy left on the target is deleted (found by test/chaos.test.ts)', async function () {
    await start();
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'delete' } }, action: { loseSpm: true, toHost: 2 }, times: 1 });
    const outcome = await (await moveOf(disk, { legacy: true })).outcome;
    expect(await firings('loseSpm')).to.equal(1);
    const host2 = pool.clients[1]!;
    // The task failed with a whole copy on the target: cleaned up as a failed copy's target is, the disk stays on the source.
    expect(outcome).to.include({ result: 'failed', mode: 'legacy', failedPhase: 'legacy-move', availableAt: null });
    expect(phases(outcome)).to.deep.equal([
      ['legacy-move', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    expect(outcome.leftovers).to.deep.equal([]);
    expect(await host2.StorageDomain.getImages({ storagedomainID: IDS.blockDomain })).to.not.include(disk.image);
    expect(await host2.StorageDomain.getImages({ storagedomainID: IDS.fileDomain })).to.include(disk.image);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    expect(await host2.Host.getAllTasksStatuses()).to.deep.equal({});
  });

  it('single verb: the look at both domains after its end is asked again while VDSM answers errors: the run ends with its outcome (found by test/chaos.test.ts)', async function () {
    await start();
    const [moved, failed] = [pool.disks[0]!, pool.disks[1]!];
    // The source's listing after the task fails twice (the first, the disk's discovery, is spared).
    await pool.fake.addFault({ match: { method: 'StorageDomain.getImages', domain: IDS.fileDomain }, action: { error: CODE.generic }, times: 2, after: 1 });
    const outcome = await (await moveOf(moved, { legacy: true })).outcome;
    expect(outcome).to.include({ result: 'moved', mode: 'legacy', failedPhase: null });
    expect(await firings('error')).to.equal(2);
    // A failed task, and the target's listing after it unreachable twice (358; the start's look is spared): failed, the disk on the source.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { failAt: 0.5, error: CODE.copyFailed }, times: 1 });
    await pool.fake.addFault({ match: { method: 'StorageDomain.getImages', domain: IDS.blockDomain }, action: { error: 358 }, times: 2, after: 1 });
    const failedOutcome = await (await moveOf(failed, { legacy: true })).outcome;
    expect(failedOutcome).to.include({ result: 'failed', mode: 'legacy', failedPhase: 'legacy-move' });
    expect(await firings('error')).to.equal(4);
    expect(await statuses(failed.image)).to.deep.equal(allOn(failed, IDS.fileDomain, 'OK'));
    await expectNothingLeftOnSpm();
  });

  it('row 16: Image.move and Image.delete answered after the call timeout are sent once: the task that exists is adopted', async function () {
    await start({}, { tracker: { callTimeoutMs: 1000 } });
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { method: 'Image.move' }, action: { answerAfterMs: 3000 }, times: 1 });
    await pool.fake.addFault({ match: { method: 'Image.delete' }, action: { answerAfterMs: 3000 }, times: 1 });
    const outcome = await (await moveOf(disk)).outcome;
    expect(outcome).to.include({ result: 'moved', failedPhase: null });
    expect(await firings('answerAfterMs')).to.equal(2);
    expect(calls('Image.move')).to.equal(1);
    expect(calls('Image.delete')).to.equal(1);
    expect(calls('Host.getAllTasksInfo')).to.be.at.least(2);
    expect(await imagesOn(IDS.blockDomain)).to.include(disk.image);
    expect(await imagesOn(IDS.fileDomain)).to.not.include(disk.image);
    await expectNothingLeftOnSpm();
  });

  it('row 16: Image.move and Image.delete that start only after the call timeout (VDSM busy) are sent once: the late task is found, not sent again', async function () {
    // Looks come a poll apart (300 ms); each verb starts 100 ms after its caller gave up, before the second look.
    await start({}, { pollIntervalMs: 300, tracker: { callTimeoutMs: 1000 } });
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { method: 'Image.move' }, action: { startAfterMs: 1100 }, times: 1 });
    await pool.fake.addFault({ match: { method: 'Image.delete' }, action: { startAfterMs: 1100 }, times: 1 });
    const outcome = await (await moveOf(disk)).outcome;
    expect(outcome).to.include({ result: 'moved', failedPhase: null });
    expect(await firings('startAfterMs')).to.equal(2);
    expect(calls('Image.move')).to.equal(1);
    expect(calls('Image.delete')).to.equal(1);
    expect(await imagesOn(IDS.fileDomain)).to.not.include(disk.image);
    await expectNothingLeftOnSpm();
  });

  it('row 17: heart-beats stop while Image.move waits for its answer: the call fails (5022), the client reconnects, the task is adopted, nothing is sent twice', async function () {
    // The client wants a beat every second (VDSM's floor); the fake then goes silent on the SPM's connection.
    await start({ clientOptions: { heartbeat: [0, 1000] } });
    const dropped: (Error | undefined)[] = [];
    pool.clients[0]!.onDisconnect((error) => dropped.push(error));
    const disk = pool.disks[1]!;
    await pool.fake.addFault({ match: { method: 'Image.move', host: 1 }, action: { stopHeartbeats: true }, times: 1 });
    await pool.fake.addFault({ match: { method: 'Image.move', host: 1 }, action: { noAnswer: true }, times: 1 });
    const outcome = await (await moveOf(disk)).outcome;
    expect(dropped).to.have.length(1);
    expect(dropped[0]?.name).to.equal('HeartbeatTimeoutError');
    expect(outcome).to.include({ result: 'moved', failedPhase: null });
    expect(calls('Image.move')).to.equal(1);
    expect(pool.clients[0]!.connected).to.equal(true);
    await expectNothingLeftOnSpm();
  });

  describe('row 18: certificates', function () {
    let pki: TempTestPki;
    before(async function () {
      pki = await createTempTestPki();
    });
    after(async function () {
      await pki?.remove();
    });

    /** A server certificate of the test CA that expired in 2021 (openssl ca sets the dates `req -x509` cannot). */
    async function expiredServerDir(): Promise<string> {
      const work = join(folder, 'expired');
      mkdirSync(work, { recursive: true });
      writeFileSync(join(work, 'index.txt'), '');
      writeFileSync(join(work, 'serial'), '01\n');
      writeFileSync(
        join(work, 'ca.cnf'),
        [
          '[ca]',
          'default_ca = test_ca',
          '[test_ca]',
          `database = ${join(work, 'index.txt')}`,
          `serial = ${join(work, 'serial')}`,
          `new_certs_dir = ${work}`,
          'default_md = sha256',
          'policy = any_name',
          'unique_subject = no',
          '[any_name]',
          'commonName = supplied',
          '[leaf]',
          'subjectAltName = DNS:localhost,IP:127.0.0.1',
          'extendedKeyUsage = serverAuth,clientAuth',
          '',
        ].join('\n'),
      );
      const key = join(work, 'key.pem');
      const csr = join(work, 'server.csr');
      const cert = join(work, 'cert.pem');
      await run('openssl', ['req', '-new', '-config', '/dev/null', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-subj', '/CN=localhost', '-keyout', key, '-out', csr]);
      await run('openssl', [
        'ca', '-batch', '-config', join(work, 'ca.cnf'), '-cert', join(pki.dir, 'work', 'CA.pem'), '-keyfile', join(pki.dir, 'work', 'CA.key'),
        '-in', csr, '-out', cert, '-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-extensions', 'leaf', '-notext',
      ]);
      const dir = join(work, 'pki');
      for (const [part, from] of [['key', key], ['cert', cert]] as const) {
        mkdirSync(join(dir, PKI_LAYOUT[part], '..'), { recursive: true });
        writeFileSync(join(dir, PKI_LAYOUT[part]), readFileSync(from));
      }
      mkdirSync(join(dir, PKI_LAYOUT.ca, '..'), { recursive: true });
      writeFileSync(join(dir, PKI_LAYOUT.ca), pki.caCert);
      return dir;
    }

    /** A TCP relay in front of the fake, counting connections: how many times a client tried. */
    function countingRelay(port: number): Promise<{ server: Server; port: number; connections: () => number }> {
      let connections = 0;
      const sockets = new Set<Socket>();
      const server = createServer((inbound) => {
        connections += 1;
        const outbound = new Socket();
        sockets.add(inbound).add(outbound);
        outbound.connect(port, '127.0.0.1');
        inbound.pipe(outbound).pipe(inbound);
        const end = (): void => {
          inbound.destroy();
          outbound.destroy();
        };
        inbound.on('error', end).on('close', end);
        outbound.on('error', end).on('close', end);
      });
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => resolve());
          }),
      );
      return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, connections: () => connections })));
    }

    for (const [label, serverPki] of [
      ['expired', 'expired'],
      ['signed by another CA', 'rogue'],
    ] as const) {
      it(`row 18: a server certificate ${label}: moveDisk fails with the TLS reason after the client's few retries, no loop, nothing recorded`, async function () {
        const pkiDir = serverPki === 'expired' ? await expiredServerDir() : pki.rogue.dir;
        const fake = await startFakeVdsm({ pkiDir, tlsOnly: true, stateDir: join(folder, 'state'), hosts: 2 });
        cleanups.push(() => fake.close());
        const relays = await Promise.all(fake.hosts.map((address) => countingRelay(address.stomp.port)));
        const clients = relays.map(
          (relay) => new VdsmClient({ transport: 'tls', host: 'localhost', port: relay.port, tls: pki.client.credentials, reconnect: { retries: 2, minTimeoutMs: 10 } }),
        );
        cleanups.push(() => Promise.all(clients.map((client) => client.close())));
        store = SqliteMoveStore.open({ path: dbPath });
        const tls = new MoveOrchestrator({ copyPath: 'spm', store, hosts: clients.map((client, index) => poolHost(`host-${index + 1}`, client)), pollIntervalMs: POLL_MS });
        cleanups.push(() => tls.close());

        const error = await tls.moveDisk({ poolId: IDS.pool, diskId: IDS.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain }).then(
          () => expect.fail('moved over a bad certificate'),
          (e: unknown) => e as Error,
        );
        expect(error).to.be.instanceOf(NoSpmError);
        expect(error.message).to.match(serverPki === 'expired' ? /certificate has expired/ : /unable to verify|self.signed|certificate/i);
        // One attempt and the two retries per host, then the error: a bounded backoff, not a connect/close loop.
        expect(relays.map((relay) => relay.connections())).to.deep.equal([3, 3]);
        expect(await store.listMoves({})).to.deep.equal([]);
        expect(clients.map((client) => client.connected)).to.deep.equal([false, false]);
      });
    }
  });

  it('row 19: a failed source delete task leaves the disk OK on the target, never ILLEGAL: a leftover and audit 2053', async function () {
    await start();
    const disk = pool.disks[3]!;
    await pool.fake.addFault({ match: { task: { kind: 'purgeImage', phase: 'delete' } }, action: { failAt: 0, error: CODE.imageDelete }, times: 1 });
    const outcome = await (await moveOf(disk)).outcome;
    expect(outcome).to.include({ result: 'moved', failedPhase: 'delete-source' });
    expect(outcome.error?.code).to.equal(CODE.imageDelete);
    expect(outcome.availableAt).to.be.a('number');
    expect(outcome.leftovers.map((l) => [l.domainId, l.imageId])).to.deep.equal([[IDS.fileDomain, disk.image]]);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.blockDomain, 'OK'));
    const onTarget = await spm().Volume.getInfo({ volumeID: disk.volume, imageID: disk.image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain });
    expect(onTarget.legality).to.equal('LEGAL');
    expect(await auditTypes(outcome.moveId)).to.deep.equal([2008, 2053, 2010]);
    await expectNothingLeftOnSpm();
  });

  it('row 20: a copy failing part-way: what is left on the target is deleted; a cleanup that cannot start is recorded as a leftover (2026)', async function () {
    await start();
    const [atHalf, leftIllegal, notCleaned] = [pool.disks[0]!, pool.disks[1]!, pool.disks[2]!];
    // At 50 %: the task stops there and VDSM's own rollback removes the partial target.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' }, image: atHalf.image }, action: { failAt: 0.5, error: CODE.copyFailed }, times: 1 });
    const half = await (await moveOf(atHalf)).outcome;
    expect(half).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(half.error?.code).to.equal(CODE.copyFailed);
    expect((await pool.fake.faultLog()).find((f) => f['kind'] === 'failAt')).to.not.equal(undefined);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(atHalf.image);
    expect(half.leftovers).to.deep.equal([]);

    // A rollback that fails leaves the target's volumes (ILLEGAL): the orchestrator's delete task removes them.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' }, image: leftIllegal.image }, action: { finish: 'cleanFailure', error: CODE.copyFailed }, times: 1 });
    const illegal = await moveOf(leftIllegal);
    await reach(illegal, 'target-delete-submitting');
    expect(await imagesOn(IDS.blockDomain)).to.include(leftIllegal.image);
    const cleaned = await illegal.outcome;
    expect(phases(cleaned)).to.deep.equal([
      ['copy', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(leftIllegal.image);
    expect(cleaned.leftovers).to.deep.equal([]);

    // The same, and the cleanup delete is refused every time: the target's leftover is recorded, with 2026.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' }, image: notCleaned.image }, action: { finish: 'cleanFailure', error: CODE.copyFailed }, times: 1 });
    await pool.fake.addFault({ match: { method: 'Image.delete', image: notCleaned.image }, action: { error: CODE.generic } });
    const refused = await (await moveOf(notCleaned)).outcome;
    expect(refused).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(refused.leftovers.map((l) => [l.domainId, l.imageId])).to.deep.equal([[IDS.blockDomain, notCleaned.image]]);
    expect(await imagesOn(IDS.blockDomain)).to.include(notCleaned.image);
    expect(await auditTypes(refused.moveId)).to.deep.equal([2008, 2026, 2011]);
    for (const disk of [atHalf, leftIllegal, notCleaned]) expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
  });

  it('row 20: a cleanup delete refused for a while (its domain read failing, then the verb) is sent again: the ILLEGAL target goes, nothing is left (found by test/chaos.test.ts)', async function () {
    await start();
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { finish: 'cleanFailure', error: CODE.copyFailed }, times: 1 });
    // The cleanup's read of the target's type fails once, then its Image.delete is refused twice.
    await pool.fake.addFault({ match: { method: 'StorageDomain.getInfo', domain: IDS.blockDomain }, action: { error: CODE.generic }, times: 1 });
    await pool.fake.addFault({ match: { method: 'Image.delete' }, action: { error: CODE.generic }, times: 2 });
    const outcome = await (await moveOf(disk)).outcome;
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(phases(outcome)).to.deep.equal([
      ['copy', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    expect(outcome.leftovers).to.deep.equal([]);
    expect(await firings('error')).to.equal(3);
    expect(calls('Image.delete')).to.equal(3);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
    expect(await auditTypes(outcome.moveId)).to.deep.equal([2008, 2011]);
    // No ILLEGAL volume is left outside a task.
    await expectNothingLeftOnSpm();
  });

  it('row 21: an image already on the target, legal or ILLEGAL, is never overwritten: the move is refused before anything is locked', async function () {
    await start();
    const [legal, illegal] = [pool.disks[0]!, pool.disks[1]!];
    const watcher = new TaskWatcher({ caller: spm(), intervalMs: 20 });
    cleanups.push(() => watcher.close());
    const copyAround = async (disk: SmallDisk) =>
      watcher.wait(await moveImage(spm(), { imageID: disk.image, storagepoolID: IDS.pool, srcDomainID: IDS.fileDomain, dstDomainID: IDS.blockDomain, operation: 'copy' }), { clear: true });
    // Someone else copied one disk; another one's copy failed and left its target ILLEGAL (VDSM's move would force over it).
    expect((await copyAround(legal)).kind).to.equal('success');
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { finish: 'cleanFailure' }, times: 1 });
    expect((await copyAround(illegal)).kind).to.equal('failure');
    const illegalVolume = await spm().Volume.getInfo({ volumeID: illegal.volume, imageID: illegal.image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain });
    expect(illegalVolume.legality).to.equal('ILLEGAL');

    for (const disk of [legal, illegal]) {
      const outcome = await (await moveOf(disk)).outcome;
      expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
      expect(outcome.error?.message).to.contain('already holds image');
      expect(outcome.phases).to.deep.equal([]);
      expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
      expect(await imagesOn(IDS.blockDomain)).to.include(disk.image);
    }
    expect(calls('Image.move')).to.equal(0);
    expect(calls('Image.delete')).to.equal(0);
    const still = await spm().Volume.getInfo({ volumeID: illegal.volume, imageID: illegal.image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain });
    expect(still.legality).to.equal('ILLEGAL');
  });

  it('row 21: a target that cannot be listed (358) ends the move failed before anything is locked, instead of a queued move behind an error (found by test/chaos.test.ts)', async function () {
    await start();
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { method: 'StorageDomain.getImages', domain: IDS.blockDomain }, action: { error: 358 }, times: 1 });
    const outcome = await (await moveOf(disk)).outcome;
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(outcome.error).to.include({ code: 358 });
    expect(outcome.phases).to.deep.equal([]);
    expect(await statuses(disk.image)).to.deep.equal(allOn(disk, IDS.fileDomain, 'OK'));
    expect(calls('Image.move')).to.equal(0);
    // Nothing is left to resume, and the next try moves it.
    expect(await orchestrator.resume()).to.deep.equal([]);
    expect((await (await moveOf(disk)).outcome).result).to.equal('moved');
  });
});
