/**
 * A fake storage host for a suite, in-process, and real clients to it: one
 * `VdsmClient` over TCP per fake host, a `TaskWatcher` on the SPM polling
 * every 20 ms, and small waits built on them. Everything is registered with
 * the suite's `TeardownHelper` (clients before the fake they talk to).
 */
import { TaskWatcher, VdsmClient } from '@vdsm-kit/client';
import type { TaskOutcome, TaskStatus, VdsmClientOptions } from '@vdsm-kit/client';
import type { ManualClock } from '@vdsm-kit/client/clock';
import type { FakeVdsm, FakeVdsmOptions, HostAddress } from '@vdsm-kit/fake-vdsm';
import { startFake } from './fake.js';
import { storageFixture } from './storage-fixture.js';
import { TaskWords } from './storage-oracle.js';
import type { TeardownHelper } from './teardown.js';
import { TEST_CLIENT_DEFAULTS } from './transports.js';

/** How often the suites' TaskWatchers poll `Host.getAllTasksStatuses`. */
export const WATCH_INTERVAL_MS = 20;

/** Real clients to every host of a fake, and a task watcher on the SPM. */
export interface StorageClients {
  /** The client of host `id` (VDSM host id). */
  host(id: number): VdsmClient;
  /** Waits for an SPM task on host `spmId`'s watcher (default 30 s). */
  wait(taskId: string, options?: { readonly timeoutMs?: number; readonly spmId?: number }): Promise<TaskOutcome>;
}

/** Connects one client per host address (closed by `td`), and watchers on demand. */
export function connectStorageClients(td: TeardownHelper, hosts: readonly HostAddress[], extra: VdsmClientOptions = {}): StorageClients {
  const clients = new Map<number, VdsmClient>();
  const watchers = new Map<number, TaskWatcher>();
  for (const address of hosts) {
    const client = new VdsmClient({ ...TEST_CLIENT_DEFAULTS, transport: 'tcp', host: address.stomp.host, port: address.stomp.port, ...extra });
    clients.set(address.id, td.track(client, (c) => c.close()));
  }
  const host = (id: number): VdsmClient => {
    const client = clients.get(id);
    if (client === undefined) throw new Error(`the fake serves no host ${id}`);
    return client;
  };
  return {
    host,
    wait(taskId, options = {}) {
      const spmId = options.spmId ?? 1;
      let watcher = watchers.get(spmId);
      if (watcher === undefined) {
        watcher = td.track(new TaskWatcher({ caller: host(spmId), intervalMs: WATCH_INTERVAL_MS }), (w) => w.close());
        watchers.set(spmId, watcher);
      }
      return watcher.wait(taskId, { timeoutMs: options.timeoutMs ?? 30_000 });
    },
  };
}

/** A started in-process fake with its clients. */
export interface StorageBed extends StorageClients {
  readonly fake: FakeVdsm;
  /** The state folder. */
  readonly state: string;
}

/**
 * Starts an in-process fake seeded with `storageFixture()` (unless
 * `options.fixture` says otherwise) in a temporary state folder, and
 * connects a client to each of its hosts. Closed by `td`.
 */
export async function startStorageFake(td: TeardownHelper, options: FakeVdsmOptions = {}): Promise<StorageBed> {
  const fake = await startFake(td, { fixture: storageFixture(), ...options });
  return { fake, state: fake.state, ...connectStorageClients(td, fake.hosts) };
}

/**
 * Polls `Task.getStatus` on `client` every 10 ms until `done(status)`, e.g.
 * for an HSM task (spmStart), which `Host.getAllTasksStatuses` does not list.
 */
export async function pollTaskStatus(
  client: VdsmClient,
  taskId: string,
  done: (status: TaskStatus) => boolean,
  timeoutMs = 30_000,
): Promise<TaskStatus> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = await client.Task.getStatus({ taskID: taskId });
    if (done(status)) return status;
    if (performance.now() > deadline) throw new Error(`task ${taskId} still ${JSON.stringify(status)} after ${timeoutMs} ms`);
    await realDelay(10);
  }
}

/**
 * Polls `condition` every 5 ms of real time until it holds.
 *
 * @throws Error naming `what` when it still fails after `timeoutMs`.
 */
export async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await realDelay(5);
  }
}

/** Waits `ms` of real time (for I/O the fake does between clock steps). */
export function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Advances a fake's ManualClock by `totalMs` in `stepMs` steps, letting a
 * little real time pass after each step: the fake does real file I/O (a
 * wipe's zeroing) between its sleeps on the clock.
 */
export async function stepClock(clock: ManualClock, totalMs: number, stepMs: number): Promise<void> {
  for (let advanced = 0; advanced < totalMs; advanced += stepMs) {
    await clock.advanceAsync(Math.min(stepMs, totalMs - advanced));
    await realDelay(5);
  }
}

/**
 * Advances a fake's ManualClock `stepMs` at a time, with a little real time
 * after each step, until `until()` holds; resolves with the clock time
 * advanced. Use it to wait for something that ends on the fake's clock: a
 * job that finished its real I/O only after the last advance then waits on
 * a timer that is due at once, but a ManualClock fires no timer, even one
 * due now, unless it is advanced.
 *
 * @throws Error when `until()` still fails after `maxMs` of clock time.
 */
export async function driveClockUntil(
  clock: ManualClock,
  options: { readonly stepMs: number; readonly maxMs: number; readonly until: () => Promise<boolean> },
): Promise<number> {
  for (let advanced = 0; ; advanced += options.stepMs) {
    if (await options.until()) return advanced;
    if (advanced >= options.maxMs) throw new Error(`still waiting after ${advanced} ms of the fake's clock`);
    await clock.advanceAsync(options.stepMs);
    await realDelay(5);
  }
}

/**
 * Moves `clock` in `stepMs` steps until `client` reports task `taskId`
 * finished (at most two minutes of clock time); returns that status.
 */
export async function finishedOnClock(clock: ManualClock, client: VdsmClient, taskId: string, stepMs = 50): Promise<TaskStatus> {
  let status: TaskStatus | undefined;
  await driveClockUntil(clock, {
    stepMs,
    maxMs: 120_000,
    until: async () => {
      status = await client.Task.getStatus({ taskID: taskId });
      return isFinished(status);
    },
  });
  if (status === undefined) throw new Error('unreachable');
  return status;
}

/** Whether a task status says the task is done (finished, whatever its result). */
export function isFinished(status: TaskStatus): boolean {
  return status.taskState === TaskWords.finished;
}
