import { expect } from 'chai';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { ManualClock } from '../clock.js';
import { FrameTooLargeError, StompProtocolError } from '../errors.js';
import { encodeFrame } from '../stomp/encoder.js';
import type { FrameInit, StompFrame } from '../stomp/frame.js';
import type { FrameChannel } from './channel.js';
import { createDuplexPair } from './duplex-pair.js';
import { connectChannel } from './connect.js';
import { CORK_FLUSH_BYTES, StreamChannel } from './stream-channel.js';
import type { StreamChannelOptions } from './stream-channel.js';

const SEND: FrameInit = {
  command: 'SEND',
  headers: [
    ['destination', 'jms.topic.vdsm_requests'],
    ['reply-to', 'a:b'],
  ],
  body: '{"jsonrpc":"2.0","method":"Host.ping2","params":{},"id":"1"}',
};
const SEND_BYTES = encodeFrame(SEND);

/** A StreamChannel on one end of an in-memory pair; the test drives the raw other end. */
function rawPair(options?: StreamChannelOptions): { channel: StreamChannel; peer: Duplex; received: () => Buffer } {
  const [near, peer] = createDuplexPair();
  const channel = new StreamChannel(near, { transport: 'memory' }, options);
  const chunks: Buffer[] = [];
  peer.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { channel, peer, received: () => Buffer.concat(chunks) };
}

function nextFrames(channel: FrameChannel, count: number): Promise<StompFrame[]> {
  const frames: StompFrame[] = [];
  return new Promise((resolve) => {
    channel.onFrame((frame) => {
      frames.push(frame);
      if (frames.length === count) resolve(frames);
    });
  });
}

function closeReason(channel: FrameChannel): Promise<Error | undefined> {
  return new Promise((resolve) => channel.onClose(resolve));
}

/** Writes each chunk on its own event-loop turn, so each arrives as its own 'data'. */
async function writeChunks(stream: Duplex, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    stream.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('StreamChannel', () => {
  describe('inbound bytes', () => {
    it('parses a frame written one byte at a time and reports every chunk to onData', async () => {
      const { channel, peer } = rawPair();
      let dataEvents = 0;
      channel.onData(() => dataEvents++);
      const frames = nextFrames(channel, 1);
      await writeChunks(peer, [...SEND_BYTES].map((byte) => Uint8Array.of(byte)));
      const [frame] = await frames;
      expect(frame?.command).to.equal('SEND');
      expect([...(frame?.headers ?? [])]).to.deep.equal([
        ['destination', 'jms.topic.vdsm_requests'],
        ['reply-to', 'a:b'],
        ['content-length', String(Buffer.byteLength(SEND.body as string))],
      ]);
      expect(frame?.body.toString()).to.equal(SEND.body);
      expect(dataEvents).to.equal(SEND_BYTES.length);
      channel.destroy();
    });

    it('parses several frames from one write, in order', async () => {
      const { channel, peer } = rawPair();
      const frames = nextFrames(channel, 3);
      const bodies = ['one', 'two', 'three'];
      peer.write(Buffer.concat(bodies.map((body) => encodeFrame({ command: 'MESSAGE', headers: { destination: 'd' }, body }))));
      expect((await frames).map((frame) => frame.body.toString())).to.deep.equal(bodies);
      channel.destroy();
    });

    it('reports heart-beats to onData but not onFrame', async () => {
      const { channel, peer } = rawPair();
      const seen: string[] = [];
      channel.onData(() => seen.push('data'));
      channel.onFrame((frame) => seen.push(frame.command));
      const receipt = nextFrames(channel, 1);
      await writeChunks(peer, [Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from('\n')]);
      peer.write(encodeFrame({ command: 'RECEIPT', headers: { 'receipt-id': 'r' } }));
      await receipt;
      expect(seen).to.deep.equal(['data', 'data', 'data', 'data', 'RECEIPT']);
      channel.destroy();
    });

    it('parses the head bytes before the stream data, even a frame split between them', async () => {
      const half = SEND_BYTES.length >> 1;
      const [near, peer] = createDuplexPair();
      const head = Buffer.concat([encodeFrame({ command: 'CONNECT', headers: { 'accept-version': '1.2' } }), SEND_BYTES.subarray(0, half)]);
      const channel = new StreamChannel(near, { transport: 'memory' }, { head });
      const frames = nextFrames(channel, 2);
      peer.write(SEND_BYTES.subarray(half));
      const [connect, send] = await frames;
      expect(connect?.command).to.equal('CONNECT');
      expect(send?.body.toString()).to.equal(SEND.body);
      channel.destroy();
    });

    it('passes limits to the parser', async () => {
      const { channel, peer } = rawPair({ limits: { maxFrameSize: 64 } });
      const reason = closeReason(channel);
      peer.write(encodeFrame({ command: 'SEND', headers: { destination: 'd' }, body: 'x'.repeat(100) }));
      expect(await reason).to.be.instanceOf(FrameTooLargeError);
    });

    it('passes rawColonInValue to the parser', async () => {
      const accepting = rawPair();
      const frames = nextFrames(accepting.channel, 1);
      accepting.peer.write('SEND\ndestination:a:b\n\n\0');
      expect((await frames)[0]?.headers.get('destination')).to.equal('a:b');
      accepting.channel.destroy();

      const rejecting = rawPair({ rawColonInValue: 'reject' });
      const reason = closeReason(rejecting.channel);
      rejecting.peer.write('SEND\ndestination:a:b\n\n\0');
      expect(await reason).to.be.instanceOf(StompProtocolError);
    });
  });

  describe('protocol errors', () => {
    it('lets a listener send an ERROR frame that reaches the peer, then closes with the error', async () => {
      const { channel, peer, received } = rawPair();
      const errors: Error[] = [];
      const frames: string[] = [];
      channel.onFrame((frame) => frames.push(frame.command));
      channel.onProtocolError((error) => {
        errors.push(error);
        channel.send({ command: 'ERROR', headers: { message: 'bad frame' }, body: error.message });
      });
      const reason = closeReason(channel);
      // A good frame, then garbage, then a frame that must never be seen.
      peer.write(Buffer.concat([SEND_BYTES, Buffer.from('BOGUS\n\n\0'), SEND_BYTES]));
      const peerEnded = once(peer, 'end');

      const error = await reason;
      expect(error).to.be.instanceOf(StompProtocolError);
      expect(errors).to.deep.equal([error]);
      expect(frames).to.deep.equal(['SEND']);
      expect(channel.closed).to.equal(true);
      await peerEnded;
      const expected = encodeFrame({ command: 'ERROR', headers: { message: 'bad frame' }, body: (error as Error).message });
      expect(received().equals(expected)).to.equal(true);
    });

    it('ignores bytes that arrive after the error', async () => {
      const { channel, peer } = rawPair();
      let protocolErrors = 0;
      channel.onProtocolError(() => protocolErrors++);
      const reason = closeReason(channel);
      await writeChunks(peer, [Buffer.from('NOPE\n'), Buffer.from('MORE\n'), SEND_BYTES]);
      await reason;
      expect(protocolErrors).to.equal(1);
    });
  });

  describe('outbound', () => {
    it('writes each frame as its encoding and a heart-beat as one EOL', async () => {
      const { channel, peer, received } = rawPair();
      channel.send(SEND);
      channel.sendHeartbeat();
      channel.send({ command: 'DISCONNECT', headers: { receipt: 'r' } });
      channel.close();
      await once(peer, 'end');
      const expected = Buffer.concat([SEND_BYTES, Buffer.from('\n'), encodeFrame({ command: 'DISCONNECT', headers: { receipt: 'r' } })]);
      expect(received().equals(expected)).to.equal(true);
    });

    it('sends a burst of one tick in few transport writes, the first ones before the tick ends', async () => {
      // What the transport is handed, write by write (a socket's writev hands all buffered chunks at once).
      const writes: number[] = [];
      const stream = new Duplex({
        read() {},
        writev(chunks, callback) {
          writes.push(chunks.reduce((sum, { chunk }) => sum + (chunk as Buffer).length, 0));
          callback();
        },
      });
      const channel = new StreamChannel(stream, { transport: 'memory' });
      const frames = Math.ceil((3.5 * CORK_FLUSH_BYTES) / SEND_BYTES.length);
      for (let i = 0; i < frames; i++) channel.send(SEND);
      const handedInTick = writes.reduce((sum, bytes) => sum + bytes, 0);
      // The peer can start on three pieces already; the rest leaves with the tick's end.
      expect(handedInTick).to.be.at.least(3 * CORK_FLUSH_BYTES);
      await new Promise((resolve) => process.nextTick(resolve));
      expect(writes.reduce((sum, bytes) => sum + bytes, 0)).to.equal(frames * SEND_BYTES.length);
      expect(writes.length).to.equal(4);
      for (const bytes of writes.slice(0, -1)) expect(bytes).to.be.within(CORK_FLUSH_BYTES, CORK_FLUSH_BYTES + SEND_BYTES.length);
      channel.destroy();
    });

    it('drops sends after close, silently', async () => {
      const { channel, peer, received } = rawPair();
      channel.close();
      expect(channel.closed).to.equal(true);
      channel.send(SEND);
      channel.sendHeartbeat();
      await once(peer, 'end');
      expect(received().length).to.equal(0);
    });

    it('still throws for a frame that cannot be encoded', () => {
      const { channel } = rawPair();
      expect(() => channel.send({ command: 'BOGUS' as 'SEND' })).to.throw(TypeError);
      channel.destroy();
    });
  });

  describe('closing', () => {
    it('closes cleanly, once, when the peer ends its side', async () => {
      const { channel, peer } = rawPair();
      const reasons: (Error | undefined)[] = [];
      channel.onClose((error) => reasons.push(error));
      const closed = closeReason(channel);
      const peerClosed = once(peer, 'close');
      peer.end();
      expect(await closed).to.equal(undefined);
      expect(channel.closed).to.equal(true);
      channel.close(new Error('late'));
      channel.destroy(new Error('later'));
      // Both sides are torn down by now: no close is still to come.
      await peerClosed;
      expect(reasons).to.deep.equal([undefined]);
    });

    it('passes the close() reason to close listeners, and the peer sees EOF', async () => {
      const { channel, peer } = rawPair();
      const reason = new Error('shutting down');
      const closed = closeReason(channel);
      const peerEnded = once(peer, 'end');
      channel.close(reason);
      await peerEnded;
      peer.end();
      expect(await closed).to.equal(reason);
    });

    it('destroys at once with destroy(), and the peer is torn down too', async () => {
      const { channel, peer } = rawPair();
      const reason = new Error('gone');
      const closed = closeReason(channel);
      channel.send(SEND);
      channel.destroy(reason);
      expect(channel.closed).to.equal(true);
      expect(await closed).to.equal(reason);
      await once(peer, 'close');
    });

    it('closes with the stream error', async () => {
      const [near] = createDuplexPair();
      const channel = new StreamChannel(near, { transport: 'memory' });
      const closed = closeReason(channel);
      const error = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      near.destroy(error);
      expect(await closed).to.equal(error);
    });

    it('runs close listeners at once, but destroys a stream whose peer never finishes only after closeTimeoutMs', async () => {
      const clock = new ManualClock();
      const { channel, peer } = rawPair({ clock, closeTimeoutMs: 1000 });
      const closed = closeReason(channel);
      let peerClosed = false;
      peer.on('close', () => (peerClosed = true));
      channel.close();
      expect(await closed).to.equal(undefined);
      await once(peer, 'end'); // our FIN arrived; the peer keeps its side open
      clock.advance(999);
      // The destroy is still a timer waiting on the clock.
      expect(clock.pending).to.equal(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(peerClosed).to.equal(false);
      clock.advance(1);
      await once(peer, 'close');
      expect(clock.pending).to.equal(0);
    });

    it('clears the close timer when the peer finishes', async () => {
      const clock = new ManualClock();
      const { channel, peer } = rawPair({ clock, closeTimeoutMs: 1000 });
      channel.close();
      await once(peer, 'end');
      expect(clock.pending).to.equal(1);
      peer.end();
      await once(peer, 'close');
      await new Promise((resolve) => setImmediate(resolve));
      expect(clock.pending).to.equal(0);
    });

    it('tells a close listener added after the close', async () => {
      const { channel } = rawPair();
      const error = new Error('x');
      await new Promise<void>((resolve) => {
        channel.onClose(() => resolve());
        channel.destroy(error);
      });
      expect(await closeReason(channel)).to.equal(error);
    });

    it('destroys the channel with the exception a frame listener throws', async () => {
      const { channel, peer } = rawPair();
      const bug = new Error('listener bug');
      const seen: string[] = [];
      channel.onFrame(() => {
        throw bug;
      });
      channel.onFrame((frame) => seen.push(frame.command));
      const closed = closeReason(channel);
      peer.write(Buffer.concat([SEND_BYTES, SEND_BYTES]));
      expect(await closed).to.equal(bug);
      expect(seen).to.deep.equal([]);
    });
  });

  describe('over real TCP', () => {
    let server: Server;
    let serverChannels: StreamChannel[];

    beforeEach(async () => {
      serverChannels = [];
      server = createServer((socket: Socket) => {
        const channel = new StreamChannel(socket, { transport: 'tcp', remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
        serverChannels.push(channel);
        // An echo server: every SEND comes back as a MESSAGE with the same body.
        channel.onFrame((frame) => channel.send({ command: 'MESSAGE', headers: { destination: 'echo' }, body: frame.body }));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });

    afterEach(async () => {
      for (const channel of serverChannels) channel.destroy();
      server.close();
      await once(server, 'close');
    });

    it('turns off Nagle on a net.Socket', async () => {
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      const calls: unknown[] = [];
      const original = socket.setNoDelay.bind(socket);
      socket.setNoDelay = (noDelay?: boolean) => {
        calls.push(noDelay);
        return original(noDelay);
      };
      const channel = new StreamChannel(socket, { transport: 'tcp' });
      expect(calls).to.deep.equal([true]);
      const closed = closeReason(channel);
      channel.destroy();
      await closed;
    });

    it('exchanges pipelined frames both ways and closes both ends cleanly', async () => {
      const { port } = server.address() as AddressInfo;
      const client = await connectChannel({ transport: 'tcp', host: '127.0.0.1', port });
      const count = 2000;
      const frames = nextFrames(client, count);
      for (let i = 0; i < count; i++) client.send({ ...SEND, body: `call ${i}` });
      const echoed = await frames;
      expect(echoed.map((frame) => frame.body.toString())).to.deep.equal(Array.from({ length: count }, (_, i) => `call ${i}`));

      const closed = closeReason(client);
      const serverClosed = closeReason(serverChannels[0] as StreamChannel);
      client.close();
      expect(await closed).to.equal(undefined);
      expect(await serverClosed).to.equal(undefined);
    });
  });
});
