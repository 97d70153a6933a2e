/**
 * Mutual TLS end to end, with throw-away PKIs from `createTestPki`: the fake
 * refuses clients without a certificate or with one from another CA, the
 * client refuses a server its CA did not sign, the right pair works (over
 * TLS and over WebSocket-over-TLS), and a TLS-only fake refuses plain TCP
 * as a real host does.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { VdsmNetworkError } from '@vdsm-kit/client/api';
import { VdsmClient } from '@vdsm-kit/client';
import type { VdsmClientOptions } from '@vdsm-kit/client';
import type { TlsCredentials } from '@vdsm-kit/client/transport';
import { expect } from 'chai';
import { createPki, startFake, startTlsFake } from './support/fake.js';
import type { FakeVdsm, TempTestPki } from './support/fake.js';
import { rejectionOf } from './support/outcome.js';
import { TeardownHelper } from './support/teardown.js';
import { TEST_CLIENT_DEFAULTS } from './support/transports.js';
import { NETWORK_ERROR_CODE } from './support/vdsm-oracle.js';

/** VDSM's client's first bytes (vdsm-wire.md §2.2). */
const CONNECT_BYTES = 'CONNECT\naccept-version:1.2\nheart-beat:0,24000\n\n\0';

/** What a raw connection saw before it closed. */
interface RawOutcome {
  readonly received: string;
  readonly error: NodeJS.ErrnoException | undefined;
  /** True when the peer kept the connection open for 2 s (we closed it). */
  readonly timedOut: boolean;
}

/**
 * Sends VDSM's CONNECT on `socket` (once it is up) and collects what comes
 * back until the connection closes; gives up after 2 s.
 */
function collectUntilClosed(socket: Socket, readyEvent: 'connect' | 'secureConnect'): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let received = '';
    let error: NodeJS.ErrnoException | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, 2000);
    socket.once(readyEvent, () => socket.write(CONNECT_BYTES));
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, error, timedOut });
    });
  });
}

/** Expects `error` to be the client's 5022 for a connection that could not be made, and returns its cause. */
function expectRefused(error: unknown): Error & { code?: string } {
  expect(error).to.be.instanceOf(VdsmNetworkError);
  expect((error as VdsmNetworkError).code).to.equal(NETWORK_ERROR_CODE);
  expect((error as VdsmNetworkError).message).to.match(/^Cannot connect to VDSM at /);
  const cause = (error as Error).cause;
  expect(cause, 'the refusal keeps the transport error as its cause').to.be.instanceOf(Error);
  return cause as Error & { code?: string };
}

describe('TLS: mutual authentication end to end', () => {
  const suite = new TeardownHelper();
  const perTest = new TeardownHelper();
  let pki: TempTestPki;
  let fake: FakeVdsm;

  before(async () => {
    pki = await createPki(suite);
    fake = await startTlsFake(suite, pki);
  });
  afterEach(() => perTest.run());
  after(() => suite.run());

  /** A client to the TLS-only fake; no retries, so a refusal shows at once. */
  function client(transport: 'tls' | 'ws', tls: TlsCredentials, extra: VdsmClientOptions = {}): VdsmClient {
    const target: VdsmClientOptions = transport === 'tls' ? { transport, host: fake.stomp.host, port: fake.stomp.port } : { transport, url: fake.ws };
    const created = new VdsmClient({ ...TEST_CLIENT_DEFAULTS, ...target, tls, reconnect: { retries: 0 }, ...extra });
    return perTest.track(created, (c) => c.close());
  }

  it('the fake announces wss:// for its WebSocket endpoint when TLS-only', () => {
    expect(fake.ws).to.match(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
  });

  for (const transport of ['tls', 'ws'] as const) {
    const label = transport === 'tls' ? 'TLS' : 'WebSocket over TLS';

    describe(label, () => {
      it('the right client (cert signed by the CA, trusting the CA) works', async () => {
        const vdsm = client(transport, pki.client.credentials);
        expect(await vdsm.Host.ping2()).to.equal(true);
        expect(await vdsm.Host.echo({ message: 'mutual ✓' })).to.equal('mutual ✓');
      });

      it('a client whose certificate another CA signed is refused by the fake', async () => {
        // The rogue party trusts the real CA, so the only fault is its own certificate.
        const vdsm = client(transport, pki.rogue.credentials);
        const cause = expectRefused(await rejectionOf(vdsm.Host.ping2()));
        // TLS 1.3: our side of the handshake is done before the server judges our
        // certificate, so its verdict shows as the connection ending before
        // CONNECTED (Node's TLS server sends no alert for an unknown CA), a reset,
        // or a TLS alert.
        expect(cause.code).to.satisfy((code: string | undefined) => code === 'VDSM_ERR_CONNECTION_CLOSED' || code === 'ECONNRESET' || /^ERR_SSL_/.test(code ?? ''));
        // A silent hang-up over TLS tells the user what it most likely means.
        if (cause.code === 'VDSM_ERR_CONNECTION_CLOSED' && transport === 'tls') expect(cause.message).to.match(/client certificate/);
      });

      it('a client that does not trust the server\'s CA refuses the server', async () => {
        const distrustful: TlsCredentials = { ...pki.client.credentials, ca: pki.rogueCaCert };
        const vdsm = client(transport, distrustful);
        const cause = expectRefused(await rejectionOf(vdsm.Host.ping2()));
        // Our own chain verification fails (the server's chain ends in a CA we do not trust).
        expect(cause.code).to.be.oneOf(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);
      });
    });
  }

  it('a TLS client without any certificate gets no CONNECTED: the handshake is refused', async () => {
    // Node's TLS client, trusting the CA but presenting nothing.
    const socket = tlsConnect({ host: fake.stomp.host, port: fake.stomp.port, ca: pki.caCert, checkServerIdentity: () => undefined });
    const outcome = await collectUntilClosed(socket, 'secureConnect');
    expect(outcome.received).to.equal('');
    expect(outcome.timedOut, 'the fake kept the connection open').to.equal(false);
    // OpenSSL's "tlsv13 alert certificate required" (alert 116), as from VDSM's CERT_REQUIRED.
    expect(outcome.error?.code).to.equal('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });

  it('the TLS-only fake resets plain TCP at once, as real VDSM does, answering nothing', async () => {
    const outcome = await collectUntilClosed(netConnect(fake.stomp.port, fake.stomp.host), 'connect');
    expect(outcome.received).to.equal('');
    expect(outcome.timedOut, 'the fake kept the plain connection open').to.equal(false);
    // vdsm-wire.md §1: "plain TCP to a TLS port: connection reset (observed)".
    expect(outcome.error?.code).to.equal('ECONNRESET');
  });

  it('the TLS-only fake refuses a plain-TCP VdsmClient with 5022', async () => {
    const vdsm = perTest.track(
      new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tcp', host: fake.stomp.host, port: fake.stomp.port, reconnect: { retries: 0 } }),
      (c) => c.close(),
    );
    expectRefused(await rejectionOf(vdsm.Host.ping2()));
  });

  it('a fake with TLS but not TLS-only serves TLS and plain TCP clients on one port', async () => {
    const both = await startFake(perTest, { tls: pki.server.credentials });
    const viaTls = perTest.track(
      new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tls', host: both.stomp.host, port: both.stomp.port, tls: pki.client.credentials }),
      (c) => c.close(),
    );
    const viaTcp = perTest.track(new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tcp', host: both.stomp.host, port: both.stomp.port }), (c) => c.close());
    expect(await Promise.all([viaTls.Host.ping2(), viaTcp.Host.ping2()])).to.deep.equal([true, true]);
  });
});
