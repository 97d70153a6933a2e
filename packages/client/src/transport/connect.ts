/**
 * Opens a `FrameChannel` to a VDSM (or fake-vdsm) endpoint over plain TCP,
 * mutual TLS, or WebSocket (ws:// or wss://).
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { systemClock } from '../clock.js';
import { ConnectTimeoutError } from '../errors.js';
import { DEFAULT_FRAME_LIMITS } from '../stomp/frame.js';
import type { FrameChannel } from './channel.js';
import type { FrameChannelOptions } from './frame-channel-base.js';
import { tlsClientOptions } from './pki.js';
import type { TlsCredentials } from './pki.js';
import { StreamChannel } from './stream-channel.js';
import { WebSocketChannel } from './ws-channel.js';

/** Plain TCP (VDSM with `[vars] ssl = false`). */
export interface TcpTarget {
  readonly transport: 'tcp';
  readonly host: string;
  readonly port: number;
}

/** Mutual TLS, VDSM's default. */
export interface TlsTarget {
  readonly transport: 'tls';
  readonly host: string;
  readonly port: number;
  /** Our certificate and key, and the CA the server must be signed by. */
  readonly tls: TlsCredentials;
  /** Also check the server certificate's name against `host` (default false; see `tlsClientOptions`). */
  readonly verifyHostname?: boolean;
}

/** STOMP over WebSocket. */
export interface WsTarget {
  readonly transport: 'ws';
  /** `ws://host:port/path` or `wss://...`. */
  readonly url: string;
  /** For wss://: client certificate and trusted CA (without it, the system CAs and no client certificate). */
  readonly tls?: TlsCredentials;
  /** For wss://: also check the server certificate's name (default false). */
  readonly verifyHostname?: boolean;
  /** WebSocket subprotocols to offer (default `STOMP_WS_PROTOCOLS`). */
  readonly protocols?: readonly string[];
}

/** Where to connect. */
export type ChannelTarget = TcpTarget | TlsTarget | WsTarget;

/** Options of `connectChannel`; the channel options apply to the channel it returns. */
export interface ConnectOptions extends FrameChannelOptions {
  /** Aborts the attempt; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Gives up with a `ConnectTimeoutError` after this long (default `DEFAULT_CONNECT_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
}

/** VDSM's own limit for the TLS handshake (`sslutils.SSL_HANDSHAKE_TIMEOUT`, 10 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The STOMP 1.2 subprotocol of STOMP over WebSocket, as @stomp/stompjs offers it first. */
export const STOMP_WS_PROTOCOLS: readonly string[] = ['v12.stomp'];

/**
 * Room above `maxFrameSize` for ws's own message limit: the frame's NUL and
 * stray EOLs. The parser enforces the exact limit (and can answer with an
 * ERROR frame); ws's limit only stops a grossly oversized message early.
 */
const WS_PAYLOAD_SLACK = 4096;

/** `tcp://host:port`, `tls://host:port` or the URL: how errors name a target. */
export function describeTarget(target: ChannelTarget): string {
  if (target.transport === 'ws') return target.url;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.transport}://${host}:${target.port}`;
}

/**
 * Connects and resolves with an open channel (`info.remoteAddress` and
 * `remotePort` filled in).
 *
 * Rejects with:
 * - `ConnectTimeoutError` when the connection (and TLS or WebSocket
 *   handshake) is not done within `timeoutMs`;
 * - the system or TLS error (`code` kept, e.g. `ECONNREFUSED`,
 *   `ENOTFOUND`, `SELF_SIGNED_CERT_IN_CHAIN`), its message prefixed with the
 *   target, when the connection or the server's certificate fails;
 * - the signal's reason when aborted.
 * The socket is destroyed in every failure case.
 *
 * With TLS 1.3 the server checks our certificate after our side of the
 * handshake is done, so a server refusing it is not a rejection here: the
 * returned channel closes at once, with the TLS alert as its error (an
 * OpenSSL server such as VDSM) or with a bare EOF (a Node server, such as
 * fake-vdsm, drops the socket without an alert).
 */
export function connectChannel(target: ChannelTarget, options: ConnectOptions = {}): Promise<FrameChannel> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const where = describeTarget(target);

  return new Promise<FrameChannel>((resolve, reject) => {
    let attempt: Attempt | undefined;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const fail = (error: unknown): void => {
      if (!settle()) return;
      attempt?.abort();
      reject(error);
    };
    const onAbort = (): void => fail(signal?.reason);
    const timer = clock.setTimeout(() => fail(new ConnectTimeoutError(`${where}: not connected within ${timeoutMs} ms`)), timeoutMs);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });

    const callbacks: AttemptCallbacks = {
      opened: (channel) => {
        if (settle()) resolve(channel);
        else channel.destroy();
      },
      failed: (error) => {
        // After a timeout or abort, the torn-down socket's error is expected noise.
        if (!settled) fail(withTarget(error, where));
      },
    };
    try {
      attempt = target.transport === 'ws' ? openWebSocket(target, options, callbacks) : openStream(target, options, callbacks);
    } catch (error) {
      // e.g. ws's SyntaxError for a malformed URL.
      fail(error);
    }
  });
}

interface Attempt {
  /** Destroys the half-open connection. */
  abort(): void;
}

interface AttemptCallbacks {
  opened(channel: FrameChannel): void;
  failed(error: Error): void;
}

/** Only the channel's own options, not the signal or timeout of the attempt. */
function channelOptions(options: ConnectOptions): FrameChannelOptions {
  const { limits, rawColonInValue, closeTimeoutMs, clock } = options;
  return { limits, rawColonInValue, closeTimeoutMs, clock };
}

function openStream(target: TcpTarget | TlsTarget, options: ConnectOptions, callbacks: AttemptCallbacks): Attempt {
  const { host, port } = target;
  const socket =
    target.transport === 'tls'
      ? tlsConnect({ host, port, ...tlsClientOptions(target.tls, target.verifyHostname) })
      : netConnect({ host, port });
  // Stays until the channel takes over, and afterwards on an aborted socket,
  // so a late error never goes unhandled.
  const onError = (error: Error): void => callbacks.failed(error);
  socket.on('error', onError);
  socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
    socket.off('error', onError);
    const info = { transport: target.transport, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
    callbacks.opened(new StreamChannel(socket, info, channelOptions(options)));
  });
  return { abort: () => socket.destroy() };
}

function openWebSocket(target: WsTarget, options: ConnectOptions, callbacks: AttemptCallbacks): Attempt {
  const maxFrameSize = options.limits?.maxFrameSize ?? DEFAULT_FRAME_LIMITS.maxFrameSize;
  const ws = new WebSocket(target.url, [...(target.protocols ?? STOMP_WS_PROTOCOLS)], {
    maxPayload: maxFrameSize + WS_PAYLOAD_SLACK,
    // Small JSON messages: compression would cost more CPU than it saves.
    perMessageDeflate: false,
    ...(target.tls ? tlsClientOptions(target.tls, target.verifyHostname) : {}),
  });
  let remote: { remoteAddress?: string; remotePort?: number } = {};
  ws.once('upgrade', (response) => {
    remote = { remoteAddress: response.socket.remoteAddress, remotePort: response.socket.remotePort };
  });
  const onError = (error: Error): void => callbacks.failed(error);
  ws.on('error', onError);
  ws.once('open', () => {
    ws.off('error', onError);
    callbacks.opened(new WebSocketChannel(ws, { transport: 'ws', ...remote }, channelOptions(options)));
  });
  return { abort: () => ws.terminate() };
}

/**
 * Puts the target in front of a connection error's message, keeping the
 * error itself (its class, `code`, `errno`, `address`) for callers that
 * branch on it, such as a reconnect loop.
 */
function withTarget(error: Error, where: string): Error {
  error.message = `Cannot connect to ${where}: ${error.message}`;
  return error;
}
