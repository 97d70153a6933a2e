/**
 * The pool's task tracking against a real fake VDSM (two hosts, real sockets).
 * The tracker runs on a ManualClock, so "how many polls in how much time" is
 * exact whatever the machine's load; the fake's tasks run on real time and
 * are waited for by moving the tracker's clock until they end.
 */
import { randomUUID } from 'node:crypto';
import { ManualClock, deleteImage } from '@vdsm-kit/client';
import { expect } from 'chai';
import { startFakePool, IDS } from '../test-support/fake-pool.js';
import type { FakePool } from '../test-support/fake-pool.js';
import { PoolTaskTracker } from './pool-task-tracker.js';
import type { PoolTaskTrackerOptions, TrackedEnd, TrackerEvent } from './pool-task-tracker.js';

const INTERVAL = 10_000;

describe('PoolTaskTracker against a real fake VDSM', function () {
  this.timeout(60_000);
  let pool: FakePool;
  let clock: ManualClock;
  let tracker: PoolTaskTracker;
  let events: TrackerEvent[];

  beforeEach(async function () {
    pool = await startFakePool({ hosts: 2 });
    clock = new ManualClock();
    events = [];
  });
  afterEach(async function () {
    tracker?.close();
    await pool?.close();
  });

  function track(options: Partial<PoolTaskTrackerOptions> = {}): PoolTaskTracker {
    tracker = new PoolTaskTracker({
      poolId: IDS.pool,
      hosts: pool.hosts,
      clock,
      intervalMs: INTERVAL,
      onEvent: (event) => events.push(event),
      ...options,
    });
    return tracker;
  }

  function statusCalls(): number {
    return pool.calls.get('Host.getAllTasksStatuses') ?? 0;
  }

  /** Moves the tracker's clock one step at a time until `promise` settles (real I/O runs between steps). */
  async function settle<T>(promise: Promise<T>, stepMs = 250): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    while (!settled) {
      await clock.advanceAsync(stepMs);
      if (!settled) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return watched;
  }

  /** Deletes one of the small disks (no wipe: a short task). */
  function submitDelete(t: PoolTaskTracker, image: string): Promise<string> {
    return t.submit('Image.delete', (spm, options) =>
      deleteImage(spm.caller, { imageID: image, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain }, options),
    );
  }

  it('makes one Host.getAllTasksStatuses per interval for every watched task, however many', async function () {
    const t = track({ missesBeforeUnknown: 1_000 });
    const waits = Array.from({ length: 50 }, () => t.watch(randomUUID()));
    expect(waits).to.have.length(50);
    await clock.advanceAsync(INTERVAL); // first poll
    await waitFor(() => t.polls === 1);
    const base = statusCalls();
    expect(base).to.equal(1);
    for (let i = 1; i <= 10; i++) {
      await clock.advanceAsync(INTERVAL);
      await waitFor(() => t.polls === base + i);
    }
    expect(statusCalls()).to.equal(11);
    expect(pool.calls.get('Task.getStatus') ?? 0).to.equal(0);
    expect(t.watching).to.equal(50);
  });

  it('ends a missing task as unknown only after the misses, confirmed by one Task.getStatus (401)', async function () {
    const t = track({ missesBeforeUnknown: 3 });
    let end: TrackedEnd | undefined;
    const taskId = randomUUID();
    void t.watch(taskId).then((e) => (end = e));
    for (let poll = 1; poll <= 2; poll++) {
      await clock.advanceAsync(INTERVAL);
      await waitFor(() => t.polls === poll);
    }
    expect(end).to.equal(undefined);
    expect(pool.calls.get('Task.getStatus') ?? 0).to.equal(0);
    await clock.advanceAsync(INTERVAL);
    await waitFor(() => end !== undefined);
    expect(end).to.deep.equal({ kind: 'unknown', taskId, misses: 3 });
    expect(pool.calls.get('Task.getStatus')).to.equal(1);
  });

  it('brings polls forward after a submission (250 ms, 500 ms, 1 s ...) and back to the interval', async function () {
    const t = track({ missesBeforeUnknown: 1_000 });
    void t.watch(randomUUID()); // keeps the pool polled after the delete ended
    const taskId = await submitDelete(t, pool.disks[0]!.image);
    const end = await settle(t.watch(taskId));
    expect(end.kind).to.equal('success');
    while (events.filter((e) => e.type === 'poll').length < 7) {
      await clock.advanceAsync(250);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const times = events.flatMap((e) => (e.type === 'poll' ? [e.at] : []));
    const gaps = times.slice(1, 7).map((at, i) => at - times[i]!);
    expect(times[0]).to.equal(250);
    expect(gaps).to.deep.equal([500, 1_000, 2_000, 4_000, 8_000, 10_000]);
  });

  it("brings polls forward for a task another instance submitted, as the pool's poller, unless the pool is busy", async function () {
    const t = track({ missesBeforeUnknown: 1_000, earlyPollsUpToTasks: 3 });
    void t.watch(randomUUID()); // the pool is polled (as a poller's is, for every instance's tasks)
    await clock.advanceAsync(INTERVAL);
    await waitFor(() => t.polls === 1);
    t.submittedElsewhere(2);
    while (events.filter((e) => e.type === 'poll').length < 4) {
      await clock.advanceAsync(250);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const times = events.flatMap((e) => (e.type === 'poll' ? [e.at] : []));
    expect(times).to.deep.equal([INTERVAL, INTERVAL + 250, INTERVAL + 750, INTERVAL + 1_750]);
    t.submittedElsewhere(4); // busy: the steady rhythm goes on
    while (events.filter((e) => e.type === 'poll').length < 5) {
      await clock.advanceAsync(250);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const next = events.flatMap((e) => (e.type === 'poll' ? [e.at] : []))[4]!;
    expect(next).to.equal(INTERVAL + 1_750 + 2_000);
  });

  it('keeps the steady rhythm in a busy pool: no early polls once more tasks than the limit are in flight', async function () {
    const t = track({ missesBeforeUnknown: 1_000, earlyPollsUpToTasks: 3 });
    for (let i = 0; i < 3; i++) void t.watch(randomUUID());
    const taskId = await submitDelete(t, pool.disks[0]!.image);
    await settle(t.watch(taskId));
    const times = events.flatMap((e) => (e.type === 'poll' ? [e.at] : []));
    expect(times[0]).to.equal(INTERVAL);
  });

  it('drops an early-poll ladder under way once the pool becomes busy', async function () {
    const t = track({ missesBeforeUnknown: 1_000, earlyPollsUpToTasks: 3 });
    void t.watch(randomUUID());
    await submitDelete(t, pool.disks[0]!.image); // 2 in flight: the ladder starts (250 ms)
    for (let i = 0; i < 3; i++) void t.watch(randomUUID()); // 5 in flight: busy from now on
    while (events.filter((e) => e.type === 'poll').length < 3) {
      await clock.advanceAsync(250);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const times = events.flatMap((e) => (e.type === 'poll' ? [e.at] : []));
    // The early poll already due runs; after it the rhythm is the interval, not 500 ms, 1 s ...
    expect(times.slice(0, 3)).to.deep.equal([250, 250 + INTERVAL, 250 + 2 * INTERVAL]);
  });

  it('finds the SPM among the hosts, and the new one after the role moved', async function () {
    const t = track({ missesBeforeUnknown: 1_000, spmChangeGraceMs: 0 });
    expect((await t.spm()).name).to.equal(pool.hosts[0]!.name);
    void t.watch(randomUUID());
    await clock.advanceAsync(INTERVAL);
    await waitFor(() => t.polls === 1);

    const [host1, host2] = pool.clients;
    await host1!.StoragePool.spmStop({ storagepoolID: IDS.pool });
    const { spmLver } = await host2!.StoragePool.getSpmStatus({ storagepoolID: IDS.pool });
    const start = await host2!.StoragePool.spmStart({
      storagepoolID: IDS.pool,
      prevID: -1,
      prevLver: String(spmLver),
      enableScsiFencing: 'false',
    });
    await waitFor(async () => (await host2!.Task.getStatus({ taskID: start })).taskState === 'finished');

    await clock.advanceAsync(INTERVAL); // host 1 answers 654: the SPM is forgotten
    await waitFor(() => events.some((e) => e.type === 'poll-error'));
    await clock.advanceAsync(INTERVAL); // found again on host 2
    await waitFor(() => t.polls === 2);
    const moves = events.flatMap((e) => (e.type === 'spm' ? [[e.previous, e.spm]] : []));
    expect(moves).to.deep.equal([
      [undefined, pool.hosts[0]!.name],
      [pool.hosts[0]!.name, pool.hosts[1]!.name],
    ]);
  });

  it('clears a finished task, and counts 401 on clear as already cleared', async function () {
    const t = track();
    const taskId = await submitDelete(t, pool.disks[1]!.image);
    expect((await settle(t.watch(taskId))).kind).to.equal('success');
    await t.clear(taskId);
    expect(await pool.clients[0]!.Host.getAllTasksStatuses()).to.not.have.property(taskId);
    await t.clear(taskId); // VDSM answers 401 now
    await t.clear(randomUUID());
  });

  it('holds submissions beyond the window until a task of ours ends', async function () {
    const t = track({ submissionWindow: 1 });
    const first = await submitDelete(t, pool.disks[0]!.image);
    let secondId: string | undefined;
    const second = submitDelete(t, pool.disks[1]!.image).then((id) => (secondId = id));
    await waitFor(() => t.window.waiting === 1);
    expect(secondId).to.equal(undefined);
    expect(pool.calls.get('Image.delete')).to.equal(1);
    expect((await settle(t.watch(first))).kind).to.equal('success');
    await second;
    expect(pool.calls.get('Image.delete')).to.equal(2);
    expect((await settle(t.watch(secondId!))).kind).to.equal('success');
    expect(t.window.used).to.equal(0);
  });

  it('reports a failed task with its code, and a submission VDSM refuses with its error', async function () {
    const t = track();
    const missing = randomUUID();
    try {
      await submitDelete(t, missing);
      expect.fail('Image.delete of a missing image was accepted');
    } catch (error) {
      expect((error as { code?: number }).code).to.equal(268);
    }
    expect(t.window.used).to.equal(0);
  });
});

/** Waits until `condition` holds, for I/O the manual clock does not drive (mocha's timeout bounds it). */
async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}
