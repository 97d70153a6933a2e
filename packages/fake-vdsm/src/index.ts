/**
 * `@vdsm-kit/fake-vdsm`: a fake VDSM host for tests and CI, in-process.
 *
 * ```ts
 * const vdsm = await startFakeVdsm();            // 127.0.0.1, a free port, a temp state dir
 * // connect a client to vdsm.stomp or vdsm.ws ...
 * await vdsm.close();
 * ```
 *
 * `fake-vdsm serve` (cli.ts) runs the same thing as a process and prints the
 * same `ready` object as one JSON line.
 */
import { SCHEMA_METHODS } from '@vdsm-kit/client/api';
import { systemClock } from '@vdsm-kit/client/clock';
import type { Clock } from '@vdsm-kit/client/clock';
import { loadPki } from '@vdsm-kit/client/transport';
import type { TlsCredentials } from '@vdsm-kit/client/transport';
import { hostApi } from './api/host.js';
import { ApiRegistry } from './api/registry.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { FakeVdsmServer } from './server/fake-vdsm-server.js';
import type { StompBroker } from './server/stomp-broker.js';
import { loadHostIdentity, openStateDir } from './state.js';

/** Options of `startFakeVdsm`; every one has a default good for tests. */
export interface FakeVdsmOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: a free one; a real host uses 54321). */
  readonly port?: number;
  /** Server key, certificate and CA: enables mutual TLS. Exclusive with `pkiDir`. */
  readonly tls?: TlsCredentials;
  /** A directory in VDSM's PKI layout (keys/vdsmkey.pem, certs/vdsmcert.pem, certs/cacert.pem) to load `tls` from. */
  readonly pkiDir?: string;
  /**
   * Refuse plain TCP as a real host does (default false: one port serves
   * plain and TLS clients alike, by their first byte). Needs TLS.
   */
  readonly tlsOnly?: boolean;
  /** State directory, created if missing (default: a fresh temporary one, removed on close). */
  readonly stateDir?: string;
  /** Time source for every wait (heart-beats, detection, startup); default the system clock. */
  readonly clock?: Clock;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Answer 99 "Recovering from crash or Initializing" for this long after start (default 0). */
  readonly startupDelayMs?: number;
  /** Refuse unknown params with -32602 (VDSM's `api_strict_mode`); default false, as VDSM. */
  readonly strictParams?: boolean;
  /** Give up on a connection whose protocol is unknown after this long (default 10 s, on `clock`). */
  readonly detectTimeoutMs?: number;
  /** Give up on a TLS handshake after this long (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

/** The one JSON object `fake-vdsm serve` prints when ready (key order is part of the contract). */
export interface ReadyLine {
  readonly event: 'ready';
  readonly stomp: { readonly host: string; readonly port: number };
  /** The WebSocket URL (same port; `wss://` when the server is TLS-only). */
  readonly ws: string;
  /** The control API's URL; none yet. */
  readonly control: null;
  /** The state directory. */
  readonly state: string;
}

/** A running fake VDSM. */
export interface FakeVdsm {
  /** Where STOMP clients connect (plain or TLS, by `tls`/`tlsOnly`). */
  readonly stomp: { readonly host: string; readonly port: number };
  /** STOMP over WebSocket on the same port. */
  readonly ws: string;
  readonly control: null;
  /** The state directory. */
  readonly state: string;
  /** The `ready` line `fake-vdsm serve` prints. */
  readonly ready: ReadyLine;
  /** Subscriptions and routing (e.g. to publish events). */
  readonly broker: StompBroker;
  /** Closes the listener and every connection; removes a temporary state directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a fake VDSM host.
 *
 * @throws TypeError for contradictory options (`tls` with `pkiDir`, `tlsOnly` without TLS);
 *   a `PkiError` for unreadable PKI files; the listen error (EADDRINUSE, ...).
 */
export async function startFakeVdsm(options: FakeVdsmOptions = {}): Promise<FakeVdsm> {
  if (options.tls && options.pkiDir !== undefined) throw new TypeError('Give either tls or pkiDir, not both');
  const tls = options.pkiDir !== undefined ? await loadPki(options.pkiDir) : options.tls;
  if (options.tlsOnly && !tls) throw new TypeError('tlsOnly needs TLS credentials (tls or pkiDir)');

  const state = await openStateDir(options.stateDir);
  let server: FakeVdsmServer;
  try {
    const identity = await loadHostIdentity(state.path);
    server = await FakeVdsmServer.listen({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      tls,
      tlsOnly: options.tlsOnly,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
      registry: new ApiRegistry([hostApi({ identity })]),
      knownMethods: new Set(SCHEMA_METHODS),
      startupDelayMs: options.startupDelayMs,
      strictParams: options.strictParams,
      detectTimeoutMs: options.detectTimeoutMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    });
  } catch (error) {
    await state.dispose();
    throw error;
  }

  const stomp = server.address;
  const ws = `${options.tlsOnly ? 'wss' : 'ws'}://${urlHost(stomp.host)}:${stomp.port}/`;
  const ready: ReadyLine = { event: 'ready', stomp, ws, control: null, state: state.path };
  let closing: Promise<void> | undefined;
  return {
    stomp,
    ws,
    control: null,
    state: state.path,
    ready,
    broker: server.broker,
    close: () => (closing ??= server.close().then(() => state.dispose())),
  };
}

/** An IPv6 literal needs brackets in a URL. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export type { Logger } from './logger.js';
export type { TlsCredentials } from '@vdsm-kit/client/transport';
