/**
 * STOMP frames over a WebSocket (the `ws` package), client or server side:
 * one frame per message, the way STOMP-over-WebSocket peers such as
 * @stomp/stompjs expect.
 */
import WebSocket from 'ws';
import { ConnectionClosedError, FrameTooLargeError, StompProtocolError } from '../errors.js';
import type { ChannelInfo } from './channel.js';
import { FrameChannelBase } from './frame-channel-base.js';
import type { FrameChannelOptions } from './frame-channel-base.js';

/** Options of a `WebSocketChannel`. */
export type WebSocketChannelOptions = FrameChannelOptions;

/** WebSocket close codes that mean a clean close (normal, going away, no status). */
const CLEAN_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1005]);
/** A close frame holds at most 125 bytes: 2 for the code, the rest for the reason. */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A `FrameChannel` over an open `ws` WebSocket.
 *
 * - Each `send()` is one message: text when the frame's body is a string or
 *   absent (always valid UTF-8, and what stompjs itself sends), binary when
 *   the body is bytes (which may not be UTF-8). A heart-beat is a text
 *   message holding `\n`.
 * - Inbound messages, text or binary, go through this channel's own
 *   `FrameParser`, so a message holding several frames, or part of one, is
 *   handled as well as the normal one frame per message.
 * - A message over ws's `maxPayload` is reported like a frame over
 *   `maxFrameSize`: a `FrameTooLargeError` protocol error (ws has already
 *   started closing with 1009, so an ERROR frame cannot be sent).
 * - The peer closing with 1000/1001/1005 is a clean close; any other code
 *   (1006: the connection dropped without a close frame) closes with a
 *   `ConnectionClosedError` naming it.
 *
 * Events start on a later turn of the event loop, as in `StreamChannel`.
 */
export class WebSocketChannel extends FrameChannelBase {
  readonly #ws: WebSocket;
  /** Messages that arrived before start(); undefined once started. */
  #early: Buffer[] | undefined = [];

  constructor(ws: WebSocket, info: ChannelInfo, options: WebSocketChannelOptions = {}) {
    super(info, options);
    this.#ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.pause();
    ws.on('message', (data: WebSocket.RawData) => {
      const chunk = toBuffer(data);
      if (this.#early) this.#early.push(chunk);
      else this.receive(chunk);
    });
    ws.on('error', (error: Error) => this.#onError(error));
    ws.on('close', (code: number, reason: Buffer) => this.transportClosed(closeError(code, reason)));

    setImmediate(() => {
      // Even a paused ws may emit what it had already buffered; replay that first.
      const early = this.#early ?? [];
      this.#early = undefined;
      for (const chunk of early) this.receive(chunk);
      if (ws.readyState === WebSocket.CLOSED) this.transportClosed();
      else if (!this.readingPaused) ws.resume();
    });
  }

  protected writeBytes(bytes: Buffer, binary: boolean): void {
    // A closing socket (the peer's close frame arrived) drops sends, as a closed channel does.
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.tracksWrites) this.#ws.send(bytes, { binary }, this.#written);
    else this.#ws.send(bytes, { binary });
  }

  readonly #written = (): void => this.writeProgress();

  protected bufferedWriteBytes(): number {
    return this.#ws.bufferedAmount;
  }

  protected pauseReading(): void {
    this.#ws.pause();
  }

  protected resumeReading(): void {
    this.#ws.resume();
  }

  protected endTransport(reason: Error | undefined): void {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) this.transportClosed();
    // ws sends the close frame after everything queued before it.
    else if (ws.readyState !== WebSocket.CLOSING) ws.close(closeCode(reason), closeReason(reason));
  }

  protected destroyTransport(): void {
    if (this.#ws.readyState === WebSocket.CLOSED) this.transportClosed();
    else this.#ws.terminate();
  }

  #onError(error: Error): void {
    if ((error as NodeJS.ErrnoException).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.protocolError(new FrameTooLargeError(`STOMP frame too large: WebSocket message over maxPayload (${error.message})`, { cause: error }));
    }
    this.transportError(error);
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The reason a peer-side close gives the close listeners: none when clean. */
function closeError(code: number, reason: Buffer): Error | undefined {
  if (CLEAN_CLOSE_CODES.has(code)) return undefined;
  const text = reason.length > 0 ? `: ${reason.toString('utf8')}` : '';
  return new ConnectionClosedError(`WebSocket closed with code ${code}${text}`);
}

/** The close code we send: normal, message too big (1009), protocol error (1002) or internal error (1011). */
function closeCode(reason: Error | undefined): number {
  if (reason === undefined) return 1000;
  if (reason instanceof FrameTooLargeError) return 1009;
  if (reason instanceof StompProtocolError) return 1002;
  return 1011;
}

/** The error's message, cut to what a close frame can hold without splitting a UTF-8 character. */
function closeReason(reason: Error | undefined): string | undefined {
  if (reason === undefined) return undefined;
  let text = reason.message;
  while (Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES) text = text.slice(0, Math.min(text.length - 1, MAX_CLOSE_REASON_BYTES));
  return text;
}
