/**
 * The client half of a STOMP 1.2 session as VDSM expects it
 * (oVirt/vdsm:lib/yajsonrpc/stompclient.py): CONNECT with
 * `accept-version:1.2` and a `heart-beat`, wait for CONNECTED, then
 * SUBSCRIBE / SEND / MESSAGE routing by subscription id, ERROR frames that do
 * not end the connection, and DISCONNECT with a receipt.
 *
 * Transport-agnostic: it sees only a `FrameChannel`.
 */
import { randomUUID } from 'node:crypto';
import { systemClock } from '../clock.js';
import type { Clock, TimerHandle } from '../clock.js';
import { ConnectTimeoutError, ConnectionClosedError, HeartbeatTimeoutError, StompErrorFrameError, StompProtocolError } from '../errors.js';
import type { FrameChannel } from '../transport/channel.js';
import { headerEntries } from './frame.js';
import type { FrameInit, HeaderInit, StompFrame } from './frame.js';
import { HeartbeatMonitor, formatHeartbeatHeader, negotiateHeartbeat, parseHeartbeatHeader } from './heartbeat.js';
import type { HeartbeatHeader, NegotiatedHeartbeat } from './heartbeat.js';

/**
 * What vdsm's own client asks for (`stompclient.AsyncClient`): no outgoing
 * beats, and server beats every 24 s (its 30 s incoming default x 0.8).
 */
export const DEFAULT_CLIENT_HEARTBEAT: HeartbeatHeader = [0, 24_000];

/** The engine's `vdsConnectionTimeout`: 20 s to get from socket to CONNECTED. */
export const DEFAULT_STOMP_CONNECT_TIMEOUT_MS = 20_000;

/** How long `disconnect()` waits for the RECEIPT before closing anyway. */
export const DEFAULT_RECEIPT_TIMEOUT_MS = 5_000;

/** Options of `StompClientSession.open`. */
export interface StompClientSessionOptions {
  /** `[cx, cy]` for the CONNECT `heart-beat` header (default `[0, 24000]`). */
  readonly heartbeat?: HeartbeatHeader;
  /** Times the connect, the heart-beats and the receipt wait (default `systemClock`). */
  readonly clock?: Clock;
  /** Fails with `ConnectTimeoutError` when no CONNECTED came in this long (default 20 s). */
  readonly connectTimeoutMs?: number;
  /** The server is dead after `graceFactor` x its negotiated beat without bytes (default 1.5). */
  readonly graceFactor?: number;
  /** Aborts the connect; the channel is destroyed and `open` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of `StompClientSession.disconnect`. */
export interface DisconnectOptions {
  /** Closes without the RECEIPT after this long (default 5 s). */
  readonly receiptTimeoutMs?: number;
}

/** One live subscription. */
export interface StompSubscription {
  /** The `id` header sent in SUBSCRIBE (a UUID, as vdsm's client does). */
  readonly id: string;
  readonly destination: string;
  /** Sends UNSUBSCRIBE and stops routing MESSAGEs to the handler. Idempotent. */
  unsubscribe(): void;
}

/** Receives the MESSAGE frames of one subscription. */
export type MessageHandler = (frame: StompFrame) => void;

type SessionState = 'connecting' | 'open' | 'disconnecting' | 'closed';

/**
 * A connected STOMP client session over one channel. Create it with
 * `StompClientSession.open`; the session owns the channel from then on.
 */
export class StompClientSession {
  readonly #channel: FrameChannel;
  readonly #clock: Clock;
  readonly #graceFactor: number;
  /** The `heart-beat` we send in CONNECT. */
  readonly #localHeartbeat: HeartbeatHeader;
  readonly #subscriptions = new Map<string, { readonly destination: string; readonly onMessage: MessageHandler }>();
  readonly #errorListeners: ((error: Error) => void)[] = [];
  readonly #closeListeners: ((error?: Error) => void)[] = [];
  #state: SessionState = 'connecting';
  #monitor: HeartbeatMonitor | undefined;
  #heartbeat: NegotiatedHeartbeat = { sendEveryMs: 0, expectEveryMs: 0 };
  #connectedHeaders: ReadonlyMap<string, string> = new Map();
  #closeError: Error | undefined;
  /** Set while waiting for CONNECTED. */
  #connectWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Set while `disconnect()` waits for its RECEIPT. */
  #receiptWaiter: { readonly id: string; readonly resolve: () => void } | undefined;
  #disconnecting: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(channel: FrameChannel, clock: Clock, heartbeat: HeartbeatHeader, graceFactor: number) {
    this.#channel = channel;
    this.#localHeartbeat = heartbeat;
    this.#clock = clock;
    this.#graceFactor = graceFactor;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    channel.onFrame(this.#onFrame);
    channel.onData(() => this.#monitor?.noteInbound());
    channel.onClose(this.#onChannelClose);
  }

  /**
   * Sends CONNECT (`accept-version:1.2`, `heart-beat:cx,cy`; no `host`, no
   * login, exactly vdsm's client bytes) and resolves once CONNECTED arrived
   * and the heart-beats run.
   *
   * On failure the channel is destroyed and the promise rejects with
   * `StompErrorFrameError` (an ERROR answer, e.g. `Version unsupported`),
   * `ConnectTimeoutError`, `ConnectionClosedError`, a `StompProtocolError`,
   * or the abort signal's reason.
   */
  static open(channel: FrameChannel, options: StompClientSessionOptions = {}): Promise<StompClientSession> {
    const heartbeat = options.heartbeat ?? DEFAULT_CLIENT_HEARTBEAT;
    const clock = options.clock ?? systemClock;
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_STOMP_CONNECT_TIMEOUT_MS;
    const session = new StompClientSession(channel, clock, heartbeat, options.graceFactor ?? 1.5);
    return session.#connect(connectTimeoutMs, options.signal).then(() => session);
  }

  /** The negotiated heart-beat intervals (both 0 when off). */
  get heartbeat(): NegotiatedHeartbeat {
    return this.#heartbeat;
  }

  /** The CONNECTED frame's headers (`version`, `heart-beat`, ...). */
  get connectedHeaders(): ReadonlyMap<string, string> {
    return this.#connectedHeaders;
  }

  /** True once DISCONNECT was sent or the channel closed: nothing more may be sent. */
  get closed(): boolean {
    return this.#state === 'disconnecting' || this.#state === 'closed';
  }

  /** What the transport knows about the peer. */
  get channelInfo(): FrameChannel['info'] {
    return this.#channel.info;
  }

  /**
   * Subscribes to `destination` (`SUBSCRIBE destination, ack:auto, id:<uuid>`,
   * vdsm's client header order). VDSM sends no RECEIPT for SUBSCRIBE, so this
   * returns at once; frames sent later on the same channel are processed
   * after it.
   *
   * @throws ConnectionClosedError when the session is closed.
   */
  subscribe(destination: string, onMessage: MessageHandler): StompSubscription {
    this.#assertOpen();
    const id = randomUUID();
    this.#subscriptions.set(id, { destination, onMessage });
    this.#write({
      command: 'SUBSCRIBE',
      headers: [
        ['destination', destination],
        ['ack', 'auto'],
        ['id', id],
      ],
    });
    return {
      id,
      destination,
      unsubscribe: () => {
        if (!this.#subscriptions.delete(id) || this.closed) return;
        this.#write({ command: 'UNSUBSCRIBE', headers: [['id', id]] });
      },
    };
  }

  /**
   * Sends a SEND frame: `destination` first, then `headers` in order, then
   * the `content-length` the encoder appends.
   *
   * @throws ConnectionClosedError when the session is closed.
   */
  send(destination: string, body: string | Uint8Array, headers?: HeaderInit): void {
    this.#assertOpen();
    const all: [string, string][] = [['destination', destination]];
    for (const entry of headerEntries(headers)) all.push(entry as [string, string]);
    this.#write({ command: 'SEND', headers: all, body });
  }

  /**
   * Errors that do not end the session: ERROR frames after CONNECTED (VDSM
   * keeps the connection open after e.g. `Subscription not available`) as
   * `StompErrorFrameError`, and exceptions thrown by message handlers.
   */
  onError(listener: (error: Error) => void): void {
    this.#errorListeners.push(listener);
  }

  /**
   * The session ended. `error` is undefined after `disconnect()`/`close()`
   * without an error; a peer that hangs up gives a `ConnectionClosedError`,
   * a silent one a `HeartbeatTimeoutError`. A listener added after the end
   * is called on the next microtask.
   */
  onClose(listener: (error?: Error) => void): void {
    if (this.#state === 'closed') queueMicrotask(() => listener(this.#closeError));
    else this.#closeListeners.push(listener);
  }

  /** Resolves once the session has closed (whatever the reason). */
  whenClosed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Ends the session politely: `DISCONNECT receipt:<uuid>` (VDSM drops the
   * connection on a DISCONNECT without one), waits for the RECEIPT or
   * `receiptTimeoutMs`, then closes the channel. Resolves once closed;
   * never rejects. Calling it again returns the same promise.
   */
  disconnect(options: DisconnectOptions = {}): Promise<void> {
    if (this.#disconnecting) return this.#disconnecting;
    if (this.#state !== 'open') {
      // Not connected yet, or already closing without DISCONNECT: just close.
      this.close();
      return this.#closed;
    }
    this.#state = 'disconnecting';
    // DISCONNECT is our last frame; a beat after it would be a protocol error.
    this.#monitor?.stop();
    const receipt = randomUUID();
    const receiptTimeoutMs = options.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
    let timer: TimerHandle | undefined;
    const gotReceipt = new Promise<void>((resolve) => {
      this.#receiptWaiter = { id: receipt, resolve };
      timer = this.#clock.setTimeout(resolve, receiptTimeoutMs);
    });
    this.#channel.send({ command: 'DISCONNECT', headers: [['receipt', receipt]] });
    this.#disconnecting = Promise.race([gotReceipt, this.#closed]).then(() => {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      this.#receiptWaiter = undefined;
      this.#channel.close();
      return this.#closed;
    });
    return this.#disconnecting;
  }

  /**
   * Closes the channel without DISCONNECT (what was already sent is
   * flushed). `error`, when given, is what close listeners receive.
   */
  close(error?: Error): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connecting') {
      this.#fail(error ?? new ConnectionClosedError('The session was closed before CONNECTED'));
      return;
    }
    this.#state = 'disconnecting';
    this.#monitor?.stop();
    this.#channel.close(error);
  }

  async #connect(connectTimeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) {
      this.#fail(toError(signal.reason));
      throw signal.reason;
    }
    let timer: TimerHandle | undefined;
    const onAbort = (): void => this.#fail(toError(signal?.reason), signal?.reason);
    try {
      await new Promise<void>((resolve, reject) => {
        this.#connectWaiter = { resolve, reject };
        timer = this.#clock.setTimeout(
          () => this.#fail(new ConnectTimeoutError(`No CONNECTED from the server within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#write({
          command: 'CONNECT',
          headers: [
            ['accept-version', '1.2'],
            ['heart-beat', formatHeartbeatHeader(this.#localHeartbeat)],
          ],
        });
      });
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#connectWaiter = undefined;
    }
    // The channel may have closed between CONNECTED and this continuation.
    if (this.#state === 'closed') throw this.#closeError ?? new ConnectionClosedError('The connection closed right after CONNECTED');
  }

  /**
   * CONNECTED arrived: negotiate from its header and start the beats. Runs
   * synchronously with the frame, so frames right behind it in the same chunk
   * already find the session open.
   */
  #onConnected(frame: StompFrame): void {
    this.#connectedHeaders = frame.headers;
    this.#heartbeat = negotiateHeartbeat(this.#localHeartbeat, parseHeartbeatHeader(frame.headers.get('heart-beat')));
    this.#state = 'open';
    const { sendEveryMs, expectEveryMs } = this.#heartbeat;
    this.#monitor = new HeartbeatMonitor({
      clock: this.#clock,
      sendEveryMs,
      expectEveryMs,
      graceFactor: this.#graceFactor,
      send: () => this.#channel.sendHeartbeat(),
      onTimeout: () => {
        const silence = Math.round(expectEveryMs * this.#graceFactor);
        this.#channel.destroy(new HeartbeatTimeoutError(`No bytes from the server for ${silence} ms (negotiated heart-beat ${expectEveryMs} ms)`));
      },
    });
    this.#monitor.start();
    this.#connectWaiter?.resolve();
  }

  /** Fails a pending connect with `error` (rejecting with `reason` when given) and destroys the channel. */
  #fail(error: Error, reason: unknown = error): void {
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    waiter?.reject(reason as Error);
    this.#channel.destroy(error);
  }

  readonly #onFrame = (frame: StompFrame): void => {
    switch (this.#state) {
      case 'connecting':
        this.#onConnectFrame(frame);
        return;
      case 'closed':
        return;
      default:
        break;
    }
    switch (frame.command) {
      case 'MESSAGE': {
        const id = frame.headers.get('subscription');
        const subscription = id === undefined ? undefined : this.#subscriptions.get(id);
        // A MESSAGE for a subscription we just dropped is normal; ignore it.
        if (!subscription) return;
        try {
          subscription.onMessage(frame);
        } catch (error) {
          // A handler's bug must not reach the parser, which would fail the connection.
          this.#emitError(toError(error));
        }
        return;
      }
      case 'ERROR':
        this.#emitError(new StompErrorFrameError(frame.body.toString('utf8'), frame.headers));
        return;
      case 'RECEIPT': {
        const waiter = this.#receiptWaiter;
        if (waiter && frame.headers.get('receipt-id') === waiter.id) waiter.resolve();
        return;
      }
      default:
        // A server has no business sending anything else (CONNECTED twice, SEND, ...).
        this.#emitError(new StompProtocolError(`Unexpected ${frame.command} frame from the server`));
    }
  };

  #onConnectFrame(frame: StompFrame): void {
    if (frame.command === 'CONNECTED') {
      const version = frame.headers.get('version');
      if (version !== undefined && version !== '1.2') {
        this.#fail(new StompProtocolError(`The server chose STOMP version ${JSON.stringify(version)}; only 1.2 is supported`));
        return;
      }
      this.#onConnected(frame);
      return;
    }
    if (frame.command === 'ERROR') {
      // VDSM keeps the connection open after `Version unsupported`, but there is nothing left to do on it.
      this.#fail(new StompErrorFrameError(frame.body.toString('utf8'), frame.headers));
      return;
    }
    this.#fail(new StompProtocolError(`Expected CONNECTED or ERROR from the server, got ${frame.command}`));
  }

  readonly #onChannelClose = (error?: Error): void => {
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#monitor?.stop();
    this.#receiptWaiter = undefined;
    // A peer that just hangs up on an open session is an error for whoever waits on it.
    this.#closeError = error ?? (wasOpen ? new ConnectionClosedError('The server closed the connection') : undefined);
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    waiter?.reject(error ?? new ConnectionClosedError(closedBeforeConnectedMessage(this.#channel.info.transport)));
    this.#subscriptions.clear();
    this.#resolveClosed();
    for (const listener of this.#closeListeners.splice(0)) {
      try {
        listener(this.#closeError);
      } catch (listenerError) {
        this.#emitError(toError(listenerError));
      }
    }
  };

  #write(frame: FrameInit): void {
    this.#channel.send(frame);
    this.#monitor?.noteOutbound();
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw new ConnectionClosedError(`The STOMP session is ${this.#state === 'connecting' ? 'not connected yet' : 'closed'}`);
  }

  #emitError(error: Error): void {
    for (const listener of this.#errorListeners) {
      try {
        listener(error);
      } catch {
        // An error listener that throws has nowhere better to report to.
      }
    }
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new ConnectionClosedError(`Aborted: ${String(value)}`);
}

/**
 * Under TLS 1.3 the server checks the client certificate after the client
 * thinks the handshake is done, and a server that rejects it may just hang up
 * without an alert (Node's does, for a certificate from an unknown CA). The
 * only symptom is then an EOF before CONNECTED, so say what it most likely means.
 */
function closedBeforeConnectedMessage(transport: string): string {
  const message = 'The connection closed before CONNECTED';
  return transport === 'tls' ? `${message} (over TLS this is how a server refuses our client certificate: check that it is signed by the host's CA)` : message;
}
