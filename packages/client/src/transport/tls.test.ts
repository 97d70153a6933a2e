import { expect } from 'chai';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { StompFrame } from '../stomp/frame.js';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import type { TempTestPki } from '@vdsm-kit/test-support/pki';
import type { FrameChannel } from './channel.js';
import { connectChannel } from './connect.js';
import { tlsServerOptions } from './pki.js';
import type { TlsCredentials } from './pki.js';
import { StreamChannel } from './stream-channel.js';
import { WebSocketChannel } from './ws-channel.js';

/** A mutual-TLS echo server built from the transport's own pieces, as fake-vdsm will be. */
interface TlsEchoServer {
  readonly port: number;
  /** Handshakes the server refused (no client certificate, wrong CA). */
  readonly refused: Error[];
  /** Sockets whose handshake succeeded. */
  readonly accepted: TLSSocket[];
  close(): Promise<void>;
}

async function startTlsEchoServer(credentials: TlsCredentials): Promise<TlsEchoServer> {
  const refused: Error[] = [];
  const accepted: TLSSocket[] = [];
  const server = createTlsServer(tlsServerOptions(credentials), (socket) => {
    accepted.push(socket);
    const channel = new StreamChannel(socket, { transport: 'tls', remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
    channel.onFrame((frame) => channel.send({ command: 'MESSAGE', headers: { destination: 'echo' }, body: frame.body }));
  });
  server.on('tlsClientError', (error) => refused.push(error));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    refused,
    accepted,
    async close() {
      for (const socket of accepted) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The same echo server over wss:// (https + ws), with the same mutual-TLS options. */
interface WssEchoServer {
  readonly url: string;
  readonly refused: Error[];
  close(): Promise<void>;
}

async function startWssEchoServer(credentials: TlsCredentials): Promise<WssEchoServer> {
  const refused: Error[] = [];
  const https = createHttpsServer(tlsServerOptions(credentials));
  https.on('tlsClientError', (error) => refused.push(error));
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (ws) => {
    const channel = new WebSocketChannel(ws, { transport: 'ws' });
    channel.onFrame((frame) => channel.send({ command: 'MESSAGE', headers: { destination: 'echo' }, body: frame.body }));
  });
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  return {
    url: `wss://127.0.0.1:${(https.address() as AddressInfo).port}/stomp`,
    refused,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      https.closeAllConnections();
      https.close();
      await once(https, 'close');
    },
  };
}

function nextFrame(channel: FrameChannel): Promise<StompFrame> {
  return new Promise((resolve) => channel.onFrame(resolve));
}

function closeReason(channel: FrameChannel): Promise<Error | undefined> {
  return new Promise((resolve) => channel.onClose(resolve));
}

/** Sends one frame and waits for its echo. */
async function roundTrip(channel: FrameChannel, body: string): Promise<string> {
  const reply = nextFrame(channel);
  channel.send({ command: 'SEND', headers: { destination: 'jms.topic.vdsm_requests' }, body });
  return (await reply).body.toString();
}

/**
 * Checks an attempt the server refuses: no frame ever gets through. With TLS
 * 1.3 the client's side of the handshake ends before the server checks the
 * client certificate, so a refusal is a rejected connect, or a channel that
 * closes before any answer: with the server's alert (OpenSSL servers such as
 * VDSM), or with a bare EOF (a Node server drops the socket without an
 * alert). Returns the rejection or the close reason.
 */
async function refusal(attempt: Promise<FrameChannel>): Promise<Error | undefined> {
  let channel: FrameChannel;
  try {
    channel = await attempt;
  } catch (error) {
    return error as Error;
  }
  const frames: StompFrame[] = [];
  channel.onFrame((frame) => frames.push(frame));
  channel.send({ command: 'SEND', headers: { destination: 'd' }, body: 'must not be answered' });
  const reason = await closeReason(channel);
  expect(frames).to.deep.equal([]);
  return reason;
}

describe('TLS transport (real sockets, mutual TLS)', () => {
  let pki: TempTestPki;

  before(async () => {
    pki = await createTempTestPki();
  });

  after(async () => {
    await pki?.remove();
  });

  describe('over TCP', () => {
    let server: TlsEchoServer;

    beforeEach(async () => {
      server = await startTlsEchoServer(pki.server.credentials);
    });

    afterEach(async () => {
      await server.close();
    });

    it('connects with a client certificate signed by the CA, and frames flow', async () => {
      const channel = await connectChannel({ transport: 'tls', host: '127.0.0.1', port: server.port, tls: pki.client.credentials });
      expect(channel.info).to.deep.equal({ transport: 'tls', remoteAddress: '127.0.0.1', remotePort: server.port });
      expect(await roundTrip(channel, 'hello over TLS')).to.equal('hello over TLS');
      const [socket] = server.accepted;
      expect(socket?.authorized).to.equal(true);
      expect(socket?.getPeerCertificate().subject.CN).to.equal('vdsm-kit-client');
      const closed = closeReason(channel);
      channel.close();
      expect(await closed).to.equal(undefined);
    });

    it('is refused by the server without a client certificate', async () => {
      const socket = tlsConnect({ host: '127.0.0.1', port: server.port, ca: pki.caCert, checkServerIdentity: () => undefined });
      const errors: Error[] = [];
      socket.on('error', (error) => errors.push(error));
      // The raw socket may finish its side of the handshake; either way it gets closed.
      await new Promise((resolve) => socket.once('close', resolve));
      expect(errors.map((error) => error.message).join()).to.match(/alert certificate required|handshake failure|ECONNRESET/);
      expect(server.refused.length).to.equal(1);
      expect(server.accepted).to.deep.equal([]);
    });

    it('is refused by the server with a client certificate from another CA', async () => {
      await refusal(connectChannel({ transport: 'tls', host: '127.0.0.1', port: server.port, tls: pki.rogue.credentials }));
      expect(server.refused.length).to.equal(1);
      expect(server.accepted).to.deep.equal([]);
    });
  });

  it('refuses a server whose certificate is from another CA', async () => {
    const server = await startTlsEchoServer(pki.rogue.credentials);
    try {
      const attempt = connectChannel({ transport: 'tls', host: '127.0.0.1', port: server.port, tls: pki.client.credentials });
      const error = (await attempt.then(
        () => expect.fail('connected to a server signed by another CA'),
        (rejection: unknown) => rejection,
      )) as NodeJS.ErrnoException;
      expect(error.code).to.be.oneOf(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);
      expect(error.message).to.match(new RegExp(`^Cannot connect to tls://127\\.0\\.0\\.1:${server.port}: `));
      expect(server.accepted).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('skips the hostname check by default, as VDSM and the engine do, and checks it on request', async () => {
    // The client certificate has no subjectAltName: its chain is good, its name matches nothing.
    const server = await startTlsEchoServer(pki.client.credentials);
    try {
      const target = { transport: 'tls', host: '127.0.0.1', port: server.port, tls: pki.client.credentials } as const;
      const channel = await connectChannel(target);
      expect(await roundTrip(channel, 'no name check')).to.equal('no name check');
      channel.destroy();

      const error = (await connectChannel({ ...target, verifyHostname: true }).then(
        () => expect.fail('connected despite a hostname mismatch'),
        (rejection: unknown) => rejection,
      )) as NodeJS.ErrnoException;
      expect(error.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      await server.close();
    }
  });

  it('verifies the hostname when asked and the certificate matches', async () => {
    const server = await startTlsEchoServer(pki.server.credentials);
    try {
      for (const host of ['127.0.0.1', 'localhost']) {
        const channel = await connectChannel({ transport: 'tls', host, port: server.port, tls: pki.client.credentials, verifyHostname: true });
        expect(await roundTrip(channel, host)).to.equal(host);
        channel.destroy();
      }
    } finally {
      await server.close();
    }
  });

  describe('over WebSocket (wss://)', () => {
    let server: WssEchoServer;

    beforeEach(async () => {
      server = await startWssEchoServer(pki.server.credentials);
    });

    afterEach(async () => {
      await server.close();
    });

    it('connects with the client certificate, and frames flow', async () => {
      const channel = await connectChannel({ transport: 'ws', url: server.url, tls: pki.client.credentials });
      expect(channel.info.transport).to.equal('ws');
      expect(await roundTrip(channel, 'hello over wss')).to.equal('hello over wss');
      channel.destroy();
    });

    it('is refused with a client certificate from another CA', async () => {
      await refusal(connectChannel({ transport: 'ws', url: server.url, tls: pki.rogue.credentials }));
      expect(server.refused.length).to.equal(1);
    });

    it('refuses the server without our CA', async () => {
      const error = (await connectChannel({ transport: 'ws', url: server.url }).then(
        () => expect.fail('trusted a server signed by a private CA'),
        (rejection: unknown) => rejection,
      )) as NodeJS.ErrnoException;
      expect(error.code).to.be.oneOf(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN']);
      expect(error.message).to.contain(`Cannot connect to ${server.url}`);
    });

    it('skips the hostname check by default and checks it on request, as over TCP', async () => {
      const nameless = await startWssEchoServer(pki.client.credentials);
      try {
        const channel = await connectChannel({ transport: 'ws', url: nameless.url, tls: pki.client.credentials });
        expect(await roundTrip(channel, 'no name check')).to.equal('no name check');
        channel.destroy();
        const error = (await connectChannel({ transport: 'ws', url: nameless.url, tls: pki.client.credentials, verifyHostname: true }).then(
          () => expect.fail('connected despite a hostname mismatch'),
          (rejection: unknown) => rejection,
        )) as NodeJS.ErrnoException;
        expect(error.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
      } finally {
        await nameless.close();
      }
    });
  });
});
