/**
 * Migrations on PostgreSQL, by the mechanism of migrations.ts: each file in
 * its own transaction, which first takes a transaction-scoped advisory lock
 * (it cannot leak through the pool as a session lock would), then reads the
 * applied version, so two instances starting at once apply each file once;
 * the version row is inserted before the file runs (graphile's primary-key
 * guard, should the lock ever be bypassed). A database with a newer schema
 * than this code knows is refused (SCHEMA_TOO_NEW), not misread.
 */
import type { Pool } from 'pg';
import { pendingMigrations } from './migrations.js';
import { isConnectionFailure } from './postgres-retry.js';
import type { Migration } from './migrations.js';

/** The advisory lock key of engine-move's migrations ('engmove' in ASCII). */
export const MIGRATION_LOCK_KEY = '28543015612118629';

/** @returns the schema version the database has once every pending migration is applied. */
export async function migratePostgres(pool: Pool, migrations: readonly Migration[], where: string): Promise<number> {
  for (;;) {
    const client = await pool.connect();
    let failed: unknown;
    try {
      await client.query('BEGIN');
      await client.query({ name: 'em_migrate_lock', text: 'SELECT pg_advisory_xact_lock($1::bigint)', values: [MIGRATION_LOCK_KEY] });
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(version), 0)::integer AS v FROM schema_migrations');
      const applied = rows[0]!.v;
      const next = pendingMigrations(migrations, applied, where)[0];
      if (!next) {
        await client.query('COMMIT');
        return applied;
      }
      await client.query({ name: 'em_migrate_record', text: 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', values: [next.version, next.name] });
      await client.query(next.sql); // a file of several statements: the simple protocol, inside this transaction
      await client.query('COMMIT');
    } catch (error) {
      failed = error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(isConnectionFailure(failed) ? (failed as Error) : undefined);
    }
  }
}
