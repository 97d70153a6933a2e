/**
 * Versioned schema migrations, one SQL file each, shared by both stores: the
 * files live in `migrations/<dialect>/NNNN-name.sql` at the package's root
 * (shipped in the tarball), are applied in version order, each in its own
 * transaction, and recorded in a `schema_migrations` table, so a database
 * says which schema it has and a newer one is refused rather than misread.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MoveStoreError } from './move-store.js';

export type SqlDialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const FILE_NAME = /^(\d{4})-([a-z0-9-]+)\.sql$/;

/** The package's migrations folder for a dialect, found from this module's place in src/ or dist/. */
export function migrationsFolder(dialect: SqlDialect): string {
  return fileURLToPath(new URL(`../../migrations/${dialect}/`, import.meta.url));
}

/**
 * Reads a dialect's migrations in version order.
 * @throws Error when a file name does not follow NNNN-name.sql or the versions have a gap.
 */
export function loadMigrations(dialect: SqlDialect, folder = migrationsFolder(dialect)): Migration[] {
  const migrations = readdirSync(folder)
    .filter((name) => name.endsWith('.sql'))
    .map((file): Migration => {
      const parts = FILE_NAME.exec(file);
      if (!parts) throw new Error(`Migration file ${folder}${file} is not named NNNN-name.sql`);
      return { version: Number(parts[1]), name: parts[2]!, sql: readFileSync(`${folder}${file}`, 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`Migrations in ${folder} skip from version ${index} to ${migration.version}`);
    }
  });
  return migrations;
}

/** What a runner needs to know before it applies anything. */
export function pendingMigrations(migrations: readonly Migration[], applied: number, where: string): Migration[] {
  const latest = migrations.length;
  if (applied > latest) {
    throw new MoveStoreError(
      'SCHEMA_TOO_NEW',
      `${where} has schema version ${applied}; this engine-move knows versions up to ${latest} (written by a newer one?)`,
    );
  }
  return migrations.slice(applied);
}
