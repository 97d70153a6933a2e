/**
 * The embedded move store: one SQLite file (better-sqlite3), WAL so a reader
 * (`engine-move status` beside a running move) never blocks the writer, and a
 * SIGKILL loses at most the transaction in flight, never consistency. Every
 * statement is prepared once; every state change is one IMMEDIATE transaction
 * (the write lock taken before the guard is read, so two processes on one file
 * cannot both pass the same compare-and-set).
 *
 * better-sqlite3 is synchronous, and its transactions must be: each method does
 * its SQL in one synchronous step and only then resolves, which is what lets
 * the store interface be the same promise-based one PostgreSQL needs.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { loadMigrations, pendingMigrations } from './migrations.js';
import type { Migration } from './migrations.js';
import { poolStatusKey } from './leases.js';
import type { ClaimRequest, Fence, MoveLease, PoolLease, PoolStatus } from './leases.js';
import { MoveStoreError } from './move-store.js';
import type { MoveFilter, MoveStore, NewMove, Transition } from './move-store.js';
import { WakeUpHub } from './wake-ups.js';
import type { WakeUpListener } from './wake-ups.js';
import {
  AUDIT_COLUMNS,
  MOVE_COLUMNS,
  PHASE_COLUMNS,
  TASK_COLUMNS,
  VOLUME_COLUMNS,
  auditFromRow,
  compensationFromRow,
  leftoverFromRow,
  moveFromRow,
  phaseFromRow,
  taskFromRow,
  volumeFromRow,
} from './rows.js';
import type { AuditRow, CompensationRow, LeftoverRow, MoveRow, PhaseRow, TaskRow, VolumeRow } from './rows.js';
import type {
  SdmJobRecord,
  SdmJobState,
  AuditEntry,
  AuditRecord,
  CompensationRecord,
  DiskRecord,
  LeftoverRecord,
  MovePhase,
  MoveRecord,
  PhaseRecord,
  TaskRecord,
  TaskState,
} from './records.js';
import { checkClaimLimit, checkDisk, checkFence, checkLeaseMs, checkNewMove, checkTransitionEnd, checkWindow } from './store-checks.js';
import { applySdmJobSteps, listSdmJobs, prepareSdmJobs } from './sqlite-sdm-jobs.js';
import type { SqliteSdmJobs } from './sqlite-sdm-jobs.js';

/** A move's columns as records.ts reads them: lease_until is already milliseconds here. */
const SQLITE_MOVE_COLUMNS = `${MOVE_COLUMNS}, lease_until`;

/** The wake-up listeners of each database file in this process, shared by every store open on it. */
const hubs = new Map<string, WakeUpHub>();

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

export interface SqliteMoveStoreOptions {
  /** The database file; its folder is created if missing. ':memory:' for a throwaway store. */
  readonly path: string;
  /** Migrations to apply (tests); the package's own by default. */
  readonly migrations?: readonly Migration[];
}

/**
 * Applies the migrations the database lacks, each in its own IMMEDIATE
 * transaction that re-reads the applied version under the write lock, and
 * records each in `schema_migrations`.
 * @returns the schema version the database now has.
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[] = loadMigrations('sqlite')): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
  );
  const applied = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const current = (): number => applied.get()?.v ?? 0;
  for (const migration of pendingMigrations(migrations, current(), db.name)) {
    db.transaction(() => {
      if (current() >= migration.version) return; // another process applied it first
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }).immediate();
  }
  return current();
}

export class SqliteMoveStore implements MoveStore {
  readonly description: string;
  /** The schema version the file has (every migration this code knows is applied at open). */
  readonly schemaVersion: number;
  readonly #db: Database.Database;
  readonly #s: ReturnType<typeof prepare>;
  readonly #sdm: SqliteSdmJobs;
  readonly #hub: WakeUpHub;

  /** Opens (creating if missing) the store's file and brings its schema up to date. */
  static open(options: SqliteMoveStoreOptions): SqliteMoveStore {
    const memory = options.path === ':memory:';
    const path = memory ? options.path : resolve(options.path);
    if (!memory) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      if (!memory) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') throw new Error(`SQLite refused WAL mode for ${path} (got ${String(mode)})`);
      }
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      const version = migrateSqlite(db, options.migrations);
      return new SqliteMoveStore(db, `sqlite:${path}`, version, memory ? new WakeUpHub() : hubFor(path));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(db: Database.Database, description: string, schemaVersion: number, hub: WakeUpHub) {
    this.#db = db;
    this.schemaVersion = schemaVersion;
    this.#hub = hub;
    this.description = description;
    this.#s = prepare(db);
    this.#sdm = prepareSdmJobs(db);
  }

  async getDisk(diskId: string): Promise<DiskRecord | undefined> {
    return this.#disk(diskId);
  }

  async addDisk(disk: DiskRecord): Promise<void> {
    checkDisk(disk);
    this.#db.transaction(() => this.#insertDisk(disk)).immediate();
  }

  async createMove(move: NewMove): Promise<MoveRecord> {
    const { request } = move;
    const created = this.#db
      .transaction((): MoveRecord => {
        if (this.#s.getMove.get(request.moveId)) {
          throw new MoveStoreError('MOVE_EXISTS', `A move with id ${request.moveId} already exists`);
        }
        let disk = this.#disk(request.diskId);
        if (!disk && move.disk) {
          this.#insertDisk(move.disk);
          disk = this.#disk(request.diskId);
        }
        const active = this.#s.activeMoveOfDisk.get(request.diskId);
        checkNewMove(request, disk, active && moveFromRow(active));
        this.#s.insertMove.run({
          move_id: request.moveId,
          pool_id: request.poolId,
          disk_id: request.diskId,
          src_domain_id: request.srcDomainId,
          dst_domain_id: request.dstDomainId,
          wipe_after_delete: request.wipeAfterDelete ? 1 : 0,
          discard: request.discard ? 1 : 0,
          mode: request.mode,
          created_at: move.at,
          copy_path_requested: request.copyPath ?? 'auto',
          exclude_hosts: JSON.stringify(request.excludeHosts ?? []),
          copy_retries: request.copyRetries ?? 0,
        });
        return moveFromRow(this.#s.getMove.get(request.moveId)!);
      })
      .immediate();
    this.#hub.emit({ kind: 'move', id: created.moveId });
    return created;
  }

  async apply(t: Transition): Promise<MoveRecord> {
    const after = this.#db.transaction((): MoveRecord => this.#apply(t)).immediate();
    this.#hub.emit({ kind: 'move', id: t.moveId });
    return after;
  }

  #apply(t: Transition): MoveRecord {
    const s = this.#s;
    const row = s.getMove.get(t.moveId);
    if (!row) throw new MoveStoreError('UNKNOWN_MOVE', `No move with id ${t.moveId}`);
    checkFence(t, { owner: row.owner, epoch: Number(row.epoch) });
    if (row.state !== t.from) {
      throw new MoveStoreError(
        'STALE_TRANSITION',
        `Move ${t.moveId} is in state ${row.state}, not ${t.from}: ${t.from} -> ${t.to} refused`,
      );
    }
    const bad = (what: string): never => {
      throw new MoveStoreError('BAD_TRANSITION', `Move ${t.moveId} ${t.from} -> ${t.to}: ${what}`);
    };
    checkTransitionEnd(t, row.result);
    const diskId = row.disk_id;
    if (t.lockDisk) {
      if (s.countCompensation.get(t.moveId)!.n > 0) bad('the disk is already locked by this move');
      s.recordCompensation.run({ move_id: t.moveId, disk_id: diskId });
      s.lockVolumes.run(diskId);
    }
    if (t.restoreDisk) {
      s.restoreVolumes.run({ move_id: t.moveId, disk_id: diskId });
      s.dropCompensation.run(t.moveId);
    }
    if (t.switchDisk) {
      s.switchVolumes.run(t.switchDisk.domainId, t.switchDisk.status, diskId);
      s.dropCompensation.run(t.moveId);
    }
    if (t.phaseStarted) {
      if (s.getPhase.get(t.moveId, t.phaseStarted.phase)) bad(`phase ${t.phaseStarted.phase} already started`);
      s.startPhase.run(t.moveId, t.phaseStarted.phase, t.at);
    }
    if (t.phaseEnded) {
      const { phase, outcome, error } = t.phaseEnded;
      const changed = s.endPhase.run(t.at, outcome, error?.code ?? null, error?.message ?? null, t.moveId, phase).changes;
      if (changed !== 1) bad(`phase ${phase} is not running`);
    }
    if (t.taskDropped) {
      const { phase } = t.taskDropped;
      if (s.dropTask.run(t.moveId, phase).changes !== 1) bad(`phase ${phase} has no task placeholder`);
    }
    if (t.taskPlaceholder) {
      const { phase, verb, domainId, imageId } = t.taskPlaceholder;
      if (s.getTask.get(t.moveId, phase)) bad(`phase ${phase} already has a task`);
      // The IMMEDIATE transaction holds the file's write lock: the count cannot change before the insert.
      checkWindow(t.moveId, row.pool_id, s.countInFlight.get(row.pool_id)!.n, t.taskPlaceholder.windowLimit);
      s.insertTask.run(t.moveId, phase, row.pool_id, verb, domainId, imageId, t.at);
    }
    if (t.taskSubmitted) {
      const { phase, vdsmTaskId } = t.taskSubmitted;
      if (s.submitTask.run({ vdsm_task_id: vdsmTaskId, move_id: t.moveId, phase }).changes !== 1) bad(`phase ${phase} has no task placeholder`);
    }
    if (t.taskEnded) {
      const { phase, code, message } = t.taskEnded;
      if (s.endTask.run(t.at, code, message, t.moveId, phase).changes !== 1) bad(`phase ${phase} has no running task`);
    }
    applySdmJobSteps(this.#sdm, t, bad);
    for (const leftover of t.leftovers ?? []) {
      s.insertLeftover.run(t.moveId, leftover.domainId, leftover.imageId, leftover.reason, t.at);
    }
    for (const entry of t.audit ?? []) {
      s.insertAudit.run(t.at, entry.type, entry.severity, entry.moveId, entry.diskId, entry.message);
    }
    const m = t.move ?? {};
    s.updateMove.run({
      move_id: t.moveId,
      state: t.to,
      set_result: m.result !== undefined ? 1 : 0,
      result: m.result ?? null,
      set_failed_phase: m.failedPhase !== undefined ? 1 : 0,
      failed_phase: m.failedPhase ?? null,
      set_error: m.error !== undefined ? 1 : 0,
      error_code: m.error?.code ?? null,
      error_message: m.error?.message ?? null,
      set_available_at: m.availableAt !== undefined ? 1 : 0,
      available_at: m.availableAt ?? null,
      set_done_at: m.doneAt !== undefined ? 1 : 0,
      done_at: m.doneAt ?? null,
      set_cancel: m.cancelRequested !== undefined ? 1 : 0,
      cancel_requested: m.cancelRequested ? 1 : 0,
      set_path: m.path !== undefined ? 1 : 0,
      copy_path: m.path ?? null,
    });
    return moveFromRow(s.getMove.get(t.moveId)!);
  }

  async markTaskCleared(moveId: string, phase: MovePhase, at: number, fence?: Fence): Promise<void> {
    this.#db
      .transaction(() => {
        if (fence) {
          const row = this.#s.getMove.get(moveId);
          if (!row) throw new MoveStoreError('UNKNOWN_MOVE', `No move with id ${moveId}`);
          checkFence({ moveId, fence }, { owner: row.owner, epoch: Number(row.epoch) });
        }
        const task = this.#s.getTask.get(moveId, phase);
        if (!task) throw new MoveStoreError('BAD_TRANSITION', `Move ${moveId} has no ${phase} task`);
        if (task.state === 'cleared') return;
        if (task.state !== 'ended') {
          throw new MoveStoreError(
            'BAD_TRANSITION',
            `Move ${moveId}'s ${phase} task is ${task.state}: only an ended task (its end logic committed) is cleared`,
          );
        }
        this.#s.clearTask.run(at, moveId, phase);
      })
      .immediate();
  }

  async recordAnswer(moveId: string, phase: MovePhase, placeholderCreatedAt: number, vdsmTaskId: string): Promise<boolean> {
    return this.#s.answerTask.run(vdsmTaskId, moveId, phase, placeholderCreatedAt).changes === 1;
  }

  async getMove(moveId: string): Promise<MoveRecord | undefined> {
    const row = this.#s.getMove.get(moveId);
    return row && moveFromRow(row);
  }

  async listMoves(filter: MoveFilter = {}): Promise<MoveRecord[]> {
    const rows = this.#s.listMoves.all({
      active: filter.active ? 1 : 0,
      disk_id: filter.diskId ?? null,
      states: filter.states ? JSON.stringify(filter.states) : null,
    });
    return rows.map(moveFromRow);
  }

  async listPhases(moveId: string): Promise<PhaseRecord[]> {
    return this.#s.listPhases.all(moveId).map(phaseFromRow);
  }

  async listSdmJobs(filter: { moveId?: string; states?: readonly SdmJobState[] }): Promise<SdmJobRecord[]> {
    return listSdmJobs(this.#sdm, filter);
  }

  async listTasks(filter: { moveId?: string; state?: TaskState }): Promise<TaskRecord[]> {
    return this.#s.listTasks.all({ move_id: filter.moveId ?? null, state: filter.state ?? null }).map(taskFromRow);
  }

  async listCompensation(moveId: string): Promise<CompensationRecord[]> {
    return this.#s.listCompensation.all(moveId).map(compensationFromRow);
  }

  async listLeftovers(filter: { moveId?: string } = {}): Promise<LeftoverRecord[]> {
    return this.#s.listLeftovers.all({ move_id: filter.moveId ?? null }).map(leftoverFromRow);
  }

  async addAudit(entry: AuditEntry): Promise<AuditRecord> {
    const { lastInsertRowid } = this.#s.insertAudit.run(
      entry.at,
      entry.type,
      entry.severity,
      entry.moveId,
      entry.diskId,
      entry.message,
    );
    return auditFromRow(this.#s.getAudit.get(lastInsertRowid)!);
  }

  async listAudit(filter: { moveId?: string; afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    return this.#s.listAudit
      .all({ move_id: filter.moveId ?? null, after: filter.afterSeq ?? 0, limit: filter.limit ?? -1 })
      .map(auditFromRow);
  }

  async claimMoves(request: ClaimRequest): Promise<MoveLease[]> {
    checkLeaseMs(request.leaseMs);
    checkClaimLimit(request.limit);
    return this.#db
      .transaction((): MoveLease[] => {
        const now = Date.now();
        const ids = this.#s.claimable.all({ now, limit: request.limit, pools: request.poolIds ? JSON.stringify(request.poolIds) : null });
        return ids.map(({ move_id }) => {
          const row = this.#s.claim.get({ move_id, owner: request.owner, lease_until: now + request.leaseMs })!;
          return { moveId: move_id, owner: request.owner, epoch: row.epoch, leaseUntil: row.lease_until };
        });
      })
      .immediate();
  }

  async renewLeases(owner: string, leases: readonly Pick<MoveLease, 'moveId' | 'epoch'>[], leaseMs: number): Promise<{ lost: string[]; leaseUntil: number }> {
    checkLeaseMs(leaseMs);
    return this.#db
      .transaction(() => {
        const leaseUntil = Date.now() + leaseMs;
        const lost = leases
          .filter(({ moveId, epoch }) => this.#s.renew.run({ move_id: moveId, owner, epoch, lease_until: leaseUntil }).changes !== 1)
          .map(({ moveId }) => moveId);
        return { lost, leaseUntil };
      })
      .immediate();
  }

  async releaseLease(lease: Pick<MoveLease, 'moveId' | 'owner' | 'epoch'>): Promise<void> {
    const { changes } = this.#s.release.run({ move_id: lease.moveId, owner: lease.owner, epoch: lease.epoch, now: Date.now() });
    if (changes === 1) this.#hub.emit({ kind: 'move', id: lease.moveId });
  }

  async getLease(moveId: string): Promise<MoveLease | undefined> {
    const row = this.#s.getMove.get(moveId);
    if (!row || row.owner === null || row.lease_until === null) return undefined;
    return { moveId, owner: row.owner, epoch: Number(row.epoch), leaseUntil: Number(row.lease_until) };
  }

  async claimPoolLease(poolId: string, owner: string, leaseMs: number): Promise<PoolLease | undefined> {
    checkLeaseMs(leaseMs);
    const now = Date.now();
    const row = this.#s.claimPool.get({ pool_id: poolId, owner, now, lease_until: now + leaseMs });
    return row && { poolId, owner, epoch: row.epoch, leaseUntil: row.lease_until };
  }

  async renewPoolLease(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>, leaseMs: number): Promise<boolean> {
    checkLeaseMs(leaseMs);
    const { poolId, owner, epoch } = lease;
    return this.#s.renewPool.run({ pool_id: poolId, owner, epoch, lease_until: Date.now() + leaseMs }).changes === 1;
  }

  async releasePoolLease(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>): Promise<void> {
    const { poolId, owner, epoch } = lease;
    if (this.#s.releasePool.run({ pool_id: poolId, owner, epoch, now: Date.now() }).changes === 1) {
      this.#hub.emit({ kind: 'pool', id: poolId });
    }
  }

  async publishPoolStatus(lease: Pick<PoolLease, 'poolId' | 'owner' | 'epoch'>, polledAt: number, body: unknown, topic?: string): Promise<boolean> {
    const { poolId, owner, epoch } = lease;
    const text = JSON.stringify(body);
    const key = poolStatusKey(poolId, topic);
    const written = this.#db
      .transaction((): boolean => {
        if (!this.#s.holdsPool.get({ pool_id: poolId, owner, epoch })) return false;
        this.#s.upsertPoolStatus.run({ pool_id: key, epoch, polled_at: polledAt, body: text });
        return true;
      })
      .immediate();
    if (written) this.#hub.emit({ kind: 'pool', id: key });
    return written;
  }

  async getPoolStatus(poolId: string, topic?: string): Promise<PoolStatus | undefined> {
    const row = this.#s.getPoolStatus.get(poolStatusKey(poolId, topic));
    return row && { poolId, epoch: row.epoch, polledAt: row.polled_at, seq: row.seq, body: JSON.parse(row.body) as unknown };
  }

  onWakeUp(listener: WakeUpListener): () => void {
    const remove = this.#hub.add(listener);
    // Nothing to connect: the subscription is live at once.
    WakeUpHub.deliver(listener, { kind: 'rescan' });
    return remove;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #disk(diskId: string): DiskRecord | undefined {
    const disk = this.#s.getDisk.get(diskId);
    if (!disk) return undefined;
    return { diskId, poolId: disk.pool_id, volumes: this.#s.listVolumes.all(diskId).map(volumeFromRow) };
  }

  #insertDisk(disk: DiskRecord): void {
    if (this.#s.getDisk.get(disk.diskId)) {
      throw new MoveStoreError('BAD_TRANSITION', `Disk ${disk.diskId} is already known; a discovered disk never replaces it`);
    }
    this.#s.insertDisk.run(disk.diskId, disk.poolId);
    for (const v of disk.volumes) {
      this.#s.insertVolume.run(disk.diskId, v.volumeId, v.domainId, v.status, v.parentId, v.position);
    }
  }
}

function hubFor(path: string): WakeUpHub {
  let hub = hubs.get(path);
  if (!hub) {
    hub = new WakeUpHub();
    hubs.set(path, hub);
  }
  return hub;
}

/** Every statement of the store, prepared once. */
function prepare(db: Database.Database) {
  const st = <P extends unknown[] | object, R = unknown>(sql: string): Statement<P, R> => db.prepare<P, R>(sql);
  return {
    getDisk: st<[string], { pool_id: string }>('SELECT pool_id FROM disks WHERE disk_id = ?'),
    insertDisk: st<[string, string]>('INSERT INTO disks (disk_id, pool_id) VALUES (?, ?)'),
    listVolumes: st<[string], VolumeRow>(`SELECT ${VOLUME_COLUMNS} FROM volumes WHERE disk_id = ? ORDER BY position`),
    insertVolume: st<[string, string, string, string, string | null, number]>(
      `INSERT INTO volumes (${VOLUME_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    lockVolumes: st<[string]>("UPDATE volumes SET status = 'LOCKED' WHERE disk_id = ?"),
    switchVolumes: st<[string, string, string]>('UPDATE volumes SET domain_id = ?, status = ? WHERE disk_id = ?'),
    restoreVolumes: st<{ move_id: string; disk_id: string }>(
      `UPDATE volumes SET status = (SELECT c.previous_status FROM compensation c
         WHERE c.move_id = @move_id AND c.volume_id = volumes.volume_id)
       WHERE disk_id = @disk_id AND volume_id IN (SELECT volume_id FROM compensation WHERE move_id = @move_id)`,
    ),
    recordCompensation: st<{ move_id: string; disk_id: string }>(
      `INSERT INTO compensation (move_id, disk_id, volume_id, previous_status)
       SELECT @move_id, disk_id, volume_id, status FROM volumes WHERE disk_id = @disk_id`,
    ),
    countCompensation: st<[string], { n: number }>('SELECT count(*) AS n FROM compensation WHERE move_id = ?'),
    dropCompensation: st<[string]>('DELETE FROM compensation WHERE move_id = ?'),
    listCompensation: st<[string], CompensationRow>(
      'SELECT move_id, volume_id, previous_status FROM compensation WHERE move_id = ? ORDER BY volume_id',
    ),
    getMove: st<[string], MoveRow>(`SELECT ${SQLITE_MOVE_COLUMNS} FROM moves WHERE move_id = ?`),
    activeMoveOfDisk: st<[string], MoveRow>(`SELECT ${SQLITE_MOVE_COLUMNS} FROM moves WHERE disk_id = ? AND state <> 'done'`),
    insertMove: st<object>(
      `INSERT INTO moves (move_id, pool_id, disk_id, src_domain_id, dst_domain_id, wipe_after_delete, discard, mode, state, created_at,
         copy_path_requested, exclude_hosts, copy_retries)
       VALUES (@move_id, @pool_id, @disk_id, @src_domain_id, @dst_domain_id, @wipe_after_delete, @discard, @mode, 'queued', @created_at,
         @copy_path_requested, @exclude_hosts, @copy_retries)`,
    ),
    updateMove: st<object>(
      `UPDATE moves SET state = @state, version = version + 1,
         result = CASE WHEN @set_result THEN @result ELSE result END,
         failed_phase = CASE WHEN @set_failed_phase THEN @failed_phase ELSE failed_phase END,
         error_code = CASE WHEN @set_error THEN @error_code ELSE error_code END,
         error_message = CASE WHEN @set_error THEN @error_message ELSE error_message END,
         available_at = CASE WHEN @set_available_at THEN @available_at ELSE available_at END,
         done_at = CASE WHEN @set_done_at THEN @done_at ELSE done_at END,
         cancel_requested = CASE WHEN @set_cancel THEN @cancel_requested ELSE cancel_requested END,
         copy_path = CASE WHEN @set_path THEN @copy_path ELSE copy_path END
       WHERE move_id = @move_id`,
    ),
    listMoves: st<object, MoveRow>(
      `SELECT ${SQLITE_MOVE_COLUMNS} FROM moves
       WHERE (@active = 0 OR state <> 'done')
         AND (@disk_id IS NULL OR disk_id = @disk_id)
         AND (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
       ORDER BY created_at, move_id`,
    ),
    getPhase: st<[string, string]>('SELECT 1 FROM phases WHERE move_id = ? AND phase = ?'),
    startPhase: st<[string, string, number]>('INSERT INTO phases (move_id, phase, started_at) VALUES (?, ?, ?)'),
    endPhase: st<[number, string, number | null, string | null, string, string]>(
      `UPDATE phases SET ended_at = ?, outcome = ?, error_code = ?, error_message = ?
       WHERE move_id = ? AND phase = ? AND ended_at IS NULL`,
    ),
    listPhases: st<[string], PhaseRow>(
      `SELECT ${PHASE_COLUMNS} FROM phases WHERE move_id = ? ORDER BY started_at, rowid`,
    ),
    getTask: st<[string, string], TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE move_id = ? AND phase = ?`),
    insertTask: st<[string, string, string, string, string, string, number]>(
      `INSERT INTO tasks (move_id, phase, pool_id, verb, domain_id, image_id, state, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'placeholder', ?)`,
    ),
    // Or a task already running under that id: its answer was recorded by a sender that lost the move (recordAnswer).
    submitTask: st<{ vdsm_task_id: string; move_id: string; phase: string }>(
      `UPDATE tasks SET vdsm_task_id = @vdsm_task_id, state = 'running'
       WHERE move_id = @move_id AND phase = @phase AND (state = 'placeholder' OR (state = 'running' AND vdsm_task_id = @vdsm_task_id))`,
    ),
    answerTask: st<[string, string, string, number]>(
      `UPDATE tasks SET vdsm_task_id = ?, state = 'running' WHERE move_id = ? AND phase = ? AND created_at = ? AND state = 'placeholder'`,
    ),
    endTask: st<[number, number, string, string, string]>(
      `UPDATE tasks SET state = 'ended', ended_at = ?, end_code = ?, end_message = ?
       WHERE move_id = ? AND phase = ? AND state = 'running'`,
    ),
    countInFlight: st<[string], { n: number }>(
      "SELECT count(*) AS n FROM tasks WHERE pool_id = ? AND state IN ('placeholder', 'running')",
    ),
    dropTask: st<[string, string]>("DELETE FROM tasks WHERE move_id = ? AND phase = ? AND state = 'placeholder'"),
    clearTask: st<[number, string, string]>(
      "UPDATE tasks SET state = 'cleared', ended_at = coalesce(ended_at, ?) WHERE move_id = ? AND phase = ?",
    ),
    listTasks: st<object, TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks
       WHERE (@move_id IS NULL OR move_id = @move_id) AND (@state IS NULL OR state = @state)
       ORDER BY created_at, move_id, phase`,
    ),
    claimable: st<{ now: number; limit: number; pools: string | null }, { move_id: string }>(
      `SELECT move_id FROM moves
       WHERE state <> 'done' AND (lease_until IS NULL OR lease_until <= @now)
         AND (@pools IS NULL OR pool_id IN (SELECT value FROM json_each(@pools)))
       ORDER BY created_at, move_id LIMIT @limit`,
    ),
    claim: st<{ move_id: string; owner: string; lease_until: number }, { epoch: number; lease_until: number }>(
      `UPDATE moves SET owner = @owner, epoch = epoch + 1, lease_until = @lease_until WHERE move_id = @move_id
       RETURNING epoch, lease_until`,
    ),
    renew: st<{ move_id: string; owner: string; epoch: number; lease_until: number }>(
      'UPDATE moves SET lease_until = @lease_until WHERE move_id = @move_id AND owner = @owner AND epoch = @epoch',
    ),
    release: st<{ move_id: string; owner: string; epoch: number; now: number }>(
      'UPDATE moves SET owner = NULL, lease_until = @now WHERE move_id = @move_id AND owner = @owner AND epoch = @epoch',
    ),
    // Taken when free or lapsed (a new epoch), renewed when already ours (the same epoch).
    claimPool: st<{ pool_id: string; owner: string; now: number; lease_until: number }, { epoch: number; lease_until: number }>(
      `INSERT INTO pool_leases (pool_id, owner, epoch, lease_until) VALUES (@pool_id, @owner, 1, @lease_until)
       ON CONFLICT (pool_id) DO UPDATE SET
         epoch = CASE WHEN pool_leases.owner IS excluded.owner THEN pool_leases.epoch ELSE pool_leases.epoch + 1 END,
         owner = excluded.owner, lease_until = excluded.lease_until
       WHERE pool_leases.owner IS excluded.owner OR pool_leases.lease_until <= @now
       RETURNING epoch, lease_until`,
    ),
    renewPool: st<{ pool_id: string; owner: string; epoch: number; lease_until: number }>(
      'UPDATE pool_leases SET lease_until = @lease_until WHERE pool_id = @pool_id AND owner = @owner AND epoch = @epoch',
    ),
    releasePool: st<{ pool_id: string; owner: string; epoch: number; now: number }>(
      'UPDATE pool_leases SET owner = NULL, lease_until = @now WHERE pool_id = @pool_id AND owner = @owner AND epoch = @epoch',
    ),
    holdsPool: st<{ pool_id: string; owner: string; epoch: number }>(
      'SELECT 1 FROM pool_leases WHERE pool_id = @pool_id AND owner = @owner AND epoch = @epoch',
    ),
    upsertPoolStatus: st<{ pool_id: string; epoch: number; polled_at: number; body: string }>(
      `INSERT INTO pool_status (pool_id, epoch, polled_at, seq, body) VALUES (@pool_id, @epoch, @polled_at, 1, @body)
       ON CONFLICT (pool_id) DO UPDATE SET epoch = excluded.epoch, polled_at = excluded.polled_at,
         seq = pool_status.seq + 1, body = excluded.body`,
    ),
    getPoolStatus: st<[string], { epoch: number; polled_at: number; seq: number; body: string }>(
      'SELECT epoch, polled_at, seq, body FROM pool_status WHERE pool_id = ?',
    ),
    insertLeftover: st<[string, string, string, string, number]>(
      'INSERT INTO leftovers (move_id, domain_id, image_id, reason, recorded_at) VALUES (?, ?, ?, ?, ?)',
    ),
    listLeftovers: st<object, LeftoverRow>(
      `SELECT move_id, domain_id, image_id, reason, recorded_at FROM leftovers
       WHERE (@move_id IS NULL OR move_id = @move_id) ORDER BY id`,
    ),
    insertAudit: st<[number, number, string, string | null, string | null, string]>(
      'INSERT INTO audit (at, type, severity, move_id, disk_id, message) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    getAudit: st<[number | bigint], AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq = ?`),
    listAudit: st<object, AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit
       WHERE (@move_id IS NULL OR move_id = @move_id) AND seq > @after ORDER BY seq LIMIT @limit`,
    ),
  };
}
