/** The move store: records, the interface, the SQLite implementation, migrations. */
export * from './records.js';
export * from './move-store.js';
export * from './leases.js';
export * from './sqlite-store.js';
export { loadMigrations, migrationsFolder } from './migrations.js';
export type { Migration, SqlDialect } from './migrations.js';
