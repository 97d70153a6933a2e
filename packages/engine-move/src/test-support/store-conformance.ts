/**
 * The move store's conformance suite: what every MoveStore implementation
 * must do, run by each implementation's own test file against a real database
 * (an SQLite file, a PostgreSQL server). A behaviour the orchestrator relies on
 * belongs here, not in one store's tests, so the stores cannot drift apart.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { MoveStoreError } from '../store/move-store.js';
import type { MoveStore, Transition } from '../store/move-store.js';
import { AUDIT_TYPES } from '../store/records.js';
import type { DiskRecord, MoveRequest } from '../store/records.js';

/** A store under test, and ways to reach the same database again. */
export interface StoreHarness {
  readonly store: MoveStore;
  /** Closes nothing; opens another store (another connection) on the same database. */
  another(): Promise<MoveStore>;
  /** Closes every store it opened and removes the database. */
  destroy(): Promise<void>;
}

const POOL = '5f3a0a52-0c8e-4f4e-9d7e-000000000001';
const SRC = '5f3a0a52-0c8e-4f4e-9d7e-0000000000a1';
const DST = '5f3a0a52-0c8e-4f4e-9d7e-0000000000b1';

/** A disk of `count` volumes on `domainId`, base first, all OK. */
export function diskOf(count: number, domainId = SRC, diskId: string = randomUUID()): DiskRecord {
  const ids = Array.from({ length: count }, () => randomUUID());
  return {
    diskId,
    poolId: POOL,
    volumes: ids.map((volumeId, position) => ({
      volumeId,
      diskId,
      domainId,
      status: 'OK' as const,
      parentId: position === 0 ? null : ids[position - 1]!,
      position,
    })),
  };
}

export function requestFor(disk: DiskRecord, overrides: Partial<MoveRequest> = {}): MoveRequest {
  return {
    moveId: randomUUID(),
    poolId: disk.poolId,
    diskId: disk.diskId,
    srcDomainId: SRC,
    dstDomainId: DST,
    wipeAfterDelete: false,
    discard: false,
    mode: 'copy-delete',
    ...overrides,
  };
}

async function expectStoreError(promise: Promise<unknown>, code: MoveStoreError['code']): Promise<MoveStoreError> {
  try {
    await promise;
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(MoveStoreError);
    expect((error as MoveStoreError).code, (error as Error).message).to.equal(code);
    return error as MoveStoreError;
  }
  expect.fail(`expected MoveStoreError ${code}, but it resolved`);
}

/** The copy's start as the state machine writes it: lock, placeholder, phase. */
function startCopy(moveId: string, disk: DiskRecord, at: number): Transition {
  return {
    moveId,
    from: 'queued',
    to: 'copy-submitting',
    at,
    lockDisk: true,
    phaseStarted: { phase: 'copy' },
    taskPlaceholder: { phase: 'copy', verb: 'Image.move', domainId: DST, imageId: disk.diskId },
    audit: [{ type: AUDIT_TYPES.MOVE_STARTED, severity: 'normal', moveId, diskId: disk.diskId, message: 'moving' }],
  };
}

export function describeMoveStoreConformance(name: string, open: () => Promise<StoreHarness>): void {
  describe(`MoveStore conformance: ${name}`, function () {
    let harness: StoreHarness;
    let store: MoveStore;

    beforeEach(async function () {
      harness = await open();
      store = harness.store;
    });
    afterEach(async function () {
      await harness?.destroy();
    });

    describe('disks', function () {
      it('keeps a discovered disk with its chain base first and refuses to replace it', async function () {
        const disk = diskOf(3);
        await store.addDisk({ ...disk, volumes: [...disk.volumes].reverse() });
        const stored = await store.getDisk(disk.diskId);
        expect(stored).to.deep.equal(disk);
        await expectStoreError(store.addDisk(diskOf(1, SRC, disk.diskId)), 'BAD_TRANSITION');
        expect(await store.getDisk(disk.diskId)).to.deep.equal(disk);
      });

      it('answers undefined for a disk it never saw', async function () {
        expect(await store.getDisk(randomUUID())).to.equal(undefined);
      });

      it('refuses a disk whose chain is broken (gap in positions, parent outside the disk)', async function () {
        const disk = diskOf(2);
        await expectStoreError(
          store.addDisk({ ...disk, volumes: [disk.volumes[0]!, { ...disk.volumes[1]!, position: 2 }] }),
          'UNKNOWN_DISK',
        );
        await expectStoreError(
          store.addDisk({ ...disk, volumes: [disk.volumes[0]!, { ...disk.volumes[1]!, parentId: randomUUID() }] }),
          'UNKNOWN_DISK',
        );
        expect(await store.getDisk(disk.diskId)).to.equal(undefined);
      });
    });

    describe('creating a move', function () {
      it('records a queued move with what was asked, storing a newly discovered disk with it', async function () {
        const disk = diskOf(2);
        const request = requestFor(disk, { wipeAfterDelete: true, discard: true });
        const move = await store.createMove({ request, at: 1000, disk });
        expect(move).to.include({ ...request, state: 'queued', result: null, failedPhase: null, createdAt: 1000 });
        expect(move).to.include({ availableAt: null, doneAt: null, cancelRequested: false, error: null });
        expect(await store.getMove(request.moveId)).to.deep.equal(move);
        expect(await store.getDisk(disk.diskId)).to.deep.equal(disk);
        expect(await store.listMoves({ active: true })).to.deep.equal([move]);
      });

      it('refuses a second move of a disk that is already moving, and changes nothing', async function () {
        const disk = diskOf(2);
        const first = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply(startCopy(first.moveId, disk, 2));
        const before = await store.getDisk(disk.diskId);
        const second = requestFor(disk);
        const error = await expectStoreError(store.createMove({ request: second, at: 3 }), 'DISK_ALREADY_MOVING');
        expect(error.message).to.contain(first.moveId);
        expect(await store.getMove(second.moveId)).to.equal(undefined);
        expect(await store.getDisk(disk.diskId)).to.deep.equal(before);
        expect(await store.listMoves()).to.have.length(1);
      });

      it('lets a disk move again once its earlier move is done', async function () {
        const disk = diskOf(1);
        const first = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply({
          moveId: first.moveId,
          from: 'queued',
          to: 'done',
          at: 2,
          move: { result: 'failed', failedPhase: null, error: { code: 358, message: 'Storage domain does not exist' }, doneAt: 2 },
        });
        const again = await store.createMove({ request: requestFor(disk), at: 3 });
        expect(again.state).to.equal('queued');
        expect((await store.getMove(first.moveId))?.error).to.deep.equal({ code: 358, message: 'Storage domain does not exist' });
      });

      it('refuses an unknown disk, a disk not on the source, a disk not OK, the same domain twice, a reused id', async function () {
        const disk = diskOf(1);
        await expectStoreError(store.createMove({ request: requestFor(disk), at: 1 }), 'UNKNOWN_DISK');
        await store.addDisk(disk);
        await expectStoreError(store.createMove({ request: requestFor(disk, { srcDomainId: DST, dstDomainId: SRC }), at: 1 }), 'DISK_NOT_ON_SOURCE');
        await expectStoreError(store.createMove({ request: requestFor(disk, { dstDomainId: SRC }), at: 1 }), 'BAD_REQUEST');
        const locked = diskOf(2);
        await store.addDisk({ ...locked, volumes: [locked.volumes[0]!, { ...locked.volumes[1]!, status: 'ILLEGAL' }] });
        await expectStoreError(store.createMove({ request: requestFor(locked), at: 1 }), 'DISK_NOT_OK');
        const request = requestFor(disk);
        await store.createMove({ request, at: 1 });
        await expectStoreError(store.createMove({ request: { ...request, diskId: locked.diskId }, at: 1 }), 'MOVE_EXISTS');
        expect(await store.listMoves()).to.have.length(1);
      });
    });

    describe('transitions', function () {
      it('locks every volume with a compensation record, and restores the kept statuses', async function () {
        const disk = diskOf(3);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        const after = await store.apply(startCopy(moveId, disk, 2));
        expect(after.state).to.equal('copy-submitting');
        expect((await store.getDisk(disk.diskId))!.volumes.map((v) => v.status)).to.deep.equal(['LOCKED', 'LOCKED', 'LOCKED']);
        expect((await store.listCompensation(moveId)).map((c) => c.previousStatus)).to.deep.equal(['OK', 'OK', 'OK']);

        await store.apply({ moveId, from: 'copy-submitting', to: 'target-delete-submitting', at: 3, restoreDisk: true });
        expect(await store.getDisk(disk.diskId)).to.deep.equal(disk);
        expect(await store.listCompensation(moveId)).to.deep.equal([]);
      });

      it("switches every volume's mapping to the target and unlocks in one step", async function () {
        const disk = diskOf(3);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply(startCopy(moveId, disk, 2));
        const moved = await store.apply({
          moveId,
          from: 'copy-submitting',
          to: 'source-delete-submitting',
          at: 5,
          switchDisk: { domainId: DST, status: 'OK' },
          move: { availableAt: 5 },
        });
        expect(moved.availableAt).to.equal(5);
        const volumes = (await store.getDisk(disk.diskId))!.volumes;
        expect(volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[DST, 'OK'], [DST, 'OK'], [DST, 'OK']]);
        expect(await store.listCompensation(moveId)).to.deep.equal([]);
      });

      it('refuses a transition from a state the move is no longer in, and writes none of it', async function () {
        const disk = diskOf(2);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await expectStoreError(store.apply({ ...startCopy(moveId, disk, 2), from: 'copying' }), 'STALE_TRANSITION');
        expect(await store.getDisk(disk.diskId)).to.deep.equal(disk);
        expect(await store.listTasks({ moveId })).to.deep.equal([]);
        expect(await store.listAudit({ moveId })).to.deep.equal([]);
        expect((await store.getMove(moveId))!.version).to.equal(1);
      });

      it('writes nothing of a transition that fails part way (all or nothing)', async function () {
        const disk = diskOf(2);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        // Locks first, then names a task that does not exist: the lock must not stay.
        await expectStoreError(
          store.apply({ ...startCopy(moveId, disk, 2), taskPlaceholder: undefined, taskSubmitted: { phase: 'copy', vdsmTaskId: randomUUID() } }),
          'BAD_TRANSITION',
        );
        const move = await store.getMove(moveId);
        expect(move?.state).to.equal('queued');
        expect(await store.getDisk(disk.diskId)).to.deep.equal(disk);
        expect(await store.listCompensation(moveId)).to.deep.equal([]);
        expect(await store.listPhases(moveId)).to.deep.equal([]);
        expect(await store.listAudit({ moveId })).to.deep.equal([]);
      });

      it('refuses to end a move without a result', async function () {
        const disk = diskOf(1);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await expectStoreError(store.apply({ moveId, from: 'queued', to: 'done', at: 2 }), 'BAD_TRANSITION');
        expect((await store.getMove(moveId))?.state).to.equal('queued');
      });

      it('lets exactly one of two writers on the same database pass the same guard', async function () {
        const disk = diskOf(2);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        const other = await harness.another();
        const results = await Promise.allSettled([store.apply(startCopy(moveId, disk, 2)), other.apply(startCopy(moveId, disk, 3))]);
        const fulfilled = results.filter((r) => r.status === 'fulfilled');
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(fulfilled).to.have.length(1);
        expect(rejected).to.have.length(1);
        expect((rejected[0]!.reason as MoveStoreError).code).to.equal('STALE_TRANSITION');
        expect(await store.listCompensation(moveId)).to.have.length(2);
        expect(await other.listTasks({ moveId })).to.have.length(1);
      });

      it('keeps phases with their start, end, outcome and error, in order', async function () {
        const disk = diskOf(1);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply(startCopy(moveId, disk, 10));
        await store.apply({
          moveId,
          from: 'copy-submitting',
          to: 'target-delete-submitting',
          at: 20,
          restoreDisk: true,
          phaseEnded: { phase: 'copy', outcome: 'failed', error: { code: 253, message: 'Error moving image' } },
          phaseStarted: { phase: 'delete-target' },
          move: { failedPhase: 'copy', error: { code: 253, message: 'Error moving image' } },
        });
        const phases = await store.listPhases(moveId);
        expect(phases).to.deep.equal([
          { moveId, phase: 'copy', startedAt: 10, endedAt: 20, outcome: 'failed', error: { code: 253, message: 'Error moving image' } },
          { moveId, phase: 'delete-target', startedAt: 20, endedAt: null, outcome: null, error: null },
        ]);
        await expectStoreError(
          store.apply({ moveId, from: 'target-delete-submitting', to: 'deleting-target', at: 21, phaseEnded: { phase: 'copy', outcome: 'succeeded' } }),
          'BAD_TRANSITION',
        );
        await expectStoreError(
          store.apply({ moveId, from: 'target-delete-submitting', to: 'deleting-target', at: 21, phaseStarted: { phase: 'copy' } }),
          'BAD_TRANSITION',
        );
      });
    });

    describe('tasks', function () {
      it('goes placeholder, running with its VDSM id, ended with its code, then cleared', async function () {
        const disk = diskOf(1);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply(startCopy(moveId, disk, 2));
        const [placeholder] = await store.listTasks({ moveId });
        expect(placeholder).to.deep.equal({
          moveId,
          phase: 'copy',
          poolId: POOL,
          verb: 'Image.move',
          domainId: DST,
          imageId: disk.diskId,
          vdsmTaskId: null,
          state: 'placeholder',
          createdAt: 2,
          endedAt: null,
          endCode: null,
          endMessage: null,
        });
        const taskId = randomUUID();
        await store.apply({ moveId, from: 'copy-submitting', to: 'copying', at: 3, taskSubmitted: { phase: 'copy', vdsmTaskId: taskId } });
        expect(await store.listTasks({ state: 'running' })).to.deep.include({ ...placeholder, vdsmTaskId: taskId, state: 'running' });
        await expectStoreError(store.markTaskCleared(moveId, 'copy', 4), 'BAD_TRANSITION');

        await store.apply({
          moveId,
          from: 'copying',
          to: 'source-delete-submitting',
          at: 5,
          taskEnded: { phase: 'copy', code: 0, message: '1 jobs completed successfully' },
          switchDisk: { domainId: DST, status: 'OK' },
        });
        const [ended] = await store.listTasks({ state: 'ended' });
        expect(ended).to.include({ state: 'ended', endedAt: 5, endCode: 0, endMessage: '1 jobs completed successfully', vdsmTaskId: taskId });

        await store.markTaskCleared(moveId, 'copy', 6);
        await store.markTaskCleared(moveId, 'copy', 7); // a second clear (401 after a crash) is a no-op
        expect(await store.listTasks({ state: 'ended' })).to.deep.equal([]);
        expect((await store.listTasks({ moveId }))[0]).to.include({ state: 'cleared', endedAt: 5 });
      });

      it('drops a placeholder that never became a task, and refuses to drop a running one', async function () {
        const disk = diskOf(1);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply(startCopy(moveId, disk, 2));
        // Dropping a stale placeholder and writing its replacement is one transition.
        await store.apply({
          moveId,
          from: 'copy-submitting',
          to: 'copy-submitting',
          at: 3,
          taskDropped: { phase: 'copy' },
          taskPlaceholder: { phase: 'copy', verb: 'Image.move', domainId: DST, imageId: disk.diskId },
        });
        expect((await store.listTasks({ moveId })).map((task) => [task.state, task.createdAt])).to.deep.equal([['placeholder', 3]]);
        await store.apply({ moveId, from: 'copy-submitting', to: 'copy-submitting', at: 3, taskDropped: { phase: 'copy' } });
        expect(await store.listTasks({ moveId })).to.deep.equal([]);
        await store.apply({
          moveId,
          from: 'copy-submitting',
          to: 'copying',
          at: 4,
          taskPlaceholder: { phase: 'copy', verb: 'Image.move', domainId: DST, imageId: disk.diskId },
        });
        await store.apply({ moveId, from: 'copying', to: 'copying', at: 5, taskSubmitted: { phase: 'copy', vdsmTaskId: randomUUID() } });
        await expectStoreError(store.apply({ moveId, from: 'copying', to: 'copying', at: 6, taskDropped: { phase: 'copy' } }), 'BAD_TRANSITION');
        await expectStoreError(
          store.apply({
            moveId,
            from: 'copying',
            to: 'copying',
            at: 6,
            taskPlaceholder: { phase: 'copy', verb: 'Image.move', domainId: DST, imageId: disk.diskId },
          }),
          'BAD_TRANSITION',
        );
      });
    });

    describe('leftovers and audit', function () {
      it('records leftovers and audit entries with the time of their transition', async function () {
        const disk = diskOf(1);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply({
          moveId,
          from: 'queued',
          to: 'done',
          at: 9,
          move: { result: 'moved', failedPhase: 'delete-source', doneAt: 9 },
          leftovers: [{ domainId: SRC, imageId: disk.diskId, reason: 'source delete task failed: 256 Image delete error' }],
          audit: [
            { type: AUDIT_TYPES.DELETE_TASK_FAILED, severity: 'error', moveId, diskId: disk.diskId, message: 'delete failed' },
            { type: AUDIT_TYPES.MOVE_SUCCEEDED, severity: 'normal', moveId, diskId: disk.diskId, message: 'moved' },
          ],
        });
        expect(await store.listLeftovers({ moveId })).to.deep.equal([
          { moveId, domainId: SRC, imageId: disk.diskId, reason: 'source delete task failed: 256 Image delete error', recordedAt: 9 },
        ]);
        expect(await store.listLeftovers()).to.have.length(1);
        const audit = await store.listAudit({ moveId });
        expect(audit.map((a) => [a.type, a.severity, a.at])).to.deep.equal([
          [2053, 'error', 9],
          [2010, 'normal', 9],
        ]);
        expect(audit[1]!.seq).to.be.greaterThan(audit[0]!.seq);
      });

      it('appends audit entries outside transitions and pages the log by sequence', async function () {
        const entries = [AUDIT_TYPES.ZOMBIE_STOPPING, AUDIT_TYPES.ZOMBIE_CLEARING, AUDIT_TYPES.MOVE_START_FAILED];
        for (const [index, type] of entries.entries()) {
          await store.addAudit({ type, severity: 'warning', moveId: null, diskId: null, message: `entry ${index}`, at: index });
        }
        const all = await store.listAudit();
        expect(all.map((a) => a.message)).to.deep.equal(['entry 0', 'entry 1', 'entry 2']);
        const page = await store.listAudit({ afterSeq: all[0]!.seq, limit: 1 });
        expect(page.map((a) => a.message)).to.deep.equal(['entry 1']);
      });
    });

    describe('durability', function () {
      it('shows a committed transition to another connection at once', async function () {
        const disk = diskOf(2);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        await store.apply(startCopy(moveId, disk, 2));
        const other = await harness.another();
        expect((await other.getMove(moveId))?.state).to.equal('copy-submitting');
        expect((await other.getDisk(disk.diskId))!.volumes.every((v) => v.status === 'LOCKED')).to.equal(true);
        expect(await other.listMoves({ states: ['copy-submitting', 'copying'] })).to.have.length(1);
        expect(await other.listMoves({ diskId: randomUUID() })).to.deep.equal([]);
      });
    });
  });
}
