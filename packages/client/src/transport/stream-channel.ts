/**
 * STOMP frames over any byte stream: `net.Socket`, `tls.TLSSocket`, or the
 * in-memory pair in unit tests.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ChannelInfo } from './channel.js';
import { FrameChannelBase } from './frame-channel-base.js';
import type { FrameChannelOptions } from './frame-channel-base.js';

/** Corked bytes that leave at once, without waiting for the end of the tick (see `StreamChannel`). */
export const CORK_FLUSH_BYTES = 4 * 1024;

/** Options of a `StreamChannel`. */
export interface StreamChannelOptions extends FrameChannelOptions {
  /**
   * Bytes already read from the stream (a server's protocol detector may have
   * consumed them); they are parsed before anything the stream delivers.
   */
  readonly head?: Buffer;
}

/**
 * A `FrameChannel` over a `Duplex`.
 *
 * Reading starts on a later turn of the event loop (`setImmediate`), so
 * listeners added right after construction, or right after awaiting
 * `connectChannel`, see every frame, `head` included.
 *
 * Writes made in the same tick are corked and leave in one `writev`: a burst
 * of pipelined requests costs one syscall instead of one per frame, for one
 * `process.nextTick` of latency (measured on TCP loopback with 500 calls in
 * flight: about 40% less CPU per round trip; neutral on TLS, which already
 * batches its records). A tick's writes leave early, in `CORK_FLUSH_BYTES`
 * pieces, once they reach that size: the peer then starts on the first
 * frames of a burst while this side still encodes the last (pipelined
 * `Host.ping2` against fake-vdsm otherwise ran in lockstep, each process
 * idle while the other handled a whole window of 256 calls).
 *
 * The peer ending its side (EOF) closes the channel cleanly; a socket error
 * closes it with that error.
 */
export class StreamChannel extends FrameChannelBase {
  readonly #stream: Duplex;
  #corked = false;
  /** Bytes written since the stream was corked or last flushed early. */
  #corkedBytes = 0;

  constructor(stream: Duplex, info: ChannelInfo, options: StreamChannelOptions = {}) {
    super(info, options);
    this.#stream = stream;
    // Nagle's algorithm would hold a small request back until the previous
    // one is acknowledged: ruinous for request/response latency.
    if (stream instanceof Socket) stream.setNoDelay(true);

    // Paused until the setImmediate below, so head bytes come first and
    // nothing is emitted before anyone listens.
    stream.pause();
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    // The error listener stays for the stream's lifetime: a late error (a
    // reset while flushing) must never become an uncaught exception.
    stream.on('error', (error: Error) => this.transportError(error));
    stream.on('end', () => this.close());
    stream.on('close', () => this.transportClosed());

    const head = options.head;
    setImmediate(() => {
      if (head !== undefined && head.length > 0) this.receive(head);
      if (stream.destroyed) this.transportClosed(stream.errored ?? undefined);
      else if (!this.readingPaused) stream.resume();
    });
  }

  protected writeBytes(bytes: Buffer): void {
    const stream = this.#stream;
    if (!this.#corked) {
      this.#corked = true;
      stream.cork();
      process.nextTick(this.#uncork);
    }
    // Without maxBufferedWriteBytes back-pressure is the caller's: it bounds
    // what is in flight (pending RPC calls), and heart-beats catch a slow peer.
    if (this.tracksWrites) stream.write(bytes, this.#written);
    else stream.write(bytes);
    this.#corkedBytes += bytes.length;
    if (this.#corkedBytes >= CORK_FLUSH_BYTES) {
      // Out now; the stream stays corked for the rest of the tick (the nextTick uncork is still due).
      this.#corkedBytes = 0;
      stream.uncork();
      stream.cork();
    }
  }

  readonly #written = (): void => this.writeProgress();

  protected bufferedWriteBytes(): number {
    // Bytes corked in this tick leave with its end: only what the transport has not taken is a backlog.
    return this.#corked ? 0 : this.#stream.writableLength;
  }

  protected pauseReading(): void {
    this.#stream.pause();
  }

  protected resumeReading(): void {
    this.#stream.resume();
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.#corkedBytes = 0;
    this.#stream.uncork();
    // What the transport did not take of this tick's writes is the backlog now.
    if (this.tracksWrites) this.checkWriteBacklog();
  };

  protected endTransport(): void {
    // end() uncorks and flushes first.
    if (!this.#stream.writableEnded) this.#stream.end();
  }

  protected destroyTransport(): void {
    this.#stream.destroy();
  }
}
