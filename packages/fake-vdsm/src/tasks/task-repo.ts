/**
 * The task manager's persistence: prepared statements over the `tasks` and
 * `locks` tables (their DDL lives in model/schema.ts, the one file that
 * holds all DDL). The rows play the part of VDSM's task directory
 * `<master>/master/tasks/<taskID>/` (`<id>.task`, `<id>.job.0`,
 * `<id>.recover.N`, `<id>.result`; vdsm-wire.md §7.3): whatever a row says
 * is what a new SPM finds after a crash.
 *
 * Everything here is synchronous (better-sqlite3); `transaction(fn)` groups
 * writes so a state change and its result land together or not at all.
 */
import type { Statement } from 'better-sqlite3';
import type { StateDatabase } from '../model/db.js';
import type { TaskInternalState } from '@vdsm-kit/client/api';

/** Lock modes as VDSM's resource manager names them (resourceManager.py `SHARED`, `EXCLUSIVE`). */
export type LockMode = 'shared' | 'exclusive';

/** One persisted task (a `tasks` row, decoded). */
export interface TaskRow {
  readonly id: string;
  /** The pool whose master domain would hold the task (SPM tasks); null for HSM tasks. */
  readonly poolId: string | null;
  /** VDSM's HSM method name (`moveImage`, `deleteImage`, ...), reported by `Task.getInfo`. */
  readonly verb: string;
  /** `spm` or `hsm` (VDSM `Task.tag`). */
  readonly tag: string;
  readonly state: TaskInternalState;
  /** VDSM `TaskResult.code`. */
  readonly code: number;
  /** VDSM `TaskResult.message`. */
  readonly message: string;
  /** The job: which handler runs it and with what. */
  readonly job: PersistedJob;
  /** 0..1, as last recorded by the job. */
  readonly progress: number;
  /** JSON of what rollback must undo, or null when nothing is recorded. */
  readonly recovery: string | null;
  /** Wall-clock milliseconds (Unix epoch) of creation and of the last write. */
  readonly created: number;
  readonly updated: number;
}

/** The `job` column: the handler kind and its JSON params (VDSM's `<id>.job.0`). */
export interface PersistedJob {
  readonly kind: string;
  readonly params: unknown;
}

/** One held lock (a `locks` row). */
export interface LockRow {
  readonly namespace: string;
  readonly name: string;
  readonly mode: LockMode;
  /** The task id owning the lock. */
  readonly owner: string;
}

/** What a new task row holds. */
export interface NewTaskRow {
  readonly id: string;
  readonly poolId: string | null;
  readonly verb: string;
  readonly tag: string;
  readonly state: TaskInternalState;
  readonly code: number;
  readonly message: string;
  readonly job: PersistedJob;
  readonly now: number;
}

interface RawTaskRow {
  id: string;
  pool_id: string | null;
  verb: string;
  tag: string;
  state: string;
  code: number;
  message: string;
  job: string;
  progress: number;
  recovery: string | null;
  created: number;
  updated: number;
}

const TASK_COLUMNS = 'id, pool_id, verb, tag, state, code, message, job, progress, recovery, created, updated';

/** Prepared statements over `tasks` and `locks`; one instance per database handle. */
export class TaskRepo {
  readonly #db: StateDatabase;
  readonly #insertTask: Statement<[Record<string, unknown>]>;
  readonly #getTask: Statement<[string], RawTaskRow>;
  readonly #listTasks: Statement<[], RawTaskRow>;
  readonly #listPoolTasks: Statement<[string], RawTaskRow>;
  readonly #setState: Statement<[Record<string, unknown>]>;
  readonly #setProgress: Statement<[number, number, string]>;
  readonly #setRecovery: Statement<[string | null, number, string]>;
  readonly #deleteTask: Statement<[string]>;
  readonly #deleteTasksByTag: Statement<[string]>;
  readonly #insertLock: Statement<[string, string, string, string]>;
  readonly #deleteLock: Statement<[string, string, string]>;
  readonly #deleteOwnerLocks: Statement<[string]>;
  readonly #deletePoolLocks: Statement<[string]>;
  readonly #listLocks: Statement<[], LockRow>;
  readonly #listOwnerLocks: Statement<[string], LockRow>;

  constructor(db: StateDatabase) {
    this.#db = db;
    this.#insertTask = db.prepare(
      `INSERT INTO tasks (${TASK_COLUMNS})
       VALUES (@id, @poolId, @verb, @tag, @state, @code, @message, @job, 0, NULL, @now, @now)`,
    );
    // rowid order is creation order (tasks is a rowid table), a stable listing order.
    this.#getTask = db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`);
    this.#listTasks = db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks ORDER BY rowid`);
    this.#listPoolTasks = db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE pool_id = ? ORDER BY rowid`);
    this.#setState = db.prepare(
      'UPDATE tasks SET state = @state, code = @code, message = @message, updated = @now WHERE id = @id',
    );
    this.#setProgress = db.prepare('UPDATE tasks SET progress = ?, updated = ? WHERE id = ?');
    this.#setRecovery = db.prepare('UPDATE tasks SET recovery = ?, updated = ? WHERE id = ?');
    this.#deleteTask = db.prepare('DELETE FROM tasks WHERE id = ?');
    this.#deleteTasksByTag = db.prepare('DELETE FROM tasks WHERE tag = ?');
    this.#insertLock = db.prepare('INSERT OR REPLACE INTO locks (namespace, name, mode, owner) VALUES (?, ?, ?, ?)');
    this.#deleteLock = db.prepare('DELETE FROM locks WHERE namespace = ? AND name = ? AND owner = ?');
    this.#deleteOwnerLocks = db.prepare('DELETE FROM locks WHERE owner = ?');
    this.#deletePoolLocks = db.prepare('DELETE FROM locks WHERE owner IN (SELECT id FROM tasks WHERE pool_id = ?)');
    this.#listLocks = db.prepare('SELECT namespace, name, mode, owner FROM locks ORDER BY rowid');
    this.#listOwnerLocks = db.prepare('SELECT namespace, name, mode, owner FROM locks WHERE owner = ? ORDER BY rowid');
  }

  /** Runs `fn` in one transaction (nested calls become savepoints). `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  // ---- tasks ----

  insertTask(row: NewTaskRow): void {
    this.#insertTask.run({
      id: row.id,
      poolId: row.poolId,
      verb: row.verb,
      tag: row.tag,
      state: row.state,
      code: row.code,
      message: row.message,
      job: JSON.stringify(row.job),
      now: row.now,
    });
  }

  getTask(id: string): TaskRow | undefined {
    const raw = this.#getTask.get(id);
    return raw === undefined ? undefined : decodeTask(raw);
  }

  /** Every task, oldest first; only those of `poolId` when given. */
  listTasks(poolId?: string): TaskRow[] {
    const rows = poolId === undefined ? this.#listTasks.all() : this.#listPoolTasks.all(poolId);
    return rows.map(decodeTask);
  }

  /** Sets state and result together (VDSM persists the result with the state it belongs to). */
  setState(id: string, state: TaskInternalState, code: number, message: string, now: number): boolean {
    return this.#setState.run({ id, state, code, message, now }).changes > 0;
  }

  setProgress(id: string, progress: number, now: number): void {
    this.#setProgress.run(progress, now, id);
  }

  /** Records (or with null, forgets) what rollback must undo. */
  setRecovery(id: string, recovery: string | null, now: number): boolean {
    return this.#setRecovery.run(recovery, now, id).changes > 0;
  }

  deleteTask(id: string): boolean {
    return this.#deleteTask.run(id).changes > 0;
  }

  /** Removes every task with exactly this tag (HSM tasks do not outlive the process). */
  deleteTasksByTag(tag: string): number {
    return this.#deleteTasksByTag.run(tag).changes;
  }

  // ---- locks ----

  insertLock(lock: LockRow): void {
    this.#insertLock.run(lock.namespace, lock.name, lock.mode, lock.owner);
  }

  deleteLock(namespace: string, name: string, owner: string): void {
    this.#deleteLock.run(namespace, name, owner);
  }

  deleteOwnerLocks(owner: string): number {
    return this.#deleteOwnerLocks.run(owner).changes;
  }

  /** Drops the lock rows owned by any task of `poolId` (traces of a crash). */
  deletePoolLocks(poolId: string): number {
    return this.#deletePoolLocks.run(poolId).changes;
  }

  /** Every lock row, or those of `owner`. */
  listLocks(owner?: string): LockRow[] {
    return owner === undefined ? this.#listLocks.all() : this.#listOwnerLocks.all(owner);
  }
}

function decodeTask(raw: RawTaskRow): TaskRow {
  return {
    id: raw.id,
    poolId: raw.pool_id,
    verb: raw.verb,
    tag: raw.tag,
    // Only this module writes the column, always with a TaskInternalState.
    state: raw.state as TaskInternalState,
    code: raw.code,
    message: raw.message,
    job: JSON.parse(raw.job) as PersistedJob,
    progress: raw.progress,
    recovery: raw.recovery,
    created: raw.created,
    updated: raw.updated,
  };
}
