/**
 * The STOMP server over real sockets, asserting the exact bytes VDSM was
 * observed to send (vdsm-wire.md 2.2-2.4, 3.6).
 */
import { Destination } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { startFakeVdsm } from '../index.js';
import type { FakeVdsm, FakeVdsmOptions } from '../index.js';
import { RawConnection, VDSM_CLIENT_CONNECT, rawFrame } from '../test-support/raw-connection.js';

const REPLY_TO = '5b0ee0b4-93f6-4c53-9c1b-3a4be3a2b7d5';
const REQUEST_ID = 'c1d0a1c7-0d5a-47c1-a7b8-1e7a1a6a5d2f';

/** The SEND vdsm's client writes for `Host.ping2` (vdsm-wire.md 3.1, observed), content-length and all. */
function vdsmClientSend(body: string, replyTo = REPLY_TO): string {
  return (
    `SEND\ndestination:${Destination.Requests}\ncontent-type:application/json\nreply-to:${replyTo}\n` +
    `ovirtCorrelationId:flow-123\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`
  );
}

/** A JSON-RPC request body; `id` null makes it a notification. */
function request(method: string, params: object, id: string | number | null = REQUEST_ID): string {
  return JSON.stringify({ jsonrpc: '2.0', method, params, ...(id === null ? {} : { id }) });
}

/** The MESSAGE VDSM writes for a response (StompServer.send). */
function responseMessage(destination: string, subscription: string, body: string): string {
  return `MESSAGE\ndestination:${destination}\ncontent-type:application/json\nsubscription:${subscription}\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`;
}

describe('STOMP server connection (raw sockets, exact bytes)', () => {
  let vdsm: FakeVdsm;
  const open: RawConnection[] = [];

  async function start(options: FakeVdsmOptions = {}): Promise<void> {
    vdsm = await startFakeVdsm(options);
  }

  async function raw(): Promise<RawConnection> {
    const connection = await RawConnection.open(vdsm.stomp.port);
    open.push(connection);
    return connection;
  }

  /** CONNECTs as vdsm's client does and subscribes `replyTo` with id `subId`. */
  async function session(replyTo = REPLY_TO, subId = 'sub-reply'): Promise<RawConnection> {
    const connection = await raw();
    connection.write(VDSM_CLIENT_CONNECT);
    expect(await connection.frame()).to.equal('CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0');
    connection.write(rawFrame('SUBSCRIBE', [['destination', replyTo], ['ack', 'auto'], ['id', subId]]));
    return connection;
  }

  afterEach(async () => {
    for (const connection of open.splice(0)) connection.destroy();
    await vdsm?.close();
  });

  describe('CONNECT', () => {
    beforeEach(() => start());

    for (const [asked, answered] of [
      ['heart-beat:0,24000\n', '24000,0'],
      ['heart-beat:5000,500\n', '1000,5000'],
      ['', '0,0'],
      ['heart-beat:garbage\n', '0,0'],
    ] as const) {
      it(`answers ${JSON.stringify(asked || 'no heart-beat')} with heart-beat:${answered}`, async () => {
        const connection = await raw();
        connection.write(`CONNECT\naccept-version:1.2\n${asked}\n\0`);
        expect(await connection.frame()).to.equal(`CONNECTED\nversion:1.2\nheart-beat:${answered}\n\n\0`);
      });
    }

    it('refuses any accept-version but exactly 1.2 with ERROR "Version unsupported" and stays open', async () => {
      const connection = await raw();
      connection.write('CONNECT\naccept-version:1.1,1.2\n\n\0');
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:19\n\nVersion unsupported\0');
      connection.write('CONNECT\n\n\0');
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:19\n\nVersion unsupported\0');
      connection.write(VDSM_CLIENT_CONNECT);
      expect(await connection.frame()).to.equal('CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0');
    });
  });

  describe('SUBSCRIBE, UNSUBSCRIBE, SEND, DISCONNECT', () => {
    beforeEach(() => start());

    it('answers each VDSM error text', async () => {
      const connection = await session();
      connection.write(rawFrame('SUBSCRIBE', [['destination', 'd']]));
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:45\n\nMissing destination or subscription id header\0');
      connection.write(rawFrame('SUBSCRIBE', [['id', 'x'], ['destination', '']]));
      expect(await connection.frameBody()).to.equal('Missing destination or subscription id header');
      connection.write(rawFrame('SUBSCRIBE', [['destination', 'other'], ['id', 'sub-reply']]));
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:30\n\nSubscription id already exists\0');
      connection.write(rawFrame('UNSUBSCRIBE'));
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:17\n\nMissing id header\0');
      connection.write(rawFrame('SEND', [['destination', 'nobody.listens']], 'x'));
      expect(await connection.frame()).to.equal('ERROR\ncontent-length:26\n\nSubscription not available\0');
      // An unknown id is ignored: no answer, connection still serving.
      connection.write(rawFrame('UNSUBSCRIBE', [['id', 'unknown']]));
      connection.write(vdsmClientSend(request('Host.ping2', {})));
      expect(await connection.frameBody()).to.equal(`{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "result": true}`);
    });

    it('answers vdsm\'s client request on its reply-to with the exact MESSAGE bytes', async () => {
      const connection = await session();
      connection.write(vdsmClientSend(request('Host.ping2', {})));
      expect(await connection.frame()).to.equal(responseMessage(REPLY_TO, 'sub-reply', `{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "result": true}`));
    });

    it('serves a one-element array request with a single object', async () => {
      const connection = await session();
      connection.write(vdsmClientSend(`[${request('Host.echo', { message: 'hi' })}]`));
      expect(await connection.frameBody()).to.equal(`{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "result": "hi"}`);
    });

    it('routes a reply to every subscriber of the reply-to, on every connection', async () => {
      const first = await session('shared-reply', 'first');
      const second = await session('shared-reply', 'second');
      const third = await session('another-reply', 'third');
      // SUBSCRIBE has no receipt: a request on the same connection proves the server has it.
      second.write(vdsmClientSend(request('Host.ping2', {}, 'sync'), 'another-reply'));
      first.write(vdsmClientSend(request('Host.ping2', {}, 'sync'), 'another-reply'));
      expect(await third.frameBody()).to.contain('"sync"');
      expect(await third.frameBody()).to.contain('"sync"');

      first.write(vdsmClientSend(request('Host.echo', { message: 'to all' }, 7), 'shared-reply'));
      const body = '{"jsonrpc": "2.0", "id": 7, "result": "to all"}';
      expect(await first.frame()).to.equal(responseMessage('shared-reply', 'first', body));
      expect(await second.frame()).to.equal(responseMessage('shared-reply', 'second', body));
      expect(await third.quietFor(100)).to.equal('');
    });

    it('drops the answer to a request without reply-to', async () => {
      const connection = await session();
      connection.write(rawFrame('SEND', [['destination', Destination.Requests]], request('Host.ping2', {})));
      connection.write(vdsmClientSend(request('Host.ping2', {}, 'after')));
      expect(await connection.frameBody()).to.equal('{"jsonrpc": "2.0", "id": "after", "result": true}');
    });

    it('sends -32601 to the reply-to, and -32700 and -32600 (id null) to jms.topic.vdsm_responses', async () => {
      const connection = await session();
      connection.write(rawFrame('SUBSCRIBE', [['destination', Destination.Responses], ['id', 'sub-responses']]));
      connection.write(vdsmClientSend(request('No.such', {})));
      expect(await connection.frame()).to.equal(
        responseMessage(REPLY_TO, 'sub-reply', `{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "error": {"code": -32601, "message": "The method does not exist or is not available: {'method': 'No.such'}"}}`),
      );
      connection.write(vdsmClientSend('{"jsonrpc": "2.0", "method"'));
      expect(await connection.frame()).to.equal(
        responseMessage(Destination.Responses, 'sub-responses', '{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Invalid JSON was received by the server. An error occurred on the server while parsing the JSON text."}}'),
      );
      connection.write(vdsmClientSend('{"jsonrpc": "1.0", "method": "Host.ping2", "id": "v1"}'));
      expect(await connection.frame()).to.equal(
        responseMessage(Destination.Responses, 'sub-responses', `{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Invalid request: {'request': {'jsonrpc': '1.0', 'method': 'Host.ping2', 'id': 'v1'}, 'reason': 'Wrong protocol version'}"}}`),
      );
      expect(await connection.quietFor(100)).to.equal('');
    });

    it('answers a batch with an array, a notification with nothing, and keeps serving everyone', async () => {
      const connection = await session();
      const other = await session('other-reply', 'other-sub');
      connection.write(vdsmClientSend(`[${request('Host.ping2', {}, 'a')}, ${request('Host.echo', { message: 'b' }, 'b')}]`));
      expect(await connection.frameBody()).to.equal('[{"jsonrpc": "2.0", "id": "a", "result": true},{"jsonrpc": "2.0", "id": "b", "result": "b"}]');
      connection.write(vdsmClientSend(request('Host.ping2', {}, null)));
      expect(await connection.quietFor(100)).to.equal('');
      connection.write(vdsmClientSend(request('Host.ping2', {}, 'still')));
      expect(await connection.frameBody()).to.equal('{"jsonrpc": "2.0", "id": "still", "result": true}');
      other.write(vdsmClientSend(request('Host.ping2', {}, 'other'), 'other-reply'));
      expect(await other.frameBody()).to.equal('{"jsonrpc": "2.0", "id": "other", "result": true}');
    });

    it('forwards a SEND to subscribers of its destination and its dot-prefixes, and still serves a request', async () => {
      const listener = await session('unused', 'unused-sub');
      listener.write(rawFrame('SUBSCRIBE', [['destination', 'jms.topic'], ['id', 'spy']]));
      const sender = await session();
      // Make sure the spy subscription landed before the SEND (no receipts for SUBSCRIBE):
      // the spy sees its own request forwarded, then gets the answer.
      listener.write(vdsmClientSend(request('Host.ping2', {}, 'sync'), 'unused'));
      expect(await listener.frame()).to.match(/^MESSAGE\nsubscription:spy\ndestination:jms.topic.vdsm_requests\n/);
      expect(await listener.frameBody()).to.equal('{"jsonrpc": "2.0", "id": "sync", "result": true}');

      const send = vdsmClientSend(request('Host.ping2', {}));
      sender.write(send);
      const headers = send.slice('SEND\n'.length);
      expect(await listener.frame()).to.equal(`MESSAGE\nsubscription:spy\n${headers}`);
      expect(await sender.frameBody()).to.equal(`{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "result": true}`);
    });

    it('routes and echoes an id beyond 2^53 exactly, and answers JSON nested 100,000 deep with a short -32700', async () => {
      const connection = await session();
      const big = '18446744073709551617';
      connection.write(vdsmClientSend(`{"jsonrpc": "2.0", "method": "Host.ping2", "params": {}, "id": ${big}}`));
      expect(await connection.frame()).to.equal(responseMessage(REPLY_TO, 'sub-reply', `{"jsonrpc": "2.0", "id": ${big}, "result": true}`));
      connection.write(rawFrame('SUBSCRIBE', [['destination', Destination.Responses], ['id', 'sub-responses']]));
      connection.write(vdsmClientSend('['.repeat(100_000) + ']'.repeat(100_000)));
      const parseError = '{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Invalid JSON was received by the server. An error occurred on the server while parsing the JSON text."}}';
      expect(await connection.frame()).to.equal(responseMessage(Destination.Responses, 'sub-responses', parseError));
    });

    it('serves frames sent before CONNECT, as VDSM keeps no connected state', async () => {
      const connection = await raw();
      connection.write(rawFrame('SUBSCRIBE', [['destination', REPLY_TO], ['id', 'early']]) + vdsmClientSend(request('Host.ping2', {})));
      expect(await connection.frame()).to.equal(responseMessage(REPLY_TO, 'early', `{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "result": true}`));
    });


    it('closes on DISCONNECT without receipt, sending nothing', async () => {
      const connection = await session();
      connection.write(rawFrame('DISCONNECT'));
      await connection.waitClosed();
      expect(connection.received).to.equal('CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0');
    });

    for (const command of ['ACK', 'NACK', 'BEGIN', 'STOMP', 'COMMIT']) {
      it(`closes the connection on ${command}, which VDSM does not handle`, async () => {
        const connection = await session();
        connection.write(rawFrame(command, [['id', '1'], ['transaction', 't'], ['accept-version', '1.2']]));
        await connection.waitClosed();
        expect(connection.received).to.equal('CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0');
      });
    }

    it('publishes events to jms.queue.events subscribers', async () => {
      const connection = await session();
      connection.write(rawFrame('SUBSCRIBE', [['destination', Destination.Events], ['id', 'events']]));
      connection.write(vdsmClientSend(request('Host.ping2', {}, 'sync')));
      await connection.frame();
      vdsm.broker.publishEvent('{"jsonrpc": "2.0", "method": "|net|host_conn|no_id", "params": {"notify_time": 1}}');
      expect(await connection.frame()).to.equal(
        responseMessage(Destination.Events, 'events', '{"jsonrpc": "2.0", "method": "|net|host_conn|no_id", "params": {"notify_time": 1}}'),
      );
    });
  });

  describe('bad input', () => {
    beforeEach(() => start());

    for (const [name, bytes, reason] of [
      ['a raw colon in a header value', 'SEND\ndestination:jms:topic\n\nx\0', /colon|:/],
      ['an unknown command', 'HELLO\n\n\0', /command/i],
      ['an undefined escape', 'SEND\ndestination:a\\tb\n\nx\0', /escape/i],
      ['a header line over the limit', `SEND\ndestination:${'d'.repeat(20_000)}\n\n\0`, /longer|long/i],
      ['a body longer than its content-length', 'SEND\ndestination:d\ncontent-length:1\n\nxyz\0', /NUL/],
    ] as const) {
      it(`closes only the connection that sent ${name}, with an ERROR first`, async () => {
        const bad = await session();
        const good = await session('good-reply', 'good-sub');
        bad.write(bytes);
        const error = await bad.frame();
        expect(error).to.match(/^ERROR\ncontent-length:\d+\n\n/);
        expect(error).to.match(reason);
        await bad.waitClosed();
        good.write(vdsmClientSend(request('Host.ping2', {}, 'alive'), 'good-reply'));
        expect(await good.frameBody()).to.equal('{"jsonrpc": "2.0", "id": "alive", "result": true}');
      });
    }

    it('survives random garbage on many connections at once', async () => {
      const victims = await Promise.all(Array.from({ length: 20 }, () => raw()));
      victims.forEach((victim, index) => {
        const garbage = Buffer.alloc(200 + index * 37);
        for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + index * 104729) % 256;
        victim.write(Buffer.concat([Buffer.from('CONNECT\naccept-version:1.2\n\n\0'), garbage]));
      });
      await Promise.all(victims.map((victim) => victim.waitClosed()));
      const survivor = await session();
      survivor.write(vdsmClientSend(request('Host.ping2', {})));
      expect(await survivor.frameBody()).to.contain('"result": true');
    });

    it('closes a SEND without destination with an ERROR saying so', async () => {
      const connection = await session();
      connection.write(rawFrame('SEND', [['reply-to', REPLY_TO]], '{}'));
      expect(await connection.frameBody()).to.equal('Missing destination header');
      await connection.waitClosed();
    });
  });

  describe('DISCONNECT', () => {
    let clock: ManualClock;
    const LINGER_MS = 3000;

    beforeEach(async () => {
      clock = new ManualClock();
      await start({ clock, connectionLimits: { disconnectLingerMs: LINGER_MS } });
    });

    /** Proves the connection is open and has read everything before: a ping2 is answered. */
    async function ping(connection: RawConnection): Promise<void> {
      connection.write(vdsmClientSend(request('Host.ping2', {})));
      expect(await connection.frame()).to.equal(responseMessage(REPLY_TO, 'sub-reply', `{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "result": true}`));
    }

    for (const [name, headers, answer] of [
      ['with a receipt it answers RECEIPT', [['receipt', 'bye-1']], 'RECEIPT\nreceipt-id:bye-1\n\n\0'],
      ['with an empty receipt it sends nothing', [['receipt', '']], undefined],
    ] as const) {
      it(`${name} and leaves the closing to the client, as VDSM, for disconnectLingerMs at most`, async () => {
        const connection = await session();
        connection.write(rawFrame('DISCONNECT', headers));
        if (answer !== undefined) expect(await connection.frame()).to.equal(answer);
        await ping(connection);
        clock.advance(LINGER_MS - 1);
        await ping(connection);
        clock.advance(1);
        await connection.waitClosed();
      });
    }

    it('closes at once on DISCONNECT without receipt, sending nothing', async () => {
      const connection = await session();
      connection.write(rawFrame('DISCONNECT'));
      await connection.waitClosed();
      expect(connection.received).to.equal('CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0');
    });
  });

  describe('heart-beats (manual clock)', () => {
    let clock: ManualClock;
    beforeEach(async () => {
      clock = new ManualClock();
      await start({ clock });
    });

    it('sends a beat every cy ms when idle, none while frames flow', async () => {
      const connection = await raw();
      connection.write('CONNECT\naccept-version:1.2\nheart-beat:0,2000\n\n\0');
      expect(await connection.frame()).to.equal('CONNECTED\nversion:1.2\nheart-beat:2000,0\n\n\0');
      clock.advance(1999);
      expect(await connection.quietFor(50)).to.equal('');
      clock.advance(1);
      expect(await connection.take(1)).to.equal('\n');
      clock.advance(2000);
      expect(await connection.take(1)).to.equal('\n');
      // A frame written resets the idle time: the next beat is 2000 ms after it.
      connection.write(rawFrame('SUBSCRIBE', [['destination', REPLY_TO], ['id', 's']]) + vdsmClientSend(request('Host.ping2', {})));
      await connection.frame();
      clock.advance(1000);
      expect(await connection.quietFor(50)).to.equal('');
      clock.advance(1000);
      expect(await connection.take(1)).to.equal('\n');
      expect(connection.closed).to.equal(false);
    });

    it('drops a client that promised beats and went silent, after 1.5 x its interval', async () => {
      const connection = await raw();
      connection.write('CONNECT\naccept-version:1.2\nheart-beat:1000,0\n\n\0');
      expect(await connection.frame()).to.equal('CONNECTED\nversion:1.2\nheart-beat:0,1000\n\n\0');
      clock.advance(1000);
      connection.write('\n');
      await connection.quietFor(50);
      clock.advance(1499);
      expect(await connection.quietFor(50)).to.equal('');
      expect(connection.closed).to.equal(false);
      clock.advance(1);
      await connection.waitClosed();
    });

    it('keeps a client that does beat', async () => {
      const connection = await raw();
      connection.write('CONNECT\naccept-version:1.2\nheart-beat:1000,0\n\n\0');
      await connection.frame();
      for (let i = 0; i < 5; i++) {
        clock.advance(1000);
        connection.write('\n');
        // Real time for the beat to reach the server before the clock moves on.
        await connection.quietFor(50);
      }
      expect(connection.closed).to.equal(false);
    });
  });

  describe('startup', () => {
    it('answers 99 while starting (startupDelayMs on the clock), then serves', async () => {
      const clock = new ManualClock();
      await start({ clock, startupDelayMs: 5000 });
      const connection = await session();
      connection.write(vdsmClientSend(request('Host.ping2', {})));
      expect(await connection.frameBody()).to.equal(
        `{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "error": {"code": 99, "message": "Recovering from crash or Initializing"}}`,
      );
      clock.advance(5000);
      connection.write(vdsmClientSend(request('Host.ping2', {})));
      expect(await connection.frameBody()).to.equal(`{"jsonrpc": "2.0", "id": "${REQUEST_ID}", "result": true}`);
    });
  });
});
