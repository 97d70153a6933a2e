/**
 * What every `FrameChannel` shares, whatever carries its bytes: the listener
 * lists, one `FrameParser` per channel, the protocol-error sequence (tell the
 * listeners, who may still send an ERROR frame, then close) and the
 * close-exactly-once bookkeeping. Subclasses only move bytes.
 */
import { systemClock } from '../clock.js';
import type { Clock, TimerHandle } from '../clock.js';
import { FrameTimeoutError } from '../errors.js';
import type { FrameBudget } from '../stomp/frame-budget.js';
import { encodeFrame } from '../stomp/encoder.js';
import type { FrameInit, FrameLimits, StompFrame } from '../stomp/frame.js';
import { FrameParser } from '../stomp/parser.js';
import type { ChannelInfo, FrameChannel } from './channel.js';

/** Options every channel takes. */
export interface FrameChannelOptions {
  /** Overrides of `DEFAULT_FRAME_LIMITS` for inbound frames. */
  readonly limits?: Partial<FrameLimits>;
  /** `'reject'` refuses a raw `:` in a header value as VDSM's server does (see `FrameParserOptions`). */
  readonly rawColonInValue?: 'accept' | 'reject';
  /**
   * How long `close()` waits for the peer to finish before destroying the
   * transport (default 5000 ms). The timer never holds the process open.
   */
  readonly closeTimeoutMs?: number;
  /** Time source for that timer and `frameTimeoutMs` (default: the system clock). */
  readonly clock?: Clock;
  /**
   * An inbound frame begun and not finished within this long (from its first
   * byte, however slowly the rest trickles in) is a `FrameTimeoutError`
   * protocol error, judged after what already waits in the transport is
   * read (this process may have been held up past the timeout). Default: no limit.
   */
  readonly frameTimeoutMs?: number;
  /** Shared bound on the bytes of unfinished inbound frames (see `FrameBudget`); default: none. */
  readonly frameBudget?: FrameBudget;
  /**
   * Back-pressure: stop reading while more than this many bytes we wrote
   * wait to reach the transport (a peer that does not read its replies), and
   * read again once half of them left. Default: no bound.
   */
  readonly maxBufferedWriteBytes?: number;
  /** Told when reading stops (`paused` true) or starts again for back-pressure, with the bytes waiting then. */
  readonly onBackPressure?: (paused: boolean, bufferedBytes: number) => void;
}

/** Default of `FrameChannelOptions.closeTimeoutMs`. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** A heart-beat: one EOL. Module-private and shared, since nothing mutates it. */
const HEARTBEAT_BYTES: Buffer = Buffer.from('\n');

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * Base of the stream and WebSocket channels. Lifecycle:
 *
 * 1. open: frames flow both ways;
 * 2. closed (`closed === true`): by `close()`, `destroy()`, a protocol error,
 *    a transport error or the peer's end. Sends are dropped, inbound bytes
 *    ignored, and the first reason given is kept. Close listeners run once
 *    with that reason (`undefined` for a clean close), never synchronously
 *    inside the call that closed the channel;
 * 3. gone: the transport is torn down. After `close()` that happens in the
 *    background: what was sent is flushed, the transport ended, and destroyed
 *    if the peer does not finish within `closeTimeoutMs`. Close listeners do
 *    not wait for this, so a peer that never answers our FIN cannot delay a
 *    reconnect.
 *
 * An exception thrown by a frame, data or protocol-error listener destroys the
 * channel with that exception as the reason (a bug in one session must not
 * take the process down with it); one thrown by a close listener is rethrown
 * asynchronously, as there is nothing left to close.
 */
export abstract class FrameChannelBase implements FrameChannel {
  readonly info: ChannelInfo;

  readonly #parser: FrameParser;
  readonly #clock: Clock;
  readonly #closeTimeoutMs: number;
  readonly #frameTimeoutMs: number | undefined;
  readonly #maxBufferedWriteBytes: number | undefined;
  #frameTimer: TimerHandle | undefined;
  #readingPaused = false;
  readonly #onBackPressure: ((paused: boolean, bufferedBytes: number) => void) | undefined;
  readonly #frameListeners: Listener<[StompFrame]>[] = [];
  readonly #dataListeners: Listener<[]>[] = [];
  readonly #protocolErrorListeners: Listener<[Error]>[] = [];
  readonly #closeListeners: Listener<[Error | undefined]>[] = [];

  #closing = false;
  #reason: Error | undefined;
  #notifyQueued = false;
  #notified = false;
  #transportGone = false;
  #failed = false;
  #closeTimer: TimerHandle | undefined;

  protected constructor(info: ChannelInfo, options: FrameChannelOptions = {}) {
    this.info = info;
    this.#clock = options.clock ?? systemClock;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.#frameTimeoutMs = positiveOrUndefined('frameTimeoutMs', options.frameTimeoutMs);
    this.#maxBufferedWriteBytes = positiveOrUndefined('maxBufferedWriteBytes', options.maxBufferedWriteBytes);
    this.#onBackPressure = options.onBackPressure;
    this.#parser = new FrameParser({
      onFrame: (frame) => this.#emitFrame(frame),
      limits: options.limits,
      rawColonInValue: options.rawColonInValue,
      ...(options.frameBudget === undefined ? {} : { budget: options.frameBudget }),
    });
  }

  /** True while reading is stopped for back-pressure (`maxBufferedWriteBytes`). */
  get readingPaused(): boolean {
    return this.#readingPaused;
  }

  get closed(): boolean {
    return this.#closing;
  }

  send(frame: FrameInit): void {
    // Encode first even when closed: an unencodable frame is a caller bug and should throw.
    const bytes = encodeFrame(frame);
    if (this.#closing) return;
    this.writeBytes(bytes, typeof frame.body !== 'string' && frame.body !== undefined);
    this.checkWriteBacklog();
  }

  sendHeartbeat(): void {
    if (this.#closing) return;
    this.writeBytes(HEARTBEAT_BYTES, false);
    this.checkWriteBacklog();
  }

  onFrame(listener: (frame: StompFrame) => void): void {
    this.#frameListeners.push(listener);
  }

  onData(listener: () => void): void {
    this.#dataListeners.push(listener);
  }

  onProtocolError(listener: (error: Error) => void): void {
    this.#protocolErrorListeners.push(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    // A listener added too late still hears about it, so nobody waits forever.
    if (this.#notified) queueMicrotask(() => listener(this.#reason));
    else this.#closeListeners.push(listener);
  }

  close(error?: Error): void {
    if (this.#closing) return;
    this.#beginClosing(error);
    // The peer may never finish its side; destroy then. unref: a channel being
    // closed must not keep a process alive that has nothing else to do.
    this.#closeTimer = this.#clock.setTimeout(() => {
      this.#closeTimer = undefined;
      this.destroyTransport();
    }, this.#closeTimeoutMs);
    this.#closeTimer.unref?.();
    this.endTransport(error);
    this.#notify();
  }

  destroy(error?: Error): void {
    if (!this.#closing) this.#beginClosing(error);
    // Also after close(): forces a transport still waiting for its peer.
    if (!this.#transportGone) this.destroyTransport();
  }

  /** Writes one encoded frame or heart-beat; `binary` says the frame's body was bytes, not text. */
  protected abstract writeBytes(bytes: Buffer, binary: boolean): void;
  /** Flushes what was written, then ends the transport gracefully; `reason` is why (undefined: a clean close). */
  protected abstract endTransport(reason: Error | undefined): void;
  /** Tears the transport down now. Must lead to `transportClosed()`. */
  protected abstract destroyTransport(): void;
  /** Bytes written and not yet handed to the transport (for `maxBufferedWriteBytes`). */
  protected abstract bufferedWriteBytes(): number;
  /** Stops delivering inbound bytes until `resumeReading` (the transport's own flow control takes over). */
  protected abstract pauseReading(): void;
  protected abstract resumeReading(): void;

  /** Whether subclasses must call `writeProgress` as written bytes leave (only with `maxBufferedWriteBytes`). */
  protected get tracksWrites(): boolean {
    return this.#maxBufferedWriteBytes !== undefined;
  }

  /** Subclasses call this when written bytes reached the transport: reading resumes once the backlog is down to half. */
  protected writeProgress(): void {
    if (!this.#readingPaused || this.#closing) return;
    const buffered = this.bufferedWriteBytes();
    if (buffered > (this.#maxBufferedWriteBytes as number) / 2) return;
    this.#readingPaused = false;
    this.resumeReading();
    this.#onBackPressure?.(false, buffered);
    if (this.#frameTimeoutMs !== undefined) this.#watchFrame(this.#frameTimeoutMs);
  }

  /** Subclasses feed every inbound chunk here. */
  protected receive(chunk: Uint8Array): void {
    if (this.#closing) return;
    for (const listener of this.#dataListeners) {
      if (!this.#call(listener)) return;
    }
    try {
      this.#parser.write(chunk);
    } catch (error) {
      // Listener exceptions are caught in #emitFrame, so this came from the codec.
      this.protocolError(error as Error);
      return;
    }
    if (this.#frameTimeoutMs !== undefined) this.#watchFrame(this.#frameTimeoutMs);
  }

  /** Bad inbound bytes: listeners may answer (an ERROR frame), then the channel closes with `error`. */
  protected protocolError(error: Error): void {
    if (this.#closing || this.#failed) return;
    this.#failed = true;
    for (const listener of this.#protocolErrorListeners) {
      if (!this.#call(listener, error)) return;
    }
    this.close(error);
  }

  /** The transport failed; it is destroyed and `error` becomes the reason unless one was already given. */
  protected transportError(error: Error): void {
    if (!this.#closing) this.#beginClosing(error);
    if (!this.#transportGone) this.destroyTransport();
  }

  /** The transport is gone; `error` is the reason unless one was already given. */
  protected transportClosed(error?: Error): void {
    if (this.#transportGone) return;
    this.#transportGone = true;
    if (this.#closeTimer !== undefined) {
      this.#clock.clearTimeout(this.#closeTimer);
      this.#closeTimer = undefined;
    }
    if (!this.#closing) this.#beginClosing(error);
    this.#notify();
  }

  /** Runs the close listeners, once, in a microtask (so never inside the caller's close()). */
  #notify(): void {
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notified = true;
      for (const listener of this.#closeListeners.splice(0)) {
        try {
          listener(this.#reason);
        } catch (listenerError) {
          queueMicrotask(() => {
            throw listenerError;
          });
        }
      }
    });
  }

  #beginClosing(reason: Error | undefined): void {
    this.#closing = true;
    this.#reason = reason;
    this.#stopFrameTimer();
    // Nothing more is parsed: what an unfinished frame held goes back to the shared budget.
    this.#parser.dispose();
  }

  /** A frame under way starts its timer (once, at its first chunk); a finished one stops it. */
  #watchFrame(timeoutMs: number): void {
    if (!this.#parser.inFrame) {
      this.#stopFrameTimer();
      return;
    }
    if (this.#frameTimer !== undefined) return;
    const timer = this.#clock.setTimeout(() => {
      // Timers run before I/O in Node's event loop: after this process was
      // held up (a loaded machine, a long GC) past the timeout, the rest of
      // the frame may be waiting in the socket. Two turns of the loop read it
      // first (the first poll may not yet see what arrived at the very end);
      // the frame is late only if this timer is still its own then (a
      // finished frame, or reading paused, stops it). Until then no new timer
      // starts, so a trickle of bytes cannot push the deadline on.
      setImmediate(() =>
        setImmediate(() => {
          if (this.#frameTimer !== timer || this.#closing) return;
          this.#frameTimer = undefined;
          this.protocolError(new FrameTimeoutError(`STOMP frame not finished within frameTimeoutMs (${timeoutMs} ms)`));
        }),
      );
    }, timeoutMs);
    this.#frameTimer = timer;
    this.#frameTimer.unref?.();
  }

  #stopFrameTimer(): void {
    if (this.#frameTimer === undefined) return;
    this.#clock.clearTimeout(this.#frameTimer);
    this.#frameTimer = undefined;
  }

  /** Stops reading when the write backlog is over `maxBufferedWriteBytes`; subclasses call it when their backlog may have grown. */
  protected checkWriteBacklog(): void {
    const max = this.#maxBufferedWriteBytes;
    if (max === undefined || this.#readingPaused || this.#closing) return;
    const buffered = this.bufferedWriteBytes();
    if (buffered <= max) return;
    this.#readingPaused = true;
    // The peer cannot finish a frame we do not read: its clock starts again when reading does.
    this.#stopFrameTimer();
    this.pauseReading();
    this.#onBackPressure?.(true, buffered);
  }

  #emitFrame(frame: StompFrame): void {
    // Frames after a close in the same chunk (a listener closed the channel) are not delivered.
    if (this.#closing) return;
    for (const listener of this.#frameListeners) {
      if (!this.#call(listener, frame)) return;
    }
  }

  /** Runs one listener; on an exception destroys the channel with it and returns false. */
  #call<A extends unknown[]>(listener: Listener<A>, ...args: A): boolean {
    try {
      listener(...args);
      return true;
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  }
}

/** @throws RangeError unless undefined or a number greater than 0; `Infinity` is no bound (undefined). */
function positiveOrUndefined(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`${name} must be a number greater than 0, not ${String(value)}`);
  return Number.isFinite(value) ? value : undefined;
}
