/**
 * Interop: STOMP clients we did not write (@stomp/stompjs over TCP and
 * WebSocket, stompit over TCP) talk JSON-RPC to the in-process fake the way
 * vdsm's own client does: CONNECT with `accept-version:1.2`, SUBSCRIBE a
 * private reply-to queue, SEND the request to `jms.topic.vdsm_requests` with
 * `reply-to`, read the answer as a MESSAGE. One suite, run per peer.
 */
import { randomUUID } from 'node:crypto';
import { Destination } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { startFake } from './support/fake.js';
import type { FakeVdsm } from './support/fake.js';
import { PeerErrorFrame, stompPeers } from './support/stomp-peers.js';
import type { PeerConnection, StompPeer } from './support/stomp-peers.js';
import { TeardownHelper } from './support/teardown.js';

describe('third-party STOMP peers against fake-vdsm', () => {
  const suite = new TeardownHelper();
  const perTest = new TeardownHelper();
  let fake: FakeVdsm;

  before(async () => {
    fake = await startFake(suite);
  });
  afterEach(() => perTest.run());
  after(() => suite.run());

  const peers = stompPeers(() => ({ host: fake.stomp.host, port: fake.stomp.port, wsUrl: fake.ws }));
  for (const peer of peers) describe(peer.name, () => peerSuite(peer));

  function peerSuite(peer: StompPeer): void {
    async function connect(): Promise<PeerConnection> {
      return perTest.track(await peer.connect(['1.2']), (connection) => connection.close());
    }

    /** Sends one JSON-RPC request with a fresh reply-to queue and returns the MESSAGE that answers it. */
    async function request(connection: PeerConnection, body: (id: string) => unknown, headers: Record<string, string> = {}) {
      const replyTo = randomUUID();
      const subscription = connection.subscribe(replyTo);
      const id = randomUUID();
      connection.send(Destination.Requests, { 'reply-to': replyTo, 'content-type': 'application/json', ...headers }, JSON.stringify(body(id)));
      const message = await subscription.messages.next(`answer on ${replyTo}`);
      return { id, replyTo, subscriptionId: subscription.id, message, response: JSON.parse(message.body) as Record<string, unknown> };
    }

    it('negotiates STOMP 1.2 with no heart-beats', async () => {
      const connection = await connect();
      expect(connection.connectedHeaders['version']).to.equal('1.2');
      expect(connection.connectedHeaders['heart-beat']).to.equal('0,0');
    });

    it('gets Host.ping2 answered on its reply-to, with VDSM\'s MESSAGE headers', async () => {
      const connection = await connect();
      const { id, replyTo, subscriptionId, message, response } = await request(connection, (id) => ({ jsonrpc: '2.0', method: 'Host.ping2', params: {}, id }));
      expect(response).to.deep.equal({ jsonrpc: '2.0', id, result: true });
      expect(message.headers['destination']).to.equal(replyTo);
      expect(message.headers['content-type']).to.equal('application/json');
      expect(message.headers['subscription']).to.equal(subscriptionId);
      expect(Number(message.headers['content-length'])).to.equal(Buffer.byteLength(message.body));
    });

    it('gets Host.echo of a unicode message back unchanged, flow id and one-element batch as vdsm\'s client sends them', async () => {
      const connection = await connect();
      const text = 'héllo wörld ✓ 日本語 🚀 "quoted" \\ back:slash';
      // vdsm's own client wraps each request in a one-element array and gets a single object back.
      const { id, response } = await request(connection, (id) => [{ jsonrpc: '2.0', method: 'Host.echo', params: { message: text }, id }], {
        ovirtCorrelationId: 'flow-interop-1',
      });
      expect(response).to.deep.equal({ jsonrpc: '2.0', id, result: text });
    });

    it('gets -32601 in VDSM\'s words for a method VDSM does not have', async () => {
      const connection = await connect();
      const { id, response } = await request(connection, (id) => ({ jsonrpc: '2.0', method: 'Host.noSuchVerb', params: {}, id }));
      expect(response).to.deep.equal({
        jsonrpc: '2.0',
        id,
        error: { code: -32601, message: "The method does not exist or is not available: {'method': 'Host.noSuchVerb'}" },
      });
    });

    it('is refused with ERROR "Version unsupported" when it offers 1.1,1.2 (VDSM wants exactly 1.2)', async () => {
      let refusal: unknown;
      try {
        const connection = await peer.connect(['1.1', '1.2']);
        perTest.track(connection, (c) => c.close());
      } catch (error) {
        refusal = error;
      }
      expect(refusal).to.be.instanceOf(PeerErrorFrame);
      if (peer.readsErrorBodies) expect((refusal as PeerErrorFrame).body).to.equal('Version unsupported');
    });
  }
});
