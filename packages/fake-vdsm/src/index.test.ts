import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { startFakeVdsm } from './index.js';
import { RawConnection, VDSM_CLIENT_CONNECT, rawFrame } from './test-support/raw-connection.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

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
      expect(vdsm.control).to.equal(null);
      expect(JSON.stringify(vdsm.ready)).to.equal(
        JSON.stringify({ event: 'ready', stomp: { host: '127.0.0.1', port: vdsm.stomp.port }, ws: vdsm.ws, control: null, state: vdsm.state }),
      );
    } finally {
      await vdsm.close();
    }
  });

  it('close() ends every connection, leaves no timer on its clock and removes a temporary state dir', async () => {
    const clock = new ManualClock();
    const vdsm = await startFakeVdsm({ clock, startupDelayMs: 60_000 });
    expect(await exists(vdsm.state)).to.equal(true);
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
    expect(await exists(vdsm.state)).to.equal(false);
    // Idempotent.
    await vdsm.close();
  });

  it('keeps the host uuid across restarts on the same state dir, and leaves that dir in place', async () => {
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
        expect(await exists(stateDir)).to.equal(true);
      }
      expect(uuids[0]).to.be.a('string');
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
