/**
 * One client connection of the fake's STOMP server, speaking as VDSM's
 * `StompAdapterImpl` does (oVirt/vdsm:lib/yajsonrpc/stompserver.py,
 * vdsm-wire.md 2.2-2.4):
 *
 * - CONNECT: `accept-version` must be exactly `1.2`, else ERROR `Version
 *   unsupported` (the connection stays open); heart-beats `cx,cy` clamped to
 *   >= 1000 ms when non-zero, answered `CONNECTED version:1.2 heart-beat:cy,cx`.
 * - SUBSCRIBE / UNSUBSCRIBE / SEND / DISCONNECT with VDSM's ERROR texts.
 * - DISCONNECT with a `receipt`: RECEIPT, and the connection stays for the
 *   client to close (with an empty `receipt:` nothing is sent and it stays
 *   too); without the header VDSM fails on a KeyError and closes. A
 *   connection left open so is closed after `disconnectLingerMs`.
 * - Any other command (ACK, NACK, BEGIN, STOMP, ...) closes the connection.
 * - Frames before CONNECT are served like any other: VDSM keeps no
 *   "connected" state, so a SUBSCRIBE or SEND first works there too.
 *
 * Beyond VDSM, as kindnesses: a malformed frame or a SEND without
 * `destination` (VDSM dies on an AttributeError) gets an ERROR naming the
 * reason before the close.
 */
import { StompErrorText } from '@vdsm-kit/client/api';
import type { Clock, TimerHandle } from '@vdsm-kit/client/clock';
import { HeartbeatTimeoutError } from '@vdsm-kit/client/errors';
import { HeartbeatMonitor, parseHeartbeatHeader } from '@vdsm-kit/client/stomp';
import type { FrameInit, StompFrame } from '@vdsm-kit/client/stomp';
import type { FrameChannel } from '@vdsm-kit/client/transport';
import type { CallContext, ConnectionDescription } from '../api/registry.js';
import type { WireFaultTarget, WireFaults } from '../faults/wire-faults.js';
import type { Logger } from '../logger.js';
import { DEFAULT_CONNECTION_LIMITS } from './connection-limits.js';
import { PacedChannel } from './paced-channel.js';
import { isPromiseLike } from './maybe-promise.js';
import type { RpcDispatcher } from './rpc-dispatcher.js';
import type { MessageSink, RpcAnswer, StompBroker, Subscription } from './stomp-broker.js';

/** VDSM's floor for a non-zero heart-beat interval (ms): a client asking for faster gets this. */
export const MIN_HEARTBEAT_MS = 1000;

/**
 * We drop a client that promised beats after 1.5 x its interval of silence.
 * VDSM has no grace factor but only looks when its reactor wakes (every 30 s
 * when idle), so it is both stricter and much later; 1.5 is the engine's
 * own grace and never drops a healthy client over jitter.
 */
export const HEARTBEAT_GRACE_FACTOR = 1.5;


/** What a connection needs from its server. */
export interface StompConnectionOptions {
  readonly broker: StompBroker;
  readonly dispatcher: RpcDispatcher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where the client came from and in on (for `lastClientIface` and logs). */
  readonly description: ConnectionDescription;
  /** The host's wire faults (close, stop heart-beats, slow bytes on a request's arrival); none: no wire fault. */
  readonly wireFaults?: WireFaults;
  /** How long a connection may stay after a DISCONNECT VDSM does not close on (ms on `clock`; default 10 s). */
  readonly disconnectLingerMs?: number;
}

/** Server side of one STOMP connection. */
export class StompServerConnection implements MessageSink {
  readonly #channel: FrameChannel;
  readonly #broker: StompBroker;
  readonly #dispatcher: RpcDispatcher;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #description: ConnectionDescription;
  /** This connection's subscriptions by id (ids are unique per connection only). */
  readonly #subscriptions = new Map<string, Subscription>();
  #heartbeat: HeartbeatMonitor | undefined;
  readonly #wireFaults: WireFaults | undefined;
  /** What a wire fault may do to this connection (undefined without wire faults). */
  readonly #faultTarget: WireFaultTarget | undefined;
  /** Set by a `stopHeartbeats` fault: beats are due but never written. */
  #heartbeatsStopped = false;
  readonly #disconnectLingerMs: number;
  /** Running once a DISCONNECT left the closing to the client. */
  #lingerTimer: TimerHandle | undefined;

  constructor(channel: FrameChannel, options: StompConnectionOptions) {
    this.#wireFaults = options.wireFaults;
    if (options.wireFaults === undefined) {
      this.#channel = channel;
    } else {
      // Only a host with faults pays for the pacing hop (slowBytes needs it).
      const paced = new PacedChannel(channel, options.clock);
      this.#channel = paced;
      this.#faultTarget = {
        connection: `${options.description.transport} ${options.description.remoteAddress}:${options.description.remotePort}`,
        closeNow: (reason) => paced.destroy(reason),
        stopHeartbeats: () => {
          this.#heartbeatsStopped = true;
        },
        slowBytes: (bytesPerSecond) => paced.pace(bytesPerSecond),
      };
    }
    this.#broker = options.broker;
    this.#dispatcher = options.dispatcher;
    this.#clock = options.clock;
    this.#description = options.description;
    this.#log = options.logger;
    this.#disconnectLingerMs = options.disconnectLingerMs ?? DEFAULT_CONNECTION_LIMITS.disconnectLingerMs;
    channel.onFrame((frame) => this.#onFrame(frame));
    channel.onData(() => this.#heartbeat?.noteInbound());
    channel.onProtocolError((error) => {
      this.#log.warn({ err: error.message }, 'Malformed STOMP input, closing the connection');
      this.#sendError(error.message);
    });
    channel.onClose((error) => this.#closed(error));
  }

  /** True once the connection is closing; the broker then skips it. */
  get closed(): boolean {
    return this.#channel.closed;
  }

  /** Sends a frame (MESSAGE from the broker, or a reply of ours). */
  send(frame: FrameInit): void {
    this.#channel.send(frame);
    this.#heartbeat?.noteOutbound();
  }

  /** Closes at once (server shutdown). */
  destroy(): void {
    this.#channel.destroy();
  }

  #onFrame(frame: StompFrame): void {
    switch (frame.command) {
      case 'CONNECT':
        this.#connect(frame);
        return;
      case 'SEND':
        this.#sendFrame(frame);
        return;
      case 'SUBSCRIBE':
        this.#subscribe(frame);
        return;
      case 'UNSUBSCRIBE':
        this.#unsubscribe(frame);
        return;
      case 'DISCONNECT':
        this.#disconnect(frame);
        return;
      default:
        // VDSM: "Unknown command" warning, then handle_error closes the connection.
        this.#log.warn({ command: frame.command }, 'Unknown command, closing the connection');
        this.#channel.close();
    }
  }

  #connect(frame: StompFrame): void {
    if (frame.headers.get('accept-version') !== '1.2') {
      this.#sendError(StompErrorText.VersionUnsupported);
      return;
    }
    const [cx, cy] = parseHeartbeatHeader(frame.headers.get('heart-beat'));
    const clientSends = clampHeartbeat(cx);
    const clientWants = clampHeartbeat(cy);
    this.send({ command: 'CONNECTED', headers: [['version', '1.2'], ['heart-beat', `${clientWants},${clientSends}`]] });
    // A repeated CONNECT renegotiates, as VDSM's `setHeartBeat` does.
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    if (clientWants === 0 && clientSends === 0) return;
    this.#heartbeat = new HeartbeatMonitor({
      clock: this.#clock,
      sendEveryMs: clientWants,
      expectEveryMs: clientSends,
      graceFactor: HEARTBEAT_GRACE_FACTOR,
      send: () => {
        if (!this.#heartbeatsStopped) this.#channel.sendHeartbeat();
      },
      onTimeout: () => {
        const waited = clientSends * HEARTBEAT_GRACE_FACTOR;
        this.#log.info({ expectEveryMs: clientSends }, 'Client heart-beats stopped, dropping the connection');
        this.#channel.destroy(new HeartbeatTimeoutError(`No heart-beat from the client for ${waited} ms`));
      },
    });
    this.#heartbeat.start();
  }

  #sendFrame(frame: StompFrame): void {
    const destination = frame.headers.get('destination');
    if (destination === undefined) {
      this.#sendError('Missing destination header');
      this.#channel.close();
      return;
    }
    const forwarded = this.#broker.forward(frame, destination);
    if (this.#broker.isRequestDestination(destination)) {
      this.#request(frame);
    } else if (forwarded === 0) {
      this.#sendError(StompErrorText.SubscriptionNotAvailable);
    }
  }

  /** A SEND to a request queue: remember its reply-to per request id, run it, route the answer. */
  #request(frame: StompFrame): void {
    const body = frame.body.toString('utf8');
    // A wire fault may close the connection before the request is read: it then never runs.
    if (this.#faultTarget !== undefined && this.#wireFaults?.onRequest(body, this.#faultTarget) === true) return;
    const request = this.#dispatcher.prepare(body);
    const route = this.#broker.rememberReplyTo(request.ids, frame.headers.get('reply-to'));
    const context: CallContext = { flowId: frame.headers.get('ovirtCorrelationId'), connection: this.#description };
    const deliver = (answer: RpcAnswer | undefined): void => {
      if (answer !== undefined) this.#broker.deliverResponse(answer);
      this.#broker.forgetReplyTo(request.ids, route);
    };
    const answer = request.run(context);
    // An answer known now leaves in this tick, without a promise hop.
    if (!isPromiseLike(answer)) {
      deliver(answer);
      return;
    }
    answer.then(deliver, (error: unknown) => {
      // The dispatcher turns every failure into a JSON-RPC error; reaching here is a bug in the fake.
      this.#broker.forgetReplyTo(request.ids, route);
      this.#log.error({ err: String(error) }, 'JSON-RPC dispatch failed unexpectedly');
    });
  }

  #subscribe(frame: StompFrame): void {
    const destination = frame.headers.get('destination');
    const id = frame.headers.get('id');
    // Python's `not value`: an empty header counts as missing.
    if (!destination || !id) {
      this.#sendError(StompErrorText.MissingSubscribeHeaders);
      return;
    }
    if (this.#subscriptions.has(id)) {
      this.#sendError(StompErrorText.SubscriptionIdExists);
      return;
    }
    // `ack` is read by VDSM but only `auto` exists; there is no ACK/NACK and no RECEIPT for SUBSCRIBE.
    const subscription: Subscription = { id, destination, sink: this };
    this.#subscriptions.set(id, subscription);
    this.#broker.subscribe(subscription);
  }

  #unsubscribe(frame: StompFrame): void {
    const id = frame.headers.get('id');
    if (!id) {
      this.#sendError(StompErrorText.MissingUnsubscribeId);
      return;
    }
    const subscription = this.#subscriptions.get(id);
    if (subscription === undefined) return;
    this.#subscriptions.delete(id);
    this.#broker.unsubscribe(subscription);
  }

  #disconnect(frame: StompFrame): void {
    const receipt = frame.headers.get('receipt');
    if (receipt === undefined) {
      // VDSM: `frame.headers['receipt']` raises KeyError, and the connection is closed.
      this.#channel.close();
      return;
    }
    if (receipt) this.send({ command: 'RECEIPT', headers: [['receipt-id', receipt]] });
    // VDSM leaves the closing to the client; we bound how long it may take.
    if (this.#lingerTimer !== undefined || !Number.isFinite(this.#disconnectLingerMs)) return;
    this.#lingerTimer = this.#clock.setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#log.info({ lingerMs: this.#disconnectLingerMs }, 'Client did not close after DISCONNECT, closing the connection');
      this.#channel.close();
    }, this.#disconnectLingerMs);
    this.#lingerTimer.unref?.();
  }

  /** ERROR with only `content-length` and the reason as body, as VDSM's `_send_error` writes it. */
  #sendError(text: string): void {
    this.send({ command: 'ERROR', body: text });
  }

  #closed(error: Error | undefined): void {
    if (this.#lingerTimer !== undefined) this.#clock.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    for (const subscription of this.#subscriptions.values()) this.#broker.unsubscribe(subscription);
    this.#subscriptions.clear();
    if (error) this.#log.debug({ err: error.message }, 'Connection closed');
    else this.#log.debug({}, 'Connection closed');
  }
}

/** VDSM's clamp: 0 stays off, anything else is at least 1000 ms. */
function clampHeartbeat(ms: number): number {
  return ms === 0 ? 0 : Math.max(ms, MIN_HEARTBEAT_MS);
}
