/**
 * The storage side of a fake VDSM process, shared by all its hosts: the
 * SQLite state in the state folder, the task manager and resource locks,
 * the clock the storage model waits on, and one `StorageContext` per host.
 *
 * Opening it is the fake's startup sequence, in this order:
 * 1. open the database (migrating it);
 * 2. a fresh database (no pool, no host) is seeded from the fixture; an
 *    existing one is kept as it is (the fixture is then not applied);
 * 3. the served hosts are made sure of (`--hosts N`);
 * 4. the job handlers are registered, then every pool with an SPM has its
 *    tasks recovered (`TaskManager.recover`, vdsm-wire.md 7.3): done tasks
 *    keep their result, tasks caught mid-flight are rolled back (their
 *    partial targets removed) and end recovered or failed. A pool without
 *    an SPM keeps its tasks as they are until a host takes the role
 *    (`StoragePool.spmStart` recovers them then), as VDSM does;
 * 5. files and rows are reconciled (host/reconcile.ts).
 * Only then do hosts start listening.
 */
import type { Clock } from '@vdsm-kit/client/clock';
import { storageJobs } from '../api/storage.js';
import { FaultEngine } from '../faults/engine.js';
import type { CrashOptions } from '../faults/process-faults.js';
import type { Logger } from '../logger.js';
import { openStateDatabase } from '../model/db.js';
import type { StateDatabase } from '../model/db.js';
import { defaultFixture } from '../model/default-fixture.js';
import { applyFixture } from '../model/fixture.js';
import type { FixtureInput } from '../model/fixture.js';
import type { HostRecord } from '../model/records.js';
import { StateStore } from '../model/store.js';
import { DEFAULT_WIPE_BYTES_PER_SECOND } from '../storage/context.js';
import type { StorageContext } from '../storage/context.js';
import type { DataMeter } from '../storage/data-meter.js';
import { HostJobs } from '../jobs/host-jobs.js';
import { ResourceLocks } from '../tasks/resource-locks.js';
import { assertMaxTasks, TaskManager } from '../tasks/task-manager.js';
import { fixtureFiles } from './fixture-files.js';
import { assertHostCount, assignDefaultSpm, ensureHosts } from './host-roster.js';
import { reconcileStateDir } from './reconcile.js';
import type { ReconcileReport } from './reconcile.js';

/** Options of `openStorageHost`. */
export interface StorageHostOptions {
  /** Absolute state folder (must exist). */
  readonly stateDir: string;
  /** Seeds a fresh state folder (default: `defaultFixture()`); ignored when the folder has state. */
  readonly fixture?: FixtureInput;
  /** Names the fixture in error messages (its file path). */
  readonly fixtureSource?: string;
  /** How many hosts to serve (default: every stored host, at least one). */
  readonly hosts?: number;
  /** The clock of every storage wait (lock timeouts, wipe pacing, copy polling). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pace of a block-domain postZero wipe, bytes of volume size per second (default 100 MiB/s). */
  readonly wipeBytesPerSecond?: number;
  /** Copy with the built-in copier even when qemu-img is installed. */
  readonly forceBuiltinCopier?: boolean;
  /** VDSM's `[irs] max_tasks`: tasks that may wait for a worker (default 500); one more gets 405. */
  readonly maxTasks?: number;
  /**
   * The process's fault engine. Give it to keep rules, counters and the PRNG
   * across a crash and restart (a new `openStorageHost` on the same folder);
   * absent, one is created from `seed` and `faultRules`.
   */
  readonly faults?: FaultEngine;
  /** Seed of the created fault engine (default random; ignored with `faults`). */
  readonly seed?: number;
  /** Rules the created fault engine starts with, in order (ignored with `faults`). @see FaultRule */
  readonly faultRules?: readonly unknown[];
  /** What a `crash` fault does (faults/process-faults.ts; default: emulate in-process). */
  readonly crash?: CrashOptions;
  /** Counts the bytes copies and wipes move (`StorageContext.meter`). */
  readonly meter?: DataMeter;
  /** VDSM's `[jobs] autodelete_delay`: an ended SDM job stays listed this long, in ms of storage time (default 3600 s; negative: for good). */
  readonly jobAutodeleteMs?: number;
}

/** What happened at startup (for logs and tests). */
export interface StartupReport {
  /** True when the fixture was applied (the state folder had no state). */
  readonly seeded: boolean;
  /** Pools whose tasks were recovered (those with an SPM). */
  readonly recoveredPools: readonly string[];
  readonly reconcile: ReconcileReport;
}

/** The opened storage side (see the module comment). */
export interface StorageHost {
  readonly stateDir: string;
  readonly db: StateDatabase;
  readonly store: StateStore;
  readonly tasks: TaskManager;
  readonly locks: ResourceLocks;
  readonly clock: Clock;
  /** The SDM host jobs of every host and the volume leases (memory only: a new, empty one after a restart). */
  readonly hostJobs: HostJobs;
  /** The process's one fault engine (also `StorageContext.faults`). */
  readonly faults: FaultEngine;
  /** The hosts served, by id. */
  readonly hosts: readonly HostRecord[];
  readonly startup: StartupReport;
  /** The context of host `hostId`'s calls: the shared store, tasks, locks and clock, with its host id. */
  contextFor(hostId: number): StorageContext;
  /**
   * Host `hostId`'s process died, the others' live on: the tasks its workers
   * ran are let go of and its job table is gone (index.ts closes its sockets).
   */
  crashHost(hostId: number): void;
  /**
   * Lets go of running jobs WITHOUT changing their persisted state (the next
   * start recovers them as after a crash), then closes the database. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Opens the storage side of a fake on `stateDir` and runs the startup
 * sequence (module comment).
 *
 * @throws FixtureError for an invalid fixture (nothing is written then);
 *   StateDatabaseError / SQLite's error for an unusable database; RangeError
 *   for a bad host count, wipe rate, max tasks or seed; FaultRuleError for a bad
 *   `faultRules` entry. Nothing stays open after a failure.
 */
export async function openStorageHost(options: StorageHostOptions): Promise<StorageHost> {
  const { stateDir, clock } = options;
  const wipeBytesPerSecond = options.wipeBytesPerSecond ?? DEFAULT_WIPE_BYTES_PER_SECOND;
  if (!Number.isFinite(wipeBytesPerSecond) || wipeBytesPerSecond <= 0) {
    throw new RangeError(`the wipe rate must be a number of bytes per second greater than 0, not ${wipeBytesPerSecond}`);
  }
  if (options.hosts !== undefined) assertHostCount(options.hosts);
  if (options.maxTasks !== undefined) assertMaxTasks(options.maxTasks);
  const logger = options.logger.child({ component: 'storage' });
  // Before the database opens, so a bad rule or seed (FaultRuleError, RangeError) leaves nothing open.
  const faults =
    options.faults ??
    new FaultEngine({ clock, logger: options.logger, rules: options.faultRules, ...(options.seed === undefined ? {} : { seed: options.seed }) });
  const db = openStateDatabase(stateDir);
  const store = new StateStore(db);
  const locks = new ResourceLocks({ db, clock, logger });
  const tasks = new TaskManager({ db, clock, logger, locks, faults, ...(options.maxTasks === undefined ? {} : { maxTasks: options.maxTasks }), ...(options.crash === undefined ? {} : { crash: options.crash }) });
  const hostJobs = new HostJobs({ clock, ...(options.jobAutodeleteMs === undefined ? {} : { autodeleteDelayMs: options.jobAutodeleteMs }) });
  const contexts = new Map<number, StorageContext>();
  const contextFor = (hostId: number): StorageContext => {
    let context = contexts.get(hostId);
    if (context === undefined) {
      context = {
        stateDir,
        store,
        tasks,
        locks,
        clock,
        logger: logger.child({ hostId }),
        wipeBytesPerSecond,
        hostId,
        faults,
        hostJobs,
        ...(options.forceBuiltinCopier === undefined ? {} : { forceBuiltinCopier: options.forceBuiltinCopier }),
        ...(options.meter === undefined ? {} : { meter: options.meter }),
      };
      contexts.set(hostId, context);
    }
    return context;
  };
  const closeAll = async (): Promise<void> => {
    // First: a job let go of by the task manager must not report an end nobody is there to see.
    hostJobs.close();
    await tasks.close();
    locks.close();
    db.close();
  };

  try {
    // A crash while seeding leaves no row (rows are written last, in one transaction), so this seeds again.
    const seeded = store.listPools().length === 0 && store.listHosts().length === 0;
    if (seeded) {
      const fixture = options.fixture ?? defaultFixture();
      await applyFixture(store, fixture, fixtureFiles(stateDir), options.fixtureSource === undefined ? {} : { source: options.fixtureSource });
      logger.info({ fixture: options.fixtureSource ?? 'default' }, 'State folder seeded from the fixture');
    } else if (options.fixture !== undefined) {
      logger.warn({ fixture: options.fixtureSource ?? 'given' }, 'State folder already has state: the fixture is not applied');
    }
    const hosts = ensureHosts(store, options.hosts);
    if (seeded) assignDefaultSpm(store, options.fixture ?? defaultFixture());

    // Before the recovery, which needs every kind's rollback (an unknown kind ends `failed`).
    // Jobs do not depend on the serving host, so the first host's context serves them all.
    for (const [kind, handler] of Object.entries(storageJobs(contextFor(hosts[0]?.id ?? 1)))) tasks.register(kind, handler);

    const recoveredPools: string[] = [];
    for (const pool of store.listPools()) {
      if (pool.spmHostId === null) continue;
      await tasks.recover(pool.id);
      recoveredPools.push(pool.id);
    }
    const reconcile = await reconcileStateDir({ stateDir, store, logger });
    logger.info({ hosts: hosts.map((host) => host.id), seeded, recoveredPools }, 'Storage ready');

    let closing: Promise<void> | undefined;
    return {
      stateDir,
      db,
      store,
      tasks,
      locks,
      clock,
      hostJobs,
      faults,
      hosts,
      startup: { seeded, recoveredPools, reconcile },
      contextFor,
      crashHost: (hostId) => {
        tasks.letGoOfHost(hostId);
        hostJobs.dropHost(hostId);
      },
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
