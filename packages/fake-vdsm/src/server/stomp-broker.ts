/**
 * The server-wide half of VDSM's STOMP server (oVirt/vdsm:
 * lib/yajsonrpc/stompserver.py `StompAdapterImpl` shared maps and
 * `StompServer.send`): subscriptions of every connection by destination, the
 * request-id -> reply-to map, and the delivery of responses and events.
 * Connections (stomp-connection.ts) own their frames; this owns routing.
 */
import { Destination, REQUEST_QUEUES } from '@vdsm-kit/client/api';
import type { FrameInit, StompFrame } from '@vdsm-kit/client/stomp';
import type { WireFaults } from '../faults/wire-faults.js';

/** Where a broker delivers MESSAGE frames: a connection's channel. */
export interface MessageSink {
  /** True once the connection is closing; nothing is sent to it then. */
  readonly closed: boolean;
  send(frame: FrameInit): void;
}

/** One SUBSCRIBE of one connection. */
export interface Subscription {
  /** The client's `id` header, unique per connection only. */
  readonly id: string;
  readonly destination: string;
  readonly sink: MessageSink;
}

/**
 * A JSON-RPC id VDSM can route a response by (Python: any hashable; JSON-RPC:
 * string or number). An integer beyond 2^53 is a `bigint`, so it is routed
 * and echoed exactly, as Python's exact ints are.
 */
export type RpcId = string | number | bigint;

/**
 * The reply-to of one SEND. Each request id of the SEND maps to it until its
 * response leaves; `replyTo` undefined means "no reply-to header", and VDSM
 * then drops the response.
 */
export interface ReplyRoute {
  readonly replyTo: string | undefined;
}

/** An encoded JSON-RPC answer and the ids of the responses in it (in order; `null` for `id: null`). */
export interface RpcAnswer {
  readonly ids: readonly (RpcId | null)[];
  /** The JSON text, as VDSM would write it. */
  readonly body: string;
}

const CONTENT_TYPE_JSON = 'application/json';

/** Subscriptions and routing shared by all connections of one server. */
export class StompBroker {
  readonly #byDestination = new Map<string, Subscription[]>();
  readonly #routes = new Map<RpcId, ReplyRoute>();
  readonly #requestQueues: readonly string[];
  readonly #wireFaults: WireFaults | undefined;

  /**
   * @param options.requestQueues destinations answered by the server (default VDSM's).
   * @param options.wireFaults the host's wire faults (drop or duplicate events); none: every event is delivered once.
   */
  constructor(options: { readonly requestQueues?: readonly string[]; readonly wireFaults?: WireFaults } = {}) {
    this.#requestQueues = options.requestQueues ?? REQUEST_QUEUES;
    this.#wireFaults = options.wireFaults;
  }

  /** Adds a subscription (the caller checked that its id is new on its connection). */
  subscribe(subscription: Subscription): void {
    const list = this.#byDestination.get(subscription.destination);
    if (list) list.push(subscription);
    else this.#byDestination.set(subscription.destination, [subscription]);
  }

  /** Removes a subscription; unknown ones are ignored. */
  unsubscribe(subscription: Subscription): void {
    const list = this.#byDestination.get(subscription.destination);
    if (!list) return;
    const index = list.indexOf(subscription);
    if (index === -1) return;
    list.splice(index, 1);
    // Empty destinations are dropped, as VDSM's `_remove_subscription` does, so the map cannot grow without bound.
    if (list.length === 0) this.#byDestination.delete(subscription.destination);
  }

  /** Number of subscriptions on exactly `destination`. */
  subscriberCount(destination: string): number {
    return this.#byDestination.get(destination)?.length ?? 0;
  }

  /**
   * Every subscription to `destination` or to one of its dot-prefixes
   * (`jms`, `jms.topic`, ...), shortest prefix first, as VDSM's
   * `find_subscribers` walks them.
   */
  findSubscribers(destination: string): Subscription[] {
    const found: Subscription[] = [];
    if (this.#byDestination.size === 0) return found;
    let end = destination.indexOf('.');
    for (;;) {
      const list = this.#byDestination.get(end === -1 ? destination : destination.slice(0, end));
      if (list) found.push(...list);
      if (end === -1) return found;
      end = destination.indexOf('.', end + 1);
    }
  }

  /** True for a request queue or `<queue>.<anything>`: VDSM answers such SENDs itself. */
  isRequestDestination(destination: string): boolean {
    for (const queue of this.#requestQueues) {
      if (destination === queue || (destination.startsWith(queue) && destination[queue.length] === '.')) return true;
    }
    return false;
  }

  /**
   * Forwards a SEND as MESSAGE to every subscriber of its destination or of a
   * dot-prefix of it, on any connection (VDSM `_forward_frame`): headers are
   * `subscription:<id>` then all of the SEND's, the SEND's own `subscription`
   * (if any) overriding the id in first place, as Python's `dict.update` does.
   * Returns how many subscriptions got it.
   */
  forward(send: StompFrame, destination: string): number {
    const subscriptions = this.findSubscribers(destination);
    if (subscriptions.length === 0) return 0;
    const ownSubscription = send.headers.get('subscription');
    const rest: [string, string][] = [];
    for (const entry of send.headers) if (entry[0] !== 'subscription') rest.push(entry);
    for (const subscription of subscriptions) {
      if (subscription.sink.closed) continue;
      const headers: [string, string][] = [['subscription', ownSubscription ?? subscription.id], ...rest];
      subscription.sink.send({ command: 'MESSAGE', headers, body: send.body });
    }
    return subscriptions.length;
  }

  /**
   * Remembers `replyTo` for each id of one request SEND (VDSM `req_dest`,
   * batch-aware). The map is server-wide and keyed by id alone, as VDSM's is:
   * ids must be unique across clients (vdsm's client uses UUIDs).
   */
  rememberReplyTo(ids: readonly RpcId[], replyTo: string | undefined): ReplyRoute {
    const route: ReplyRoute = { replyTo };
    for (const id of ids) this.#routes.set(id, route);
    return route;
  }

  /**
   * Drops what `rememberReplyTo` stored for ids that got no routed response
   * (an invalid request answered with `id: null`, say), unless a later SEND
   * reused the id. VDSM leaks these entries; we do not.
   */
  forgetReplyTo(ids: readonly RpcId[], route: ReplyRoute): void {
    for (const id of ids) if (this.#routes.get(id) === route) this.#routes.delete(id);
  }

  /** Number of request ids waiting for their response (for tests and leak checks). */
  get pendingRoutes(): number {
    return this.#routes.size;
  }

  /**
   * Sends a JSON-RPC answer (VDSM `StompServer.send`): to the reply-to
   * remembered for its id (the first routable id of a batch answer), else to
   * `jms.topic.vdsm_responses`; a request that had no reply-to gets nothing.
   */
  deliverResponse(answer: RpcAnswer): void {
    let destination: string | undefined = Destination.Responses;
    let routed = false;
    for (const id of answer.ids) {
      if (id === null) continue;
      const route = this.#routes.get(id);
      if (route === undefined) continue;
      this.#routes.delete(id);
      if (!routed) {
        destination = route.replyTo;
        routed = true;
      }
    }
    if (destination !== undefined) this.publish(destination, answer.body);
  }

  /**
   * Publishes an event (a JSON-RPC notification, already encoded) to
   * `jms.queue.events`, unless a `dropEvents` fault fires (a
   * `duplicateEvents` one sends it twice). Returns how many MESSAGE frames
   * were sent.
   */
  publishEvent(body: string): number {
    const copies = this.#wireFaults === undefined ? 1 : this.#wireFaults.eventCopies(body);
    let sent = 0;
    for (let copy = 0; copy < copies; copy++) sent += this.publish(Destination.Events, body);
    return sent;
  }

  /**
   * Sends `body` as MESSAGE to every subscription on exactly `destination`,
   * headers in VDSM's order: destination, content-type, subscription,
   * content-length (the encoder appends it). Nobody subscribed: dropped.
   */
  publish(destination: string, body: string): number {
    const list = this.#byDestination.get(destination);
    if (!list) return 0;
    let sent = 0;
    // A send may close a connection and so unsubscribe it mid-loop: walk a snapshot when there is more than one.
    for (const subscription of list.length === 1 ? list : list.slice()) {
      if (subscription.sink.closed) continue;
      subscription.sink.send({
        command: 'MESSAGE',
        headers: [
          ['destination', destination],
          ['content-type', CONTENT_TYPE_JSON],
          ['subscription', subscription.id],
        ],
        body,
      });
      sent++;
    }
    return sent;
  }
}
