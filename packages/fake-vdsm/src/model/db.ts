/**
 * Opens the fake's SQLite state database (`<state>/fake-vdsm.sqlite`) and
 * brings its schema up to date. WAL so readers never block the writer and a
 * SIGKILL loses at most the last transactions, never consistency;
 * `synchronous = NORMAL` is WAL's safe and fast pairing.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './schema.js';
import type { Migration } from './schema.js';

/** A better-sqlite3 connection to the state database. */
export type StateDatabase = Database.Database;

/** File name of the database inside the state directory. */
export const STATE_DATABASE_FILE = 'fake-vdsm.sqlite';

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** The state database cannot be used (newer schema, not WAL-capable, broken migration list). */
export class StateDatabaseError extends Error {
  override name = 'StateDatabaseError';
}

/**
 * Opens (creating if missing) `<stateDir>/fake-vdsm.sqlite` with WAL,
 * `synchronous = NORMAL`, `foreign_keys = ON` and a 5 s busy timeout, then
 * applies the migrations it lacks. The directory must exist.
 *
 * @throws StateDatabaseError when the file was written by a newer schema or
 *   WAL cannot be enabled; SQLite's error when the file is not a database.
 */
export function openStateDatabase(stateDir: string): StateDatabase {
  const db = new Database(join(stateDir, STATE_DATABASE_FILE), { timeout: BUSY_TIMEOUT_MS });
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StateDatabaseError(`SQLite refused WAL mode for ${db.name} (got ${String(mode)})`);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Applies the migrations newer than the database's `user_version`, all in one
 * IMMEDIATE transaction: the version is read under the write lock, so two
 * processes opening one fresh folder cannot both migrate, and a failing step
 * leaves the file as it was.
 *
 * @returns the schema version the database now has.
 * @throws StateDatabaseError when the database is newer than `migrations`
 *   or the list has gaps; the failing DDL's error otherwise.
 */
export function migrate(db: StateDatabase, migrations: readonly Migration[] = MIGRATIONS): number {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StateDatabaseError(`Migration #${index} has version ${migration.version}, expected ${index + 1}`);
    }
  });
  const latest = migrations.length;
  return db
    .transaction((): number => {
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current > latest) {
        throw new StateDatabaseError(
          `${db.name} has schema version ${current}; this fake-vdsm knows versions up to ${latest} (written by a newer one?)`,
        );
      }
      for (const migration of migrations.slice(current)) {
        db.exec(migration.sql);
        // PRAGMA takes no bound parameters; the version is an integer we checked above.
        db.pragma(`user_version = ${migration.version}`);
      }
      return latest;
    })
    .immediate();
}
