/**
 * A storage test bed (tests only): a temporary state folder with a real
 * SQLite database, the fixture applied (rows AND real volume files with
 * their data, through the running fake's own `fixtureFiles`), a
 * TaskManager and ResourceLocks on a ManualClock, and a `StorageContext`
 * per host. Every storage test builds on it, so job
 * handlers run against the same model and files a running fake has.
 *
 * ```ts
 * const bed = await createStorageTestBed({ jobs: [deleteImageJobs] });
 * const taskId = await deleteImage(bed.ctx, ...);
 * await bed.driveClock(10_000);
 * await bed.close();
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@vdsm-kit/client/clock';
import type { FaultEngine } from '../faults/engine.js';
import type { CrashOptions } from '../faults/process-faults.js';
import { fixtureFiles } from '../host/fixture-files.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { openStateDatabase } from '../model/db.js';
import type { StateDatabase } from '../model/db.js';
import { DEFAULT_IDS, defaultFixture } from '../model/default-fixture.js';
import { applyFixture } from '../model/fixture.js';
import type { FixtureInput, FixturePlan } from '../model/fixture.js';
import { StateStore } from '../model/store.js';
import type { JobHandler } from '../tasks/job-handler.js';
import { ResourceLocks } from '../tasks/resource-locks.js';
import { TaskManager } from '../tasks/task-manager.js';
import { DEFAULT_WIPE_BYTES_PER_SECOND } from '../storage/context.js';
import type { StorageContext } from '../storage/context.js';

/**
 * Ids of `storageTestFixture()`: the default fixture's, plus a disk on the
 * block domain and a two-volume chain on the file domain.
 */
export const TEST_IDS = {
  ...DEFAULT_IDS,
  /** A RAW preallocated 256 MiB disk (two extents) on the block domain, with data. */
  blockImage: '77777777-7777-4777-8777-777777777777',
  blockVolume: '88888888-8888-4888-8888-888888888888',
  /** A two-volume chain on the file domain: RAW base, COW leaf. */
  chainImage: '99999999-9999-4999-8999-999999999999',
  chainBase: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
  chainLeaf: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
} as const;

/** Size of the block disk of `storageTestFixture()`. */
export const TEST_BLOCK_DISK_SIZE = 256 * 1024 * 1024;

/** Options of `storageTestFixture`. */
export interface StorageTestFixtureOptions {
  /** Hosts 1..N, all connected to the pool; host 1 is the SPM (default 1). */
  readonly hosts?: number;
}

/**
 * The default fixture plus what storage tests need: `hosts` hosts (host 1
 * the SPM), a disk on the block domain with data at its start and end, and a
 * base + leaf chain on the file domain.
 */
export function storageTestFixture(options: StorageTestFixtureOptions = {}): FixtureInput {
  const fixture = defaultFixture();
  const hostCount = options.hosts ?? 1;
  const hosts = Array.from({ length: hostCount }, (_, index) => ({ id: index + 1, name: `host-${index + 1}` }));
  return {
    ...fixture,
    pools: (fixture.pools ?? []).map((pool) => ({ ...pool, spm: 1 })),
    hosts: hosts.map((host, index) => (index === 0 ? { ...host, uuid: DEFAULT_IDS.host } : host)),
    disks: [
      ...(fixture.disks ?? []),
      {
        id: TEST_IDS.blockImage,
        domain: DEFAULT_IDS.blockDomain,
        capacity: TEST_BLOCK_DISK_SIZE,
        volumes: [
          {
            id: TEST_IDS.blockVolume,
            format: 'RAW',
            allocation: 'PREALLOCATED',
            data: [
              { offset: 0, pattern: 0x5a, length: '1 MiB' },
              { offset: TEST_BLOCK_DISK_SIZE - 1024 * 1024, pattern: 0xa5, length: '1 MiB' },
            ],
          },
        ],
      },
      {
        id: TEST_IDS.chainImage,
        domain: DEFAULT_IDS.fileDomain,
        capacity: '64 MiB',
        volumes: [
          { id: TEST_IDS.chainBase, format: 'RAW', allocation: 'SPARSE', data: [{ offset: 0, pattern: 'base', length: '64 KiB' }] },
          { id: TEST_IDS.chainLeaf, format: 'COW', allocation: 'SPARSE' },
        ],
      },
    ],
  };
}

/** The job handlers of one storage module, by kind (what `TaskManager.register` takes). */
export type StorageJobs = (ctx: StorageContext) => Readonly<Record<string, JobHandler<never, never>>>;

/** Options of `createStorageTestBed`. */
export interface StorageTestBedOptions {
  /** The fixture to seed (default: `defaultFixture()`). */
  readonly fixture?: FixtureInput;
  /** Job handler sets to register (e.g. `[deleteImageJobs]`). */
  readonly jobs?: readonly StorageJobs[];
  readonly wipeBytesPerSecond?: number;
  readonly forceBuiltinCopier?: boolean;
  readonly logger?: Logger;
  /** A fault engine for the task manager and every context (fault tests). */
  readonly faults?: FaultEngine;
  /** What a `crash` fault does (default: emulated). */
  readonly crash?: CrashOptions;
}

/** What `createStorageTestBed` gives. */
export interface StorageTestBed {
  /** The temporary state folder (removed by `close`). */
  readonly stateDir: string;
  readonly clock: ManualClock;
  readonly db: StateDatabase;
  readonly store: StateStore;
  readonly tasks: TaskManager;
  readonly locks: ResourceLocks;
  /** The records the fixture seeded. */
  readonly plan: FixturePlan;
  /** Host 1's context (the default fixture's only host, its pool's SPM). */
  readonly ctx: StorageContext;
  /** The context of host `hostId` (same store, tasks, locks and clock). */
  contextFor(hostId: number): StorageContext;
  /**
   * Moves the clock `ms` forward in `stepMs` steps, each time first waiting
   * (in real time) until some timer is pending: jobs do real file I/O
   * between their clock sleeps, and a step taken while a job is between two
   * sleeps would otherwise be lost to it. So drive no further than the jobs
   * wait (a step with no timer coming fails after 30 s), and note that any
   * pending timer counts, a lock waiter's included: start a job's clock
   * sleeps (`waitFor(() => clock.pending > 0)`) before queueing waiters.
   */
  driveClock(ms: number, stepMs?: number): Promise<void>;
  /**
   * Waits in real time (advancing the clock by 0 to fire timers that are
   * due) until `predicate` holds; throws after `timeoutMs` of real time.
   */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Lets go of the tasks, closes the database and removes the state folder. */
  close(): Promise<void>;
}

/** Builds a test bed (see the module comment). Call `close()` in `after`/`afterEach`. */
export async function createStorageTestBed(options: StorageTestBedOptions = {}): Promise<StorageTestBed> {
  const stateDir = await mkdtemp(join(tmpdir(), 'fake-vdsm-storage-'));
  const clock = new ManualClock(1_000_000);
  const logger = options.logger ?? silentLogger;
  const db = openStateDatabase(stateDir);
  const store = new StateStore(db);
  const locks = new ResourceLocks({ db, clock, logger });
  const tasks = new TaskManager({
    db,
    clock,
    logger,
    locks,
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.crash === undefined ? {} : { crash: options.crash }),
  });
  let plan: FixturePlan;
  try {
    plan = await applyFixture(store, options.fixture ?? defaultFixture(), fixtureFiles(stateDir));
  } catch (error) {
    await tasks.close();
    db.close();
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }

  const contextFor = (hostId: number): StorageContext => ({
    stateDir,
    store,
    tasks,
    locks,
    clock,
    logger,
    wipeBytesPerSecond: options.wipeBytesPerSecond ?? DEFAULT_WIPE_BYTES_PER_SECOND,
    hostId,
    ...(options.forceBuiltinCopier === undefined ? {} : { forceBuiltinCopier: options.forceBuiltinCopier }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  const ctx = contextFor(1);
  for (const jobs of options.jobs ?? []) {
    for (const [kind, handler] of Object.entries(jobs(ctx))) tasks.register(kind, handler);
  }

  /** Polls `predicate` in real time (firing timers that fell due) for up to `timeoutMs`; true once it held. */
  const poll = async (predicate: () => boolean, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) return false;
      await clock.advanceAsync(0);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return true;
  };
  const waitFor = async (predicate: () => boolean, timeoutMs = 30_000): Promise<void> => {
    if (!(await poll(predicate, timeoutMs))) throw new Error(`condition not met within ${timeoutMs} ms of real time`);
  };

  let closed = false;
  return {
    stateDir,
    clock,
    db,
    store,
    tasks,
    locks,
    plan,
    ctx,
    contextFor,
    waitFor,
    async driveClock(ms, stepMs = 100) {
      for (let left = ms; left > 0; left -= stepMs) {
        await waitFor(() => clock.pending > 0);
        await clock.advanceAsync(Math.min(stepMs, left));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await tasks.close();
      locks.close();
      db.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
