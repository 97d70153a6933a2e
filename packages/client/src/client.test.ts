import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionLostError, RpcTimeoutError, VdsmNetworkError } from './api/errors.js';
import { VdsmClient } from './client.js';
import type { VdsmClientOptions } from './client.js';
import { ManualClock } from './clock.js';
import { ConnectionClosedError, StompErrorFrameError } from './errors.js';
import type { VdsmEvent } from './rpc/event-router.js';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import { scriptedPair } from './test-support/scripted-peer.js';
import type { AutoResponder, ScriptedPeer } from './test-support/scripted-peer.js';
import type { FrameChannel } from './transport/channel.js';
import { PkiError } from './errors.js';
import { tlsServerOptions } from './transport/pki.js';
import { StreamChannel } from './transport/stream-channel.js';

const TASK = 'c3b2d3a1-6a54-4b43-9d7c-2f0e8a1b4c5d';

/** A promise and whether it has settled yet. */
function watchSettled(promise: Promise<unknown>): { readonly settled: boolean } {
  const state = { settled: false };
  const done = (): void => void (state.settled = true);
  promise.then(done, done);
  return state;
}

async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`resolved with ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

/** Answers like VDSM for the few verbs the tests use; methods in `hold` get no answer. */
function vdsmAnswers(hold: ReadonlySet<string>): AutoResponder {
  return (request) => {
    if (hold.has(request.method)) return undefined;
    const params = request.params as Record<string, unknown>;
    const result = request.method === 'Host.echo' ? params.message : true;
    return { jsonrpc: '2.0', id: request.id, result };
  };
}

/**
 * An in-memory VDSM behind the client's `connect` option: every connect gets
 * a fresh scripted peer that accepts, answers requests and RECEIPTs
 * DISCONNECT. `failures` makes the next connects fail with that error.
 */
function memoryVdsm() {
  const peers: ScriptedPeer[] = [];
  const hold = new Set<string>();
  const state = { attempts: 0, failures: [] as Error[] };
  const connect = async (signal: AbortSignal): Promise<FrameChannel> => {
    signal.throwIfAborted();
    state.attempts++;
    const failure = state.failures.shift();
    if (failure) throw failure;
    const { channel, peer } = scriptedPair();
    peers.push(peer);
    void peer.accept().then(() => peer.autoRespond(vdsmAnswers(hold)));
    return channel;
  };
  return { connect, peers, hold, state };
}

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:54321'), { code: 'ECONNREFUSED' });
}

describe('VdsmClient', () => {
  let clients: VdsmClient[] = [];
  function client(options: VdsmClientOptions): VdsmClient {
    const created = new VdsmClient({ reconnect: { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 }, ...options });
    clients.push(created);
    return created;
  }
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close({ receiptTimeoutMs: 1 })));
    clients = [];
  });

  describe('connecting', () => {
    it('connects lazily on the first call, and concurrent first calls share one connect', async () => {
      const vdsm = memoryVdsm();
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      await settle();
      expect(vdsm.state.attempts).to.equal(0);
      expect(c.connected).to.equal(false);
      const results = await Promise.all([c.call('Host.ping2', {}), c.call('Host.echo', { message: 'a' }), c.Host.echo({ message: 'b' })]);
      expect(results).to.deep.equal([true, 'a', 'b']);
      expect(vdsm.state.attempts).to.equal(1);
      expect(c.connected).to.equal(true);
      const sends = vdsm.peers[0]!.received.filter((f) => f.command === 'SEND');
      expect(sends).to.have.length(3);
    });

    it('connect() connects eagerly, once', async () => {
      const vdsm = memoryVdsm();
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      await Promise.all([c.connect(), c.connect()]);
      expect(c.connected).to.equal(true);
      expect(vdsm.state.attempts).to.equal(1);
      await c.connect();
      expect(vdsm.state.attempts).to.equal(1);
    });

    it('retries a failing connect with backoff and then succeeds', async () => {
      const vdsm = memoryVdsm();
      vdsm.state.failures.push(refused(), refused());
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      expect(await c.Host.ping2()).to.equal(true);
      expect(vdsm.state.attempts).to.equal(3);
    });

    it('gives up after the retries with VdsmNetworkError (5022), cause the last error; the next call tries again', async () => {
      const vdsm = memoryVdsm();
      const last = refused();
      vdsm.state.failures.push(refused(), refused(), refused(), last);
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      const [first, second] = await Promise.all([rejectionOf(c.call('Host.ping2', {})), rejectionOf(c.call('Host.ping2', {}))]);
      expect(first).to.be.instanceOf(VdsmNetworkError);
      expect((first as VdsmNetworkError).code).to.equal(5022);
      expect((first as Error).cause).to.equal(last);
      expect((first as Error).message).to.contain('ECONNREFUSED');
      expect(second).to.equal(first);
      expect(vdsm.state.attempts).to.equal(4);
      expect(await c.call('Host.ping2', {})).to.equal(true);
      expect(vdsm.state.attempts).to.equal(5);
    });

    it('does not retry an ERROR answer to CONNECT (Version unsupported)', async () => {
      let attempts = 0;
      const c = client({
        clock: new ManualClock(),
        connect: async () => {
          attempts++;
          const { channel, peer } = scriptedPair();
          void peer.next().then(() => peer.write('ERROR\ncontent-length:19\n\nVersion unsupported\0'));
          return channel;
        },
      });
      const error = await rejectionOf(c.connect());
      expect(error).to.be.instanceOf(VdsmNetworkError);
      expect((error as Error).cause).to.be.instanceOf(StompErrorFrameError);
      expect(attempts).to.equal(1);
    });

    it('rejects a call whose signal aborts while connecting, and the connect goes on for the others', async () => {
      const vdsm = memoryVdsm();
      vdsm.state.failures.push(refused());
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      const controller = new AbortController();
      const reason = new Error('not waiting');
      const aborted = c.call('Host.ping2', {}, { signal: controller.signal });
      const other = c.call('Host.echo', { message: 'still here' });
      controller.abort(reason);
      expect(await rejectionOf(aborted)).to.equal(reason);
      expect(await other).to.equal('still here');
      expect(vdsm.peers[0]!.received.filter((f) => f.command === 'SEND')).to.have.length(1);
    });

    it('fails with the PkiError itself, not a network error, when the PKI directory is incomplete', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vdsm-kit-empty-pki-'));
      try {
        const c = client({ transport: 'tls', host: '127.0.0.1', port: 1, pkiDir: dir });
        const error = await rejectionOf(c.Host.ping2());
        expect(error).to.be.instanceOf(PkiError);
        // loadPki reads the three files at once; whichever fails first is named.
        expect((error as PkiError).path).to.be.oneOf(['keys/vdsmkey.pem', 'certs/vdsmcert.pem', 'certs/cacert.pem'].map((file) => join(dir, file)));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('calls', () => {
    it('sends typed verbs with their wire params through the connection', async () => {
      const vdsm = memoryVdsm();
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      expect(await c.Task.clear({ taskID: TASK })).to.equal(true);
      const send = vdsm.peers[0]!.received.find((f) => f.command === 'SEND')!;
      expect(send.json()).to.deep.include({ jsonrpc: '2.0', method: 'Task.clear', params: { taskID: TASK } });
      expect(c.StoragePool).to.be.an('object');
      expect(c.StorageDomain).to.be.an('object');
      expect(c.Image.move).to.be.a('function');
      expect(c.Volume.copy).to.be.a('function');
      expect(c.SDM.copy_data).to.be.a('function');
      expect(c.SDM.update_volume).to.be.a('function');
    });

    it('applies timeoutMs (default and per call) on the injected clock', async () => {
      const clock = new ManualClock();
      const vdsm = memoryVdsm();
      vdsm.hold.add('Host.ping2');
      // No heart-beats: the scripted peer sends none, and 60 s of silence would drop the connection.
      const c = client({ connect: vdsm.connect, clock, timeoutMs: 60_000, heartbeat: [0, 0] });
      await c.connect();
      const byDefault = rejectionOf(c.call('Host.ping2', {}));
      const short = rejectionOf(c.Host.ping2(undefined, { timeoutMs: 1000 }));
      await settle();
      await clock.advanceAsync(1000);
      const shortError = await short;
      expect(shortError).to.be.instanceOf(RpcTimeoutError);
      expect((shortError as RpcTimeoutError).timeoutMs).to.equal(1000);
      await clock.advanceAsync(59_000);
      expect(((await byDefault) as RpcTimeoutError).timeoutMs).to.equal(60_000);
    });
  });

  describe('drops and reconnects', () => {
    it('fails pending calls with 5022 on a drop and reconnects on the next call', async () => {
      const vdsm = memoryVdsm();
      vdsm.hold.add('Image.move');
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      const disconnects: (Error | undefined)[] = [];
      c.onDisconnect((error) => disconnects.push(error));
      await c.connect();
      const pending = [rejectionOf(c.call('Image.move', {})), rejectionOf(c.call('Image.move', {}))];
      await settle();
      vdsm.peers[0]!.destroy();
      for (const error of await Promise.all(pending)) {
        expect(error).to.be.instanceOf(ConnectionLostError);
        expect((error as ConnectionLostError).code).to.equal(5022);
      }
      expect(disconnects).to.have.length(1);
      expect(disconnects[0]).to.be.instanceOf(Error);
      expect(c.connected).to.equal(false);
      expect(await c.Host.echo({ message: 'again' })).to.equal('again');
      expect(vdsm.state.attempts).to.equal(2);
      expect(vdsm.peers).to.have.length(2);
    });

    it('keeps event listeners across reconnects', async () => {
      const vdsm = memoryVdsm();
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      const heard: string[] = [];
      c.on('|virt|VM_status|*', (event: VdsmEvent) => heard.push(`vm ${event.id}`));
      c.onEvent((event) => heard.push(`any ${event.id}`));
      await c.connect();
      await settle();
      const event = (id: string) => ({ jsonrpc: '2.0', method: id, params: { notify_time: 1 } });
      vdsm.peers[0]!.message('jms.queue.events', event('|virt|VM_status|one'));
      await settle();
      vdsm.peers[0]!.destroy();
      await settle();
      await c.connect();
      await settle();
      vdsm.peers[1]!.message('jms.queue.events', event('|virt|VM_status|two'));
      vdsm.peers[1]!.message('jms.queue.events', event('|net|host_conn|no_id'));
      await settle();
      expect(heard).to.deep.equal(['vm |virt|VM_status|one', 'any |virt|VM_status|one', 'vm |virt|VM_status|two', 'any |virt|VM_status|two', 'any |net|host_conn|no_id']);
    });
  });

  describe('close', () => {
    it('sends DISCONNECT with a receipt and leaves no timer; later calls fail', async () => {
      const clock = new ManualClock();
      const vdsm = memoryVdsm();
      const c = client({ connect: vdsm.connect, clock });
      const disconnects: (Error | undefined)[] = [];
      c.onDisconnect((error) => disconnects.push(error));
      expect(await c.Host.ping2()).to.equal(true);
      expect(clock.pending).to.be.greaterThan(0);
      await c.close();
      const peer = vdsm.peers[0]!;
      await peer.closed;
      const disconnect = peer.received.find((f) => f.command === 'DISCONNECT');
      expect(disconnect?.header('receipt')).to.be.a('string');
      expect(clock.pending).to.equal(0);
      expect(disconnects).to.deep.equal([undefined]);
      expect(c.closed).to.equal(true);
      expect(await rejectionOf(c.call('Host.ping2', {}))).to.be.instanceOf(ConnectionClosedError);
      expect(await rejectionOf(c.connect())).to.be.instanceOf(ConnectionClosedError);
      await c.close();
    });

    it('is immediate when never connected', async () => {
      const vdsm = memoryVdsm();
      const c = client({ connect: vdsm.connect, clock: new ManualClock() });
      await c.close();
      expect(vdsm.state.attempts).to.equal(0);
    });

    it('stops a connect that is backing off and fails the calls waiting for it', async () => {
      const vdsm = memoryVdsm();
      vdsm.state.failures.push(refused(), refused(), refused(), refused());
      const c = client({ connect: vdsm.connect, clock: new ManualClock(), reconnect: { retries: 3, minTimeoutMs: 60_000 } });
      const waiting = rejectionOf(c.call('Host.ping2', {}));
      await settle();
      expect(vdsm.state.attempts).to.equal(1);
      // The 60 s backoff is cut short, not waited out: the manual clock never moves, yet close() and the call end.
      const closing = watchSettled(c.close());
      await settle();
      expect(closing.settled, 'close() waited for the backoff').to.equal(true);
      expect(await waiting).to.be.instanceOf(ConnectionClosedError);
      expect(vdsm.state.attempts).to.equal(1);
    });

    it('closes a connection whose attempt finishes during close()', async () => {
      const vdsm = memoryVdsm();
      const clock = new ManualClock();
      const c = client({ connect: vdsm.connect, clock });
      const connecting = c.connect().catch((error: unknown) => error);
      await settle(1);
      await c.close();
      await connecting;
      for (const peer of vdsm.peers) await peer.closed;
      expect(c.connected).to.equal(false);
      expect(clock.pending).to.equal(0);
    });
  });

  describe('over real sockets', () => {
    /**
     * A tiny STOMP responder on 127.0.0.1:0 built on StreamChannel: VDSM's
     * CONNECTED, reply-to routing, `result: true` for every request (except
     * held methods), RECEIPT for DISCONNECT.
     */
    function responder(onSocket: (socket: Socket) => void = () => undefined) {
      const sockets = new Set<Socket>();
      const hold = new Set<string>();
      const serve = (socket: Socket): void => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        onSocket(socket);
        const channel = new StreamChannel(socket, { transport: 'tcp' });
        const subscriptions = new Map<string, string>();
        channel.onFrame((frame) => {
          const header = (name: string): string => frame.headers.get(name) ?? '';
          if (frame.command === 'CONNECT') channel.send({ command: 'CONNECTED', headers: [['version', '1.2'], ['heart-beat', '24000,0']] });
          else if (frame.command === 'SUBSCRIBE') subscriptions.set(header('destination'), header('id'));
          else if (frame.command === 'DISCONNECT') channel.send({ command: 'RECEIPT', headers: [['receipt-id', header('receipt')]] });
          else if (frame.command === 'SEND') {
            const request = JSON.parse(frame.body.toString()) as { id: string; method: string };
            if (hold.has(request.method)) return;
            const replyTo = header('reply-to');
            channel.send({
              command: 'MESSAGE',
              headers: [
                ['destination', replyTo],
                ['content-type', 'application/json'],
                ['subscription', subscriptions.get(replyTo) ?? ''],
              ],
              body: JSON.stringify({ jsonrpc: '2.0', id: request.id, result: true }),
            });
          }
        });
      };
      return { sockets, hold, serve };
    }

    function listen(server: Server): Promise<number> {
      return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    }

    function activeResources(): Record<string, number> {
      const counts: Record<string, number> = {};
      for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
      return counts;
    }

    it('reconnects over TCP after the server drops it, and close() leaves no socket or timer', async () => {
      const vdsm = responder();
      const server = createServer(vdsm.serve);
      const port = await listen(server);
      const before = activeResources();
      try {
        const c = new VdsmClient({ transport: 'tcp', host: '127.0.0.1', port, reconnect: { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 20 } });
        expect(await c.Host.ping2()).to.equal(true);
        vdsm.hold.add('Image.move');
        const pending = rejectionOf(c.call('Image.move', {}));
        await settle();
        for (const socket of vdsm.sockets) socket.destroy();
        const error = await pending;
        expect(error).to.be.instanceOf(ConnectionLostError);
        expect((error as Error).cause).to.be.instanceOf(Error);
        expect(await c.Host.ping2()).to.equal(true);
        expect(vdsm.sockets.size).to.equal(1);
        await c.close();
        // The server's side goes once the client's FIN arrives.
        while (vdsm.sockets.size > 0) await settle(1);
        await settle();
        const after = activeResources();
        expect(after.TCPSocketWrap ?? 0).to.equal(before.TCPSocketWrap ?? 0);
        expect(after.Timeout ?? 0).to.be.at.most(before.Timeout ?? 0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('connects over mutual TLS with the credentials of a PKI directory', async function () {
      this.timeout(20_000);
      const pki = await createTempTestPki();
      const sockets = new Set<TLSSocket>();
      const vdsm = responder();
      const server = createTlsServer(tlsServerOptions(pki.server.credentials), (socket) => {
        sockets.add(socket);
        vdsm.serve(socket);
      });
      const port = await listen(server);
      try {
        const c = client({ transport: 'tls', host: '127.0.0.1', port, pkiDir: pki.client.dir });
        expect(await c.Host.ping2()).to.equal(true);
        const [socket] = sockets;
        // The server saw our certificate from the PKI directory.
        expect(socket!.getPeerCertificate().subject.CN).to.equal('vdsm-kit-client');
        await c.close();
      } finally {
        await new Promise((resolve) => server.close(resolve));
        await pki.remove();
      }
    });

    it('reports an unreachable host as VdsmNetworkError after its retries', async () => {
      const server = createServer();
      const port = await listen(server);
      await new Promise((resolve) => server.close(resolve));
      const c = client({ transport: 'tcp', host: '127.0.0.1', port, reconnect: { retries: 1, minTimeoutMs: 1 } });
      const error = await rejectionOf(c.Host.ping2());
      expect(error).to.be.instanceOf(VdsmNetworkError);
      expect((error as Error).message).to.contain(`tcp://127.0.0.1:${port}`);
      expect(((error as Error).cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
    });
  });
});
