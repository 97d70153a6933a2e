import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { describeMoveStoreConformance, diskOf, requestFor } from '../test-support/store-conformance.js';
import { loadMigrations } from './migrations.js';
import { MoveStoreError } from './move-store.js';
import type { MoveStore } from './move-store.js';
import { SqliteMoveStore } from './sqlite-store.js';

function tempFolder(): string {
  return mkdtempSync(join(tmpdir(), 'engine-move-store-'));
}

describeMoveStoreConformance('SQLite file', async () => {
  const folder = tempFolder();
  const path = join(folder, 'nested', 'moves.sqlite');
  const opened: MoveStore[] = [];
  const open = (): MoveStore => {
    const store = SqliteMoveStore.open({ path });
    opened.push(store);
    return store;
  };
  return {
    store: open(),
    another: async () => open(),
    destroy: async () => {
      for (const store of opened) await store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
});

describe('SqliteMoveStore', function () {
  let folder: string;
  beforeEach(function () {
    folder = tempFolder();
  });
  afterEach(function () {
    rmSync(folder, { recursive: true, force: true });
  });

  it('creates its folder, runs in WAL mode and records every applied migration', async function () {
    const path = join(folder, 'a', 'b', 'moves.sqlite');
    const store = SqliteMoveStore.open({ path });
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
      const versions = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(versions).to.deep.equal(loadMigrations('sqlite').map((m) => ({ version: m.version, name: m.name })));
    } finally {
      db.close();
    }
  });

  it('keeps every move and lock across a close and a reopen', async function () {
    const path = join(folder, 'moves.sqlite');
    const first = SqliteMoveStore.open({ path });
    const disk = diskOf(2);
    const request = requestFor(disk);
    await first.createMove({ request, at: 1, disk });
    await first.apply({ moveId: request.moveId, from: 'queued', to: 'copy-submitting', at: 2, lockDisk: true });
    await first.close();
    const second = SqliteMoveStore.open({ path });
    try {
      expect((await second.getMove(request.moveId))?.state).to.equal('copy-submitting');
      expect((await second.getDisk(disk.diskId))?.volumes.map((v) => v.status)).to.deep.equal(['LOCKED', 'LOCKED']);
    } finally {
      await second.close();
    }
  });

  it('applies only the migrations a database lacks, once, when opened again', async function () {
    const path = join(folder, 'moves.sqlite');
    const migrations = [
      ...loadMigrations('sqlite'),
      { version: loadMigrations('sqlite').length + 1, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER) STRICT;' },
    ];
    await SqliteMoveStore.open({ path }).close();
    await SqliteMoveStore.open({ path, migrations }).close();
    await SqliteMoveStore.open({ path, migrations }).close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare("SELECT name FROM schema_migrations WHERE name = 'extra'").all()).to.have.length(1);
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer schema and leaves it as it was', async function () {
    const path = join(folder, 'moves.sqlite');
    const newer = [...loadMigrations('sqlite'), { version: loadMigrations('sqlite').length + 1, name: 'future', sql: 'SELECT 1;' }];
    await SqliteMoveStore.open({ path, migrations: newer }).close();
    try {
      SqliteMoveStore.open({ path });
      expect.fail('opened a database with a newer schema');
    } catch (error) {
      expect(error).to.be.instanceOf(MoveStoreError);
      expect((error as MoveStoreError).code).to.equal('SCHEMA_TOO_NEW');
      expect((error as Error).message).to.contain(`schema version ${newer.length}`);
    }
  });

  it('rolls back a migration that fails and keeps the earlier ones', async function () {
    const path = join(folder, 'moves.sqlite');
    const base = loadMigrations('sqlite');
    const broken = [...base, { version: base.length + 1, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;' }];
    expect(() => SqliteMoveStore.open({ path, migrations: broken })).to.throw(/no_such_table/);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").all()).to.deep.equal([]);
      expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).to.deep.equal({ v: base.length });
    } finally {
      db.close();
    }
  });
});

describe('loadMigrations', function () {
  let folder: string;
  beforeEach(function () {
    folder = tempFolder() + '/';
  });
  afterEach(function () {
    rmSync(folder, { recursive: true, force: true });
  });

  it('reads NNNN-name.sql files in version order', function () {
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '0002-second.sql'), 'SELECT 2;');
    writeFileSync(join(folder, '0001-first.sql'), 'SELECT 1;');
    expect(loadMigrations('sqlite', folder).map((m) => [m.version, m.name, m.sql])).to.deep.equal([
      [1, 'first', 'SELECT 1;'],
      [2, 'second', 'SELECT 2;'],
    ]);
  });

  it('refuses a gap in versions and a file named otherwise', function () {
    writeFileSync(join(folder, '0001-first.sql'), 'SELECT 1;');
    writeFileSync(join(folder, '0003-third.sql'), 'SELECT 3;');
    expect(() => loadMigrations('sqlite', folder)).to.throw(/skip from version 1 to 3/);
    rmSync(join(folder, '0003-third.sql'));
    writeFileSync(join(folder, 'second.sql'), 'SELECT 2;');
    expect(() => loadMigrations('sqlite', folder)).to.throw(/not named NNNN-name.sql/);
  });
});
