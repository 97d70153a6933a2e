/**
 * One fake VDSM host: its own listening server (own port, own STOMP broker
 * and connections), its own host id and identity, and verbs that see the
 * shared storage through this host's `StorageContext`. Several of them in
 * one process share the StateStore, TaskManager and locks, as real hosts
 * share the pool's storage: the same call answers as the SPM on one
 * host's port and with 654 on another's.
 */
import { SCHEMA_METHODS } from '@vdsm-kit/client/api';
import type { Clock } from '@vdsm-kit/client/clock';
import type { TlsCredentials } from '@vdsm-kit/client/transport';
import { hostApi } from '../api/host.js';
import { ApiRegistry } from '../api/registry.js';
import { storageApi } from '../api/storage.js';
import { jobStatusEventBody } from '../jobs/job-events.js';
import type { Logger } from '../logger.js';
import type { HostRecord } from '../model/records.js';
import type { ConnectionLimits } from '../server/connection-limits.js';
import { FakeVdsmServer } from '../server/fake-vdsm-server.js';
import type { RpcInterceptor } from '../server/rpc-interceptor.js';
import type { StompBroker } from '../server/stomp-broker.js';
import type { StorageContext } from '../storage/context.js';

/** How a host listens (the protocol options of `startFakeVdsm`). */
export interface HostListenOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls?: TlsCredentials;
  readonly tlsOnly?: boolean;
  /** The protocol's clock (heart-beats, detection, startup delay). */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly startupDelayMs?: number;
  readonly strictParams?: boolean;
  readonly detectTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** Hooks around every JSON-RPC call this host answers, made for its host id (the call log, the metrics). */
  readonly interceptors?: (hostId: number) => readonly RpcInterceptor[];
}

/** Where a host listens, as the ready line reports it. */
export interface HostAddress {
  /** VDSM host id (1..N). */
  readonly id: number;
  readonly stomp: { readonly host: string; readonly port: number };
  /** STOMP over WebSocket on the same port (`wss://` when TLS-only). */
  readonly ws: string;
}

/** A listening fake host. */
export class FakeHost {
  /** VDSM host id. */
  readonly id: number;
  /** The host's uuid (`Host.getCapabilities` `uuid`). */
  readonly uuid: string;
  /** Its calls' view of the storage. */
  readonly context: StorageContext;
  /** Where it listens. */
  readonly address: HostAddress;
  readonly #server: FakeVdsmServer;

  private constructor(record: HostRecord, context: StorageContext, server: FakeVdsmServer, tlsOnly: boolean) {
    this.id = record.id;
    this.uuid = record.uuid;
    this.context = context;
    this.#server = server;
    const stomp = server.address;
    this.address = { id: record.id, stomp, ws: `${tlsOnly ? 'wss' : 'ws'}://${urlHost(stomp.host)}:${stomp.port}/` };
  }

  /**
   * Starts listening as host `record` with the verbs of the Host namespace
   * and every storage namespace.
   *
   * @throws the listen error (EADDRINUSE, ...); nothing is left open then.
   */
  static async start(record: HostRecord, context: StorageContext, listen: HostListenOptions): Promise<FakeHost> {
    const logger = listen.logger.child({ hostId: record.id });
    const server = await FakeVdsmServer.listen({
      host: listen.host,
      port: listen.port,
      tls: listen.tls,
      tlsOnly: listen.tlsOnly,
      clock: listen.clock,
      logger,
      registry: new ApiRegistry([hostApi({ identity: { uuid: record.uuid } }), ...storageApi(context)]),
      knownMethods: new Set(SCHEMA_METHODS),
      startupDelayMs: listen.startupDelayMs,
      strictParams: listen.strictParams,
      detectTimeoutMs: listen.detectTimeoutMs,
      handshakeTimeoutMs: listen.handshakeTimeoutMs,
      connectionLimits: listen.connectionLimits,
      // The process's one engine: its RPC and wire rules meet this host's calls, `match.host` is this id.
      ...(context.faults === undefined ? {} : { faults: context.faults }),
      hostId: record.id,
      ...(listen.interceptors === undefined ? {} : { interceptors: listen.interceptors(record.id) }),
    });
    // The host's job ends go out as `|jobs|status|<id>` events to its own subscribers.
    context.hostJobs?.table(record.id).onEnded((info) => server.broker.publishEvent(jobStatusEventBody(info, listen.clock.now())));
    return new FakeHost(record, context, server, listen.tlsOnly ?? false);
  }

  /** Subscriptions and routing of this host's connections (e.g. to publish events). */
  get broker(): StompBroker {
    return this.#server.broker;
  }

  /** STOMP connections open on this host now. */
  get openConnections(): number {
    return this.#server.openConnections;
  }

  /** Stops listening and closes every connection of this host. Idempotent. */
  close(): Promise<void> {
    return this.#server.close();
  }
}

/**
 * The port of host `index` (0-based): consecutive ports from a given one,
 * or a free port each when the first is 0.
 *
 * @throws RangeError when a port would pass 65535.
 */
export function hostPort(firstPort: number, index: number): number {
  if (firstPort === 0) return 0;
  const port = firstPort + index;
  if (port > 65535) throw new RangeError(`host ${index + 1} would listen on port ${port}, past 65535`);
  return port;
}

/** An IPv6 literal needs brackets in a URL. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
