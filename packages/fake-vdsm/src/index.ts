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
import type { HostRecord } from './model/records.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { defaultFixture } from './model/default-fixture.js';
import { readFixtureFile } from './model/fixture.js';
import type { FixtureInput } from './model/fixture.js';
import type { ConnectionLimits } from './server/connection-limits.js';
import type { StompBroker } from './server/stomp-broker.js';
import { openStateDir } from './state.js';
import type { StateDir } from './state.js';
import { ScaledClock } from './time/scaled-clock.js';
import { FaultEngine } from './faults/engine.js';
import { ControlError } from './control/control-api.js';
import type { ControlApi } from './control/control-api.js';
import { controlMethods } from './control/delegate.js';
import { startControlServer } from './control/http-server.js';
import type { ControlServer } from './control/http-server.js';
import { InProcessControl } from './control/in-process-control.js';
import { CallLog } from './control/call-log.js';
import { FakeMetrics } from './control/metrics.js';

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
  /**
   * VDSM's `[irs] max_tasks`: storage tasks that may wait for a worker
   * (default 500); a verb that would queue one more is refused with 405
   * `TaskManager error, unable to add task: ()`. A RangeError unless an integer >= 1.
   */
  readonly maxTasks?: number;
  /**
   * VDSM's `[jobs] autodelete_delay` in ms of storage time: an ended SDM
   * host job stays listed by `Host.getJobs` (and its id taken) this long
   * (default 3600 s); negative: for good. A RangeError unless finite.
   */
  readonly jobAutodeleteMs?: number;
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
  /**
   * Bounds against misbehaving clients, on the protocol clock (server/connection-limits.ts:
   * DISCONNECT linger 10 s, unfinished-frame timeout 60 s, 1 MiB of queued replies per
   * connection, 128 MiB of unfinished frames in all). A RangeError for one not > 0.
   */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** Seed of the fault engine's PRNG (default: a random one, readable as `faults.seed`). */
  readonly seed?: number;
  /** Fault rules to start with, in order (faults/rule.ts `FaultRule`; a FaultRuleError when invalid). */
  readonly faults?: readonly unknown[];
  /**
   * Address of the control API (docs/faults.md): loopback only, a RangeError
   * for anything else (default 127.0.0.1, whatever `host` is).
   */
  readonly controlHost?: string;
  /** Port of the control API (default 0: a free one; the URL is `control`). */
  readonly controlPort?: number;
  /** Bearer token the control API requires (default: none). */
  readonly controlToken?: string;
  /**
   * `crash()` (and the `/crash` route) SIGKILLs this process instead of
   * stopping the fake in-process, for `fake-vdsm serve` under a supervisor
   * (default false).
   */
  readonly crashExitsProcess?: boolean;
  /** JSON-RPC calls the call log keeps (`GET /calls`; default 1000, at most 1,000,000; a RangeError otherwise). */
  readonly callLogCapacity?: number;
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
  /** The control API's URL (`http://127.0.0.1:PORT`). */
  readonly control: string;
  /** The state directory. */
  readonly state: string;
  /** Every host, by id: `{id, stomp, ws}`. */
  readonly hosts: readonly HostAddress[];
}

/**
 * A running fake VDSM. The control operations (`ControlApi`: faults, reset,
 * inspect, data, clock, invariants, crash/restart, calls, metrics) are methods of it, the
 * same ones `ControlClient` offers over HTTP at `control`.
 */
export interface FakeVdsm extends ControlApi {
  /** Where the first host's STOMP clients connect (plain or TLS, by `tls`/`tlsOnly`). */
  readonly stomp: { readonly host: string; readonly port: number };
  /** The first host's STOMP over WebSocket, on the same port. */
  readonly ws: string;
  /** The control API's URL. */
  readonly control: string;
  /** The state directory. */
  readonly state: string;
  /** Every host, by id. */
  readonly hosts: readonly HostAddress[];
  /** The `ready` line `fake-vdsm serve` prints. */
  readonly ready: ReadyLine;
  /** The first host's subscriptions and routing (e.g. to publish events). ControlError 'unavailable' while crashed. */
  readonly broker: StompBroker;
  /**
   * The shared storage side (store, tasks, locks, clock, startup report), for
   * tests that look inside; a new one after `restart()`. ControlError
   * 'unavailable' while crashed.
   */
  readonly storage: StorageHost;
  /** The process's one fault engine (rules, firing log, seed); kept across crash() and restart(). */
  readonly faults: FaultEngine;
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
  // One engine for the process, made once so crash()/restart() keep its rules, counters and PRNG.
  const faults = new FaultEngine({ clock: storageClock, logger, rules: options.faults, ...(options.seed === undefined ? {} : { seed: options.seed }) });
  const fixture = typeof options.fixture === 'string' ? await readFixtureFile(options.fixture) : options.fixture;
  // Like the fault engine, one each for the process: they see every host and outlive crash()/restart().
  const calls = new CallLog({ clock: storageClock, ...(options.callLogCapacity === undefined ? {} : { capacity: options.callLogCapacity }) });

  const state = await openStateDir(options.stateDir);
  let storage: StorageHost | undefined;
  let hosts: FakeHost[] = [];
  let controlServer: ControlServer | undefined;
  let api: ControlApi | undefined;
  const metrics = new FakeMetrics({
    // Nothing while crashed or closed (a closed database cannot be read).
    tasks: () => (storage === undefined || closing !== undefined ? [] : storage.tasks.listRecords()),
    hosts: () => (closing !== undefined ? [] : hosts),
  });
  const openStorage = (): Promise<StorageHost> =>
    openStorageHost({
      stateDir: state.path,
      fixture,
      fixtureSource: typeof options.fixture === 'string' ? options.fixture : undefined,
      hosts: options.hosts,
      clock: storageClock,
      logger,
      wipeBytesPerSecond: options.wipeBytesPerSecond,
      forceBuiltinCopier: options.forceBuiltinCopier,
      maxTasks: options.maxTasks,
      jobAutodeleteMs: options.jobAutodeleteMs,
      faults,
      // A {crash: true} fault: SIGKILL under serve, else this fake's own crash() (declared below, called later).
      crash: { mode: options.crashExitsProcess ? 'exit' : 'emulate', onCrash: () => crash(), onHostCrash: (hostId) => crashHost(hostId) },
      meter: metrics.dataMeter,
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
      connectionLimits: options.connectionLimits,
      interceptors: (hostId) => [calls.interceptor(hostId), metrics.interceptor(hostId)],
  };
  const startHosts = async (opened: StorageHost, ports: readonly number[], started: FakeHost[]): Promise<void> => {
    for (const [index, record] of opened.hosts.entries()) {
      started.push(await FakeHost.start(record, opened.contextFor(record.id), { ...listen, port: ports[index] ?? 0 }));
    }
  };

  // The running parts; both undefined while crashed (between crash() and restart()).
  let crashing: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const running = (): { storage: StorageHost; hosts: FakeHost[] } => {
    if (storage === undefined || closing !== undefined) throw new ControlError('unavailable', 'the fake is crashed or closed (restart() starts it again)');
    return { storage, hosts };
  };
  const crash = async (): Promise<void> => {
    // Under `serve`: die as a real crash does, nothing flushed, nothing closed.
    if (options.crashExitsProcess) process.kill(process.pid, 'SIGKILL');
    if (storage === undefined) return crashing;
    const [crashedHosts, crashedStorage] = [hosts, storage];
    storage = undefined;
    hosts = [];
    // Hosts drop every socket; the storage lets go of running jobs WITHOUT persisting anything (StorageHost.close).
    crashing = (async () => {
      await Promise.all(crashedHosts.map((host) => host.close()));
      await crashedStorage.close();
    })();
    return crashing;
  };

  // Hosts crashed alone (crashHost), by id: the port each comes back on.
  const downHosts = new Map<number, number>();
  const crashHost = async (hostId: number): Promise<void> => {
    const { storage: opened, hosts: up } = running();
    const host = up.find((candidate) => candidate.id === hostId);
    if (host === undefined) {
      if (downHosts.has(hostId)) return;
      throw new ControlError('not_found', `the fake serves no host ${hostId}`);
    }
    const pool = opened.store.spmPoolOf(hostId);
    if (pool !== undefined) {
      throw new ControlError('conflict', `host ${hostId} is the SPM of pool ${pool}: crash() the fake, or move the role first (a loseSpm fault)`);
    }
    hosts = up.filter((candidate) => candidate !== host);
    downHosts.set(hostId, host.address.stomp.port);
    opened.crashHost(hostId);
    await host.close();
  };
  const restartHost = async (hostId: number): Promise<void> => {
    const { storage: opened } = running();
    const port = downHosts.get(hostId);
    if (port === undefined) {
      if (hosts.some((candidate) => candidate.id === hostId)) throw new ControlError('conflict', `host ${hostId} is running: crashHost(${hostId}) it first`);
      throw new ControlError('not_found', `the fake serves no host ${hostId}`);
    }
    const record = opened.hosts.find((candidate) => candidate.id === hostId) as HostRecord;
    // The same port, so its clients reconnect where they were; an empty job table (VDSM keeps jobs in memory).
    const started = await FakeHost.start(record, opened.contextFor(hostId), { ...listen, port });
    downHosts.delete(hostId);
    hosts = [...hosts, started].sort((a, b) => a.id - b.id);
  };

  try {
    storage = await openStorage();
    // Every port is checked before the first host listens.
    await startHosts(
      storage,
      storage.hosts.map((_, index) => hostPort(firstPort, index)),
      hosts,
    );
    const control = new InProcessControl({
      storage: () => running().storage,
      faults,
      fixture: fixture ?? defaultFixture(),
      clock: storageClock,
      calls,
      metrics,
      crash,
      crashHost,
      restartHost,
      hostUp: (hostId) => !downHosts.has(hostId),
      restart: async () => {
        await crashing;
        if (closing !== undefined) throw new ControlError('unavailable', 'the fake is closed');
        if (storage !== undefined) throw new ControlError('conflict', 'the fake is running: crash() it first');
        const opened = await openStorage();
        const started: FakeHost[] = [];
        try {
          // The same ports as before, so clients reconnect where they were.
          await startHosts(opened, addresses.map((address) => address.stomp.port), started);
        } catch (error) {
          await Promise.all(started.map((host) => host.close()));
          await opened.close();
          throw error;
        }
        [storage, hosts] = [opened, started];
        downHosts.clear();
      },
    });
    controlServer = await startControlServer(control, {
      host: options.controlHost,
      port: options.controlPort,
      token: options.controlToken,
      logger,
    });
    api = control;
  } catch (error) {
    await controlServer?.close();
    await closeAll(hosts, storage, state);
    throw error;
  }

  const first = hosts[0] as FakeHost;
  const addresses = hosts.map((host) => host.address);
  const { stomp, ws } = first.address;
  const controlUrl = controlServer.url;
  const ready: ReadyLine = { event: 'ready', stomp, ws, control: controlUrl, state: state.path, hosts: addresses };
  const server = controlServer;
  return {
    ...controlMethods(api as ControlApi),
    stomp,
    ws,
    control: controlUrl,
    state: state.path,
    hosts: addresses,
    ready,
    get broker() {
      return (running().hosts[0] as FakeHost).broker;
    },
    faults,
    get storage() {
      return running().storage;
    },
    close: () =>
      (closing ??= (async () => {
        await server.close();
        await crashing;
        await closeAll(hosts, storage, state);
      })()),
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
export { DEFAULT_CONNECTION_LIMITS } from './server/connection-limits.js';
export type { ConnectionLimits } from './server/connection-limits.js';
export { ControlClient } from './control/control-client.js';
export type { ControlClientOptions } from './control/control-client.js';
export { ControlError } from './control/control-api.js';
export type * from './control/control-api.js';
export { readScenarioFile, parseScenario, ScenarioError } from './control/scenario.js';
export type { Scenario } from './control/scenario.js';
export { DEFAULT_CALL_LOG_CAPACITY, MAX_RECORDED_PARAMS_CHARS } from './control/call-log.js';
