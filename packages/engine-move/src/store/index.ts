/** The move store: records, the interface, the SQLite and PostgreSQL implementations, the factory, migrations. */
export * from './records.js';
export * from './move-store.js';
export * from './leases.js';
export * from './sqlite-store.js';
export { PostgresMoveStore, isPostgresUrl, describePostgresUrl } from './postgres-store.js';
export type { PostgresMoveStoreOptions } from './postgres-store.js';
export { openMoveStore, defaultDbPath, DB_ENV } from './open-store.js';
export type { OpenedMoveStore } from './open-store.js';
export { loadMigrations, migrationsFolder } from './migrations.js';
export type { Migration, SqlDialect } from './migrations.js';
