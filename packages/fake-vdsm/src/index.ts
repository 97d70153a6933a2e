/**
 * `@vdsm-kit/fake-vdsm`: a fake VDSM storage host for tests and CI, in-process.
 *
 * ```ts
 * const vdsm = await startFakeVdsm();            // 127.0.0.1, a free port, a temp state dir, the default fixture
 * // connect a client to vdsm.stomp or vdsm.ws ...
 * await vdsm.close();
 * ```
 *
 * One process serves N hosts (`hosts`), each on its own port with its own
 * host id, all connected to the pool and sharing its storage (one SQLite
 * state, one task manager, one set of locks). `fake-vdsm serve` (cli.ts)
 * runs the same thing as a process and prints the same `ready` object as
 * one JSON line.
 */
import { systemClock } from '@vdsm-kit/client/clock';
import type { Clock } from '@vdsm-kit/client/clock';
import { loadPki } from '@vdsm-kit/client/transport';
import type { TlsCredentials } from '@vdsm-kit/client/transport';
import { FakeHost, hostPort } from './host/fake-host.js';
import type { HostAddress, HostListenOptions } from './host/fake-host.js';
import { openStorageHost } from './host/storage-host.js';
import type { StorageHost } from './host/storage-host.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { readFixtureFile } from './model/fixture.js';
import type { FixtureInput } from './model/fixture.js';
import type { StompBroker } from './server/stomp-broker.js';
import { openStateDir } from './state.js';
import type { StateDir } from './state.js';
import { ScaledClock } from './time/scaled-clock.js';

/** Options of `startFakeVdsm`; every one has a default good for tests. */
export interface FakeVdsmOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /**
   * Port of the first host (default 0: a free one; a real host uses 54321).
   * Host i (0-based) listens on `port + i` when `port` is not 0, else on a
   * free port of its own.
   */
  readonly port?: number;
  /** Server key, certificate and CA: enables mutual TLS (every host). Exclusive with `pkiDir`. */
  readonly tls?: TlsCredentials;
  /** A directory in VDSM's PKI layout (keys/vdsmkey.pem, certs/vdsmcert.pem, certs/cacert.pem) to load `tls` from. */
  readonly pkiDir?: string;
  /**
   * Refuse plain TCP as a real host does (default false: one port serves
   * plain and TLS clients alike, by their first byte). Needs TLS.
   */
  readonly tlsOnly?: boolean;
  /**
   * State directory, created if missing (default: a fresh temporary one,
   * removed on close). A directory with state keeps it: the fixture is
   * applied only to a fresh one, and interrupted tasks are recovered.
   */
  readonly stateDir?: string;
  /**
   * How many hosts to serve (default: every host the state has, at least
   * one; the default fixture has one). Missing hosts are added, connected to
   * the pool.
   */
  readonly hosts?: number;
  /**
   * What a fresh state directory is seeded with: a fixture object, or the
   * path of a fixture JSON file (docs/fixture.md). Default: the default
   * fixture (one pool, an NFS and an iSCSI domain, one disk with data).
   */
  readonly fixture?: FixtureInput | string;
  /**
   * Time source for every wait: heart-beats, detection, startup, and the
   * storage model's (lock timeouts, wipe pacing). Default: the system clock.
   * Exclusive with `timeScale`.
   */
  readonly clock?: Clock;
  /**
   * Runs the storage model's time `timeScale` times as fast as real time
   * (0.01: a 100 s wipe takes 1 s); the protocol keeps real time.
   */
  readonly timeScale?: number;
  /** Pace of a block-domain postZero wipe, in bytes of volume size per second (default 100 MiB/s). */
  readonly wipeBytesPerSecond?: number;
  /** Copy with the built-in zero-skipping copier even when qemu-img is installed (default false). */
  readonly forceBuiltinCopier?: boolean;
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

/**
 * The one JSON object `fake-vdsm serve` prints when ready (key order is part
 * of the contract: the first five keys are those of a single-host fake, and
 * `stomp`/`ws` are the first host's).
 */
export interface ReadyLine {
  readonly event: 'ready';
  readonly stomp: { readonly host: string; readonly port: number };
  /** The WebSocket URL (same port; `wss://` when the server is TLS-only). */
  readonly ws: string;
  /** The control API's URL; none yet. */
  readonly control: null;
  /** The state directory. */
  readonly state: string;
  /** Every host, by id: `{id, stomp, ws}`. */
  readonly hosts: readonly HostAddress[];
}

/** A running fake VDSM. */
export interface FakeVdsm {
  /** Where the first host's STOMP clients connect (plain or TLS, by `tls`/`tlsOnly`). */
  readonly stomp: { readonly host: string; readonly port: number };
  /** The first host's STOMP over WebSocket, on the same port. */
  readonly ws: string;
  readonly control: null;
  /** The state directory. */
  readonly state: string;
  /** Every host, by id. */
  readonly hosts: readonly HostAddress[];
  /** The `ready` line `fake-vdsm serve` prints. */
  readonly ready: ReadyLine;
  /** The first host's subscriptions and routing (e.g. to publish events). */
  readonly broker: StompBroker;
  /** The shared storage side (store, tasks, locks, clock, startup report), for tests that look inside. */
  readonly storage: StorageHost;
  /**
   * Closes every host's listener and connections, lets go of running jobs
   * without changing their persisted state (a restart on the same state
   * directory recovers them as after a crash), closes the database and
   * removes a temporary state directory. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts a fake VDSM process: the storage, then every host.
 *
 * @throws TypeError for contradictory options (`tls` with `pkiDir`, `tlsOnly` without TLS,
 *   `clock` with `timeScale`); RangeError for a bad port, host count, time scale or wipe rate;
 *   a `PkiError` for unreadable PKI files; a `FixtureError` for an invalid fixture;
 *   the listen error (EADDRINUSE, ...). Nothing stays open after a failure.
 */
export async function startFakeVdsm(options: FakeVdsmOptions = {}): Promise<FakeVdsm> {
  if (options.tls && options.pkiDir !== undefined) throw new TypeError('Give either tls or pkiDir, not both');
  if (options.clock !== undefined && options.timeScale !== undefined) throw new TypeError('Give either clock or timeScale, not both');
  const tls = options.pkiDir !== undefined ? await loadPki(options.pkiDir) : options.tls;
  if (options.tlsOnly && !tls) throw new TypeError('tlsOnly needs TLS credentials (tls or pkiDir)');
  const firstPort = options.port ?? 0;
  const protocolClock = options.clock ?? systemClock;
  const storageClock = options.clock ?? (options.timeScale !== undefined ? new ScaledClock(options.timeScale) : systemClock);
  const logger = options.logger ?? silentLogger;
  const fixture = typeof options.fixture === 'string' ? await readFixtureFile(options.fixture) : options.fixture;

  const state = await openStateDir(options.stateDir);
  let storage: StorageHost | undefined;
  const hosts: FakeHost[] = [];
  try {
    storage = await openStorageHost({
      stateDir: state.path,
      fixture,
      fixtureSource: typeof options.fixture === 'string' ? options.fixture : undefined,
      hosts: options.hosts,
      clock: storageClock,
      logger,
      wipeBytesPerSecond: options.wipeBytesPerSecond,
      forceBuiltinCopier: options.forceBuiltinCopier,
    });
    const listen: Omit<HostListenOptions, 'port'> = {
      host: options.host ?? '127.0.0.1',
      tls,
      tlsOnly: options.tlsOnly,
      clock: protocolClock,
      logger,
      startupDelayMs: options.startupDelayMs,
      strictParams: options.strictParams,
      detectTimeoutMs: options.detectTimeoutMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
    };
    // Every port is checked before the first host listens.
    const ports = storage.hosts.map((_, index) => hostPort(firstPort, index));
    for (const [index, record] of storage.hosts.entries()) {
      hosts.push(await FakeHost.start(record, storage.contextFor(record.id), { ...listen, port: ports[index] ?? 0 }));
    }
  } catch (error) {
    await closeAll(hosts, storage, state);
    throw error;
  }

  const first = hosts[0] as FakeHost;
  const addresses = hosts.map((host) => host.address);
  const { stomp, ws } = first.address;
  const ready: ReadyLine = { event: 'ready', stomp, ws, control: null, state: state.path, hosts: addresses };
  const opened = storage;
  let closing: Promise<void> | undefined;
  return {
    stomp,
    ws,
    control: null,
    state: state.path,
    hosts: addresses,
    ready,
    broker: first.broker,
    storage: opened,
    close: () => (closing ??= closeAll(hosts, opened, state)),
  };
}

/** Hosts first (no call reaches the storage any more), then the storage, then the state directory. */
async function closeAll(hosts: readonly FakeHost[], storage: StorageHost | undefined, state: StateDir): Promise<void> {
  await Promise.all(hosts.map((host) => host.close()));
  await storage?.close();
  await state.dispose();
}

export type { Logger } from './logger.js';
export type { TlsCredentials } from '@vdsm-kit/client/transport';
export type { HostAddress } from './host/fake-host.js';
export type { StartupReport, StorageHost } from './host/storage-host.js';
export type { ReconcileReport, VolumeKey } from './host/reconcile.js';
export type { FixtureInput } from './model/fixture.js';
export { FixtureError } from './model/fixture.js';
export { DEFAULT_IDS, defaultFixture } from './model/default-fixture.js';
export { ScaledClock } from './time/scaled-clock.js';
