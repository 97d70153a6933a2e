/**
 * One port, several protocols: detection by first bytes, mutual TLS, the
 * TLS-only mode and STOMP over WebSocket, all over real sockets.
 */
import { request as httpRequest } from 'node:http';
import { ManualClock } from '@vdsm-kit/client/clock';
import { tlsClientOptions } from '@vdsm-kit/client/transport';
import { expect } from 'chai';
import WebSocket from 'ws';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import type { TempTestPki } from '@vdsm-kit/test-support/pki';
import { startFakeVdsm } from '../index.js';
import type { FakeVdsm, FakeVdsmOptions } from '../index.js';
import { RawConnection, VDSM_CLIENT_CONNECT, rawFrame } from '../test-support/raw-connection.js';
import { DETECT_BYTES } from './protocol-detector.js';

const CONNECTED = 'CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0';

/** Holds this process (the fake's too: it runs in-process) up for `ms`, as a loaded machine or a long GC does; bytes sent meanwhile wait in the socket. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: nothing else of this process runs.
  }
}

describe('protocol detection', () => {
  let vdsm: FakeVdsm | undefined;
  const open: RawConnection[] = [];

  async function start(options: FakeVdsmOptions = {}): Promise<FakeVdsm> {
    vdsm = await startFakeVdsm(options);
    return vdsm;
  }

  async function raw(port = (vdsm as FakeVdsm).stomp.port): Promise<RawConnection> {
    const connection = await RawConnection.open(port);
    open.push(connection);
    return connection;
  }

  afterEach(async () => {
    for (const connection of open.splice(0)) connection.destroy();
    await vdsm?.close();
    vdsm = undefined;
  });

  describe('plain TCP', () => {
    it('waits for 11 bytes, as VDSM does, before it takes a connection for STOMP', async () => {
      expect(DETECT_BYTES).to.equal('UNSUBSCRIBE'.length);
      await start();
      const connection = await raw();
      // A bare CONNECT frame is 10 bytes: VDSM gives no answer to it alone.
      connection.write('CONNECT\n\n\0');
      expect(await connection.quietFor(150)).to.equal('');
      expect(connection.closed).to.equal(false);
      // The next frame completes the 11 bytes: both frames are then served, in order.
      connection.write(VDSM_CLIENT_CONNECT);
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:19\n\nVersion unsupported\0');
      expect(await connection.frame()).to.equal(CONNECTED);
    });

    it('detects STOMP from a first frame split into single bytes', async () => {
      await start();
      const connection = await raw();
      for (const byte of VDSM_CLIENT_CONNECT) {
        connection.write(byte);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await connection.frame()).to.equal(CONNECTED);
    });

    it('takes a connection that starts with SEND for STOMP', async () => {
      await start();
      const connection = await raw();
      connection.write(rawFrame('SEND', [['destination', 'nowhere.at.all']], 'hello'));
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:26\n\nSubscription not available\0');
    });

    it('takes a connection that starts with SUBSCRIBE for STOMP', async () => {
      await start();
      const connection = await raw();
      connection.write(rawFrame('SUBSCRIBE', [['destination', 'r'], ['id', 's']]));
      connection.write(rawFrame('SEND', [['destination', 'jms.topic.vdsm_requests'], ['reply-to', 'r']], '{"jsonrpc": "2.0", "method": "Host.ping2", "id": 1}'));
      expect(await connection.frameBody()).to.equal('{"jsonrpc": "2.0", "id": 1, "result": true}');
    });

    it('takes a connection that starts with DISCONNECT for STOMP', async () => {
      await start();
      const connection = await raw();
      connection.write(rawFrame('DISCONNECT', [['receipt', 'early']]));
      expect(await connection.frame()).to.equal('RECEIPT\nreceipt-id:early\n\n\0');
      // As VDSM, the RECEIPT leaves the closing to the client: the connection still serves.
      connection.write(VDSM_CLIENT_CONNECT);
      expect(await connection.frame()).to.equal(CONNECTED);
    });

    for (const [name, bytes] of [
      ['an HTTP request that is not GET /', 'POST /rpc HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['a leading heart-beat before CONNECT', `\n${VDSM_CLIENT_CONNECT}`],
      ['the STOMP 1.2 STOMP command', 'STOMP\naccept-version:1.2\n\n\0'],
      ['lower-case connect', 'connect\naccept-version:1.2\n\n\0'],
      ['binary garbage', '\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b'],
      ['a TLS ClientHello to a server without TLS', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00'],
    ] as const) {
      it(`closes ${name} as an unrecognized protocol, and keeps serving others`, async () => {
        await start();
        const connection = await raw();
        connection.write(Buffer.from(bytes, 'latin1'));
        await connection.waitClosed();
        expect(connection.received).to.equal('');
        const next = await raw();
        next.write(VDSM_CLIENT_CONNECT);
        expect(await next.frame()).to.equal(CONNECTED);
      });
    }

    it('gives up on a connection that sends too little, after 10 s on its clock', async () => {
      const clock = new ManualClock();
      await start({ clock });
      const connection = await raw();
      connection.write('CONN');
      // The timer exists once the server has taken the connection.
      while (clock.pending === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      clock.advance(9_999);
      expect(await connection.quietFor(50)).to.equal('');
      expect(connection.closed).to.equal(false);
      clock.advance(1);
      await connection.waitClosed();
      expect(clock.pending).to.equal(0);
    });

    it('serves a connection whose first bytes had arrived when the timer fired: a busy fake does not drop it', async () => {
      const clock = new ManualClock();
      await start({ clock });
      const connection = await raw();
      while (clock.pending === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      // The CONNECT reaches the fake's socket and the timer fires before the fake reads it,
      // as after a pause of the fake's process longer than the timeout.
      connection.write(VDSM_CLIENT_CONNECT);
      stall(50);
      clock.advance(10_000);
      expect(await connection.frame()).to.equal(CONNECTED);
    });

    it('gives up on a silent connection after a short configured timeout, in real time', async () => {
      await start({ detectTimeoutMs: 100 });
      const connection = await raw();
      const started = Date.now();
      await connection.waitClosed(2000);
      expect(Date.now() - started).to.be.within(60, 1500);
    });

    it('closes a connection that ends before its protocol is known', async () => {
      await start();
      const connection = await raw();
      connection.socket.end('CONNECT');
      await connection.waitClosed();
      expect(connection.received).to.equal('');
    });
  });

  describe('TLS', () => {
    let pki: TempTestPki;
    before(async function () {
      this.timeout(20_000);
      pki = await createTempTestPki();
    });
    after(() => pki?.remove());

    it('serves STOMP over mutual TLS with a client certificate from the CA', async () => {
      const server = await start({ tls: pki.server.credentials });
      const connection = await RawConnection.openTls(server.stomp.port, tlsClientOptions(pki.client.credentials));
      open.push(connection);
      connection.write(VDSM_CLIENT_CONNECT);
      expect(await connection.frame()).to.equal(CONNECTED);
    });

    it('loads the credentials from a PKI directory in VDSM layout', async () => {
      const server = await start({ pkiDir: pki.server.dir, tlsOnly: true });
      const connection = await RawConnection.openTls(server.stomp.port, tlsClientOptions(pki.client.credentials));
      open.push(connection);
      connection.write(VDSM_CLIENT_CONNECT);
      expect(await connection.frame()).to.equal(CONNECTED);
    });

    it('refuses a client certificate from another CA', async () => {
      const server = await start({ tls: pki.server.credentials });
      const outcome = await tryTls(server.stomp.port, tlsClientOptions(pki.rogue.credentials));
      expect(outcome).to.match(/^(handshake failed|closed): /);
    });

    it('refuses a client without a certificate', async () => {
      const server = await start({ tls: pki.server.credentials });
      const outcome = await tryTls(server.stomp.port, { ca: pki.caCert, checkServerIdentity: () => undefined });
      expect(outcome).to.match(/^(handshake failed|closed): /);
    });

    it('gives up on a TLS handshake that stalls, after handshakeTimeoutMs', async () => {
      await start({ tls: pki.server.credentials, handshakeTimeoutMs: 200 });
      const connection = await raw();
      // The first bytes of a ClientHello, then silence.
      connection.write(Buffer.from([0x16, 0x03, 0x01]));
      const started = Date.now();
      await connection.waitClosed(3000);
      expect(Date.now() - started).to.be.within(100, 2500);
    });

    it('still serves plain TCP on the same port unless tlsOnly', async () => {
      await start({ tls: pki.server.credentials });
      const connection = await raw();
      connection.write(VDSM_CLIENT_CONNECT);
      expect(await connection.frame()).to.equal(CONNECTED);
    });

    it('with tlsOnly, closes plain TCP without a byte of STOMP, like a real host', async () => {
      const server = await start({ tls: pki.server.credentials, tlsOnly: true });
      expect(server.ws).to.match(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
      const connection = await raw();
      connection.write(VDSM_CLIENT_CONNECT);
      await connection.waitClosed();
      expect(connection.received).to.not.contain('CONNECTED');
      const secure = await RawConnection.openTls(server.stomp.port, tlsClientOptions(pki.client.credentials));
      open.push(secure);
      secure.write(VDSM_CLIENT_CONNECT);
      expect(await secure.frame()).to.equal(CONNECTED);
    });

    it('serves STOMP over WebSocket inside TLS (wss)', async () => {
      const server = await start({ tls: pki.server.credentials, tlsOnly: true });
      const ws = new WebSocket(server.ws, ['v12.stomp'], tlsClientOptions(pki.client.credentials));
      try {
        const messages = collect(ws);
        await opened(ws);
        ws.send(VDSM_CLIENT_CONNECT);
        expect(await messages.next()).to.equal(CONNECTED);
      } finally {
        ws.terminate();
      }
    });
  });

  describe('WebSocket', () => {
    it('upgrades GET / and carries one STOMP frame per message', async () => {
      const server = await start();
      expect(server.ws).to.equal(`ws://127.0.0.1:${server.stomp.port}/`);
      const ws = new WebSocket(server.ws, ['v10.stomp', 'v11.stomp', 'v12.stomp']);
      try {
        const messages = collect(ws);
        await opened(ws);
        expect(ws.protocol).to.equal('v12.stomp');
        ws.send(VDSM_CLIENT_CONNECT);
        expect(await messages.next()).to.equal(CONNECTED);
        ws.send(rawFrame('SUBSCRIBE', [['destination', 'ws-reply'], ['id', 'w']]));
        ws.send(rawFrame('SEND', [['destination', 'jms.topic.vdsm_requests'], ['reply-to', 'ws-reply']], '{"jsonrpc": "2.0", "method": "Host.echo", "params": {"message": "over ws"}, "id": 1}'));
        const body = '{"jsonrpc": "2.0", "id": 1, "result": "over ws"}';
        expect(await messages.next()).to.equal(`MESSAGE\ndestination:ws-reply\ncontent-type:application/json\nsubscription:w\ncontent-length:${body.length}\n\n${body}\0`);
      } finally {
        ws.terminate();
      }
    });

    it('answers a GET that is no upgrade with 426', async () => {
      const server = await start();
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: server.stomp.port, path: '/', method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).to.equal(426);
    });

    it('close() terminates WebSocket clients: the socket drops without a close frame, and no later connection is served', async () => {
      const server = await start();
      const ws = new WebSocket(server.ws);
      await opened(ws);
      const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
      await server.close();
      // 1006: the connection went away without a close handshake (terminate, not a polite close).
      expect(await closed).to.equal(1006);
      expect(ws.readyState).to.equal(WebSocket.CLOSED);
      const late = new WebSocket(server.ws);
      const refused = await new Promise<string>((resolve) => {
        late.on('open', () => resolve('open'));
        late.on('error', (error: Error) => resolve(error.message));
      });
      expect(refused).to.match(/ECONNREFUSED/);
    });
  });
});

/** Connects over TLS and returns the first frame, or what went wrong. */
async function tryTls(port: number, options: Parameters<typeof RawConnection.openTls>[1]): Promise<string> {
  let connection: RawConnection;
  try {
    connection = await RawConnection.openTls(port, options);
  } catch (error) {
    return `handshake failed: ${(error as Error).message}`;
  }
  try {
    // TLS 1.3 finishes the client's side before the server checks the client certificate.
    connection.write(VDSM_CLIENT_CONNECT);
    return await connection.frame({ timeoutMs: 2000 });
  } catch (error) {
    return `closed: ${(error as Error).message}`;
  } finally {
    connection.destroy();
  }
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

/** Queues a socket's messages as text, so none is missed between awaits. */
function collect(ws: WebSocket): { next(): Promise<string> } {
  const queue: string[] = [];
  const waiting: ((message: string) => void)[] = [];
  ws.on('message', (data: WebSocket.RawData) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else queue.push(text);
  });
  return {
    next: () =>
      new Promise<string>((resolve, reject) => {
        const queued = queue.shift();
        if (queued !== undefined) return resolve(queued);
        const timer = setTimeout(() => reject(new Error('no WebSocket message within 3 s')), 3000);
        waiting.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      }),
  };
}
