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

  it("with the system clock, a short timeoutMs fails the call with 5022: the client's, or the call's own", async () => {
    const target = await server({ mode: 'swallow' });
    const vdsm = client(target, { timeoutMs: 150 });
    const error = await rejectionOf(vdsm.Host.ping2());
    expect(error).to.be.instanceOf(RpcTimeoutError);
    expect((error as RpcTimeoutError).code).to.equal(NETWORK_ERROR_CODE);
    // The client's 150 ms fired, not the 5 s default (a real timer: the manual-clock test above pins the exact time).
    expect((error as RpcTimeoutError).timeoutMs).to.equal(150);
    // A per-call timeout overrides the client's.
    const perCall = await rejectionOf(vdsm.Host.ping2(undefined, { timeoutMs: 50 }));
    expect(perCall).to.be.instanceOf(RpcTimeoutError);
    expect((perCall as RpcTimeoutError).timeoutMs).to.equal(50);
    expect(target.connections).to.equal(1);
  });

  it('a dropped connection fails every pending call at once with 5022 (ConnectionLostError); the next call reconnects', async () => {
    const target = await server({ mode: 'swallow' });
    const vdsm = client(target, { timeoutMs: 10_000 });
    const disconnects: (Error | undefined)[] = [];
    vdsm.onDisconnect((error) => disconnects.push(error));

    const calls = Array.from({ length: 5 }, (_, i) => vdsm.Host.echo({ message: `pending ${i}` }));
    await target.waitForRequests(5);
    target.dropConnections();
    const errors = await Promise.all(calls.map((call) => rejectionOf(call)));
    // "At once": each fails as lost, none as an RpcTimeoutError of its 10 s timeout.
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

  it('a server that promised heart-beats and sends none is declared dead after 1.5 beats of silence: pending calls fail with 5022, the next call reconnects', async () => {
    // The server claims a beat every 100 ms; the client asks for one every 100 ms and waits 1.5x, on its clock.
    const clock = new ManualClock();
    const target = await server({ mode: 'swallow', connectedHeartbeat: '100,0' });
    const vdsm = client(target, { clock, heartbeat: [0, 100], timeoutMs: 10_000 });
    const disconnects: (Error | undefined)[] = [];
    vdsm.onDisconnect((error) => disconnects.push(error));

    const call = watch(vdsm.Host.ping2());
    await target.waitForRequests(1);
    clock.advance(149);
    await turn();
    expect(call.settled, 'dead before 150 ms of silence').to.equal(false);
    clock.advance(1);
    const error = await rejectionOf(call.promise);
    expect(error).to.be.instanceOf(ConnectionLostError);
    expect((error as ConnectionLostError).code).to.equal(NETWORK_ERROR_CODE);
    expect((error as Error).cause).to.be.instanceOf(HeartbeatTimeoutError);
    expect(disconnects[0]).to.be.instanceOf(HeartbeatTimeoutError);

    target.mode = 'answer';
    expect(await vdsm.Host.ping2()).to.equal(true);
    expect(target.connections).to.equal(2);
  });

  it('a server that keeps its heart-beat promise stays connected through idle time', async () => {
    // Negotiated: a beat every max(200, 50) = 200 ms, dead after 300 ms of silence on the client's clock; beats come every 40 ms.
    const clock = new ManualClock();
    const target = await server({ connectedHeartbeat: '50,0', beatEveryMs: 40 });
    const vdsm = client(target, { clock, heartbeat: [0, 200] });
    const disconnects: (Error | undefined)[] = [];
    const disconnected = new Promise<void>((resolve) => vdsm.onDisconnect((error) => resolve(void disconnects.push(error))));
    expect(await vdsm.Host.ping2()).to.equal(true);
    // 6 x 100 ms of client time, twice the 300 ms it tolerates, each step after two more beats were written
    // (the earlier of them has been read by then: a full turn of the event loop lies between two beats).
    for (let step = 1; step <= 6; step++) {
      await Promise.race([target.waitForBeats(target.beatsSent + 2), disconnected]);
      expect(disconnects, `dead after ${(step - 1) * 100} ms`).to.deep.equal([]);
      clock.advance(100);
    }
    await turn();
    expect(disconnects).to.deep.equal([]);
    expect(vdsm.connected).to.equal(true);
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
    await vdsm.fake.close();
    // Failed by the stop, not by their 10 s timeout: none is an RpcTimeoutError.
    const errors = await failures;
    for (const error of errors) {
      expect(error).to.be.instanceOf(VdsmNetworkError).and.not.instanceOf(RpcTimeoutError);
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
