import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { skipUnless } from '@vdsm-kit/test-support/skip';
import { missingAnyPostgres, startThrowawayPostgres } from '../test-support/throwaway-postgres.js';
import { loadMigrations } from './migrations.js';
import { openMoveStore } from './open-store.js';
import { PostgresMoveStore } from './postgres-store.js';
import { SqliteMoveStore } from './sqlite-store.js';

describe('openMoveStore', function () {
  this.timeout(60_000);

  it('opens a file path as the SQLite store, migrated', async function () {
    const folder = mkdtempSync(join(tmpdir(), 'engine-move-open-'));
    try {
      const store = await openMoveStore(join(folder, 'moves.sqlite'));
      expect(store).to.be.instanceOf(SqliteMoveStore);
      expect(store.description).to.equal(`sqlite:${join(folder, 'moves.sqlite')}`);
      expect(store.schemaVersion).to.equal(loadMigrations('sqlite').length);
      await store.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('opens postgres:// and postgresql:// URLs as the PostgreSQL store, migrated', async function () {
    skipUnless(this, missingAnyPostgres() === undefined, missingAnyPostgres() ?? '');
    const server = await startThrowawayPostgres();
    try {
      const url = await server.createDatabase();
      for (const location of [url, url.replace(/^postgres:/, 'postgresql:')]) {
        const store = await openMoveStore(location);
        expect(store).to.be.instanceOf(PostgresMoveStore);
        expect(store.schemaVersion).to.equal(loadMigrations('postgres').length);
        await store.close();
      }
    } finally {
      await server.stop();
    }
  });
});
