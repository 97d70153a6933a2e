import { expect } from 'chai';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { ConnectionClosedError, FrameTooLargeError, StompProtocolError } from '../errors.js';
import { encodeFrame } from '../stomp/encoder.js';
import type { FrameInit, StompFrame } from '../stomp/frame.js';
import type { FrameChannel } from './channel.js';
import { connectChannel } from './connect.js';
import { WebSocketChannel } from './ws-channel.js';

interface RawMessage {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** The server's view of one connection: the ws, its channel, and every raw message in order. */
interface ServerSide {
  readonly ws: WebSocket;
  readonly channel: WebSocketChannel;
  readonly messages: RawMessage[];
  readonly closeCode: Promise<number>;
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

const SEND: FrameInit = { command: 'SEND', headers: { destination: 'jms.topic.vdsm_requests', 'reply-to': 'r' }, body: '[{"id":"1"}]' };

describe('WebSocketChannel', () => {
  let wss: WebSocketServer;
  let url: string;
  let port: number;
  let connections: ServerSide[];
  let waiting: ((side: ServerSide) => void)[];

  /** Resolves with the server side of the next connection. */
  const nextConnection = (): Promise<ServerSide> => new Promise((resolve) => waiting.push(resolve));

  beforeEach(async () => {
    connections = [];
    waiting = [];
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws, request) => {
      const messages: RawMessage[] = [];
      // Registered before the channel's own listener, so it sees the raw messages.
      ws.on('message', (data, isBinary) => messages.push({ data: data as Buffer, isBinary }));
      const closeCode = once(ws, 'close').then(([code]) => code as number);
      const channel = new WebSocketChannel(ws, { transport: 'ws', remoteAddress: request.socket.remoteAddress, remotePort: request.socket.remotePort });
      const side = { ws, channel, messages, closeCode };
      connections.push(side);
      waiting.shift()?.(side);
    });
    await once(wss, 'listening');
    port = (wss.address() as AddressInfo).port;
    url = `ws://127.0.0.1:${port}/`;
  });

  afterEach(async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    await once(wss, 'close');
  });

  it('sends one frame per message: text for a string or no body, binary for a byte body, a heart-beat as "\\n"', async () => {
    const serverSide = nextConnection();
    const client = await connectChannel({ transport: 'ws', url });
    const { channel, messages, ws } = await serverSide;
    expect(ws.protocol).to.equal('v12.stomp');

    let dataEvents = 0;
    channel.onData(() => dataEvents++);
    const frames = nextFrames(channel, 3);
    const binaryFrame: FrameInit = { command: 'SEND', headers: { destination: 'd' }, body: Buffer.from([0xff, 0x00, 0xfe]) };
    const noBody: FrameInit = { command: 'SUBSCRIBE', headers: { destination: 'q', id: '1', ack: 'auto' } };
    // All in one tick: must still be three messages, not one.
    client.send(SEND);
    client.send(binaryFrame);
    client.sendHeartbeat();
    client.send(noBody);

    const received = await frames;
    expect(received.map((frame) => frame.command)).to.deep.equal(['SEND', 'SEND', 'SUBSCRIBE']);
    expect(received[1]?.body.equals(Buffer.from([0xff, 0x00, 0xfe]))).to.equal(true);
    expect(dataEvents).to.equal(4);
    expect(messages.map((message) => message.isBinary)).to.deep.equal([false, true, false, false]);
    expect(messages.map((message) => message.data.toString('hex'))).to.deep.equal(
      [encodeFrame(SEND), encodeFrame(binaryFrame), Buffer.from('\n'), encodeFrame(noBody)].map((bytes) => bytes.toString('hex')),
    );
    client.destroy();
  });

  it('fills in the remote address and port', async () => {
    const client = await connectChannel({ transport: 'ws', url });
    expect(client.info).to.deep.equal({ transport: 'ws', remoteAddress: '127.0.0.1', remotePort: port });
    client.destroy();
  });

  it('parses several frames, and a frame split across messages', async () => {
    const serverSide = nextConnection();
    const client = await connectChannel({ transport: 'ws', url });
    const { ws } = await serverSide;
    const frames = nextFrames(client, 3);
    const third = encodeFrame({ command: 'MESSAGE', headers: { destination: 'd' }, body: 'three' });
    ws.send(Buffer.concat([encodeFrame({ command: 'MESSAGE', body: 'one' }), encodeFrame({ command: 'MESSAGE', body: 'two' }), third.subarray(0, 7)]));
    ws.send(third.subarray(7), { binary: false });
    expect((await frames).map((frame) => frame.body.toString())).to.deep.equal(['one', 'two', 'three']);
    client.destroy();
  });

  it('reports heart-beats from the peer to onData only', async () => {
    const serverSide = nextConnection();
    const client = await connectChannel({ transport: 'ws', url });
    const { channel } = await serverSide;
    const seen: string[] = [];
    client.onData(() => seen.push('data'));
    client.onFrame((frame) => seen.push(frame.command));
    const receipt = nextFrames(client, 1);
    channel.sendHeartbeat();
    channel.sendHeartbeat();
    channel.send({ command: 'RECEIPT', headers: { 'receipt-id': 'x' } });
    await receipt;
    expect(seen).to.deep.equal(['data', 'data', 'data', 'RECEIPT']);
    client.destroy();
  });

  it('lets a protocol-error listener send an ERROR frame, then closes with 1002', async () => {
    const serverSide = nextConnection();
    const raw = new WebSocket(url);
    await once(raw, 'open');
    const { channel } = await serverSide;
    channel.onProtocolError((error) => channel.send({ command: 'ERROR', headers: { message: 'bad frame' }, body: error.message }));
    const serverClosed = closeReason(channel);
    const rawMessages: Buffer[] = [];
    raw.on('message', (data) => rawMessages.push(data as Buffer));
    const rawClosed = once(raw, 'close');

    raw.send('BOGUS\n\n\0');
    const reason = await serverClosed;
    expect(reason).to.be.instanceOf(StompProtocolError);
    const [code] = await rawClosed;
    expect(code).to.equal(1002);
    expect(rawMessages.map((message) => message.toString())).to.deep.equal([
      encodeFrame({ command: 'ERROR', headers: { message: 'bad frame' }, body: (reason as Error).message }).toString(),
    ]);
  });

  it('closes both ends cleanly with close(), with code 1000', async () => {
    const serverSide = nextConnection();
    const client = await connectChannel({ transport: 'ws', url });
    const { channel, closeCode } = await serverSide;
    const frames: StompFrame[] = [];
    channel.onFrame((frame) => frames.push(frame));
    const serverClosed = closeReason(channel);
    const clientClosed = closeReason(client);
    client.send(SEND);
    client.close();
    expect(client.closed).to.equal(true);
    client.send(SEND); // dropped
    expect(await clientClosed).to.equal(undefined);
    expect(await serverClosed).to.equal(undefined);
    expect(await closeCode).to.equal(1000);
    // The frame sent before close() was flushed ahead of the close frame; the one after, dropped.
    expect(frames.map((frame) => frame.command)).to.deep.equal(['SEND']);
  });

  it('closes with a ConnectionClosedError when the peer drops without a close frame', async () => {
    const serverSide = nextConnection();
    const client = await connectChannel({ transport: 'ws', url });
    const { ws } = await serverSide;
    const closed = closeReason(client);
    ws.terminate();
    const reason = await closed;
    expect(reason).to.be.instanceOf(ConnectionClosedError);
    expect(reason?.message).to.contain('1006');
  });

  it('reports a frame over maxFrameSize as FrameTooLargeError, from the parser or from ws for a huge message', async () => {
    const limits = { maxFrameSize: 200 };
    // Over the frame limit but within ws's slack: the parser catches it and may answer.
    let serverSide = nextConnection();
    let client = await connectChannel({ transport: 'ws', url }, { limits });
    let server = await serverSide;
    let protocolErrors: Error[] = [];
    client.onProtocolError((error) => protocolErrors.push(error));
    let closed = closeReason(client);
    server.ws.send(encodeFrame({ command: 'MESSAGE', headers: { destination: 'd' }, body: 'x'.repeat(500) }));
    expect(await closed).to.be.instanceOf(FrameTooLargeError);
    expect(protocolErrors.length).to.equal(1);
    expect(await server.closeCode).to.equal(1009);

    // Far over: ws refuses the message itself (1009) before the parser sees it.
    serverSide = nextConnection();
    client = await connectChannel({ transport: 'ws', url }, { limits });
    server = await serverSide;
    protocolErrors = [];
    client.onProtocolError((error) => protocolErrors.push(error));
    closed = closeReason(client);
    server.ws.send(Buffer.alloc(100_000, 0x41));
    const reason = await closed;
    expect(reason).to.be.instanceOf(FrameTooLargeError);
    expect((reason?.cause as { code?: string }).code).to.equal('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(protocolErrors).to.deep.equal([reason]);
    expect(await server.closeCode).to.equal(1009);
  });

  it('closes at once with destroy()', async () => {
    const serverSide = nextConnection();
    const client = await connectChannel({ transport: 'ws', url });
    const { channel } = await serverSide;
    const error = new Error('stop');
    const clientClosed = closeReason(client);
    const serverClosed = closeReason(channel);
    client.destroy(error);
    expect(await clientClosed).to.equal(error);
    expect(await serverClosed).to.be.instanceOf(ConnectionClosedError);
  });
});
