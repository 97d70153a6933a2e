/**
 * Tests only: a scripted STOMP server peer that sees and writes raw bytes.
 *
 * The client side is a real `StreamChannel` (what `createMemoryChannelPair`
 * builds) over an in-memory duplex pair; the peer side reads the raw byte
 * stream, so tests assert the exact bytes the client wrote (header order,
 * escaping, `content-length`) and count heart-beat EOLs, and it answers with
 * the exact bytes VDSM writes (vdsm-wire.md 2.2-2.4).
 */
import type { Duplex } from 'node:stream';
import { encodeFrame } from '../stomp/encoder.js';
import type { FrameInit, StompFrame } from '../stomp/frame.js';
import { FrameParser } from '../stomp/parser.js';
import type { FrameChannel } from '../transport/channel.js';
import { createDuplexPair } from '../transport/duplex-pair.js';
import { StreamChannel } from '../transport/stream-channel.js';

/** One frame as the peer received it. */
export interface PeerFrame {
  /** The frame's exact bytes as UTF-8 text, from the command to the NUL. */
  readonly raw: string;
  readonly frame: StompFrame;
  readonly command: string;
  header(name: string): string | undefined;
  /** The body parsed as JSON. */
  json(): unknown;
}

/** VDSM's CONNECTED for a client that sent `heart-beat:cx,cy`: `heart-beat:<cy>,<cx>`. */
export function vdsmConnected(serverHeartbeat = '24000,0'): string {
  return `CONNECTED\nversion:1.2\nheart-beat:${serverHeartbeat}\n\n\0`;
}

/** What `autoRespond` handlers return: a JSON-RPC answer object, or undefined to stay silent. */
export type AutoResponder = (request: { id: unknown; method: string; params: unknown }, frame: PeerFrame) => object | undefined;

export class ScriptedPeer {
  readonly #stream: Duplex;
  readonly #parser: FrameParser;
  #pending: Buffer = Buffer.alloc(0);
  #lastRaw = '';
  readonly #queue: PeerFrame[] = [];
  readonly #waiters: ((frame: PeerFrame) => void)[] = [];
  readonly #subscriptions = new Map<string, string>();
  #autoResponder: AutoResponder | undefined;
  /** Heart-beat EOLs received between frames. */
  heartbeats = 0;
  /** Every frame received, in order (queued or auto-answered). */
  readonly received: PeerFrame[] = [];
  /** Resolves when the stream has closed. */
  readonly closed: Promise<void>;

  constructor(stream: Duplex) {
    this.#stream = stream;
    this.#parser = new FrameParser({ onFrame: (frame) => this.#onFrame(frame), onHeartbeat: () => void this.heartbeats++ });
    this.closed = new Promise((resolve) => stream.once('close', () => resolve()));
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('error', () => undefined);
    // Like a server socket without allowHalfOpen (and VDSM): the client's FIN gets ours back.
    stream.on('end', () => stream.end());
  }

  /** The subscription id the client gave `destination`, if it subscribed. */
  subscriptionOf(destination: string): string | undefined {
    return this.#subscriptions.get(destination);
  }

  /** The next frame the client sent; fails after `timeoutMs` of real time so a broken test cannot hang. */
  next(timeoutMs = 2000): Promise<PeerFrame> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (frame: PeerFrame): void => {
        clearTimeout(timer);
        resolve(frame);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`The scripted peer waited ${timeoutMs} ms for a frame that never came`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Frames received and not yet taken by `next()`. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Writes raw bytes to the client. */
  write(bytes: string | Buffer): void {
    this.#stream.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
  }

  /** Encodes and writes a frame. */
  send(frame: FrameInit): void {
    this.write(encodeFrame(frame));
  }

  /** Expects VDSM's client CONNECT and answers VDSM's CONNECTED; returns the CONNECT. */
  async accept(serverHeartbeat = '24000,0'): Promise<PeerFrame> {
    const connect = await this.next();
    if (connect.command !== 'CONNECT') throw new Error(`Expected CONNECT, got ${connect.raw}`);
    this.write(vdsmConnected(serverHeartbeat));
    return connect;
  }

  /** A MESSAGE as VDSM's `StompServer.send` writes it: destination, content-type, subscription, content-length. */
  message(destination: string, body: string | object, subscription = this.#subscriptions.get(destination)): void {
    if (subscription === undefined) throw new Error(`The client never subscribed to ${destination}`);
    this.send({
      command: 'MESSAGE',
      headers: [
        ['destination', destination],
        ['content-type', 'application/json'],
        ['subscription', subscription],
      ],
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  /** Answers a request frame on its reply-to, as VDSM does: `{jsonrpc, id, result}`. */
  reply(request: PeerFrame, answer: { result: unknown } | { error: { code: number; message: string } }): void {
    const replyTo = request.header('reply-to');
    if (replyTo === undefined) throw new Error('The request has no reply-to');
    const { id } = request.json() as { id: unknown };
    this.message(replyTo, { jsonrpc: '2.0', id, ...answer });
  }

  /**
   * From now on answers every SEND itself instead of queueing it, and
   * answers DISCONNECT with its RECEIPT, as VDSM does.
   */
  autoRespond(responder: AutoResponder): void {
    this.#autoResponder = responder;
  }

  /** Ends the byte stream (a FIN). */
  end(): void {
    this.#stream.end();
  }

  /** Drops the connection at once (a reset). */
  destroy(): void {
    this.#stream.destroy();
  }

  #onData(chunk: Buffer): void {
    // Split the raw bytes per frame (frames here never carry a NUL in their body) and feed the parser
    // frame by frame, so each parsed frame is paired with its exact bytes.
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      let start = 0;
      while (start < this.#pending.length && (this.#pending[start] === 0x0a || this.#pending[start] === 0x0d)) start++;
      if (start > 0) {
        this.#parser.write(this.#pending.subarray(0, start));
        this.#pending = this.#pending.subarray(start);
      }
      const end = this.#pending.indexOf(0);
      if (end < 0) break;
      const frameBytes = this.#pending.subarray(0, end + 1);
      this.#pending = this.#pending.subarray(end + 1);
      this.#lastRaw = frameBytes.toString('utf8');
      this.#parser.write(frameBytes);
    }
  }

  #onFrame(frame: StompFrame): void {
    const raw = this.#lastRaw;
    const peerFrame: PeerFrame = {
      raw,
      frame,
      command: frame.command,
      header: (name) => frame.headers.get(name),
      json: () => JSON.parse(frame.body.toString('utf8')),
    };
    this.received.push(peerFrame);
    if (frame.command === 'SUBSCRIBE') {
      const destination = frame.headers.get('destination');
      const id = frame.headers.get('id');
      if (destination !== undefined && id !== undefined) this.#subscriptions.set(destination, id);
    }
    const receipt = frame.headers.get('receipt');
    if (frame.command === 'DISCONNECT' && this.#autoResponder && receipt !== undefined) {
      this.write(`RECEIPT\nreceipt-id:${receipt}\n\n\0`);
    }
    if (frame.command === 'SEND' && this.#autoResponder) {
      const request = peerFrame.json() as { id: unknown; method: string; params: unknown };
      const answer = this.#autoResponder(request, peerFrame);
      if (answer !== undefined) this.message(peerFrame.header('reply-to') ?? '', answer);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(peerFrame);
    else this.#queue.push(peerFrame);
  }
}

/** A client-side channel and the scripted peer on the other end of it. */
export function scriptedPair(): { channel: FrameChannel; peer: ScriptedPeer } {
  const [clientStream, peerStream] = createDuplexPair();
  return { channel: new StreamChannel(clientStream, { transport: 'memory' }), peer: new ScriptedPeer(peerStream) };
}
