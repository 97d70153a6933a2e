import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { migrate, openStateDatabase, STATE_DATABASE_FILE, StateDatabaseError } from './db.js';
import type { StateDatabase } from './db.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

const SD_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const SD_B = 'bbbbbbbb-0000-4000-8000-000000000002';
const POOL = 'cccccccc-0000-4000-8000-000000000003';
const IMG = 'dddddddd-0000-4000-8000-000000000004';
const VOL = 'eeeeeeee-0000-4000-8000-000000000005';

describe('model/db', () => {
  let dir: string;
  const open: StateDatabase[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-db-'));
  });

  afterEach(async () => {
    for (const db of open.splice(0)) if (db.open) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function openDb(): StateDatabase {
    const db = openStateDatabase(dir);
    open.push(db);
    return db;
  }

  function tableNames(db: StateDatabase): string[] {
    return db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
  }

  describe('openStateDatabase', () => {
    it('creates fake-vdsm.sqlite in the state folder with every table at the current version', () => {
      const db = openDb();
      expect(existsSync(join(dir, STATE_DATABASE_FILE))).to.equal(true);
      expect(db.pragma('user_version', { simple: true })).to.equal(SCHEMA_VERSION);
      expect(tableNames(db)).to.deep.equal(['domains', 'hosts', 'locks', 'pools', 'tasks', 'volumes']);
    });

    it('makes every table STRICT', () => {
      const db = openDb();
      const strict = db
        .prepare<[], { name: string; strict: number }>("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'")
        .all();
      expect(strict).to.have.length(6);
      for (const table of strict) expect(table.strict, table.name).to.equal(1);
    });

    it('turns on WAL, synchronous NORMAL, foreign keys and a 5 s busy timeout', () => {
      const db = openDb();
      expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
      expect(db.pragma('synchronous', { simple: true })).to.equal(1); // NORMAL
      expect(db.pragma('foreign_keys', { simple: true })).to.equal(1);
      expect(db.pragma('busy_timeout', { simple: true })).to.equal(5000);
      db.prepare("INSERT INTO tasks (id) VALUES ('t')").run();
      expect(existsSync(join(dir, `${STATE_DATABASE_FILE}-wal`))).to.equal(true);
    });

    it('re-opens an existing file at the current version without migrating again, rows kept', () => {
      const first = openDb();
      first.prepare("INSERT INTO tasks (id, verb) VALUES ('t1', 'moveImage')").run();
      first.close();
      const again = openDb();
      expect(again.pragma('user_version', { simple: true })).to.equal(SCHEMA_VERSION);
      expect(again.prepare<[], string>('SELECT verb FROM tasks').pluck().all()).to.deep.equal(['moveImage']);
    });

    it('refuses a file written by a newer schema and leaves it untouched', () => {
      openDb().pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      for (const db of open) db.close();
      expect(() => openDb()).to.throw(
        StateDatabaseError,
        `schema version ${SCHEMA_VERSION + 1}; this fake-vdsm knows versions up to ${SCHEMA_VERSION}`,
      );
      const raw = new Database(join(dir, STATE_DATABASE_FILE));
      expect(raw.pragma('user_version', { simple: true })).to.equal(SCHEMA_VERSION + 1);
      raw.close();
    });

    it('refuses a file that is not a database', async () => {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(dir, STATE_DATABASE_FILE), 'not a database, just text that is long enough '.repeat(20));
      expect(() => openDb()).to.throw(/not a database/);
    });
  });

  describe('migrate', () => {
    it('applies only the missing steps, in one transaction', () => {
      const db = new Database(join(dir, 'm.sqlite'));
      open.push(db);
      const steps = [
        { version: 1, description: 'a', sql: 'CREATE TABLE a (x INT) STRICT;' },
        { version: 2, description: 'b', sql: 'CREATE TABLE b (x INT) STRICT;' },
      ];
      expect(migrate(db, steps.slice(0, 1))).to.equal(1);
      expect(migrate(db, steps)).to.equal(2);
      expect(migrate(db, steps)).to.equal(2);
      expect(tableNames(db)).to.deep.equal(['a', 'b']);
    });

    it('rolls a failing step back entirely: no table and the old version', () => {
      const db = new Database(join(dir, 'm.sqlite'));
      open.push(db);
      const steps = [
        { version: 1, description: 'ok', sql: 'CREATE TABLE a (x INT) STRICT;' },
        { version: 2, description: 'broken', sql: 'CREATE TABLE b (x INT) STRICT; CREATE TABLE a (y INT);' },
      ];
      expect(() => migrate(db, steps)).to.throw(/already exists/);
      expect(db.pragma('user_version', { simple: true })).to.equal(0);
      expect(tableNames(db)).to.deep.equal([]);
    });

    it('refuses a migration list with a gap', () => {
      const db = new Database(':memory:');
      open.push(db);
      expect(() => migrate(db, [{ version: 2, description: 'x', sql: '' }])).to.throw(StateDatabaseError, /expected 1/);
    });

    it('numbers the real migrations 1..N', () => {
      expect(MIGRATIONS.map((migration) => migration.version)).to.deep.equal(MIGRATIONS.map((_, index) => index + 1));
    });
  });

  describe('schema constraints', () => {
    let db: StateDatabase;
    const insertVolume = (domain: string, legality = 'LEGAL', id = VOL): void => {
      db.prepare(
        `INSERT INTO volumes (domain_id, id, image_id, parent_id, format, allocation, role, capacity, legality, ctime)
         VALUES (?, ?, ?, '00000000-0000-0000-0000-000000000000', 5, 2, 8, 1073741824, ?, 0)`,
      ).run(domain, id, IMG, legality);
    };
    const insertDomain = (id: string, kind = 'file'): void => {
      db.prepare(
        `INSERT INTO domains (id, pool_id, name, kind, type, class, role, status, version, capacity, block_size, discard)
         VALUES (?, ?, 'd', ?, 'NFS', 'Data', 'Regular', 'Active', 5, 1, 512, 0)`,
      ).run(id, POOL, kind);
    };

    beforeEach(() => {
      db = openDb();
      db.prepare(`INSERT INTO pools VALUES (?, 'p', ?, 1, NULL, -1)`).run(POOL, SD_A);
      insertDomain(SD_A);
      insertDomain(SD_B);
    });

    it('refuses a volume legality outside LEGAL/ILLEGAL/FAKE', () => {
      expect(() => insertVolume(SD_A, 'BROKEN')).to.throw(/CHECK constraint failed/);
      expect(() => insertVolume(SD_A, 'legal')).to.throw(/CHECK constraint failed/);
      insertVolume(SD_A, 'FAKE');
    });

    it('refuses a domain kind other than file/block', () => {
      expect(() => insertDomain('ffffffff-0000-4000-8000-000000000006', 'nfs')).to.throw(/CHECK constraint failed/);
    });

    it('refuses a lock mode other than shared/exclusive', () => {
      const lock = db.prepare('INSERT INTO locks (namespace, name, mode, owner) VALUES (?, ?, ?, ?)');
      lock.run('00_storage', SD_A, 'shared', 't1');
      expect(() => lock.run('00_storage', SD_A, 'write', 't2')).to.throw(/CHECK constraint failed/);
    });

    it('keys volumes by (domain, id): the same volume UUID on two domains, but once per domain', () => {
      insertVolume(SD_A);
      insertVolume(SD_B);
      expect(() => insertVolume(SD_A)).to.throw(/UNIQUE constraint failed: volumes.domain_id, volumes.id/);
      expect(db.prepare<[], number>('SELECT COUNT(*) FROM volumes').pluck().get()).to.equal(2);
    });

    it('refuses a volume on an unknown domain and a domain in an unknown pool (foreign keys)', () => {
      expect(() => insertVolume('99999999-0000-4000-8000-000000000009')).to.throw(/FOREIGN KEY constraint failed/);
      expect(() =>
        db
          .prepare(
            `INSERT INTO domains (id, pool_id, name, kind, type, class, role, status, version, capacity, block_size, discard)
             VALUES ('x', 'no-such-pool', 'd', 'file', 'NFS', 'Data', 'Regular', 'Active', 5, 1, 512, 0)`,
          )
          .run(),
      ).to.throw(/FOREIGN KEY constraint failed/);
    });

    it('refuses text in an INT column (STRICT) and NULL in a NOT NULL one', () => {
      insertVolume(SD_A);
      expect(() => db.prepare(`UPDATE volumes SET capacity = 'big'`).run()).to.throw(/cannot store TEXT value in INT column/);
      expect(() => db.prepare('UPDATE volumes SET legality = NULL').run()).to.throw(/NOT NULL constraint failed/);
    });

    it('defaults disk_type, generation, description, removed and reachable', () => {
      insertVolume(SD_A);
      expect(db.prepare('SELECT disk_type, generation, description, removed FROM volumes').get()).to.deep.equal({
        disk_type: 'DATA',
        generation: 0,
        description: '',
        removed: 0,
      });
      expect(db.prepare<[], number>('SELECT reachable FROM domains LIMIT 1').pluck().get()).to.equal(1);
    });

    it('creates the tasks and locks tables exactly as agreed with tasks/', () => {
      const columns = (table: string): string[] =>
        db
          .prepare<[], { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(`SELECT * FROM pragma_table_info('${table}')`)
          .all()
          .map((c) => `${c.name} ${c.type}${c.dflt_value === null ? '' : ` DEFAULT ${c.dflt_value}`}${c.pk ? ` PK${c.pk}` : ''}`);
      expect(columns('tasks')).to.deep.equal([
        'id TEXT PK1',
        'pool_id TEXT',
        'verb TEXT',
        'tag TEXT',
        'state TEXT',
        'code INT DEFAULT 0',
        'message TEXT',
        'job TEXT',
        'progress REAL DEFAULT 0',
        'recovery TEXT',
        'created INT',
        'updated INT',
      ]);
      expect(columns('locks')).to.deep.equal(['namespace TEXT PK1', 'name TEXT PK2', 'mode TEXT', 'owner TEXT PK3']);
    });
  });
});
