/**
 * `VdsmClient`: the typed VDSM client most code wants. It connects lazily on
 * the first call, fails pending calls with 5022 when the connection drops and
 * reconnects on the next call (with backoff), as the engine's
 * vdsm-jsonrpc-java client does (engine-move.md §3.4); event listeners live
 * on the client and survive reconnects.
 *
 * Layers: transport (`connectChannel`) -> `StompClientSession` ->
 * `RpcConnection` -> typed namespaces (`createVdsmApi(this)`).
 */
import pRetry from 'p-retry';
import { DEFAULT_PORT } from './api/constants.js';
import { VdsmNetworkError } from './api/errors.js';
import { createVdsmApi } from './api/namespaces.js';
import type { VdsmApi } from './api/namespaces.js';
import { systemClock } from './clock.js';
import type { Clock } from './clock.js';
import { ConnectionClosedError, StompErrorFrameError } from './errors.js';
import type { CallOptions, RpcCaller } from './rpc/caller.js';
import { EventRouter } from './rpc/event-router.js';
import type { VdsmEventListener } from './rpc/event-router.js';
import { DEFAULT_CALL_TIMEOUT_MS, RpcConnection } from './rpc/rpc-connection.js';
import { DEFAULT_CLIENT_HEARTBEAT, DEFAULT_STOMP_CONNECT_TIMEOUT_MS, StompClientSession } from './stomp/client-session.js';
import type { DisconnectOptions } from './stomp/client-session.js';
import type { FrameLimits } from './stomp/frame.js';
import type { HeartbeatHeader } from './stomp/heartbeat.js';
import type { FrameChannel } from './transport/channel.js';
import { connectChannel, describeTarget } from './transport/connect.js';
import type { ChannelTarget } from './transport/connect.js';
import { DEFAULT_PKI_DIR, loadPki } from './transport/pki.js';
import type { TlsCredentials } from './transport/pki.js';

/** Backoff between connect attempts (p-retry's exponential backoff, factor 2). */
export interface ReconnectOptions {
  /** Attempts after the first one (default 3). */
  readonly retries?: number;
  /** Wait before the first retry (default 200 ms). */
  readonly minTimeoutMs?: number;
  /** Longest wait between two attempts (default 5 s). */
  readonly maxTimeoutMs?: number;
}

/** Options of a `VdsmClient`. */
export interface VdsmClientOptions {
  /** Default `localhost`. */
  readonly host?: string;
  /** Default 54321, VDSM's management port. */
  readonly port?: number;
  /** Default `tls` (VDSM's default, mutual TLS). */
  readonly transport?: 'tls' | 'tcp' | 'ws';
  /** Our certificate and key and the CA; overrides `pkiDir`. */
  readonly tls?: TlsCredentials;
  /**
   * A PKI directory in VDSM's layout to load `tls` from. Default
   * `/etc/pki/vdsm` when the transport is `tls` and no `tls` is given.
   */
  readonly pkiDir?: string;
  /** WebSocket URL (default `ws://host:port/`, `wss://` when TLS credentials are given). */
  readonly url?: string;
  /** CONNECT `heart-beat` (default `[0, 24000]`, vdsm's client). */
  readonly heartbeat?: HeartbeatHeader;
  /** Default timeout of a call (default 180 s, the engine's `vdsTimeout`). */
  readonly timeoutMs?: number;
  /** Timeout of each connect phase: socket/TLS, then CONNECTED (default 20 s, the engine's). */
  readonly connectTimeoutMs?: number;
  /** Times calls, heart-beats and handshakes (default `systemClock`). */
  readonly clock?: Clock;
  /** Backoff of connect attempts (default 3 retries, 200 ms .. 5 s). */
  readonly reconnect?: ReconnectOptions;
  /** Inbound frame limits. */
  readonly limits?: Partial<FrameLimits>;
  /** Where requests go (default `jms.topic.vdsm_requests`). */
  readonly requestDestination?: string;
  /**
   * Opens the channel instead of `host`/`port`/`transport` (a custom
   * transport, or an in-memory peer in tests). Must honour `signal`.
   */
  readonly connect?: (signal: AbortSignal) => Promise<FrameChannel>;
}

/** VDSM's STOMP client side: the errors that retrying cannot fix. */
function isPermanent(error: unknown): boolean {
  // 'Version unsupported' and friends: the server will say the same again.
  return error instanceof StompErrorFrameError;
}

/**
 * A reconnecting, typed VDSM client.
 *
 * ```ts
 * const client = new VdsmClient({ host: 'host1.example.com' });
 * const taskId = await client.Image.move({ ... });
 * await client.close();
 * ```
 */
export class VdsmClient implements RpcCaller {
  /** `Host.*` verbs. */
  readonly Host: VdsmApi['Host'];
  /** `StoragePool.*` verbs. */
  readonly StoragePool: VdsmApi['StoragePool'];
  /** `StorageDomain.*` verbs. */
  readonly StorageDomain: VdsmApi['StorageDomain'];
  /** `Image.*` verbs. */
  readonly Image: VdsmApi['Image'];
  /** `Volume.*` verbs. */
  readonly Volume: VdsmApi['Volume'];
  /** `Task.*` verbs. */
  readonly Task: VdsmApi['Task'];
  /** `SDM.*` verbs (host jobs: poll them with `Host.getJobs` on the same host). */
  readonly SDM: VdsmApi['SDM'];

  readonly #options: VdsmClientOptions;
  readonly #clock: Clock;
  readonly #events = new EventRouter();
  /** Aborts connect attempts (and their backoff waits) when the client closes. */
  readonly #lifetime = new AbortController();
  readonly #disconnectListeners: ((error?: Error) => void)[] = [];
  readonly #protocolErrorListeners: ((error: Error) => void)[] = [];
  #connection: RpcConnection | undefined;
  /** The one connect in progress: concurrent callers share it. */
  #connecting: Promise<RpcConnection> | undefined;
  #credentials: TlsCredentials | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: VdsmClientOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#credentials = options.tls;
    const api = createVdsmApi(this);
    this.Host = api.Host;
    this.StoragePool = api.StoragePool;
    this.StorageDomain = api.StorageDomain;
    this.Image = api.Image;
    this.Volume = api.Volume;
    this.Task = api.Task;
    this.SDM = api.SDM;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#connection !== undefined && !this.#connection.closed;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `Namespace.verb`; connects first when there is no open connection
   * (concurrent calls share one connect). Rejects like
   * `RpcConnection.call`, and with a `VdsmNetworkError` (5022, `cause` the
   * last attempt's error) when no connection could be made.
   */
  call(method: string, params: Readonly<Record<string, unknown>>, options?: CallOptions): Promise<unknown> {
    const connection = this.#connection;
    // The hot path: an open connection, no promise hop.
    if (connection !== undefined && !connection.closed) return connection.call(method, params, options);
    if (this.#closed) return Promise.reject(new ConnectionClosedError('The VdsmClient is closed'));
    return abortable(this.#connect(), options?.signal).then((opened) => opened.call(method, params, options));
  }

  /** Connects now instead of on the first call. Resolves once connected. */
  async connect(): Promise<void> {
    if (this.#closed) throw new ConnectionClosedError('The VdsmClient is closed');
    if (this.connected) return;
    await this.#connect();
  }

  /**
   * Listens to VDSM events by id pattern (`|virt|VM_status|*`, `*` for all;
   * see `EventRouter`). Listeners survive reconnects. Returns the function
   * that removes the listener.
   */
  on(pattern: string, listener: VdsmEventListener): () => void {
    return this.#events.on(pattern, listener);
  }

  /** Listens to every event; same as `on('*', listener)`. */
  onEvent(listener: VdsmEventListener): () => void {
    return this.#events.on('*', listener);
  }

  /**
   * A connection ended: `error` says why (a drop, a heart-beat timeout), or
   * is undefined when `close()` ended it. Pending calls have failed by then.
   */
  onDisconnect(listener: (error?: Error) => void): void {
    this.#disconnectListeners.push(listener);
  }

  /** Problems that fail no call (see `RpcConnection.onProtocolError`). */
  onProtocolError(listener: (error: Error) => void): void {
    this.#protocolErrorListeners.push(listener);
  }

  /**
   * Ends the client: stops any connect attempt, sends DISCONNECT and waits
   * for its RECEIPT when connected, and closes the socket. Leaves no timer
   * and no socket behind. Later calls reject with `ConnectionClosedError`.
   * Idempotent; never rejects.
   */
  close(options?: DisconnectOptions): Promise<void> {
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  async #close(options: DisconnectOptions | undefined): Promise<void> {
    this.#closed = true;
    this.#lifetime.abort(new ConnectionClosedError('The VdsmClient was closed'));
    // An attempt may still finish (it observes the abort at its next step); let it, then close what it opened.
    await this.#connecting?.catch(() => undefined);
    await this.#connection?.close(options);
  }

  #connect(): Promise<RpcConnection> {
    this.#connecting ??= this.#connectWithRetry().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connectWithRetry(): Promise<RpcConnection> {
    const signal = this.#lifetime.signal;
    const { open: openChannel, where } = await this.#channelOpener();
    const reconnect = this.#options.reconnect ?? {};
    try {
      return await pRetry(() => this.#attempt(openChannel, signal), {
        retries: reconnect.retries ?? 3,
        minTimeout: reconnect.minTimeoutMs ?? 200,
        maxTimeout: reconnect.maxTimeoutMs ?? 5_000,
        signal,
        shouldRetry: ({ error }) => !isPermanent(error),
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      // connectChannel already names the target in its errors; say it once.
      const reason = (error as Error).message;
      const prefix = `Cannot connect to ${where}: `;
      const detail = reason.startsWith(prefix) ? reason.slice(prefix.length) : reason;
      throw new VdsmNetworkError(`Cannot connect to VDSM at ${where}: ${detail}`, { cause: error });
    }
  }

  /** One attempt: channel, STOMP session, RPC connection. Installs the connection it made. */
  async #attempt(openChannel: (signal: AbortSignal) => Promise<FrameChannel>, signal: AbortSignal): Promise<RpcConnection> {
    const options = this.#options;
    const channel = await openChannel(signal);
    const session = await StompClientSession.open(channel, {
      heartbeat: options.heartbeat ?? DEFAULT_CLIENT_HEARTBEAT,
      clock: this.#clock,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_STOMP_CONNECT_TIMEOUT_MS,
      signal,
    });
    const connection = RpcConnection.open(session, {
      clock: this.#clock,
      defaultTimeoutMs: options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      ...(options.requestDestination === undefined ? {} : { requestDestination: options.requestDestination }),
      events: this.#events,
    });
    this.#install(connection);
    return connection;
  }

  #install(connection: RpcConnection): void {
    this.#connection = connection;
    connection.onProtocolError((error) => {
      for (const listener of this.#protocolErrorListeners) callQuietly(listener, error);
    });
    connection.onClose((error) => {
      if (this.#connection === connection) this.#connection = undefined;
      for (const listener of this.#disconnectListeners) callQuietly(listener, error);
    });
  }

  /**
   * How to open a channel, and what to call the endpoint in errors: the
   * `connect` option, or `connectChannel` to host/port/transport (loading
   * the PKI first when needed).
   */
  async #channelOpener(): Promise<{ open: (signal: AbortSignal) => Promise<FrameChannel>; where: string }> {
    const options = this.#options;
    if (options.connect) return { open: options.connect, where: 'a custom channel' };
    const target = await this.#target();
    const open = (signal: AbortSignal): Promise<FrameChannel> =>
      connectChannel(target, {
        signal,
        timeoutMs: options.connectTimeoutMs ?? DEFAULT_STOMP_CONNECT_TIMEOUT_MS,
        clock: this.#clock,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
      });
    return { open, where: describeTarget(target) };
  }

  async #target(): Promise<ChannelTarget> {
    const options = this.#options;
    const host = options.host ?? 'localhost';
    const port = options.port ?? DEFAULT_PORT;
    const transport = options.transport ?? 'tls';
    // A PKI error is a setup problem, not a network one: it is thrown as is (and not retried).
    if (!this.#credentials && (transport === 'tls' || (transport === 'ws' && options.pkiDir !== undefined))) {
      this.#credentials = await loadPki(options.pkiDir ?? DEFAULT_PKI_DIR);
    }
    const tls = this.#credentials;
    switch (transport) {
      case 'tcp':
        return { transport: 'tcp', host, port };
      case 'tls':
        return { transport: 'tls', host, port, tls: tls! };
      case 'ws': {
        const hostInUrl = host.includes(':') ? `[${host}]` : host;
        const url = options.url ?? `${tls ? 'wss' : 'ws'}://${hostInUrl}:${port}/`;
        return tls ? { transport: 'ws', url, tls } : { transport: 'ws', url };
      }
      default:
        throw new TypeError(`Unknown transport ${JSON.stringify(transport)}; expected tls, tcp or ws`);
    }
  }
}

/** Rejects with the signal's reason as soon as it aborts; the underlying work goes on for others. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function callQuietly<A>(listener: (arg: A) => void, arg: A): void {
  try {
    listener(arg);
  } catch {
    // A listener's bug must not break the connection bookkeeping.
  }
}
