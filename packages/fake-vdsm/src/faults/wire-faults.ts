/**
 * The wire layer of the fault engine (issue 4; Toxiproxy's toxics in VDSM's
 * terms, fake-vdsm-anchors.md section 7): what one host's STOMP server does
 * to a connection or to its events when a `layer: 'wire'` rule fires.
 *
 * Triggered by a request's arrival (match.host, optionally match.method):
 * - `closeConnection`: the connection is destroyed at once, before the
 *   request runs (as if the network died before VDSM read it): the client
 *   sees a drop and fails its pending calls;
 * - `stopHeartbeats`: the server writes no more heart-beats on that
 *   connection (answers still flow), so a client expecting beats declares it
 *   dead once it goes quiet;
 * - `slowBytes: N`: that connection's outbound frames are paced at N bytes/s
 *   on the clock from then on (server/paced-channel.ts).
 * Triggered by an event published to `jms.queue.events` (match.host,
 * optionally match.method = the event's JSON-RPC method, e.g.
 * `|virt|VM_status|...`):
 * - `dropEvents`: nobody gets it; `duplicateEvents`: every subscriber gets it twice.
 *
 * Every firing goes through `FaultEngine.fire`, which applies
 * after/times/probability and logs it.
 */
import type { Logger } from '../logger.js';
import type { FaultEngine, FaultPoint } from './engine.js';
import { EVENT_WIRE_ACTIONS } from './rule.js';
import type { ActionKind } from './rule.js';

/** Wire actions a request's arrival can trigger. */
export const REQUEST_WIRE_ACTIONS = ['closeConnection', 'stopHeartbeats', 'slowBytes'] as const satisfies readonly ActionKind[];
/** Wire actions an event's publication can trigger. */
export { EVENT_WIRE_ACTIONS } from './rule.js';
/** Every wire action kind. */
export const WIRE_ACTIONS = [...REQUEST_WIRE_ACTIONS, ...EVENT_WIRE_ACTIONS] as const satisfies readonly ActionKind[];

/** What a connection lets the wire faults do to it (server/stomp-connection.ts implements it). */
export interface WireFaultTarget {
  /** Names the connection in the firing log (`remote address:port` over its transport). */
  readonly connection: string;
  /** Destroys the connection now, dropping unsent bytes; `reason` goes to the close listeners and logs. */
  closeNow(reason: Error): void;
  /** Writes no heart-beat on this connection from now on. */
  stopHeartbeats(): void;
  /** Paces this connection's outbound bytes at `bytesPerSecond` from now on. */
  slowBytes(bytesPerSecond: number): void;
}

/** The error a `closeConnection` fault closes the connection with (server-side logs only: the client just sees the socket go). */
export class WireFaultCloseError extends Error {
  override readonly name = 'WireFaultCloseError';
}

/** Options of `WireFaults`. */
export interface WireFaultsOptions {
  readonly engine: FaultEngine;
  /** The VDSM host id of the server these faults act on (matched against `match.host`). */
  readonly hostId: number;
  readonly logger: Logger;
}

/** The wire faults of one host's server (see the module comment). */
export class WireFaults {
  readonly #engine: FaultEngine;
  readonly #hostId: number;
  readonly #log: Logger;

  constructor(options: WireFaultsOptions) {
    this.#engine = options.engine;
    this.#hostId = options.hostId;
    this.#log = options.logger;
  }

  /**
   * A request SEND (its body, UTF-8 text) arrived on `target`: fires the
   * first request-triggered wire rule that matches one of its methods (in
   * body order) and applies it.
   *
   * @returns true when the connection was closed: the request must not run.
   */
  onRequest(body: string, target: WireFaultTarget): boolean {
    // The hot path: no wire rule, no second parse of the body.
    if (!this.#armed(REQUEST_WIRE_ACTIONS)) return false;
    for (const request of parseRequests(body)) {
      const fired = this.#engine.fire(this.#point(request, target.connection), REQUEST_WIRE_ACTIONS);
      if (fired === undefined) continue;
      const { action, rule } = fired;
      const logged = { ruleId: rule.id, method: request.method, connection: target.connection };
      if ('closeConnection' in action) {
        this.#log.info(logged, 'Wire fault: closing the connection');
        target.closeNow(new WireFaultCloseError(`fault rule ${rule.id}: connection closed on ${request.method ?? 'a request'}`));
        return true;
      }
      if ('stopHeartbeats' in action) {
        this.#log.info(logged, 'Wire fault: heart-beats stopped');
        target.stopHeartbeats();
      } else if ('slowBytes' in action) {
        this.#log.info({ ...logged, bytesPerSecond: action.slowBytes }, 'Wire fault: outbound bytes slowed');
        target.slowBytes(action.slowBytes);
      }
      // One firing per SEND: a batch does not stack faults on one connection.
      return false;
    }
    return false;
  }

  /**
   * How many times an event (its JSON-RPC notification text) is to be sent
   * to each subscriber: 0 when a `dropEvents` rule fires, 2 for
   * `duplicateEvents`, else 1.
   */
  eventCopies(body: string): number {
    if (!this.#armed(EVENT_WIRE_ACTIONS)) return 1;
    const event = parseRequests(body)[0] ?? NOTHING_PARSED;
    const fired = this.#engine.fire(this.#point(event, undefined), EVENT_WIRE_ACTIONS);
    if (fired === undefined) return 1;
    const copies = 'dropEvents' in fired.action ? 0 : 2;
    this.#log.info({ ruleId: fired.rule.id, event: event.method, copies }, 'Wire fault on an event');
    return copies;
  }

  #point(request: ParsedRequest, connection: string | undefined): FaultPoint {
    return {
      layer: 'wire',
      host: this.#hostId,
      ...(request.method === undefined ? {} : { method: request.method }),
      ...(request.params === undefined ? {} : { params: request.params }),
      ...(connection === undefined ? {} : { connection }),
    };
  }

  /** True when some rule has one of `kinds` as its action (so a fault is worth a parse of the body). */
  #armed(kinds: readonly ActionKind[]): boolean {
    if (this.#engine.empty) return false;
    for (const rule of this.#engine.list()) {
      for (const kind of kinds) if (kind in rule.action) return true;
    }
    return false;
  }
}

/** What a wire point knows of one request (or event) of a body. */
interface ParsedRequest {
  readonly method?: string;
  /** Named params only (a positional array gives none to match on). */
  readonly params?: Readonly<Record<string, unknown>>;
}

const NOTHING_PARSED: ParsedRequest = {};
const NO_REQUEST: readonly ParsedRequest[] = [NOTHING_PARSED];

/**
 * The method and named params of each request in a JSON-RPC body (a batch
 * gives several); one empty entry for a body that has none (garbage, a bare
 * response), so a rule without `match.method` still fires on it.
 */
function parseRequests(body: string): readonly ParsedRequest[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return NO_REQUEST;
  }
  const requests: ParsedRequest[] = [];
  for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const { method, params } = item as { method?: unknown; params?: unknown };
    const named = typeof params === 'object' && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : undefined;
    requests.push({ ...(typeof method === 'string' ? { method } : {}), ...(named === undefined ? {} : { params: named }) });
  }
  return requests.length === 0 ? NO_REQUEST : requests;
}
