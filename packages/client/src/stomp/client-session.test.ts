import { expect } from 'chai';
import { ManualClock } from '../clock.js';
import { ConnectTimeoutError, ConnectionClosedError, HeartbeatTimeoutError, StompErrorFrameError, StompProtocolError } from '../errors.js';
import { scriptedPair, vdsmConnected } from '../test-support/scripted-peer.js';
import type { ScriptedPeer } from '../test-support/scripted-peer.js';
import { StompClientSession } from './client-session.js';
import type { StompClientSessionOptions } from './client-session.js';
import type { StompFrame } from './frame.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Lets the in-memory pair deliver (it hands bytes over on setImmediate). */
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Opens a session against a peer that answers VDSM's CONNECTED. */
async function connected(options: StompClientSessionOptions = {}, serverHeartbeat = '24000,0'): Promise<{ session: StompClientSession; peer: ScriptedPeer }> {
  const { channel, peer } = scriptedPair();
  const opening = StompClientSession.open(channel, options);
  await peer.accept(serverHeartbeat);
  return { session: await opening, peer };
}

describe('StompClientSession', () => {
  describe('open', () => {
    it("sends vdsm's client CONNECT bytes and negotiates beats from VDSM's CONNECTED", async () => {
      const { channel, peer } = scriptedPair();
      const opening = StompClientSession.open(channel);
      const connect = await peer.next();
      expect(connect.raw).to.equal('CONNECT\naccept-version:1.2\nheart-beat:0,24000\n\n\0');
      peer.write(vdsmConnected('24000,0'));
      const session = await opening;
      expect(session.heartbeat).to.deep.equal({ sendEveryMs: 0, expectEveryMs: 24000 });
      expect([...session.connectedHeaders]).to.deep.equal([
        ['version', '1.2'],
        ['heart-beat', '24000,0'],
      ]);
      expect(session.closed).to.equal(false);
      await session.disconnect({ receiptTimeoutMs: 10 });
    });

    it('offers the given heart-beat and takes the larger interval per direction', async () => {
      const { channel, peer } = scriptedPair();
      const opening = StompClientSession.open(channel, { heartbeat: [5000, 500] });
      expect((await peer.next()).raw).to.equal('CONNECT\naccept-version:1.2\nheart-beat:5000,500\n\n\0');
      // VDSM clamps 500 up to 1000 and answers <cy>,<cx>.
      peer.write(vdsmConnected('1000,5000'));
      const session = await opening;
      expect(session.heartbeat).to.deep.equal({ sendEveryMs: 5000, expectEveryMs: 1000 });
      session.close();
    });

    it('is open as soon as CONNECTED is parsed, even with more frames in the same chunk', async () => {
      const { channel, peer } = scriptedPair();
      const opening = StompClientSession.open(channel);
      await peer.next();
      peer.write(vdsmConnected() + 'ERROR\ncontent-length:26\n\nSubscription not available\0');
      const session = await opening;
      expect(session.closed).to.equal(false);
      session.close();
    });

    it('fails with the ERROR body (Version unsupported) and closes the channel', async () => {
      const { channel, peer } = scriptedPair();
      const opening = StompClientSession.open(channel);
      await peer.next();
      peer.write('ERROR\ncontent-length:19\n\nVersion unsupported\0');
      const error = await opening.then(
        () => expect.fail('open resolved'),
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(StompErrorFrameError);
      expect((error as StompErrorFrameError).message).to.equal('Version unsupported');
      expect((error as StompErrorFrameError).code).to.equal('VDSM_ERR_STOMP_ERROR_FRAME');
      await peer.closed;
      expect(channel.closed).to.equal(true);
    });

    it('fails with ConnectTimeoutError when no CONNECTED comes, leaving no timer', async () => {
      const clock = new ManualClock();
      const { channel, peer } = scriptedPair();
      const opening = StompClientSession.open(channel, { clock, connectTimeoutMs: 20_000 });
      await peer.next();
      await clock.advanceAsync(19_999);
      let settled = false;
      opening.catch(() => undefined).finally(() => (settled = true));
      await settle();
      expect(settled).to.equal(false);
      await clock.advanceAsync(1);
      const error = await opening.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ConnectTimeoutError);
      await peer.closed;
      expect(clock.pending).to.equal(0);
    });

    it('rejects with the abort reason and destroys the channel', async () => {
      const clock = new ManualClock();
      const { channel, peer } = scriptedPair();
      const controller = new AbortController();
      const opening = StompClientSession.open(channel, { clock, signal: controller.signal });
      await peer.next();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(await opening.catch((e: unknown) => e)).to.equal(reason);
      await peer.closed;
      expect(clock.pending).to.equal(0);
    });

    it('rejects at once when the signal is already aborted', async () => {
      const { channel, peer } = scriptedPair();
      const reason = new Error('too late');
      const error = await StompClientSession.open(channel, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
      expect(error).to.equal(reason);
      await peer.closed;
      expect(peer.received).to.deep.equal([]);
    });

    it('fails with ConnectionClosedError when the server hangs up before CONNECTED', async () => {
      const { channel, peer } = scriptedPair();
      const opening = StompClientSession.open(channel);
      await peer.next();
      peer.end();
      expect(await opening.catch((e: unknown) => e)).to.be.instanceOf(ConnectionClosedError);
    });

    it('refuses a frame other than CONNECTED or ERROR first, and a STOMP version other than 1.2', async () => {
      for (const answer of ['RECEIPT\nreceipt-id:x\n\n\0', 'CONNECTED\nversion:1.1\n\n\0']) {
        const { channel, peer } = scriptedPair();
        const opening = StompClientSession.open(channel);
        await peer.next();
        peer.write(answer);
        expect(await opening.catch((e: unknown) => e), answer).to.be.instanceOf(StompProtocolError);
        await peer.closed;
      }
    });
  });

  describe('subscribe and MESSAGE routing', () => {
    it("subscribes with vdsm's client bytes and a UUID id", async () => {
      const { session, peer } = await connected();
      const subscription = session.subscribe('jms.topic.vdsm_requests', () => undefined);
      expect(subscription.id).to.match(UUID);
      expect(subscription.destination).to.equal('jms.topic.vdsm_requests');
      expect((await peer.next()).raw).to.equal(`SUBSCRIBE\ndestination:jms.topic.vdsm_requests\nack:auto\nid:${subscription.id}\n\n\0`);
      session.close();
    });

    it('routes MESSAGE frames by their subscription header', async () => {
      const { session, peer } = await connected();
      const got: [string, string][] = [];
      const replies = session.subscribe('reply-queue', (frame) => got.push(['replies', frame.body.toString()]));
      const events = session.subscribe('jms.queue.events', (frame) => got.push(['events', frame.body.toString()]));
      await peer.next();
      await peer.next();
      expect(replies.id).not.to.equal(events.id);
      peer.message('jms.queue.events', '{"e":1}');
      peer.message('reply-queue', '{"r":1}');
      // A subscription id nobody holds is ignored.
      peer.message('reply-queue', '{"stray":1}', 'no-such-subscription');
      peer.message('reply-queue', '{"r":2}');
      await settle();
      expect(got).to.deep.equal([
        ['events', '{"e":1}'],
        ['replies', '{"r":1}'],
        ['replies', '{"r":2}'],
      ]);
      session.close();
    });

    it('gives the handler the whole frame as VDSM sent it', async () => {
      const { session, peer } = await connected();
      const frames: StompFrame[] = [];
      const subscription = session.subscribe('q', (frame) => frames.push(frame));
      await peer.next();
      peer.message('q', '{"jsonrpc":"2.0","id":"1","result":true}');
      await settle();
      expect(frames).to.have.length(1);
      expect([...frames[0]!.headers]).to.deep.equal([
        ['destination', 'q'],
        ['content-type', 'application/json'],
        ['subscription', subscription.id],
        ['content-length', '40'],
      ]);
      session.close();
    });

    it('unsubscribes: UNSUBSCRIBE id, and no more routing', async () => {
      const { session, peer } = await connected();
      const got: string[] = [];
      const subscription = session.subscribe('q', (frame) => got.push(frame.body.toString()));
      await peer.next();
      subscription.unsubscribe();
      subscription.unsubscribe();
      expect((await peer.next()).raw).to.equal(`UNSUBSCRIBE\nid:${subscription.id}\n\n\0`);
      peer.message('q', '{}', subscription.id);
      await settle();
      expect(got).to.deep.equal([]);
      expect(peer.queued).to.equal(0);
      session.close();
    });

    it('reports a throwing handler to onError and keeps the session', async () => {
      const { session, peer } = await connected();
      const errors: Error[] = [];
      session.onError((error) => errors.push(error));
      const bug = new Error('handler bug');
      let calls = 0;
      session.subscribe('q', () => {
        calls++;
        throw bug;
      });
      await peer.next();
      peer.message('q', '{}');
      peer.message('q', '{}');
      await settle();
      expect(calls).to.equal(2);
      expect(errors).to.deep.equal([bug, bug]);
      expect(session.closed).to.equal(false);
      session.close();
    });
  });

  describe('send', () => {
    it('writes destination, the given headers in order, then content-length', async () => {
      const { session, peer } = await connected();
      const body = '{"jsonrpc":"2.0","method":"Host.ping2","params":{},"id":"1"}';
      session.send('jms.topic.vdsm_requests', body, [
        ['content-type', 'application/json'],
        ['reply-to', 'r-1'],
        ['ovirtCorrelationId', 'flow:1'],
      ]);
      expect((await peer.next()).raw).to.equal(
        'SEND\ndestination:jms.topic.vdsm_requests\ncontent-type:application/json\nreply-to:r-1\n' +
          `ovirtCorrelationId:flow\\c1\ncontent-length:${body.length}\n\n${body}\0`,
      );
      session.close();
    });

    it('throws ConnectionClosedError once closed', async () => {
      const { session, peer } = await connected();
      peer.end();
      await session.whenClosed();
      expect(() => session.send('q', '{}')).to.throw(ConnectionClosedError);
      expect(() => session.subscribe('q', () => undefined)).to.throw(ConnectionClosedError);
    });
  });

  describe('ERROR after connect', () => {
    it('goes to onError and the session stays open, as VDSM keeps the connection', async () => {
      const { session, peer } = await connected();
      const errors: Error[] = [];
      session.onError((error) => errors.push(error));
      peer.write('ERROR\ncontent-length:26\n\nSubscription not available\0');
      await settle();
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(StompErrorFrameError);
      expect(errors[0]!.message).to.equal('Subscription not available');
      expect(session.closed).to.equal(false);
      session.send('q', '{}');
      expect((await peer.next()).command).to.equal('SEND');
      session.close();
    });
  });

  describe('heart-beats', () => {
    it('declares the server dead after 1.5 x its beat without bytes, and destroys the channel', async () => {
      const clock = new ManualClock();
      const { session, peer } = await connected({ clock });
      const closes: (Error | undefined)[] = [];
      session.onClose((error) => closes.push(error));
      // Beats (or any bytes) keep it alive well past 36 s.
      for (let i = 0; i < 4; i++) {
        await clock.advanceAsync(30_000);
        peer.write('\n');
        await settle();
      }
      expect(session.closed).to.equal(false);
      await clock.advanceAsync(35_999);
      expect(session.closed).to.equal(false);
      await clock.advanceAsync(1);
      await peer.closed;
      await session.whenClosed();
      expect(closes).to.have.length(1);
      expect(closes[0]).to.be.instanceOf(HeartbeatTimeoutError);
      expect(clock.pending).to.equal(0);
    });

    it('sends a beat when it promised some and nothing else was written', async () => {
      const clock = new ManualClock();
      const { session, peer } = await connected({ clock, heartbeat: [1000, 0] }, '0,1000');
      expect(session.heartbeat).to.deep.equal({ sendEveryMs: 1000, expectEveryMs: 0 });
      await clock.advanceAsync(3000);
      await settle();
      expect(peer.heartbeats).to.equal(3);
      // Frames count as traffic: no beat while they flow.
      for (let i = 0; i < 5; i++) {
        await clock.advanceAsync(900);
        session.send('q', '{}');
      }
      await settle();
      expect(peer.heartbeats).to.equal(3);
      session.close();
      await session.whenClosed();
      expect(clock.pending).to.equal(0);
    });

    it('runs no heart-beat timer when both sides said 0', async () => {
      const clock = new ManualClock();
      const { session } = await connected({ clock, heartbeat: [0, 0] }, '0,0');
      expect(session.heartbeat).to.deep.equal({ sendEveryMs: 0, expectEveryMs: 0 });
      expect(clock.pending).to.equal(0);
      session.close();
    });
  });

  describe('disconnect and close', () => {
    it('sends DISCONNECT with a receipt, waits for the RECEIPT, then closes', async () => {
      const clock = new ManualClock();
      const { session, peer } = await connected({ clock });
      const closes: (Error | undefined)[] = [];
      session.onClose((error) => closes.push(error));
      let done = false;
      const disconnecting = session.disconnect().then(() => (done = true));
      expect(session.closed).to.equal(true);
      const frame = await peer.next();
      expect(frame.command).to.equal('DISCONNECT');
      const receipt = frame.header('receipt')!;
      expect(receipt).to.match(UUID);
      expect(frame.raw).to.equal(`DISCONNECT\nreceipt:${receipt}\n\n\0`);
      await settle();
      expect(done).to.equal(false);
      peer.write(`RECEIPT\nreceipt-id:${receipt}\n\n\0`);
      await disconnecting;
      await peer.closed;
      expect(closes).to.deep.equal([undefined]);
      expect(clock.pending).to.equal(0);
      // Again is a no-op.
      await session.disconnect();
    });

    it('closes anyway when no RECEIPT comes in receiptTimeoutMs', async () => {
      const clock = new ManualClock();
      const { session, peer } = await connected({ clock });
      const disconnecting = session.disconnect({ receiptTimeoutMs: 3000 });
      await peer.next();
      // A receipt for something else does not count.
      peer.write('RECEIPT\nreceipt-id:other\n\n\0');
      await settle();
      await clock.advanceAsync(3000);
      await disconnecting;
      await peer.closed;
      expect(clock.pending).to.equal(0);
    });

    it('resolves disconnect when the server drops the connection instead of answering', async () => {
      const clock = new ManualClock();
      const { session, peer } = await connected({ clock });
      const disconnecting = session.disconnect();
      await peer.next();
      peer.destroy();
      await disconnecting;
      expect(clock.pending).to.equal(0);
    });

    it('reports a server hang-up as ConnectionClosedError, also to late listeners', async () => {
      const { session, peer } = await connected();
      peer.end();
      await session.whenClosed();
      const error = await new Promise<Error | undefined>((resolve) => session.onClose(resolve));
      expect(error).to.be.instanceOf(ConnectionClosedError);
      expect(session.closed).to.equal(true);
    });

    it('close(error) ends at once and hands the error to close listeners', async () => {
      const { session, peer } = await connected();
      const closes: (Error | undefined)[] = [];
      session.onClose((error) => closes.push(error));
      const reason = new Error('shutting down');
      session.close(reason);
      await session.whenClosed();
      await peer.closed;
      expect(closes).to.deep.equal([reason]);
      expect(peer.queued).to.equal(0);
    });
  });
});
