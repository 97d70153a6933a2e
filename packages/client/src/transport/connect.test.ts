import { expect } from 'chai';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { ManualClock } from '../clock.js';
import { ConnectTimeoutError } from '../errors.js';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import type { TempTestPki } from '@vdsm-kit/test-support/pki';
import type { FrameChannel } from './channel.js';
import { connectChannel, describeTarget } from './connect.js';
import type { ChannelTarget } from './connect.js';

/**
 * A server that accepts TCP connections and never says a word: a TLS or
 * WebSocket handshake against it never completes.
 */
interface SilentServer {
  readonly port: number;
  readonly sockets: Socket[];
  /** Resolves with the n-th connection (from 1) once it has arrived. */
  connection(n: number): Promise<Socket>;
  /** Resolves when the n-th connection has been closed by the client. */
  closedConnection(n: number): Promise<void>;
  close(): Promise<void>;
}

async function startSilentServer(): Promise<SilentServer> {
  const sockets: Socket[] = [];
  const waiters: { n: number; resolve: (socket: Socket) => void }[] = [];
  const closed = new WeakMap<Socket, Promise<void>>();
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    closed.set(socket, new Promise((resolve) => socket.once('close', () => resolve())));
    // Read (and discard) so the client's FIN is seen and 'close' fires.
    socket.resume();
    for (const waiter of waiters.filter((w) => w.n === sockets.length)) waiter.resolve(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const connection = (n: number): Promise<Socket> => {
    const socket = sockets[n - 1];
    return socket ? Promise.resolve(socket) : new Promise((resolve) => waiters.push({ n, resolve }));
  };
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    connection,
    closedConnection: async (n) => closed.get(await connection(n)),
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The rejection of `attempt`; fails the test if it resolves. */
async function rejectionOf(attempt: Promise<FrameChannel>): Promise<NodeJS.ErrnoException> {
  return attempt.then(
    (channel) => {
      channel.destroy();
      return expect.fail('connected');
    },
    (error: unknown) => error as NodeJS.ErrnoException,
  );
}

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('connectChannel', () => {
  let pki: TempTestPki;
  let silent: SilentServer;

  before(async () => {
    pki = await createTempTestPki();
  });

  after(async () => {
    await pki?.remove();
  });

  beforeEach(async () => {
    silent = await startSilentServer();
  });

  afterEach(async () => {
    await silent.close();
  });

  it('describes targets as URLs', () => {
    expect(describeTarget({ transport: 'tcp', host: '10.0.0.1', port: 54321 })).to.equal('tcp://10.0.0.1:54321');
    expect(describeTarget({ transport: 'tls', host: '::1', port: 54321, tls: pki.client.credentials })).to.equal('tls://[::1]:54321');
    expect(describeTarget({ transport: 'ws', url: 'wss://h:1/stomp' })).to.equal('wss://h:1/stomp');
  });

  it('connects over TCP, fills in the peer, and leaves no timer behind', async () => {
    const clock = new ManualClock();
    const channel = await connectChannel({ transport: 'tcp', host: '127.0.0.1', port: silent.port }, { clock });
    expect(channel.info).to.deep.equal({ transport: 'tcp', remoteAddress: '127.0.0.1', remotePort: silent.port });
    expect(clock.pending).to.equal(0);
    channel.destroy();
  });

  it('rejects with the system error, prefixed with the target, when refused', async () => {
    const port = await freePort();
    const error = await rejectionOf(connectChannel({ transport: 'tcp', host: '127.0.0.1', port }));
    expect(error.code).to.equal('ECONNREFUSED');
    expect(error.message).to.match(new RegExp(`^Cannot connect to tcp://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  });

  it('rejects with the system error for a refused WebSocket too', async () => {
    const port = await freePort();
    const error = await rejectionOf(connectChannel({ transport: 'ws', url: `ws://127.0.0.1:${port}/` }));
    expect(error.code).to.equal('ECONNREFUSED');
    expect(error.message).to.contain(`Cannot connect to ws://127.0.0.1:${port}/`);
  });

  const stalledTargets = (): Array<[string, ChannelTarget]> => [
    ['a TLS handshake', { transport: 'tls', host: '127.0.0.1', port: silent.port, tls: pki.client.credentials }],
    ['a WebSocket upgrade', { transport: 'ws', url: `ws://127.0.0.1:${silent.port}/` }],
  ];

  it('times out a TLS handshake or WebSocket upgrade that never completes, and drops the socket', async () => {
    for (const [index, [what, target]] of stalledTargets().entries()) {
      // On the system clock; the exact time is pinned on a manual clock below.
      const error = await rejectionOf(connectChannel(target, { timeoutMs: 100 }));
      expect(error, what).to.be.instanceOf(ConnectTimeoutError);
      expect(error.message).to.equal(`${describeTarget(target)}: not connected within 100 ms`);
      await silent.closedConnection(index + 1);
    }
  });

  it('times out on the given clock', async () => {
    const clock = new ManualClock();
    const [, target] = stalledTargets()[0] as [string, ChannelTarget];
    let outcome: unknown = 'pending';
    void connectChannel(target, { clock, timeoutMs: 5000 }).then(
      (channel) => (outcome = channel),
      (error: unknown) => (outcome = error),
    );
    await silent.connection(1);
    clock.advance(4999);
    // The timeout's timer is still waiting on the clock, so nothing can have failed the attempt.
    expect(clock.pending).to.equal(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome).to.equal('pending');
    clock.advance(1);
    await silent.closedConnection(1);
    expect(outcome).to.be.instanceOf(ConnectTimeoutError);
    expect(clock.pending).to.equal(0);
  });

  it('aborts a pending attempt with the signal, and drops the socket', async () => {
    for (const [index, [what, target]] of stalledTargets().entries()) {
      const controller = new AbortController();
      const attempt = connectChannel(target, { signal: controller.signal });
      await silent.connection(index + 1);
      const reason = new Error(`stop ${what}`);
      controller.abort(reason);
      expect(await rejectionOf(attempt)).to.equal(reason);
      await silent.closedConnection(index + 1);
    }
  });

  it('does not even connect when the signal is already aborted', async () => {
    const reason = new Error('too late');
    const error = await rejectionOf(
      connectChannel({ transport: 'tcp', host: '127.0.0.1', port: silent.port }, { signal: AbortSignal.abort(reason) }),
    );
    expect(error).to.equal(reason);
    // A probe connected after it is accepted first only if the aborted attempt never connected.
    const probe = createConnection({ host: '127.0.0.1', port: silent.port });
    await new Promise<void>((resolve) => probe.once('connect', () => resolve()));
    const accepted = await silent.connection(1);
    expect(accepted.remotePort).to.equal(probe.localPort);
    probe.destroy();
  });

  it('rejects a malformed WebSocket URL', async () => {
    const error = await rejectionOf(connectChannel({ transport: 'ws', url: 'ftp://127.0.0.1:1/' }));
    expect(error).to.be.instanceOf(SyntaxError);
  });
});
