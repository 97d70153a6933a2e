/**
 * How a `VdsmClient` fails, and recovers, on real sockets: a server that
 * stops answering, drops the connection with calls pending, breaks its
 * heart-beat promise, or is not there at all; and a fake-vdsm that is stopped
 * and started again on the same port, over every transport. Every failure
 * must surface as VDSM_NETWORK_ERROR (5022) the way the engine reports it,
 * and the next call must reconnect.
 */
import { ConnectionLostError, RpcTimeoutError, VdsmNetworkError } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { HeartbeatTimeoutError } from '@vdsm-kit/client/errors';
import { VdsmClient } from '@vdsm-kit/client';
import type { VdsmClientOptions } from '@vdsm-kit/client';
import { expect } from 'chai';
import { startMisbehavingServer } from './support/misbehaving-server.js';
import type { MisbehavingServer, MisbehavingServerOptions } from './support/misbehaving-server.js';
import { rejectionOf, watch } from './support/outcome.js';
import { TeardownHelper } from './support/teardown.js';
import { TEST_CLIENT_DEFAULTS, transports } from './support/transports.js';
import type { TransportCase, TransportEndpoint } from './support/transports.js';
import { NETWORK_ERROR_CODE } from './support/vdsm-oracle.js';

/** Lets socket I/O and promise callbacks that are already due run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('failures: VdsmClient against a misbehaving STOMP server', () => {
  const td = new TeardownHelper();
  afterEach(() => td.run());

  async function server(options: MisbehavingServerOptions = {}): Promise<MisbehavingServer> {
    return td.track(await startMisbehavingServer(options), (s) => s.close());
  }

  function client(target: MisbehavingServer, options: VdsmClientOptions = {}): VdsmClient {
    const created = new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tcp', host: target.host, port: target.port, ...options });
    return td.track(created, (c) => c.close({ receiptTimeoutMs: 100 }));
  }

  it('a swallowed request fails with 5022 (RpcTimeoutError) exactly at timeoutMs, on the injected clock', async () => {
    const clock = new ManualClock();
    const target = await server();
    const vdsm = client(target, { clock, timeoutMs: 200 });
    expect(await vdsm.Host.ping2()).to.equal(true);

    target.mode = 'swallow';
    const call = watch(vdsm.Host.echo({ message: 'into the void' }));
    await target.waitForRequests(2);
    clock.advance(199);
    await turn();
    expect(call.settled, 'failed before its timeout').to.equal(false);
    clock.advance(1);
    const error = await rejectionOf(call.promise);
    expect(error).to.be.instanceOf(RpcTimeoutError).and.instanceOf(VdsmNetworkError);
    expect((error as RpcTimeoutError).code).to.equal(NETWORK_ERROR_CODE);
    expect((error as RpcTimeoutError).method).to.equal('Host.echo');
    expect((error as RpcTimeoutError).timeoutMs).to.equal(200);

    // A timeout is not a drop: the same connection answers the next call.
    target.mode = 'answer';
    expect(await vdsm.Host.ping2()).to.equal(true);
    expect(target.connections).to.equal(1);
  });

  it('with the system clock, a short timeoutMs fails the call with 5022 in about that time', async () => {
    const target = await server({ mode: 'swallow' });
    const vdsm = client(target, { timeoutMs: 150 });
    const started = performance.now();
    const error = await rejectionOf(vdsm.Host.ping2());
    const elapsed = performance.now() - started;
    expect(error).to.be.instanceOf(RpcTimeoutError);
    expect((error as RpcTimeoutError).code).to.equal(NETWORK_ERROR_CODE);
    // About the timeout, and nowhere near the client's 5 s default.
    expect(elapsed).to.be.within(140, 900);
    // A per-call timeout overrides the client's.
    const perCall = performance.now();
    await rejectionOf(vdsm.Host.ping2(undefined, { timeoutMs: 50 }));
    expect(performance.now() - perCall).to.be.within(40, 500);
    expect(target.connections).to.equal(1);
  });

  it('a dropped connection fails every pending call at once with 5022 (ConnectionLostError); the next call reconnects', async () => {
    const target = await server({ mode: 'swallow' });
    const vdsm = client(target, { timeoutMs: 10_000 });
    const disconnects: (Error | undefined)[] = [];
    vdsm.onDisconnect((error) => disconnects.push(error));

    const calls = Array.from({ length: 5 }, (_, i) => vdsm.Host.echo({ message: `pending ${i}` }));
    await target.waitForRequests(5);
    const droppedAt = performance.now();
    target.dropConnections();
    const errors = await Promise.all(calls.map((call) => rejectionOf(call)));
    // "At once": long before the 10 s call timeout.
    expect(performance.now() - droppedAt).to.be.lessThan(500);
    for (const error of errors) {
      expect(error).to.be.instanceOf(ConnectionLostError);
      expect((error as ConnectionLostError).code).to.equal(NETWORK_ERROR_CODE);
    }
    expect(disconnects).to.have.length(1);
    expect(disconnects[0]).to.be.instanceOf(Error);

    target.mode = 'answer';
    expect(await vdsm.Host.echo({ message: 'back' })).to.equal('back');
    expect(target.connections).to.equal(2);
    expect(target.requests.at(-1)?.connection).to.equal(2);
  });

  it('a server that promised heart-beats and sends none is declared dead: pending calls fail with 5022, the next call reconnects', async () => {
    // The server claims a beat every 100 ms; the client asks for one every 100 ms and waits 1.5x.
    const target = await server({ mode: 'swallow', connectedHeartbeat: '100,0' });
    const vdsm = client(target, { heartbeat: [0, 100], timeoutMs: 10_000 });
    const disconnects: (Error | undefined)[] = [];
    vdsm.onDisconnect((error) => disconnects.push(error));

    const started = performance.now();
    const error = await rejectionOf(vdsm.Host.ping2());
    const elapsed = performance.now() - started;
    expect(error).to.be.instanceOf(ConnectionLostError);
    expect((error as ConnectionLostError).code).to.equal(NETWORK_ERROR_CODE);
    expect((error as Error).cause).to.be.instanceOf(HeartbeatTimeoutError);
    expect(disconnects[0]).to.be.instanceOf(HeartbeatTimeoutError);
    // Dead after ~150 ms of silence, not after the 10 s call timeout.
    expect(elapsed).to.be.within(100, 900);

    target.mode = 'answer';
    expect(await vdsm.Host.ping2()).to.equal(true);
    expect(target.connections).to.equal(2);
  });

  it('a server that keeps its heart-beat promise stays connected through idle time', async () => {
    // Negotiated: a beat every max(200, 50) = 200 ms, dead after 300 ms of silence; beats come every 40 ms.
    const target = await server({ connectedHeartbeat: '50,0', beatEveryMs: 40 });
    const vdsm = client(target, { heartbeat: [0, 200] });
    const disconnects: (Error | undefined)[] = [];
    vdsm.onDisconnect((error) => disconnects.push(error));
    expect(await vdsm.Host.ping2()).to.equal(true);
    // Twice the 300 ms the client would tolerate without the beats.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(disconnects).to.deep.equal([]);
    expect(await vdsm.Host.ping2()).to.equal(true);
    expect(target.connections).to.equal(1);
  });

  it('nobody listening: the call fails with 5022 (VdsmNetworkError) naming the target, after the configured retries', async () => {
    const target = await server();
    const { host, port } = target;
    await target.close();
    const vdsm = client(target, { reconnect: { retries: 2, minTimeoutMs: 10, maxTimeoutMs: 20 } });
    const error = await rejectionOf(vdsm.Host.ping2());
    expect(error).to.be.instanceOf(VdsmNetworkError);
    expect((error as VdsmNetworkError).code).to.equal(NETWORK_ERROR_CODE);
    expect((error as Error).message).to.include(`${host}:${port}`);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
  });
});

function stopAndRestartSuite(transport: TransportCase): void {
  const suite = new TeardownHelper();
  const perTest = new TeardownHelper();
  let vdsm: TransportEndpoint;

  before(async () => {
    vdsm = await transport.start(suite);
  });
  afterEach(() => perTest.run());
  after(() => suite.run());

  it('stopping the fake fails pending calls with 5022; after a restart on the same port the next call reconnects', async () => {
    const client = vdsm.client(perTest, { timeoutMs: 10_000 });
    expect(await client.Host.ping2()).to.equal(true);

    // Sent in this tick, so the fake is gone before it can read, let alone answer, them.
    const calls = [client.Host.ping2(), client.Host.echo({ message: 'lost' }), client.Host.getCapabilities()];
    const failures = Promise.all(calls.map((call) => rejectionOf(call)));
    const stoppedAt = performance.now();
    await vdsm.fake.close();
    const errors = await failures;
    expect(performance.now() - stoppedAt).to.be.lessThan(1000);
    for (const error of errors) {
      expect(error).to.be.instanceOf(VdsmNetworkError);
      expect((error as VdsmNetworkError).code).to.equal(NETWORK_ERROR_CODE);
    }
    expect(client.connected).to.equal(false);

    const port = vdsm.fake.stomp.port;
    const restarted = await vdsm.restartFake();
    expect(restarted.stomp.port).to.equal(port);
    expect(await client.Host.echo({ message: 'welcome back' })).to.equal('welcome back');
    expect(client.connected).to.equal(true);
  });
}

describe('failures: VdsmClient against a fake-vdsm that stops and restarts, per transport', () => {
  for (const transport of transports) describe(transport.name, () => stopAndRestartSuite(transport));
});
