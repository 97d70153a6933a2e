/**
 * A move's writes on PostgreSQL inside the caller's transaction: the disk
 * reads and inserts, and one Transition in the order move-store.ts gives
 * (the same steps as the SQLite store's, each an awaited statement).
 */
import type { QueryResult, QueryResultRow } from 'pg';
import { MoveStoreError } from './move-store.js';
import type { Transition } from './move-store.js';
import { SQL } from './postgres-sql.js';
import type { Statement } from './postgres-sql.js';
import { moveFromRow, volumeFromRow } from './rows.js';
import type { MoveRow, VolumeRow } from './rows.js';
import type { DiskRecord, MoveRecord } from './records.js';
import { checkFence, checkTransitionEnd, checkWindow } from './store-checks.js';

/** A statement on the transaction's client. */
export type Query = <R extends QueryResultRow = QueryResultRow>(statement: Statement, values?: readonly unknown[]) => Promise<QueryResult<R>>;

export async function diskIn(q: Query, diskId: string): Promise<DiskRecord | undefined> {
  const disk = (await q<{ pool_id: string }>(SQL.getDisk, [diskId])).rows[0];
  if (!disk) return undefined;
  return { diskId, poolId: disk.pool_id, volumes: (await q<VolumeRow>(SQL.listVolumes, [diskId])).rows.map(volumeFromRow) };
}

export async function insertDisk(q: Query, disk: DiskRecord): Promise<void> {
  if ((await q(SQL.getDisk, [disk.diskId])).rows.length > 0) {
    throw new MoveStoreError('BAD_TRANSITION', `Disk ${disk.diskId} is already known; a discovered disk never replaces it`);
  }
  await q(SQL.insertDisk, [disk.diskId, disk.poolId]);
  for (const v of disk.volumes) await q(SQL.insertVolume, [disk.diskId, v.volumeId, v.domainId, v.status, v.parentId, v.position]);
}

/** The transition's writes, in the order move-store.ts gives, inside the caller's transaction. */
export async function applyIn(q: Query, t: Transition): Promise<MoveRecord> {
  const row = (await q<MoveRow>(SQL.lockMove, [t.moveId])).rows[0];
  if (!row) throw new MoveStoreError('UNKNOWN_MOVE', `No move with id ${t.moveId}`);
  checkFence(t, { owner: row.owner, epoch: Number(row.epoch) });
  if (row.state !== t.from) {
    throw new MoveStoreError('STALE_TRANSITION', `Move ${t.moveId} is in state ${row.state}, not ${t.from}: ${t.from} -> ${t.to} refused`);
  }
  const bad = (what: string): never => {
    throw new MoveStoreError('BAD_TRANSITION', `Move ${t.moveId} ${t.from} -> ${t.to}: ${what}`);
  };
  checkTransitionEnd(t, row.result);
  const diskId = row.disk_id;
  if (t.lockDisk) {
    if ((await q<{ n: number }>(SQL.countCompensation, [t.moveId])).rows[0]!.n > 0) bad('the disk is already locked by this move');
    await q(SQL.recordCompensation, [t.moveId, diskId]);
    await q(SQL.lockVolumes, [diskId]);
  }
  if (t.restoreDisk) {
    await q(SQL.restoreVolumes, [t.moveId, diskId]);
    await q(SQL.dropCompensation, [t.moveId]);
  }
  if (t.switchDisk) {
    await q(SQL.switchVolumes, [t.switchDisk.domainId, t.switchDisk.status, diskId]);
    await q(SQL.dropCompensation, [t.moveId]);
  }
  if (t.phaseStarted) {
    if ((await q(SQL.getPhase, [t.moveId, t.phaseStarted.phase])).rows.length > 0) bad(`phase ${t.phaseStarted.phase} already started`);
    await q(SQL.startPhase, [t.moveId, t.phaseStarted.phase, t.at]);
  }
  if (t.phaseEnded) {
    const { phase, outcome, error } = t.phaseEnded;
    const { rowCount } = await q(SQL.endPhase, [t.at, outcome, error?.code ?? null, error?.message ?? null, t.moveId, phase]);
    if (rowCount !== 1) bad(`phase ${phase} is not running`);
  }
  if (t.taskDropped) {
    const { phase } = t.taskDropped;
    if ((await q(SQL.dropTask, [t.moveId, phase])).rowCount !== 1) bad(`phase ${phase} has no task placeholder`);
  }
  if (t.taskPlaceholder) {
    const { phase, verb, domainId, imageId, windowLimit } = t.taskPlaceholder;
    if ((await q(SQL.getTask, [t.moveId, phase])).rows.length > 0) bad(`phase ${phase} already has a task`);
    if (windowLimit !== undefined) {
      // Instances placing tasks on one pool queue on its row here, so the count cannot change before the insert.
      await q(SQL.lockPoolWindow, [row.pool_id]);
      checkWindow(t.moveId, row.pool_id, (await q<{ n: number }>(SQL.countInFlight, [row.pool_id])).rows[0]!.n, windowLimit);
    }
    await q(SQL.insertTask, [t.moveId, phase, row.pool_id, verb, domainId, imageId, t.at]);
  }
  if (t.taskSubmitted) {
    const { phase, vdsmTaskId } = t.taskSubmitted;
    if ((await q(SQL.submitTask, [vdsmTaskId, t.moveId, phase])).rowCount !== 1) bad(`phase ${phase} has no task placeholder`);
  }
  if (t.taskEnded) {
    const { phase, code, message } = t.taskEnded;
    if ((await q(SQL.endTask, [t.at, code, message, t.moveId, phase])).rowCount !== 1) bad(`phase ${phase} has no running task`);
  }
  const job = t.sdmJobPlaceholder;
  if (job) {
    const values = [job.jobId, t.moveId, job.volumeId, job.position, job.host, job.generation, job.attempt, t.at];
    if ((await q(SQL.insertSdmJob, values)).rowCount !== 1) bad(`SDM job ${job.jobId} (volume ${job.position}, attempt ${job.attempt}) already exists`);
  }
  if (t.sdmJobSubmitted && (await q(SQL.submitSdmJob, [t.sdmJobSubmitted.jobId, t.moveId])).rowCount !== 1) {
    bad(`SDM job ${t.sdmJobSubmitted.jobId} is not a placeholder of this move`);
  }
  const ended = t.sdmJobEnded;
  if (ended && (await q(SQL.endSdmJob, [t.at, ended.code, ended.message, ended.jobId, t.moveId])).rowCount !== 1) {
    bad(`SDM job ${ended.jobId} is not in flight for this move`);
  }
  for (const leftover of t.leftovers ?? []) {
    await q(SQL.insertLeftover, [t.moveId, leftover.domainId, leftover.imageId, leftover.reason, t.at]);
  }
  for (const entry of t.audit ?? []) {
    await q(SQL.insertAudit, [t.at, entry.type, entry.severity, entry.moveId, entry.diskId, entry.message]);
  }
  const m = t.move ?? {};
  await q(SQL.updateMove, [
    t.moveId,
    t.to,
    m.result !== undefined,
    m.result ?? null,
    m.failedPhase !== undefined,
    m.failedPhase ?? null,
    m.error !== undefined,
    m.error?.code ?? null,
    m.error?.message ?? null,
    m.availableAt !== undefined,
    m.availableAt ?? null,
    m.doneAt !== undefined,
    m.doneAt ?? null,
    m.cancelRequested !== undefined,
    m.cancelRequested ?? false,
    m.path !== undefined,
    m.path ?? null,
  ]);
  return moveFromRow((await q<MoveRow>(SQL.getMove, [t.moveId])).rows[0]!);
}
