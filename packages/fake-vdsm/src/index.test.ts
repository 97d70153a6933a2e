import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { DEFAULT_IDS, FixtureError, defaultFixture, startFakeVdsm } from './index.js';
import { RawConnection, VDSM_CLIENT_CONNECT, rawFrame } from './test-support/raw-connection.js';
import { pathExists } from './data/path-exists.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('startFakeVdsm', () => {
  it('listens on 127.0.0.1 and a free port by default and describes itself like the CLI ready line', async () => {
    const vdsm = await startFakeVdsm();
    try {
      expect(vdsm.stomp.host).to.equal('127.0.0.1');
      expect(vdsm.stomp.port).to.be.above(0);
      expect(vdsm.ws).to.equal(`ws://127.0.0.1:${vdsm.stomp.port}/`);
      expect(vdsm.control).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      const stomp = { host: '127.0.0.1', port: vdsm.stomp.port };
      expect(JSON.stringify(vdsm.ready)).to.equal(
        JSON.stringify({ event: 'ready', stomp, ws: vdsm.ws, control: vdsm.control, state: vdsm.state, hosts: [{ id: 1, stomp, ws: vdsm.ws }] }),
      );
      expect(vdsm.hosts).to.deep.equal([{ id: 1, stomp, ws: vdsm.ws }]);
      // Seeded with the default fixture; its host 1 is the SPM.
      expect(vdsm.storage.startup.seeded).to.equal(true);
      expect(vdsm.storage.store.getPool(DEFAULT_IDS.pool)?.spmHostId).to.equal(1);
    } finally {
      await vdsm.close();
    }
  });

  it('close() ends every connection, leaves no timer on its clock and removes a temporary state dir', async () => {
    const clock = new ManualClock();
    const vdsm = await startFakeVdsm({ clock, startupDelayMs: 60_000 });
    expect(await pathExists(vdsm.state)).to.equal(true);
    const beating = await RawConnection.open(vdsm.stomp.port);
    beating.write('CONNECT\naccept-version:1.2\nheart-beat:1000,1000\n\n\0');
    await beating.frame();
    const detecting = await RawConnection.open(vdsm.stomp.port);
    detecting.write('CONN');
    while (clock.pending < 4) await new Promise((resolve) => setTimeout(resolve, 5));

    await vdsm.close();
    await beating.waitClosed();
    await detecting.waitClosed();
    expect(clock.pending).to.equal(0);
    expect(await pathExists(vdsm.state)).to.equal(false);
    // Idempotent.
    await vdsm.close();
  });

  it('keeps the host uuid (the hosts table\'s) across restarts on the same state dir, and leaves that dir in place', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'fake-vdsm-state-'));
    const stateDir = join(parent, 'nested', 'state');
    try {
      const uuids: unknown[] = [];
      for (let run = 0; run < 2; run++) {
        const vdsm = await startFakeVdsm({ stateDir });
        expect(vdsm.state).to.equal(stateDir);
        const connection = await RawConnection.open(vdsm.stomp.port);
        connection.write(VDSM_CLIENT_CONNECT + rawFrame('SUBSCRIBE', [['destination', 'r'], ['id', 's']]));
        connection.write(rawFrame('SEND', [['destination', 'jms.topic.vdsm_requests'], ['reply-to', 'r']], '{"jsonrpc": "2.0", "method": "Host.getCapabilities", "id": 1}'));
        await connection.frame();
        uuids.push(JSON.parse(await connection.frameBody()).result.uuid);
        connection.destroy();
        await vdsm.close();
        expect(await pathExists(stateDir)).to.equal(true);
      }
      expect(uuids[0]).to.equal(DEFAULT_IDS.host);
      expect(uuids[1]).to.equal(uuids[0]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('refuses contradictory TLS options', async () => {
    expect(String(await rejection(startFakeVdsm({ tlsOnly: true })))).to.match(/tlsOnly needs TLS/);
    expect(String(await rejection(startFakeVdsm({ tls: { cert: 'c', key: 'k', ca: 'a' }, pkiDir: '/nowhere' })))).to.match(/either tls or pkiDir/);
    expect(String(await rejection(startFakeVdsm({ pkiDir: '/nowhere/at/all' })))).to.match(/VDSM PKI .* is missing/);
  });

  it('refuses contradictory clock options, a bad time scale, a bad host count and ports past 65535', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'fake-vdsm-options-'));
    try {
      const stateDir = join(parent, 'state');
      expect(String(await rejection(startFakeVdsm({ clock: new ManualClock(), timeScale: 0.5 })))).to.match(/either clock or timeScale/);
      expect(await rejection(startFakeVdsm({ stateDir, timeScale: 0 }))).to.be.instanceOf(RangeError);
      expect(await rejection(startFakeVdsm({ stateDir, hosts: 0 }))).to.be.instanceOf(RangeError);
      // The failed starts left the state dir without state: the next start seeds it.
      const vdsm = await startFakeVdsm({ stateDir });
      expect(vdsm.storage.startup.seeded).to.equal(true);
      await vdsm.close();
      // Ports past 65535 are refused before any host listens (the storage was opened by then).
      expect(await rejection(startFakeVdsm({ stateDir, port: 65535, hosts: 2 }))).to.be.instanceOf(RangeError);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('seeds from a fixture file, and refuses an invalid one before creating anything', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'fake-vdsm-fixture-'));
    try {
      const file = join(parent, 'fixture.json');
      const fixture = defaultFixture();
      await writeFile(file, JSON.stringify({ ...fixture, pools: [{ id: DEFAULT_IDS.pool, name: 'from-file' }] }));
      const vdsm = await startFakeVdsm({ fixture: file });
      try {
        expect(vdsm.storage.store.getPool(DEFAULT_IDS.pool)?.name).to.equal('from-file');
      } finally {
        await vdsm.close();
      }

      const bad = join(parent, 'bad.json');
      await writeFile(bad, JSON.stringify({ pools: [{ id: 'not-a-uuid' }] }));
      const stateDir = join(parent, 'never');
      const error = await rejection(startFakeVdsm({ fixture: bad, stateDir }));
      expect(error).to.be.instanceOf(FixtureError);
      expect(String(error)).to.include(bad).and.match(/pools\[0\]\.id/);
      expect(await pathExists(stateDir)).to.equal(false);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('reports a busy port', async () => {
    const first = await startFakeVdsm();
    try {
      const error = await rejection(startFakeVdsm({ port: first.stomp.port }));
      expect((error as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
    } finally {
      await first.close();
    }
  });
});
