import { randomUUID } from 'node:crypto';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { expect } from 'chai';
import { skipUnless } from '@vdsm-kit/test-support/skip';
import { describeMoveStoreConformance, diskOf, hearsNewMove, listenFor, requestFor } from '../test-support/store-conformance.js';
import { missingAnyPostgres, missingPostgres, startThrowawayPostgres, withPgClient } from '../test-support/throwaway-postgres.js';
import type { ThrowawayPostgres } from '../test-support/throwaway-postgres.js';
import { AUDIT_TYPES } from './records.js';
import { loadMigrations } from './migrations.js';
import { MoveStoreError } from './move-store.js';
import type { MoveStore } from './move-store.js';
import { PostgresMoveStore } from './postgres-store.js';
import type { PostgresMoveStoreOptions } from './postgres-store.js';

/** Short backoff and liveness check, so a test that cuts a connection sees the store come back soon. */
const QUICK: Omit<PostgresMoveStoreOptions, 'url'> = { backoff: { firstMs: 20, maxMs: 500 }, listenerCheckMs: 500 };

/**
 * A TCP proxy to the server that, once armed, lets the next COMMIT through
 * and then cuts the connection instead of passing the answer on: the write
 * committed, but the store cannot know it (the outcome of a COMMIT lost to
 * a network failure or a server crash at the wrong moment).
 */
async function commitCuttingProxy(target: URL): Promise<{ url: string; arm: () => void; cuts: () => number; close: () => Promise<void> }> {
  let armed = false;
  let cut = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let committing = false;
    client.on('data', (chunk) => {
      // The store's COMMIT is the named statement em_commit.
      if (armed && chunk.includes('em_commit')) {
        armed = false;
        committing = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (committing) {
        cut++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target.toString());
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    arm: () => (armed = true),
    cuts: () => cut,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('PostgresMoveStore', function () {
  this.timeout(60_000);
  let server: ThrowawayPostgres;

  before(async function () {
    skipUnless(this, missingAnyPostgres() === undefined, missingAnyPostgres() ?? '');
    server = await startThrowawayPostgres();
  });
  after(async function () {
    await server?.stop();
  });

  describeMoveStoreConformance('PostgreSQL', async () => {
    const url = await server.createDatabase();
    const opened: MoveStore[] = [];
    const open = async (): Promise<MoveStore> => {
      const store = await PostgresMoveStore.open({ url, ...QUICK });
      opened.push(store);
      return store;
    };
    return {
      store: await open(),
      another: open,
      destroy: async () => {
        for (const store of opened) await store.close();
      },
    };
  });

  describe('migrations', function () {
    it('applies every migration once when two instances open a fresh database at once, and records them', async function () {
      const url = await server.createDatabase();
      const [a, b] = await Promise.all([PostgresMoveStore.open({ url }), PostgresMoveStore.open({ url })]);
      try {
        expect(a.schemaVersion).to.equal(loadMigrations('postgres').length);
        expect(b.schemaVersion).to.equal(a.schemaVersion);
        const rows = await withPgClient(url, async (client) => (await client.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows);
        expect(rows).to.deep.equal(loadMigrations('postgres').map((m) => ({ version: m.version, name: m.name })));
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('refuses a database with a newer schema, and rolls back a migration that fails', async function () {
      const url = await server.createDatabase();
      const base = loadMigrations('postgres');
      const newer = [...base, { version: base.length + 1, name: 'future', sql: 'CREATE TABLE future (x integer);' }];
      await (await PostgresMoveStore.open({ url, migrations: newer })).close();
      try {
        await PostgresMoveStore.open({ url });
        expect.fail('opened a database with a newer schema');
      } catch (error) {
        expect(error).to.be.instanceOf(MoveStoreError);
        expect((error as MoveStoreError).code).to.equal('SCHEMA_TOO_NEW');
        expect((error as Error).message).to.contain(`schema version ${newer.length}`);
      }
      const other = await server.createDatabase();
      const broken = [...base, { version: base.length + 1, name: 'broken', sql: 'CREATE TABLE half (x integer); SELECT * FROM no_such_table;' }];
      let failure: unknown;
      await PostgresMoveStore.open({ url: other, migrations: broken }).catch((error: unknown) => (failure = error));
      expect(String(failure)).to.match(/no_such_table/);
      const state = await withPgClient(other, async (client) => ({
        half: (await client.query("SELECT to_regclass('half') AS t")).rows[0].t,
        version: (await client.query('SELECT max(version) AS v FROM schema_migrations')).rows[0].v,
      }));
      expect(state).to.deep.equal({ half: null, version: base.length });
    });
  });

  it('lets only one of two instances record a move of the same disk at once; the other is told why', async function () {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([PostgresMoveStore.open({ url }), PostgresMoveStore.open({ url })]);
    try {
      const disk = diskOf(2);
      const results = await Promise.allSettled([a.createMove({ request: requestFor(disk), at: 1, disk }), b.createMove({ request: requestFor(disk), at: 1, disk })]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect((refused.reason as MoveStoreError).code).to.equal('DISK_ALREADY_MOVING');
      expect(await a.listMoves()).to.have.length(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('rescans after its listener connection is killed, logs it, and hears wake-ups again', async function () {
    const url = await server.createDatabase();
    const log: string[] = [];
    const listening = await PostgresMoveStore.open({ url, ...QUICK, log: (line) => log.push(line) });
    const writer = await PostgresMoveStore.open({ url });
    try {
      const first = await listenFor(listening, (w) => w.kind === 'rescan');
      first.stop();
      let rescanned!: () => void;
      const rescan = new Promise<void>((resolve) => (rescanned = resolve));
      const stop = listening.onWakeUp((w) => w.kind === 'rescan' && rescanned());
      const killed = await withPgClient(url, async (client) =>
        (await client.query("SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = 'engine-move-listener' AND datname = current_database()")).rows,
      );
      expect(killed).to.deep.equal([{ done: true }]);
      await rescan;
      stop();
      expect(log.some((line) => line.includes('store listener lost'))).to.equal(true, log.join('\n'));
      await hearsNewMove(listening, writer);
    } finally {
      await listening.close();
      await writer.close();
    }
  });

  it('recognises a write whose COMMIT went through but whose answer was lost: no double write, no false STALE_TRANSITION', async function () {
    const direct = await server.createDatabase();
    const proxy = await commitCuttingProxy(new URL(direct));
    const store = await PostgresMoveStore.open({ url: proxy.url, ...QUICK });
    try {
      proxy.arm();
      const entry = await store.addAudit({ type: AUDIT_TYPES.ZOMBIE_CLEARING, severity: 'warning', moveId: null, diskId: null, message: 'once', at: 1 });
      expect(proxy.cuts()).to.equal(1);
      expect((await store.listAudit()).map((a) => [a.seq, a.message])).to.deep.equal([[entry.seq, 'once']]);

      const disk = diskOf(2);
      const { moveId } = await store.createMove({ request: requestFor(disk), at: 1, disk });
      proxy.arm();
      const after = await store.apply({ moveId, from: 'queued', to: 'copy-submitting', at: 2, lockDisk: true, phaseStarted: { phase: 'copy' } });
      expect(proxy.cuts()).to.equal(2);
      expect(after).to.include({ state: 'copy-submitting', version: 2 });
      expect(await store.getMove(moveId)).to.deep.equal(after);
      expect(await store.listCompensation(moveId)).to.have.length(2);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  describe('a server restart mid-use', function () {
    let own: ThrowawayPostgres;
    before(async function () {
      // Restarting needs a server of our own, whatever ENGINE_MOVE_TEST_PG says.
      skipUnless(this, missingPostgres() === undefined, missingPostgres() ?? '');
      own = await startThrowawayPostgres({ ownServer: true });
    });
    after(async function () {
      await own?.stop();
    });

    it('loses no write, applies none twice, and the store and its listener recover', async function () {
      const url = await own.createDatabase();
      const log: string[] = [];
      const store = await PostgresMoveStore.open({ url, ...QUICK, log: (line) => log.push(line) });
      try {
        const live = await listenFor(store, (w) => w.kind === 'rescan');
        live.stop();
        let rescans = 0;
        const stopCounting = store.onWakeUp((w) => {
          if (w.kind === 'rescan') rescans++;
        });
        const disks = Array.from({ length: 40 }, () => diskOf(1));
        const moves = await Promise.all(disks.map((disk) => store.createMove({ request: requestFor(disk), at: 1, disk })));
        // Writes one after another until well after the server is back, so some of them meet the outage.
        let restarted = false;
        let written = 0;
        const writes = (async () => {
          for (let after = 0; !restarted || after < 10; written++) {
            if (restarted) after++;
            await store.addAudit({ type: AUDIT_TYPES.ZOMBIE_STOPPING, severity: 'warning', moveId: null, diskId: null, message: `entry ${written}`, at: written });
            const move = moves[written];
            if (move) await store.apply({ moveId: move.moveId, from: 'queued', to: 'copy-submitting', at: written, lockDisk: true, phaseStarted: { phase: 'copy' } });
          }
        })();
        await own.server!.restart();
        restarted = true;
        await writes;
        expect(log.some((line) => /store: (addAudit|apply) failed/.test(line))).to.equal(true, `no write met the outage:\n${log.join('\n')}`);
        const audit = await store.listAudit();
        expect(audit.map((a) => a.message)).to.deep.equal(Array.from({ length: written }, (_, i) => `entry ${i}`));
        for (const [index, move] of moves.entries()) {
          const applied = index < written;
          expect(await store.getMove(move.moveId)).to.include(applied ? { state: 'copy-submitting', version: 2 } : { state: 'queued', version: 1 });
          expect(await store.listPhases(move.moveId)).to.have.length(applied ? 1 : 0);
        }
        await hearsNewMove(store, store);
        stopCounting();
        expect(rescans).to.be.at.least(1);
      } finally {
        await store.close();
      }
    });
  });

  it('pages the audit log without skipping an entry that commits after a later one', async function () {
    const url = await server.createDatabase();
    const store = await PostgresMoveStore.open({ url });
    try {
      const entry = (message: string) => ({ at: 1, type: AUDIT_TYPES.MOVE_STARTED, severity: 'normal' as const, moveId: null, diskId: null, message });
      const early = await store.addAudit(entry('before'));
      await withPgClient(url, async (slow) => {
        // A writer takes its seq first and commits last.
        await slow.query('BEGIN');
        const held = (await slow.query<{ seq: string }>("INSERT INTO audit (at, type, severity, message) VALUES (2, 2008, 'normal', 'slow') RETURNING seq")).rows[0]!;
        const fast = await store.addAudit(entry('fast'));
        expect(Number(held.seq)).to.be.below(fast.seq);
        // The full listing shows what is committed; a page stops before the slow writer's place.
        expect((await store.listAudit()).map((a) => a.message)).to.deep.equal(['before', 'fast']);
        expect((await store.listAudit({ afterSeq: early.seq })).map((a) => a.message)).to.deep.equal([]);
        await slow.query('COMMIT');
      });
      expect((await store.listAudit({ afterSeq: early.seq })).map((a) => a.message)).to.deep.equal(['slow', 'fast']);
    } finally {
      await store.close();
    }
  });

  it('says which database it is without the password, and refuses a URL that is not postgres://', async function () {
    const url = new URL(await server.createDatabase());
    url.password = 'secret';
    const store = await PostgresMoveStore.open({ url: url.toString() }).catch((error: unknown) => error);
    // trust authentication ignores the password; the description must not show it.
    if (store instanceof PostgresMoveStore) {
      expect(store.description).to.not.contain('secret');
      await store.close();
    }
    const error = await PostgresMoveStore.open({ url: `/tmp/${randomUUID()}.sqlite` }).catch((e: unknown) => e);
    expect((error as MoveStoreError).code).to.equal('BAD_REQUEST');
  });
});
