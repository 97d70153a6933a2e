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
import type { ClaimRequest, MoveLease, MoveLeaseStore, StoreWakeUp } from '../store/leases.js';
import { AUDIT_TYPES } from '../store/records.js';
import type { DiskRecord, MoveRequest } from '../store/records.js';
import { describeSdmJobConformance } from './sdm-store-conformance.js';

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

/**
 * Subscribes to `store`'s wake-ups and resolves, once the subscription is live
 * (its first `rescan`), with a wait for the first wake-up matching `wanted`.
 */
export async function listenFor(store: MoveLeaseStore, wanted: (wakeUp: StoreWakeUp | { kind: 'rescan' }) => boolean): Promise<{ heard: Promise<void>; stop: () => void }> {
  let live!: () => void;
  let hear!: () => void;
  const isLive = new Promise<void>((resolve) => (live = resolve));
  const heard = new Promise<void>((resolve) => (hear = resolve));
  const stop = store.onWakeUp((wakeUp) => {
    if (wakeUp.kind === 'rescan') live();
    if (wanted(wakeUp)) hear();
  });
  await isLive;
  return { heard, stop };
}

/** Resolves once `listening` has heard of a move that `writer` creates now. */
export async function hearsNewMove(listening: MoveLeaseStore, writer: MoveStore): Promise<void> {
  const disk = diskOf(1);
  const request = requestFor(disk);
  const heard = await listenFor(listening, (w) => w.kind === 'move' && w.id === request.moveId);
  await writer.createMove({ request, at: 1, disk });
  await heard.heard;
  heard.stop();
}

/** Claims until something is claimed: a lease lapses on the database's clock, which a test cannot move. */
export async function claimOnceLapsed(store: MoveLeaseStore, request: ClaimRequest): Promise<MoveLease[]> {
  for (;;) {
    const leases = await store.claimMoves(request);
    if (leases.length > 0) return leases;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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

    describe('move leases', function () {
      const LONG = 60_000;

      async function queued(count: number, poolId = POOL): Promise<string[]> {
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const disk = { ...diskOf(1), poolId };
          ids.push((await store.createMove({ request: requestFor(disk), at: i + 1, disk })).moveId);
        }
        return ids;
      }

      it('claims free moves oldest first with epoch 1, never a leased or done one, only of the pools asked for', async function () {
        const [first, second, third] = await queued(3);
        const otherPool = (await queued(1, '5f3a0a52-0c8e-4f4e-9d7e-000000000002'))[0]!;
        await store.apply({ moveId: third!, from: 'queued', to: 'done', at: 9, move: { result: 'cancelled', doneAt: 9 } });
        const leases = await store.claimMoves({ owner: 'a', leaseMs: LONG, limit: 1, poolIds: [POOL] });
        expect(leases.map((l) => [l.moveId, l.owner, l.epoch])).to.deep.equal([[first, 'a', 1]]);
        const rest = await store.claimMoves({ owner: 'b', leaseMs: LONG, limit: 10, poolIds: [POOL] });
        expect(rest.map((l) => [l.moveId, l.owner, l.epoch])).to.deep.equal([[second, 'b', 1]]);
        expect(await store.claimMoves({ owner: 'c', leaseMs: LONG, limit: 10, poolIds: [POOL] })).to.deep.equal([]);
        expect((await store.claimMoves({ owner: 'c', leaseMs: LONG, limit: 10 })).map((l) => l.moveId)).to.deep.equal([otherPool]);
        const move = await store.getMove(first!);
        expect(move).to.include({ owner: 'a', epoch: 1, leaseUntil: leases[0]!.leaseUntil });
        expect(await store.getLease(first!)).to.deep.equal(leases[0]);
        expect(await store.getLease(third!)).to.equal(undefined);
        expect(leases[0]!.leaseUntil - LONG).to.be.closeTo(Date.now(), 60_000); // the database's clock, near ours
      });

      it('takes over a lapsed lease with a bumped epoch, and the old owner learns it lost the move', async function () {
        const [moveId] = await queued(1);
        const [mine] = await store.claimMoves({ owner: 'a', leaseMs: 1, limit: 1 });
        const other = await harness.another();
        const [theirs] = await claimOnceLapsed(other, { owner: 'b', leaseMs: LONG, limit: 1 });
        expect(theirs).to.include({ moveId, owner: 'b', epoch: mine!.epoch + 1 });
        const renewed = await store.renewLeases('a', [mine!], LONG);
        expect(renewed.lost).to.deep.equal([moveId]);
        expect(await store.getLease(moveId!)).to.deep.equal(theirs);
      });

      it('refuses a stale fence with FENCED and writes nothing, and lets the current one through', async function () {
        const disk = diskOf(2);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        const [stale] = await store.claimMoves({ owner: 'a', leaseMs: 1, limit: 1 });
        const other = await harness.another();
        const [current] = await claimOnceLapsed(other, { owner: 'b', leaseMs: LONG, limit: 1 });
        const error = await expectStoreError(store.apply({ ...startCopy(moveId, disk, 2), fence: stale! }), 'FENCED');
        expect(error.message).to.contain('b');
        expect(await store.getDisk(disk.diskId)).to.deep.equal(disk);
        expect(await store.listTasks({ moveId })).to.deep.equal([]);
        expect(await store.listAudit({ moveId })).to.deep.equal([]);
        expect(await store.getMove(moveId)).to.include({ state: 'queued', version: 1, owner: 'b' });

        await other.apply({ ...startCopy(moveId, disk, 2), fence: current! });
        await other.apply({ moveId, from: 'copy-submitting', to: 'copying', at: 3, fence: current!, taskSubmitted: { phase: 'copy', vdsmTaskId: randomUUID() } });
        await other.apply({
          moveId, from: 'copying', to: 'source-delete-submitting', at: 4, fence: current!,
          taskEnded: { phase: 'copy', code: 0, message: 'ok' }, switchDisk: { domainId: DST, status: 'OK' },
        });
        await expectStoreError(store.markTaskCleared(moveId, 'copy', 5, stale!), 'FENCED');
        expect((await store.listTasks({ moveId }))[0]!.state).to.equal('ended');
        await other.markTaskCleared(moveId, 'copy', 5, current!);
        expect((await store.listTasks({ moveId }))[0]!.state).to.equal('cleared');
        // A released move fences out its last owner too.
        await other.releaseLease(current!);
        await expectStoreError(other.apply({ moveId, from: 'source-delete-submitting', to: 'done', at: 6, fence: current!, move: { result: 'moved' } }), 'FENCED');
        expect((await store.getMove(moveId))!.state).to.equal('source-delete-submitting');
      });

      it("records a fenced sender's answer in its own placeholder only, and the new owner's transition takes it from there", async function () {
        const disk = diskOf(2);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        const [stale] = await store.claimMoves({ owner: 'a', leaseMs: 1, limit: 1 });
        await store.apply({ ...startCopy(moveId, disk, 2), fence: stale! });
        const other = await harness.another();
        const [current] = await claimOnceLapsed(other, { owner: 'b', leaseMs: LONG, limit: 1 });
        const taskId = randomUUID();
        // The old owner's transition is fenced; its answer still goes into the placeholder it sent the verb for.
        await expectStoreError(store.apply({ moveId, from: 'copy-submitting', to: 'copying', at: 3, fence: stale!, taskSubmitted: { phase: 'copy', vdsmTaskId: taskId } }), 'FENCED');
        expect(await store.recordAnswer(moveId, 'copy', 99, taskId), 'another placeholder (another created_at)').to.equal(false);
        expect(await store.recordAnswer(moveId, 'copy', 2, taskId)).to.equal(true);
        expect(await store.recordAnswer(moveId, 'copy', 2, randomUUID()), 'an id is never replaced').to.equal(false);
        const [task] = await other.listTasks({ moveId });
        expect(task).to.include({ state: 'running', vdsmTaskId: taskId, createdAt: 2 });
        expect(await other.getMove(moveId)).to.include({ state: 'copy-submitting', owner: 'b' });
        // Counted in the pool's window, a task on the SPM; and known to every move's search for lost tasks.
        expect((await other.listTasks({ state: 'running' })).map((t) => t.vdsmTaskId)).to.deep.equal([taskId]);
        const second = diskOf(1);
        const next = startCopy((await other.createMove({ request: requestFor(second), at: 4, disk: second })).moveId, second, 5);
        await expectStoreError(other.apply({ ...next, taskPlaceholder: { ...next.taskPlaceholder!, windowLimit: 1 } }), 'WINDOW_FULL');
        await other.apply({ moveId, from: 'copy-submitting', to: 'copying', at: 6, fence: current!, taskSubmitted: { phase: 'copy', vdsmTaskId: taskId } });
        expect((await other.listTasks({ moveId }))[0]).to.include({ state: 'running', vdsmTaskId: taskId });
        expect(await store.recordAnswer(moveId, 'copy', 2, randomUUID()), 'a running task is not a placeholder').to.equal(false);
        await expectStoreError(other.apply({ moveId, from: 'copying', to: 'copying', at: 7, taskSubmitted: { phase: 'copy', vdsmTaskId: randomUUID() } }), 'BAD_TRANSITION');
      });

      it('never gives one move to two claimers claiming at once on two connections', async function () {
        const ids = await queued(24);
        const other = await harness.another();
        const claimAll = async (claimer: MoveStore, owner: string): Promise<string[]> => {
          const got: string[] = [];
          for (;;) {
            const leases = await claimer.claimMoves({ owner, leaseMs: LONG, limit: 2 });
            if (leases.length === 0) return got;
            got.push(...leases.map((l) => l.moveId));
          }
        };
        const [a, b, c, d] = await Promise.all([claimAll(store, 'a'), claimAll(other, 'b'), claimAll(store, 'c'), claimAll(other, 'd')]);
        const all = [...a!, ...b!, ...c!, ...d!];
        expect(all).to.have.length(ids.length);
        expect(new Set(all)).to.deep.equal(new Set(ids));
        for (const [owner, got] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) {
          for (const moveId of got!) expect((await store.getLease(moveId))?.owner).to.equal(owner);
        }
      });

      it('renews the leases still held and reports the lost ones (released, taken over)', async function () {
        const [kept, released, takenOver] = await queued(3);
        const leases = await store.claimMoves({ owner: 'a', leaseMs: LONG, limit: 3 });
        const byId = new Map(leases.map((l) => [l.moveId, l]));
        await store.releaseLease(byId.get(released!)!);
        const [short] = await store.claimMoves({ owner: 'b', leaseMs: 1, limit: 1 });
        expect(short!.moveId).to.equal(released);
        // The lease of `takenOver` is cut short by a renewal of 1 ms, then taken by b.
        await store.renewLeases('a', [byId.get(takenOver!)!], 1);
        const taken: string[] = [];
        while (!taken.includes(takenOver!)) taken.push(...(await claimOnceLapsed(store, { owner: 'b', leaseMs: LONG, limit: 3 })).map((l) => l.moveId));
        expect(taken).to.not.include(kept);
        const before = (await store.getLease(kept!))!.leaseUntil;
        const renewed = await store.renewLeases('a', leases, LONG * 2);
        expect(renewed.lost.sort()).to.deep.equal([released!, takenOver!].sort());
        expect((await store.getLease(kept!))!.leaseUntil).to.equal(renewed.leaseUntil).and.to.be.greaterThan(before);
        expect(await store.renewLeases('a', [], LONG)).to.have.property('lost').that.deep.equals([]);
      });

      it('hands a released move to the next claimer at once, with a new epoch', async function () {
        const [moveId] = await queued(1);
        const [lease] = await store.claimMoves({ owner: 'a', leaseMs: LONG, limit: 1 });
        await store.releaseLease({ ...lease!, epoch: lease!.epoch + 1 }); // not ours any more: a no-op
        expect(await store.claimMoves({ owner: 'b', leaseMs: LONG, limit: 1 })).to.deep.equal([]);
        await store.releaseLease(lease!);
        expect(await store.getMove(moveId!)).to.include({ owner: null, epoch: 1 });
        const [next] = await store.claimMoves({ owner: 'b', leaseMs: LONG, limit: 1 });
        expect(next).to.include({ moveId, owner: 'b', epoch: 2 });
      });

      it('refuses a lease period or a limit that is not a whole positive number', async function () {
        await expectStoreError(store.claimMoves({ owner: 'a', leaseMs: 0, limit: 1 }), 'BAD_REQUEST');
        await expectStoreError(store.claimMoves({ owner: 'a', leaseMs: 10, limit: 0 }), 'BAD_REQUEST');
        await expectStoreError(store.claimPoolLease(POOL, 'a', 1.5), 'BAD_REQUEST');
      });
    });

    describe('pool leases and status', function () {
      const LONG = 60_000;

      it('gives the pool to one owner at a time, renews it for that owner, and hands it over once lapsed with a new epoch', async function () {
        const other = await harness.another();
        const first = await store.claimPoolLease(POOL, 'a', 1);
        expect(first).to.include({ poolId: POOL, owner: 'a', epoch: 1 });
        let second = await other.claimPoolLease(POOL, 'b', LONG);
        while (second === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          second = await other.claimPoolLease(POOL, 'b', LONG);
        }
        expect(second).to.include({ owner: 'b', epoch: 2 });
        expect(await store.claimPoolLease(POOL, 'a', LONG)).to.equal(undefined);
        expect(await store.renewPoolLease(first!, LONG)).to.equal(false);
        const again = await other.claimPoolLease(POOL, 'b', LONG);
        expect(again).to.include({ owner: 'b', epoch: 2 });
        expect(again!.leaseUntil).to.be.at.least(second.leaseUntil);
        expect(await other.renewPoolLease(second, LONG)).to.equal(true);
        await store.releasePoolLease(first!); // stale: changes nothing
        expect(await store.claimPoolLease(POOL, 'a', LONG)).to.equal(undefined);
        await other.releasePoolLease(second);
        expect(await store.claimPoolLease(POOL, 'a', LONG)).to.include({ owner: 'a', epoch: 3 });
      });

      it('publishes statuses only under the current pool lease, each with a higher seq', async function () {
        const other = await harness.another();
        expect(await store.getPoolStatus(POOL)).to.equal(undefined);
        const stale = (await store.claimPoolLease(POOL, 'a', 1))!;
        expect(await store.publishPoolStatus(stale, 100, { tasks: { t1: { code: 0 } } })).to.equal(true);
        const first = await other.getPoolStatus(POOL);
        expect(first).to.deep.include({ poolId: POOL, epoch: 1, polledAt: 100, body: { tasks: { t1: { code: 0 } } } });
        let current = await other.claimPoolLease(POOL, 'b', LONG);
        while (current === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          current = await other.claimPoolLease(POOL, 'b', LONG);
        }
        expect(await store.publishPoolStatus(stale, 200, { stale: true })).to.equal(false);
        expect(await store.getPoolStatus(POOL)).to.deep.equal(first);
        expect(await other.publishPoolStatus(current, 300, [1, 'two', null])).to.equal(true);
        const latest = await store.getPoolStatus(POOL);
        expect(latest).to.deep.include({ epoch: 2, polledAt: 300, body: [1, 'two', null] });
        expect(latest!.seq).to.be.greaterThan(first!.seq);
      });

      it("keeps each topic's round apart from the pool's task statuses, under the same lease", async function () {
        const other = await harness.another();
        const lease = (await store.claimPoolLease(POOL, 'a', LONG))!;
        expect(await store.publishPoolStatus(lease, 100, { spm: 'h1', statuses: {} })).to.equal(true);
        expect(await store.publishPoolStatus(lease, 150, { jobs: { j1: { status: 'running' } } }, 'jobs/h2')).to.equal(true);
        expect(await store.publishPoolStatus(lease, 160, { jobs: {} }, 'jobs/h3')).to.equal(true);
        expect(await other.getPoolStatus(POOL)).to.deep.include({ polledAt: 100, body: { spm: 'h1', statuses: {} } });
        expect(await other.getPoolStatus(POOL, 'jobs/h2')).to.deep.include({ poolId: POOL, epoch: lease.epoch, polledAt: 150, body: { jobs: { j1: { status: 'running' } } } });
        expect(await other.getPoolStatus(POOL, 'jobs/h3')).to.deep.include({ polledAt: 160 });
        expect(await other.getPoolStatus(POOL, 'jobs/h4')).to.equal(undefined);
        await store.releasePoolLease(lease);
        // A topic's round is written under the lease too: none once it is lost.
        expect(await store.publishPoolStatus(lease, 200, { jobs: {} }, 'jobs/h2')).to.equal(false);
        expect(await other.getPoolStatus(POOL, 'jobs/h2')).to.deep.include({ polledAt: 150 });
      });
    });

    describe('the shared submission window', function () {
      async function submitting(on: MoveStore, windowLimit: number): Promise<{ moveId: string; disk: DiskRecord; result: Promise<unknown> }> {
        const disk = diskOf(1);
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        const t = startCopy(moveId, disk, 2);
        return { moveId, disk, result: on.apply({ ...t, taskPlaceholder: { ...t.taskPlaceholder!, windowLimit } }) };
      }

      it('refuses a placeholder past the pool window across two store instances, writing nothing, until a task ends', async function () {
        const other = await harness.another();
        const a = await submitting(store, 2);
        await a.result;
        await (await submitting(other, 2)).result;
        const full = await submitting(other, 2);
        await expectStoreError(full.result as Promise<unknown>, 'WINDOW_FULL');
        expect(await store.getMove(full.moveId)).to.include({ state: 'queued', version: 1 });
        expect(await store.getDisk(full.disk.diskId)).to.deep.equal(full.disk);
        expect(await store.listTasks({ moveId: full.moveId })).to.deep.equal([]);
        // Another pool's window is its own.
        const disk = { ...diskOf(1), poolId: '5f3a0a52-0c8e-4f4e-9d7e-000000000002' };
        const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
        const t = startCopy(moveId, disk, 2);
        await other.apply({ ...t, taskPlaceholder: { ...t.taskPlaceholder!, windowLimit: 2 } });
        // An ended task no longer counts.
        await store.apply({ moveId: a.moveId, from: 'copy-submitting', to: 'copying', at: 3, taskSubmitted: { phase: 'copy', vdsmTaskId: randomUUID() } });
        await store.apply({ moveId: a.moveId, from: 'copying', to: 'copying', at: 4, taskEnded: { phase: 'copy', code: 0, message: 'ok' } });
        const t2 = startCopy(full.moveId, full.disk, 5);
        expect((await other.apply({ ...t2, taskPlaceholder: { ...t2.taskPlaceholder!, windowLimit: 2 } })).state).to.equal('copy-submitting');
      });

      it('lets only one of several writers on two instances take the last slot at once', async function () {
        const other = await harness.another();
        const disks = Array.from({ length: 8 }, () => diskOf(1));
        const moves = await Promise.all(disks.map((disk) => store.createMove({ request: requestFor(disk), at: 1, disk })));
        const results = await Promise.allSettled(
          moves.map((move, index) => {
            const t = startCopy(move.moveId, disks[index]!, 2);
            return (index % 2 === 0 ? store : other).apply({ ...t, taskPlaceholder: { ...t.taskPlaceholder!, windowLimit: 1 } });
          }),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        for (const refused of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
          expect((refused.reason as MoveStoreError).code).to.equal('WINDOW_FULL');
        }
        expect(await store.listTasks({ state: 'placeholder' })).to.have.length(1);
      });
    });

    describe('wake-ups', function () {
      it('wakes another instance on the same database for a new move, a transition, a release and a pool status', async function () {
        const other = await harness.another();
        const disk = diskOf(1);
        const request = requestFor(disk);
        const created = await listenFor(other, (w) => w.kind === 'move' && w.id === request.moveId);
        await store.createMove({ request, at: 1, disk });
        await created.heard;
        created.stop();

        const moved = await listenFor(other, (w) => w.kind === 'move' && w.id === request.moveId);
        await store.apply(startCopy(request.moveId, disk, 2));
        await moved.heard;
        moved.stop();

        const [lease] = await store.claimMoves({ owner: 'a', leaseMs: 60_000, limit: 1 });
        const released = await listenFor(other, (w) => w.kind === 'move' && w.id === request.moveId);
        await store.releaseLease(lease!);
        await released.heard;
        released.stop();

        const pool = (await store.claimPoolLease(POOL, 'a', 60_000))!;
        const polled = await listenFor(other, (w) => w.kind === 'pool' && w.id === POOL);
        await store.publishPoolStatus(pool, 5, { ok: true });
        await polled.heard;
        polled.stop();
      });
    });

    describeSdmJobConformance(() => store, diskOf, requestFor);

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
