/**
 * JSON-RPC 2.0 over one STOMP session, the way VDSM wants it (vdsm-wire.md
 * §2.3-§3.6): a unique reply-to destination subscribed before any request,
 * one request object per SEND with a UUID id, answers matched by id, events
 * from `jms.queue.events` routed by event id.
 *
 * The bookkeeping is one `Map` from request id to its pending call (the
 * message shapes are json-rpc-2.0's types). json-rpc-2.0's `JSONRPCClient`
 * did it before, but its `requestAdvanced` costs about six promises and a
 * generator per call, a fair share of a pipelined call's CPU time; and what
 * it lacked was ours anyway: timeouts on the injected clock, failing every
 * pending call when the connection drops, abort signals, VDSM's error
 * classes. An answer, a timeout, an abort and a lost connection all settle a
 * call by taking it out of the map first, so two of them can never both
 * settle one call: whichever comes first wins, the others find no pending id.
 */
import { randomUUID } from 'node:crypto';
import { Destination } from '../api/constants.js';
import { ConnectionLostError, RpcTimeoutError, vdsmErrorFromRpc } from '../api/errors.js';
import type { RpcErrorObject } from '../api/errors.js';
import { systemClock } from '../clock.js';
import type { Clock, TimerHandle } from '../clock.js';
import { ConnectionClosedError, RpcProtocolError } from '../errors.js';
import type { DisconnectOptions, StompClientSession } from '../stomp/client-session.js';
import type { StompFrame } from '../stomp/frame.js';
import type { CallOptions, RpcCaller } from './caller.js';
import { EventRouter } from './event-router.js';
import { requestText } from './request-text.js';

/** The engine's `vdsTimeout`: a call without an answer fails after 180 s. */
export const DEFAULT_CALL_TIMEOUT_MS = 180_000;


/** Options of `RpcConnection.open`. */
export interface RpcConnectionOptions {
  /** Times the calls (default `systemClock`). */
  readonly clock?: Clock;
  /** Timeout of a call without its own `timeoutMs` (default 180 s). */
  readonly defaultTimeoutMs?: number;
  /** Where requests go (default `jms.topic.vdsm_requests`). */
  readonly requestDestination?: string;
  /** Where events come from (default `jms.queue.events`). */
  readonly eventsDestination?: string;
  /** Subscribe to the events destination (default true). */
  readonly subscribeEvents?: boolean;
  /**
   * Also subscribe here to hear VDSM's unroutable answers (`id: null` parse
   * and invalid-request errors go to `jms.topic.vdsm_responses`). Off by
   * default: on a real host every client using that destination as its
   * reply-to (the engine does) would have all its answers copied to us.
   */
  readonly responsesDestination?: string;
  /** Routes the events; pass one to keep listeners across connections (default: a new router). */
  readonly events?: EventRouter;
}

/** One call awaiting its answer. Lives in the id map and in the deadline bucket of its timeout. */
class PendingCall {
  /** The abort listener, when the call has a signal. */
  onAbort: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly method: string,
    readonly timeoutMs: number,
    readonly deadline: number,
    readonly bucket: Set<PendingCall>,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (result: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/**
 * A JSON-RPC connection to VDSM over an open `StompClientSession`. Create it
 * with `RpcConnection.open`; it owns the session from then on.
 */
export class RpcConnection implements RpcCaller {
  readonly #session: StompClientSession;
  readonly #clock: Clock;
  readonly #defaultTimeoutMs: number;
  readonly #requestDestination: string;
  readonly #replyTo: string;
  readonly #events: EventRouter;
  /** Pending calls by request id. */
  readonly #pending = new Map<string, PendingCall>();
  /** SEND headers after `destination`; shared by every call without a flow id. */
  readonly #headers: readonly (readonly [string, string])[];
  /**
   * Pending calls by timeout. The clock only moves forward, so within one
   * bucket insertion order is deadline order: the first entry is the next
   * to expire, and removal is O(1) (a `Set` keeps insertion order).
   */
  readonly #buckets = new Map<number, Set<PendingCall>>();
  /** The one sweep timer, due at `#sweepAt`: no timer per call. */
  #sweepTimer: TimerHandle | undefined;
  #sweepAt = Number.POSITIVE_INFINITY;
  #closeCause: Error | undefined;
  readonly #protocolErrorListeners: ((error: Error) => void)[] = [];
  readonly #closeListeners: ((error?: Error) => void)[] = [];

  private constructor(session: StompClientSession, options: RpcConnectionOptions) {
    this.#session = session;
    this.#clock = options.clock ?? systemClock;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    assertTimeout(this.#defaultTimeoutMs, 'defaultTimeoutMs');
    this.#requestDestination = options.requestDestination ?? Destination.Requests;
    this.#events = options.events ?? new EventRouter();
    // vdsm's client uses a fresh uuid4 as its reply-to destination, per connection.
    this.#replyTo = randomUUID();
    this.#headers = [
      ['content-type', 'application/json'],
      ['reply-to', this.#replyTo],
    ];
  }

  /**
   * Subscribes the reply-to destination (a UUID), then the events (and,
   * when asked, the responses) destination, on an open session. VDSM sends
   * no RECEIPT for SUBSCRIBE and handles frames in order, so the
   * subscriptions are in place before any request sent afterwards.
   *
   * @throws ConnectionClosedError when the session is already closed.
   */
  static open(session: StompClientSession, options: RpcConnectionOptions = {}): RpcConnection {
    const connection = new RpcConnection(session, options);
    connection.#attach(options);
    return connection;
  }

  /** The reply-to destination this connection subscribed. */
  get replyTo(): string {
    return this.#replyTo;
  }

  /** The router events are delivered to. */
  get events(): EventRouter {
    return this.#events;
  }

  /** True once the connection is closing or closed; calls then fail with `ConnectionLostError`. */
  get closed(): boolean {
    return this.#closeCause !== undefined || this.#session.closed;
  }

  /** Calls awaiting an answer. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /**
   * Sends one request and resolves with its `result`. Rejects with the
   * `VdsmError` for VDSM's error answer (`vdsmErrorFromRpc`), with
   * `RpcTimeoutError` (5022) after `timeoutMs` without an answer (a late
   * answer is then ignored), with `ConnectionLostError` (5022) when the
   * connection closes first, or with the signal's reason when aborted.
   */
  call(method: string, params: Readonly<Record<string, unknown>>, options: CallOptions = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(this.#lost());
    const { signal, flowId } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    try {
      assertTimeout(timeoutMs, 'timeoutMs');
    } catch (error) {
      return Promise.reject(error);
    }

    const id = randomUUID();
    let body: string;
    try {
      body = requestText(method, params, id);
    } catch (error) {
      // A BigInt or a cycle in params: the caller's bug, reported as thrown.
      return Promise.reject(error);
    }
    const headers = flowId === undefined ? this.#headers : [...this.#headers, ['ovirtCorrelationId', flowId] as const];
    let resolve!: (result: unknown) => void;
    let reject!: (error: unknown) => void;
    const answered = new Promise<unknown>((resolveCall, rejectCall) => {
      resolve = resolveCall;
      reject = rejectCall;
    });
    const call = new PendingCall(id, method, timeoutMs, this.#clock.now() + timeoutMs, this.#bucketFor(timeoutMs), signal, resolve, reject);
    this.#track(call);
    if (signal) {
      call.onAbort = () => this.#fail(call, signal.reason);
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    try {
      this.#session.send(this.#requestDestination, body, headers);
    } catch (error) {
      // The frame could not be encoded or written: the caller gets that error.
      this.#fail(call, error);
    }
    return answered;
  }

  /** Listens to events by id pattern (see `EventRouter.on`); returns the unsubscribe function. */
  on(pattern: string, listener: Parameters<EventRouter['on']>[1]): () => void {
    return this.#events.on(pattern, listener);
  }

  /**
   * Problems that fail no call: `id: null` answers, messages that are not
   * JSON-RPC, ERROR frames from the server (`StompErrorFrameError`, the
   * connection stays open), and exceptions from the session's handlers.
   */
  onProtocolError(listener: (error: Error) => void): void {
    this.#protocolErrorListeners.push(listener);
  }

  /** The connection closed (after every pending call failed). `error` as the session reports it. */
  onClose(listener: (error?: Error) => void): void {
    if (this.#closeCause !== undefined) queueMicrotask(() => listener(this.#closeCause));
    else this.#closeListeners.push(listener);
  }

  /**
   * Ends the connection with DISCONNECT and its RECEIPT (see
   * `StompClientSession.disconnect`). Pending calls fail with
   * `ConnectionLostError`. Resolves once closed; never rejects.
   */
  close(options?: DisconnectOptions): Promise<void> {
    return this.#session.disconnect(options);
  }

  #attach(options: RpcConnectionOptions): void {
    const session = this.#session;
    session.onClose(this.#onSessionClose);
    session.onError((error) => this.#emitProtocolError(error));
    // The reply-to first: VDSM drops answers to a destination nobody subscribed.
    session.subscribe(this.#replyTo, this.#onMessage);
    if (options.subscribeEvents ?? true) session.subscribe(options.eventsDestination ?? Destination.Events, this.#onMessage);
    if (options.responsesDestination !== undefined) session.subscribe(options.responsesDestination, this.#onMessage);
  }

  /** Rejects `call` with `failure` unless something settled it first. */
  #fail(call: PendingCall, failure: unknown): void {
    if (this.#untrack(call)) call.reject(failure);
  }

  #bucketFor(timeoutMs: number): Set<PendingCall> {
    let bucket = this.#buckets.get(timeoutMs);
    if (!bucket) {
      bucket = new Set();
      this.#buckets.set(timeoutMs, bucket);
    }
    return bucket;
  }

  #track(call: PendingCall): void {
    this.#pending.set(call.id, call);
    call.bucket.add(call);
    // Deadlines mostly grow, so the timer is usually already due earlier.
    if (call.deadline < this.#sweepAt) this.#scheduleSweep(call.deadline);
  }

  /** Takes `call` out of the bookkeeping; false when it was already settled. */
  #untrack(call: PendingCall): boolean {
    if (this.#pending.get(call.id) !== call) return false;
    this.#pending.delete(call.id);
    const { bucket } = call;
    bucket.delete(call);
    if (bucket.size === 0 && this.#buckets.get(call.timeoutMs) === bucket) this.#buckets.delete(call.timeoutMs);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    return true;
  }

  #scheduleSweep(at: number): void {
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepAt = at;
    this.#sweepTimer = this.#clock.setTimeout(this.#sweep, Math.max(0, at - this.#clock.now()));
    // The socket keeps the process alive while calls are pending; this timer alone must not.
    this.#sweepTimer.unref?.();
  }

  /** Fails every call whose deadline passed, then sleeps until the next deadline (if any call is left). */
  readonly #sweep = (): void => {
    this.#sweepTimer = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const bucket of this.#buckets.values()) {
      for (const call of bucket) {
        if (call.deadline > now) {
          next = Math.min(next, call.deadline);
          break;
        }
        this.#fail(call, new RpcTimeoutError(call.method, call.timeoutMs));
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#scheduleSweep(next);
  };

  readonly #onSessionClose = (error?: Error): void => {
    if (this.#closeCause !== undefined) return;
    this.#closeCause = error ?? new ConnectionClosedError('The connection was closed');
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
    // Every pending call fails now, in one go, as the engine's ResponseTracker.processIssue does.
    for (const bucket of [...this.#buckets.values()]) {
      for (const call of bucket) this.#fail(call, this.#lost());
    }
    this.#buckets.clear();
    for (const listener of this.#closeListeners.splice(0)) {
      try {
        listener(error);
      } catch (listenerError) {
        this.#emitProtocolError(toError(listenerError));
      }
    }
  };

  #lost(): ConnectionLostError {
    const cause = this.#closeCause ?? new ConnectionClosedError('The connection is closing');
    return new ConnectionLostError(cause.message, { cause });
  }

  /** Handles the body of a MESSAGE on any of our subscriptions. */
  readonly #onMessage = (frame: StompFrame): void => {
    const text = frame.body.toString('utf8');
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (error) {
      this.#emitProtocolError(new RpcProtocolError(`A MESSAGE on ${frame.headers.get('destination')} is not JSON`, text, { cause: error }));
      return;
    }
    // VDSM answers one object per request, but tolerate an array as its client does.
    if (Array.isArray(message)) for (const item of message) this.#onRpcMessage(item);
    else this.#onRpcMessage(message);
  };

  #onRpcMessage(message: unknown): void {
    if (!isRecord(message)) {
      this.#emitProtocolError(new RpcProtocolError('A JSON-RPC message is not an object', message));
      return;
    }
    const { id } = message;
    if ('result' in message || 'error' in message) {
      this.#onResponse(message, id);
      return;
    }
    if (typeof message.method === 'string' && (id === undefined || id === null)) {
      // An event: {jsonrpc, method: <event id>, params}.
      const params = isRecord(message.params) ? message.params : {};
      this.#events.dispatch({ id: message.method, params });
      return;
    }
    this.#emitProtocolError(new RpcProtocolError('A JSON-RPC message is neither a response nor an event', message));
  }

  #onResponse(message: Record<string, unknown>, id: unknown): void {
    const error = message.error;
    const errorIsValid = error === undefined || error === null || isRpcErrorObject(error);
    if (id === null || id === undefined) {
      // VDSM's answer to a request it could not parse or identify: nobody waits for it.
      const cause = errorIsValid && error ? vdsmErrorFromRpc(error as RpcErrorObject) : undefined;
      const detail = cause ? `${cause.code} ${cause.message}` : JSON.stringify(message);
      this.#emitProtocolError(new RpcProtocolError(`VDSM answered a request it could not identify: ${detail}`, message, { cause }));
      return;
    }
    if (typeof id !== 'string') {
      // Our ids are UUID strings; anything else answers nobody's call.
      this.#emitProtocolError(new RpcProtocolError(`A JSON-RPC response has an id that is not ours: ${JSON.stringify(id)}`, message));
      return;
    }
    const call = this.#pending.get(id);
    // A late answer (the call timed out or was aborted) or another client's: nobody waits for it.
    if (call === undefined) return;
    if (!errorIsValid) {
      // Fail the call now rather than let it wait for its timeout.
      this.#fail(call, new RpcProtocolError(`A JSON-RPC error answer has no numeric code and string message: ${JSON.stringify(error)}`, message));
      return;
    }
    this.#untrack(call);
    if (error !== undefined && error !== null) call.reject(vdsmErrorFromRpc(error as RpcErrorObject));
    else call.resolve(message.result);
  }

  #emitProtocolError(error: Error): void {
    for (const listener of this.#protocolErrorListeners) {
      try {
        listener(error);
      } catch {
        // A listener that throws has nowhere better to report to.
      }
    }
  }
}

function assertTimeout(value: number, name: string): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRpcErrorObject(value: unknown): value is RpcErrorObject {
  return isRecord(value) && typeof value.code === 'number' && Number.isInteger(value.code) && typeof value.message === 'string';
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
