/**
 * Routes VDSM events (JSON-RPC notifications on `jms.queue.events`) to
 * listeners by event id.
 *
 * VDSM event ids have four `|`-separated segments,
 * `<receiver>|<component>|<operation>|<unique id>`, with an empty receiver
 * as VDSM sends them (`|virt|VM_status|<vmId>`; the engine puts its host name
 * there). A pattern is either an exact id, the same four segments with `*`
 * for "any value" in some of them (`|virt|VM_status|*`, `*|*|VM_status|*`),
 * or a lone `*` for every event. Like the engine's `SubscriptionMatcher`,
 * but `*|*|*|*` is allowed (it means every four-segment id).
 */

/** One event as VDSM sends it: `{jsonrpc: '2.0', method: <id>, params: {..., notify_time}}`. */
export interface VdsmEvent {
  /** The event id (the JSON-RPC `method`), e.g. `|virt|VM_status|<vmId>`. */
  readonly id: string;
  /** The event's params; VDSM always adds `notify_time`. */
  readonly params: Readonly<Record<string, unknown>>;
}

export type VdsmEventListener = (event: VdsmEvent) => void;

/** Options of an `EventRouter`. */
export interface EventRouterOptions {
  /**
   * Gets what a listener threw (routing goes on regardless). Default: a
   * process warning, so a broken listener is visible but never fatal.
   */
  readonly onListenerError?: (error: unknown, event: VdsmEvent) => void;
}

/** The pattern that matches every event. */
export const ALL_EVENTS = '*';

const SEGMENT_SEPARATOR = '|';
const ANY = '*';

interface WildcardListener {
  /** The pattern's segments; `*` matches any value of that segment. */
  readonly segments: readonly string[];
  readonly listener: VdsmEventListener;
}

/**
 * Listeners by event-id pattern. `dispatch` costs one map lookup for exact
 * ids plus one segment comparison per wildcard listener.
 */
export class EventRouter {
  readonly #exact = new Map<string, Set<VdsmEventListener>>();
  /** Wildcard and catch-all listeners, in subscription order. */
  #wildcards: readonly WildcardListener[] = [];
  readonly #onListenerError: (error: unknown, event: VdsmEvent) => void;

  constructor(options: EventRouterOptions = {}) {
    this.#onListenerError = options.onListenerError ?? warnListenerError;
  }

  /** The number of registered listeners. */
  get size(): number {
    let size = this.#wildcards.length;
    for (const listeners of this.#exact.values()) size += listeners.size;
    return size;
  }

  /**
   * Calls `listener` for every event whose id matches `pattern`. Returns the
   * function that removes it (idempotent). Adding the same listener twice
   * under one pattern calls it twice.
   */
  on(pattern: string, listener: VdsmEventListener): () => void {
    if (typeof pattern !== 'string' || pattern === '') throw new TypeError('An event pattern must be a non-empty string');
    if (pattern !== ALL_EVENTS && !pattern.includes(ANY)) return this.#onExact(pattern, listener);
    // A lone `*` is kept as zero segments: it matches whatever the id looks like.
    const entry: WildcardListener = { segments: pattern === ALL_EVENTS ? [] : pattern.split(SEGMENT_SEPARATOR), listener };
    // Copy on write: a listener that unsubscribes during dispatch must not disturb the running loop.
    this.#wildcards = [...this.#wildcards, entry];
    return () => {
      this.#wildcards = this.#wildcards.filter((candidate) => candidate !== entry);
    };
  }

  /** Delivers `event` to every matching listener, in subscription order within each kind (exact ones first). */
  dispatch(event: VdsmEvent): void {
    const exact = this.#exact.get(event.id);
    if (exact) {
      for (const listener of [...exact]) this.#call(listener, event);
    }
    const wildcards = this.#wildcards;
    if (wildcards.length === 0) return;
    let segments: string[] | undefined;
    for (const { segments: pattern, listener } of wildcards) {
      if (pattern.length > 0) {
        segments ??= event.id.split(SEGMENT_SEPARATOR);
        if (!matches(pattern, segments)) continue;
      }
      this.#call(listener, event);
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#exact.clear();
    this.#wildcards = [];
  }

  #onExact(id: string, listener: VdsmEventListener): () => void {
    let listeners = this.#exact.get(id);
    if (!listeners) {
      listeners = new Set();
      this.#exact.set(id, listeners);
    }
    // A Set would merge duplicates; wrap so each `on` gets its own entry and its own removal.
    const entry: VdsmEventListener = (event) => listener(event);
    listeners.add(entry);
    return () => {
      const current = this.#exact.get(id);
      if (!current?.delete(entry)) return;
      if (current.size === 0) this.#exact.delete(id);
    };
  }

  #call(listener: VdsmEventListener, event: VdsmEvent): void {
    try {
      listener(event);
    } catch (error) {
      try {
        this.#onListenerError(error, event);
      } catch {
        // The error hook itself failed; routing must still go on.
      }
    }
  }
}

function matches(pattern: readonly string[], segments: readonly string[]): boolean {
  if (pattern.length !== segments.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i];
    if (expected !== ANY && expected !== segments[i]) return false;
  }
  return true;
}

function warnListenerError(error: unknown, event: VdsmEvent): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.emitWarning(`A VDSM event listener for ${event.id} threw: ${detail}`, 'VdsmEventListenerWarning');
}
