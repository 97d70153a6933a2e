import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceTimeoutError, VdsmError } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { openStateDatabase } from '../model/db.js';
import type { StateDatabase } from '../model/db.js';
import { DEFAULT_LOCK_TIMEOUT_MS, imageNamespace, ResourceLocks, STORAGE_NAMESPACE } from './resource-locks.js';
import type { LockHandle } from './resource-locks.js';
import { TaskRepo } from './task-repo.js';

const SD = '5e3c6a34-1b3e-4f4c-9f0e-3e4f5a6b7c8d';
const IMG = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

/** Resolves on the next macrotask: lets granted promises settle. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tracks a pending acquire: whether it settled, and how. */
function observe(promise: Promise<LockHandle>): { granted?: LockHandle; error?: unknown; readonly settled: boolean } {
  const state: { granted?: LockHandle; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (handle) => Object.assign(state, { granted: handle, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

describe('ResourceLocks (VDSM resource manager)', () => {
  let dir: string;
  let db: StateDatabase;
  let clock: ManualClock;
  let locks: ResourceLocks;
  let repo: TaskRepo;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-vdsm-locks-'));
    db = openStateDatabase(dir);
    clock = new ManualClock();
    locks = new ResourceLocks({ db, clock });
    repo = new TaskRepo(db);
  });

  afterEach(() => {
    locks.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants two shared requests at once and persists one row per holder', async () => {
    const a = await locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'task-a');
    const b = await locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'task-b');
    expect([a.mode, b.mode]).to.deep.equal(['shared', 'shared']);
    expect(locks.status(STORAGE_NAMESPACE, SD)).to.equal('shared');
    expect(repo.listLocks()).to.deep.equal([
      { namespace: STORAGE_NAMESPACE, name: SD, mode: 'shared', owner: 'task-a' },
      { namespace: STORAGE_NAMESPACE, name: SD, mode: 'shared', owner: 'task-b' },
    ]);
    a.release();
    b.release();
    expect(locks.status(STORAGE_NAMESPACE, SD)).to.equal('free');
    expect(repo.listLocks()).to.deep.equal([]);
  });

  it('makes an exclusive request wait for the shared holders, then grants it', async () => {
    const ns = imageNamespace(SD);
    const shared1 = await locks.acquire(ns, IMG, 'shared', 'reader-1');
    const shared2 = await locks.acquire(ns, IMG, 'shared', 'reader-2');
    const writer = observe(locks.acquire(ns, IMG, 'exclusive', 'writer'));
    await turn();
    expect(writer.settled).to.equal(false);
    shared1.release();
    await turn();
    expect(writer.settled, 'one reader still holds it').to.equal(false);
    shared2.release();
    await turn();
    expect(writer.granted?.mode).to.equal('exclusive');
    expect(locks.status(ns, IMG)).to.equal('locked');
    expect(repo.listLocks()).to.deep.equal([{ namespace: ns, name: IMG, mode: 'exclusive', owner: 'writer' }]);
  });

  it('serves waiters first come, first served: a waiting exclusive blocks a later shared request', async () => {
    const holder = await locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'holder');
    const writer = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'writer'));
    // The resource is held shared, but the queue is not empty: VDSM queues this one too.
    const lateReader = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'late-reader'));
    await turn();
    expect([writer.settled, lateReader.settled]).to.deep.equal([false, false]);

    holder.release();
    await turn();
    expect(writer.granted?.mode).to.equal('exclusive');
    expect(lateReader.settled).to.equal(false);

    writer.granted?.release();
    await turn();
    expect(lateReader.granted?.mode).to.equal('shared');
  });

  it('grants a run of shared waiters together and stops at the next exclusive one', async () => {
    const first = await locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'first');
    const r1 = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'r1'));
    const r2 = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'r2'));
    const w = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'w'));
    const r3 = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'r3'));
    first.release();
    await turn();
    expect([r1.granted?.owner, r2.granted?.owner]).to.deep.equal(['r1', 'r2']);
    expect([w.settled, r3.settled]).to.deep.equal([false, false]);
    r1.granted?.release();
    r2.granted?.release();
    await turn();
    expect(w.granted?.owner).to.equal('w');
    expect(r3.settled).to.equal(false);
    w.granted?.release();
    await turn();
    expect(r3.granted?.owner).to.equal('r3');
  });

  it('gives up after 120 s of clock time with 851 "Resource timeout: ()"', async () => {
    await locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'holder');
    const waiter = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'waiter'));
    await clock.advanceAsync(DEFAULT_LOCK_TIMEOUT_MS - 1);
    expect(waiter.settled).to.equal(false);
    await clock.advanceAsync(1);
    expect(waiter.error).to.be.instanceOf(ResourceTimeoutError);
    expect((waiter.error as VdsmError).code).to.equal(851);
    expect((waiter.error as Error).message).to.equal('Resource timeout: ()');
    expect(clock.pending).to.equal(0);
    expect(locks.waiting).to.equal(0);
  });

  it('honours a shorter timeout and waits forever with Infinity (no timer)', async () => {
    await locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'holder');
    const quick = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'quick', { timeoutMs: 5 }));
    const patient = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'patient', { timeoutMs: Infinity }));
    expect(clock.pending).to.equal(1);
    await clock.advanceAsync(10 * DEFAULT_LOCK_TIMEOUT_MS);
    expect((quick.error as VdsmError).code).to.equal(851);
    expect(patient.settled).to.equal(false);
    locks.release('holder');
    await turn();
    expect(patient.granted?.owner).to.equal('patient');
  });

  it('keeps a timed-out request queued until a release walks past it, as VDSM cancels lazily', async () => {
    const reader = await locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'reader');
    const writer = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'writer', { timeoutMs: 1000 }));
    await clock.advanceAsync(1000);
    expect((writer.error as VdsmError).code).to.equal(851);
    // The canceled writer still sits in the queue: a new reader may not join.
    const lateReader = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'late-reader'));
    await turn();
    expect(lateReader.settled).to.equal(false);
    reader.release();
    await turn();
    expect(lateReader.granted?.owner).to.equal('late-reader');
  });

  it('gives up a wait when the signal aborts, clearing its timer', async () => {
    await locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'holder');
    const controller = new AbortController();
    const waiter = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'waiter', { signal: controller.signal }));
    expect(clock.pending).to.equal(1);
    const reason = new Error('task stopped');
    controller.abort(reason);
    await turn();
    expect(waiter.error).to.equal(reason);
    expect(clock.pending).to.equal(0);
    const aborted = locks.acquire(STORAGE_NAMESPACE, IMG, 'shared', 'other', { signal: controller.signal });
    await aborted.then(
      () => expect.fail('an aborted signal must not be granted'),
      (error: unknown) => expect(error).to.equal(reason),
    );
  });

  it('releases everything an owner holds or waits for, rows included', async () => {
    await locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'task');
    await locks.acquire(imageNamespace(SD), IMG, 'exclusive', 'task');
    await locks.acquire(STORAGE_NAMESPACE, IMG, 'exclusive', 'other');
    const pending = observe(locks.acquire(STORAGE_NAMESPACE, IMG, 'shared', 'task'));
    expect(locks.release('task')).to.equal(2);
    await turn();
    expect(pending.error).to.be.instanceOf(Error);
    expect(repo.listLocks().map((row) => row.owner)).to.deep.equal(['other']);
    expect(locks.status(imageNamespace(SD), IMG)).to.equal('free');
    expect(clock.pending).to.equal(0);
  });

  it('makes a handle release only its own grant, once', async () => {
    const first = await locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'a');
    first.release();
    const second = await locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'a');
    first.release();
    expect(locks.held()).to.deep.equal([{ namespace: STORAGE_NAMESPACE, name: SD, mode: 'exclusive', owner: 'a' }]);
    second.release();
    expect(locks.held()).to.deep.equal([]);
  });

  it('refuses names VDSM refuses, and a second request of one owner', async () => {
    const bad = await locks.acquire(STORAGE_NAMESPACE, 'a.b', 'shared', 'o').catch((error: unknown) => error);
    expect(bad).to.be.instanceOf(VdsmError);
    expect((bad as VdsmError).code).to.equal(853);
    expect((bad as Error).message).to.equal("Invalid resource name: ('a.b',)");
    const badNamespace = await locks.acquire('00 storage', SD, 'shared', 'o').catch((error: unknown) => error);
    expect(badNamespace).to.be.instanceOf(RangeError);
    await locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'o');
    const twice = await locks.acquire(STORAGE_NAMESPACE, SD, 'shared', 'o').catch((error: unknown) => error);
    expect((twice as Error).message).to.equal(`00_storage.${SD} is already acquired by o`);
  });

  it('on close rejects the waiters, leaves no timer and keeps the rows as a crash would', async () => {
    await locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'holder');
    const waiter = observe(locks.acquire(STORAGE_NAMESPACE, SD, 'exclusive', 'waiter'));
    locks.close();
    await turn();
    expect(waiter.error).to.be.instanceOf(Error);
    expect(clock.pending).to.equal(0);
    expect(repo.listLocks()).to.deep.equal([{ namespace: STORAGE_NAMESPACE, name: SD, mode: 'exclusive', owner: 'holder' }]);
  });
});
