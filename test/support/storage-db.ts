/**
 * Reads the fake's SQLite state (`<state>/fake-vdsm.sqlite`, schema in
 * packages/fake-vdsm/src/model/schema.ts) READ-ONLY, for what no VDSM verb
 * shows: removed volume rows, the locks table, a task's recorded progress.
 * Each call opens and closes its own read-only connection, so nothing is
 * held while the fake writes, is killed or restarts.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checksumFile } from '@vdsm-kit/fake-vdsm/data';
import { exists, listVolumeFiles } from './storage-files.js';
import type { FoundVolumeFile } from './storage-files.js';

/** File name of the state database in the state folder. */
const STATE_DB = 'fake-vdsm.sqlite';

/** A volume row, as stored. */
export interface VolumeRow {
  readonly domain_id: string;
  readonly id: string;
  readonly image_id: string;
  readonly legality: string;
  readonly generation: number;
  readonly removed: number;
}

/** A lock row, as stored. */
export interface LockRow {
  readonly namespace: string;
  readonly name: string;
  readonly mode: string;
  readonly owner: string;
}

/** A task row's fields the suites read. */
export interface TaskRow {
  readonly id: string;
  readonly verb: string;
  readonly tag: string;
  readonly state: string;
  readonly code: number;
  readonly message: string;
  readonly progress: number;
}

/** Runs `read` on a read-only connection to the state database of `state`. */
export async function readStateDb<T>(state: string, read: (db: Database.Database) => T): Promise<T> {
  const path = join(state, STATE_DB);
  if (!(await exists(path))) throw new Error(`no state database at ${path}`);
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Every volume row, removed ones included. */
export function volumeRows(state: string): Promise<VolumeRow[]> {
  return readStateDb(state, (db) =>
    db.prepare<[], VolumeRow>('SELECT domain_id, id, image_id, legality, generation, removed FROM volumes ORDER BY domain_id, id').all(),
  );
}

/** Every lock row. */
export function lockRows(state: string): Promise<LockRow[]> {
  return readStateDb(state, (db) => db.prepare<[], LockRow>('SELECT namespace, name, mode, owner FROM locks').all());
}

/** The row of task `taskId`, or undefined. */
export function taskRow(state: string, taskId: string): Promise<TaskRow | undefined> {
  return readStateDb(state, (db) =>
    db.prepare<[string], TaskRow>('SELECT id, verb, tag, state, code, message, progress FROM tasks WHERE id = ?').get(taskId),
  );
}

/** What disagrees between the volume files and the volume rows (all empty when consistent). */
export interface Inconsistencies {
  /** Files no row claims (by domain, image folder and volume, removed or not). */
  readonly filesWithoutRow: readonly string[];
  /** Rows whose file is not where the row says (live: `<img>/`, removed: a `_remove_me_` folder). */
  readonly rowsWithoutFile: readonly string[];
}

/**
 * Compares every volume file under the state folder with every volume row:
 * a live row's file is in `images/<img>/`, a removed row's in a
 * `_remove_me_...<img>/` folder; anything else is reported.
 */
export async function findInconsistencies(state: string): Promise<Inconsistencies> {
  const rows = await volumeRows(state);
  const files = await listVolumeFiles(state);
  const key = (domainId: string, imageId: string, volumeId: string, removed: boolean): string =>
    `${domainId}/${removed ? 'removed:' : ''}${imageId}/${volumeId}`;
  const fileKeys = new Set(files.map((file) => key(file.domainId, file.imageId, file.volumeId, file.removed)));
  const rowKeys = new Set(rows.map((row) => key(row.domain_id, row.image_id, row.id, row.removed === 1)));
  return {
    filesWithoutRow: [...fileKeys].filter((file) => !rowKeys.has(file)).sort(),
    rowsWithoutFile: [...rowKeys].filter((row) => !fileKeys.has(row)).sort(),
  };
}

/** Digests of every live volume file, by `<sd>/<img>/<vol>` (a snapshot to compare after a crash). */
export async function liveVolumeDigests(state: string): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  const files: FoundVolumeFile[] = (await listVolumeFiles(state)).filter((file) => !file.removed);
  for (const file of files) digests.set(`${file.domainId}/${file.imageId}/${file.volumeId}`, await checksumFile(file.path));
  return digests;
}
