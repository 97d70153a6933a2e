/**
 * What the fake was called with: the recent JSON-RPC calls of every host of
 * the process, for tests that ask "was Image.move sent once for this disk?"
 * (`GET /calls`, docs/faults.md).
 *
 * A bounded ring: past `capacity` calls the oldest go. Each call gets a
 * sequence number when it is answered (1, 2, ...), so the ring always holds
 * one unbroken run of them; `since` is such a number, not a time, because a
 * poller passing the `next` it got last sees every later call exactly once,
 * which times (equal for calls in one millisecond, and a call answered late
 * arriving before one answered early) cannot promise. Clearing the ring does
 * not restart the numbers, so a poller's cursor stays good.
 *
 * Params are kept as their JSON text, at most `MAX_RECORDED_PARAMS_CHARS`
 * characters of it (a `Volume.setDescription` or a batch can be large), so
 * the ring's memory is bounded too and no handler's later change to an
 * object reaches the record.
 */
import type { Clock } from '@vdsm-kit/client/clock';
import type { RpcInterceptor } from '../server/rpc-interceptor.js';
import { afterValue } from '../server/maybe-promise.js';
import { answeredCode } from '../server/rpc-interceptor.js';
import type { CallPage, CallQuery, CallView } from './control-api.js';

/** Calls kept by default. */
export const DEFAULT_CALL_LOG_CAPACITY = 1000;

/** Most calls a log may keep (with the params bound, about 8 GiB at worst). */
export const MAX_CALL_LOG_CAPACITY = 1_000_000;

/** Characters of a call's params JSON kept; a longer one is cut there (`paramsTruncated`). */
export const MAX_RECORDED_PARAMS_CHARS = 8192;

/**
 * A kept call: the view, with the params still as JSON text and the wall
 * time as epoch ms (formatted only when listed: `toISOString` per call was a
 * fair share of a pipelined call's cost in the fake).
 */
interface StoredCall extends Omit<CallView, 'params' | 'time'> {
  readonly timeMs: number;
  readonly paramsText: string;
}

/** Options of a `CallLog`. */
export interface CallLogOptions {
  /** The fake's clock: a call's `at` and `durationMs`. */
  readonly clock: Clock;
  /** Calls kept (default DEFAULT_CALL_LOG_CAPACITY). */
  readonly capacity?: number;
}

/** The process's call log (see the module comment). */
export class CallLog {
  readonly capacity: number;
  readonly #clock: Clock;
  /** The ring: `#ring[(#start + i) % capacity]` is the call numbered `#lastSeq - #size + 1 + i`. */
  readonly #ring: (StoredCall | undefined)[];
  #start = 0;
  #size = 0;
  #lastSeq = 0;

  /** @throws RangeError for a capacity that is not an integer 1..MAX_CALL_LOG_CAPACITY. */
  constructor(options: CallLogOptions) {
    const capacity = options.capacity ?? DEFAULT_CALL_LOG_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CALL_LOG_CAPACITY) {
      throw new RangeError(`the call log keeps 1 to ${MAX_CALL_LOG_CAPACITY} calls, not ${capacity}`);
    }
    this.capacity = capacity;
    this.#clock = options.clock;
    this.#ring = new Array<StoredCall | undefined>(capacity);
  }

  /** Records every call `hostId` answers, when it is answered. */
  interceptor(hostId: number): RpcInterceptor {
    return (next) => (call, context) => {
      const at = this.#clock.now();
      const timeMs = Date.now();
      return afterValue(next(call, context), (response) => {
        const text = paramsJson(call.params);
        this.#append({
          seq: 0,
          at,
          timeMs,
          durationMs: this.#clock.now() - at,
          host: hostId,
          connection: context.connection.id ?? null,
          transport: context.connection.transport,
          flowId: context.flowId ?? null,
          // An integer id beyond 2^53 arrives as a bigint (echoed exactly); JSON has no bigint, so its digits go as a string.
          id: typeof call.id === 'bigint' ? call.id.toString() : (call.id ?? null),
          method: call.method,
          paramsText: text.slice(0, MAX_RECORDED_PARAMS_CHARS),
          paramsTruncated: text === '' || text.length > MAX_RECORDED_PARAMS_CHARS,
          code: answeredCode(call, response),
        });
        return response;
      });
    };
  }

  /** The held calls after `query.since` (of `query.method` only, when given), oldest first. */
  list(query: CallQuery = {}): CallPage {
    const since = query.since ?? 0;
    const oldest = this.#lastSeq - this.#size + 1;
    const calls: CallView[] = [];
    for (let seq = Math.max(since + 1, oldest); seq <= this.#lastSeq; seq++) {
      const stored = this.#ring[(this.#start + seq - oldest) % this.capacity] as StoredCall;
      if (query.method === undefined || stored.method === query.method) calls.push(view(stored));
    }
    return { calls, next: this.#lastSeq, dropped: Math.max(0, oldest - 1 - since) };
  }

  /** Empties the log; returns how many calls it held. */
  clear(): number {
    const removed = this.#size;
    this.#ring.fill(undefined);
    this.#start = 0;
    this.#size = 0;
    return removed;
  }

  /** Keeps `stored` (its `seq` is set here; one object per call, no copy). */
  #append(stored: Mutable<StoredCall, 'seq'>): void {
    stored.seq = ++this.#lastSeq;
    if (this.#size < this.capacity) {
      this.#ring[(this.#start + this.#size) % this.capacity] = stored;
      this.#size++;
    } else {
      this.#ring[this.#start] = stored;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }
}

/** `T` with `K` writable. */
type Mutable<T, K extends keyof T> = Omit<T, K> & { -readonly [P in K]: T[P] };

/** The params' JSON text; '' for params nested too deep to write out (JSON.parse took them, the stack cannot). */
function paramsJson(params: unknown): string {
  try {
    return JSON.stringify(params);
  } catch {
    return '';
  }
}

function view(stored: StoredCall): CallView {
  const { paramsText, paramsTruncated } = stored;
  return {
    seq: stored.seq,
    at: stored.at,
    time: new Date(stored.timeMs).toISOString(),
    durationMs: stored.durationMs,
    host: stored.host,
    connection: stored.connection,
    transport: stored.transport,
    flowId: stored.flowId,
    id: stored.id,
    method: stored.method,
    params: paramsTruncated ? paramsText : (JSON.parse(paramsText) as unknown),
    paramsTruncated,
    code: stored.code,
  };
}
