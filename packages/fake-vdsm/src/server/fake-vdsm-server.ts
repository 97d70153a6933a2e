/**
 * The fake's protocol front wired together: one TCP listener, protocol
 * detection (TLS, STOMP, WebSocket), one `StompServerConnection` per client,
 * the broker they share and the JSON-RPC dispatcher behind it. Knows nothing
 * of options files or state directories (index.ts does).
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Clock, TimerHandle } from '@vdsm-kit/client/clock';
import { DEFAULT_FRAME_LIMITS, FrameBudget } from '@vdsm-kit/client/stomp';
import type { FrameLimits } from '@vdsm-kit/client/stomp';
import { StreamChannel, WebSocketChannel } from '@vdsm-kit/client/transport';
import type { ChannelInfo, FrameChannel, StreamChannelOptions, TlsCredentials } from '@vdsm-kit/client/transport';
import type WebSocket from 'ws';
import type { ApiRegistry, ConnectionDescription } from '../api/registry.js';
import type { FaultEngine } from '../faults/engine.js';
import { WireFaults } from '../faults/wire-faults.js';
import type { Logger } from '../logger.js';
import { resolveConnectionLimits } from './connection-limits.js';
import type { ConnectionLimits } from './connection-limits.js';
import { ProtocolDetector } from './protocol-detector.js';
import { RpcDispatcher } from './rpc-dispatcher.js';
import type { RpcInterceptor } from './rpc-interceptor.js';
import { StompBroker } from './stomp-broker.js';
import { StompServerConnection } from './stomp-connection.js';
import { WebSocketEndpoint } from './websocket-endpoint.js';

/** Options of `FakeVdsmServer.listen`. */
export interface FakeVdsmServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls?: TlsCredentials;
  readonly tlsOnly?: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: ApiRegistry;
  /** Every method VDSM's schema knows (for -32601 vs 44, see `RpcDispatcher`). */
  readonly knownMethods: ReadonlySet<string>;
  /** Answer 99 "Recovering from crash or Initializing" for this long after start (on `clock`). */
  readonly startupDelayMs?: number;
  /** See `RpcDispatcherOptions.strictParams`. */
  readonly strictParams?: boolean;
  /** See `ProtocolDetectorOptions`. */
  readonly detectTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Inbound frame limits (default `DEFAULT_FRAME_LIMITS`). */
  readonly limits?: Partial<FrameLimits>;
  /** Bounds against misbehaving clients (default `DEFAULT_CONNECTION_LIMITS`; RangeError when not > 0). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** The process's fault engine; its wire rules act on this server's connections and events. */
  readonly faults?: FaultEngine;
  /** The VDSM host id this server answers as (what `match.host` compares with; default 1). */
  readonly hostId?: number;
  /** Hooks around every JSON-RPC call (see `RpcDispatcherOptions.interceptors`). */
  readonly interceptors?: readonly RpcInterceptor[];
}

/** Connections opened so far in this process: the last `ConnectionDescription.id` given. */
let connectionsOpened = 0;

/** A listening fake VDSM protocol server. */
export class FakeVdsmServer {
  /** Subscriptions and routing, e.g. to publish events. */
  readonly broker: StompBroker;

  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #options: FakeVdsmServerOptions;
  readonly #dispatcher: RpcDispatcher;
  readonly #detector: ProtocolDetector;
  readonly #websockets: WebSocketEndpoint;
  readonly #channelOptions: StreamChannelOptions;
  readonly #connectionLimits: ConnectionLimits;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #tlsSockets = new Set<TLSSocket>();
  readonly #connections = new Set<StompServerConnection>();
  readonly #wireFaults: WireFaults | undefined;
  #startupTimer: TimerHandle | undefined;
  #ready = false;
  #closing: Promise<void> | undefined;

  private constructor(options: FakeVdsmServerOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#wireFaults =
      options.faults === undefined ? undefined : new WireFaults({ engine: options.faults, hostId: options.hostId ?? 1, logger: options.logger });
    this.broker = new StompBroker({ wireFaults: this.#wireFaults });
    const limits: FrameLimits = { ...DEFAULT_FRAME_LIMITS, ...options.limits };
    this.#connectionLimits = resolveConnectionLimits(options.connectionLimits);
    this.#channelOptions = {
      limits,
      // VDSM's parser refuses a raw ':' in a header value; so does ours.
      rawColonInValue: 'reject',
      clock: options.clock,
      frameTimeoutMs: this.#connectionLimits.frameTimeoutMs,
      maxBufferedWriteBytes: this.#connectionLimits.maxQueuedReplyBytes,
      // One budget for every connection of this server.
      frameBudget: new FrameBudget(this.#connectionLimits.maxBufferedFrameBytes),
    };
    this.#dispatcher = new RpcDispatcher({
      registry: options.registry,
      knownMethods: options.knownMethods,
      isReady: () => this.#ready,
      strictParams: options.strictParams,
      logger: options.logger,
      faults: options.faults,
      hostId: options.hostId ?? 1,
      interceptors: options.interceptors,
    });
    this.#websockets = new WebSocketEndpoint({
      logger: options.logger,
      maxPayload: limits.maxFrameSize,
      onWebSocket: (ws, description) => this.#serveWebSocket(ws, description),
    });
    this.#detector = new ProtocolDetector(
      {
        clock: options.clock,
        logger: options.logger,
        tls: options.tls,
        tlsOnly: options.tlsOnly,
        detectTimeoutMs: options.detectTimeoutMs,
        handshakeTimeoutMs: options.handshakeTimeoutMs,
      },
      {
        stomp: (stream, head, description) => {
          if (description.transport === 'tls') this.#trackTls(stream as TLSSocket);
          const options = { ...this.#channelOptions, head, onBackPressure: this.#backPressureLog(description) };
          this.#serve(new StreamChannel(stream, channelInfo(description), options), description);
        },
        http: (stream, description) => {
          if (description.transport === 'tls') this.#trackTls(stream as TLSSocket);
          this.#websockets.accept(stream);
        },
      },
    );
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /**
   * Creates the server and starts listening.
   *
   * @throws the listen error (EADDRINUSE, EACCES, ...); nothing is left open then.
   */
  static async listen(options: FakeVdsmServerOptions): Promise<FakeVdsmServer> {
    const instance = new FakeVdsmServer(options);
    await instance.#listen();
    return instance;
  }

  /** Where it listens (the real port when 0 was asked). */
  get address(): { readonly host: string; readonly port: number } {
    const address = this.#server.address() as AddressInfo | null;
    return { host: address?.address ?? this.#options.host, port: address?.port ?? this.#options.port };
  }

  /** STOMP connections open now (TCP, TLS and WebSocket alike). */
  get openConnections(): number {
    return this.#connections.size;
  }

  /** False while "starting" (`startupDelayMs`): every request gets 99 then. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Stops listening and closes every connection at once, STOMP and WebSocket
   * alike; resolves when the listener is closed. Leaves no timer behind.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#startupTimer !== undefined) this.#clock.clearTimeout(this.#startupTimer);
      this.#startupTimer = undefined;
      this.#server.close(() => resolve());
      for (const connection of this.#connections) connection.destroy();
      this.#websockets.close();
      for (const socket of this.#tlsSockets) socket.destroy();
      for (const socket of this.#sockets) socket.destroy();
      this.#log.info({}, 'Closed');
    });
    return this.#closing;
  }

  async #listen(): Promise<void> {
    const { host, port } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.removeListener('error', reject);
        resolve();
      });
    });
    this.#server.on('error', (error) => this.#log.error({ err: error.message }, 'Listener failed'));
    const delay = this.#options.startupDelayMs ?? 0;
    if (delay > 0) {
      this.#startupTimer = this.#clock.setTimeout(() => {
        this.#startupTimer = undefined;
        this.#ready = true;
        this.#log.info({}, 'Host ready');
      }, delay);
      this.#startupTimer.unref?.();
    } else {
      this.#ready = true;
    }
    this.#log.info({ ...this.address, tls: this.#options.tls !== undefined, tlsOnly: this.#options.tlsOnly ?? false, startupDelayMs: delay }, 'Listening');
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // Whoever takes the socket over handles its errors; this listener covers
    // the gaps (a reset mid-handshake) so none is ever uncaught.
    socket.on('error', (error) => this.#log.debug({ err: error.message }, 'Socket error'));
    this.#detector.accept(socket);
  }

  #trackTls(socket: TLSSocket): void {
    this.#tlsSockets.add(socket);
    socket.once('close', () => this.#tlsSockets.delete(socket));
  }

  #serveWebSocket(ws: WebSocket, description: ConnectionDescription): void {
    const options = { ...this.#channelOptions, onBackPressure: this.#backPressureLog(description) };
    this.#serve(new WebSocketChannel(ws, channelInfo(description), options), description);
  }

  /** Logs a connection's reading stopping and starting again (`maxQueuedReplyBytes`). */
  #backPressureLog(description: ConnectionDescription): (paused: boolean, queuedBytes: number) => void {
    const remote = `${description.remoteAddress}:${description.remotePort}`;
    return (paused, queuedBytes) => {
      if (paused) this.#log.info({ transport: description.transport, remote, queuedBytes }, 'Replies not read: stopped reading the connection');
      else this.#log.info({ transport: description.transport, remote, queuedBytes }, 'Replies drained: reading the connection again');
    };
  }

  #serve(channel: FrameChannel, accepted: ConnectionDescription): void {
    if (this.#closing) {
      channel.destroy();
      return;
    }
    const description: ConnectionDescription = { ...accepted, id: ++connectionsOpened };
    const logger = this.#log.child({ transport: description.transport, remote: `${description.remoteAddress}:${description.remotePort}` });
    const connection = new StompServerConnection(channel, {
      broker: this.broker,
      dispatcher: this.#dispatcher,
      clock: this.#clock,
      logger,
      description,
      wireFaults: this.#wireFaults,
      disconnectLingerMs: this.#connectionLimits.disconnectLingerMs,
    });
    this.#connections.add(connection);
    channel.onClose(() => this.#connections.delete(connection));
    logger.debug({}, 'STOMP connection');
  }
}

function channelInfo(description: ConnectionDescription): ChannelInfo {
  return { transport: description.transport, remoteAddress: description.remoteAddress, remotePort: description.remotePort };
}
