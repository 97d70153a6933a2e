/**
 * The fake's metrics in the Prometheus text format (`GET /metrics`), on
 * prom-client with a registry of this fake's own: the default registry is
 * one per process, and several fakes in one test process must not add to
 * each other's counts.
 *
 * Calls are counted as they are answered (an interceptor, like the call
 * log), into a plain map that the calls counter folds in whenever it is read
 * (its `collect`): prom-client hashes the label set on every `inc`, a cost a
 * pipelined client pays per call, while a scrape sees the same counts.
 * Tasks and open connections are read when scraped; copied and wiped bytes
 * come from the storage's data meter as the work advances.
 */
import { SCHEMA_METHODS } from '@vdsm-kit/client/api';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RpcInterceptor } from '../server/rpc-interceptor.js';
import { afterValue } from '../server/maybe-promise.js';
import { answeredCode } from '../server/rpc-interceptor.js';
import type { DataMeter } from '../storage/data-meter.js';

/** The `content-type` of the metrics text. */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/** The `method` label of a call to a method VDSM does not have: clients cannot make labels without end. */
export const UNKNOWN_METHOD_LABEL = 'unknown';

/** The `code` label of a call nothing was answered to (a `noAnswer` fault, a notification). */
export const NO_ANSWER_LABEL = 'none';

const KNOWN_METHODS: ReadonlySet<string> = new Set(SCHEMA_METHODS);

/** The label values of one count of `fake_vdsm_rpc_calls_total`. */
interface CallLabels {
  readonly host: string;
  readonly method: string;
  readonly code: string;
}

/** Calls of one label set not yet added to the counter. */
interface UncountedCalls {
  readonly labels: CallLabels;
  calls: number;
}

/** What the scrape-time metrics read; both empty while the fake is crashed. */
export interface MetricsSources {
  /** Every stored task's verb and (VDSM-internal) state. */
  tasks(): readonly { readonly verb: string; readonly state: string }[];
  /** Every served host and its open STOMP connections. */
  hosts(): readonly { readonly id: number; readonly openConnections: number }[];
}

/** One fake's metrics (see the module comment). */
export class FakeMetrics {
  /** This fake's registry (merge it into another with `Registry.merge` to scrape both at once). */
  readonly registry = new Registry();
  /** Where the storage counts the bytes of copies and wipes. */
  readonly dataMeter: DataMeter;
  /**
   * Calls answered since the counter last read them, by host, then method
   * label, then the code answered (null: none): nested maps of the values as
   * they come, so counting a call builds no key string.
   */
  readonly #uncounted = new Map<string, Map<string, Map<number | null, UncountedCalls>>>();

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const uncounted = this.#uncounted;
    new Counter({
      name: 'fake_vdsm_rpc_calls_total',
      help: 'JSON-RPC calls answered, by host, method and the code answered (0 for a result, "none" when no answer was sent)',
      labelNames: ['host', 'method', 'code'],
      registers,
      collect() {
        for (const byMethod of uncounted.values()) {
          for (const byCode of byMethod.values()) for (const { labels, calls } of byCode.values()) this.inc(labels, calls);
          // Emptied, not dropped: the host's interceptor keeps counting into this map.
          byMethod.clear();
        }
      },
    });
    new Gauge({
      name: 'fake_vdsm_tasks',
      help: 'Stored tasks (until Task.clear), by verb and VDSM-internal state',
      labelNames: ['verb', 'state'],
      registers,
      collect() {
        this.reset();
        for (const task of sources.tasks()) this.inc({ verb: task.verb, state: task.state });
      },
    });
    new Gauge({
      name: 'fake_vdsm_connections_open',
      help: 'STOMP connections open (TCP, TLS and WebSocket), by host',
      labelNames: ['host'],
      registers,
      collect() {
        this.reset();
        for (const host of sources.hosts()) this.set({ host: String(host.id) }, host.openConnections);
      },
    });
    const copied = new Counter({
      name: 'fake_vdsm_copied_bytes_total',
      help: 'Guest-visible bytes of volumes copied (Image.move, Image.syncData, Volume.copy), counted as the copies advance',
      registers,
    });
    const wiped = new Counter({
      name: 'fake_vdsm_wiped_bytes_total',
      help: 'Bytes of volumes zeroed by postZero wipes, counted as the wipes advance',
      registers,
    });
    this.dataMeter = { copied: (bytes) => copied.inc(bytes), wiped: (bytes) => wiped.inc(bytes) };
  }

  /** Counts every call `hostId` answers, when it is answered. */
  interceptor(hostId: number): RpcInterceptor {
    const host = String(hostId);
    let byMethod = this.#uncounted.get(host);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#uncounted.set(host, byMethod);
    }
    const counts = byMethod;
    return (next) => (call, context) =>
      afterValue(next(call, context), (response) => {
        const answered = answeredCode(call, response);
        const method = KNOWN_METHODS.has(call.method) ? call.method : UNKNOWN_METHOD_LABEL;
        let byCode = counts.get(method);
        if (byCode === undefined) {
          byCode = new Map();
          counts.set(method, byCode);
        }
        const entry = byCode.get(answered);
        if (entry === undefined) byCode.set(answered, { labels: { host, method, code: answered === null ? NO_ANSWER_LABEL : String(answered) }, calls: 1 });
        else entry.calls++;
        return response;
      });
  }

  /** The metrics text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
