/**
 * 500 moves at once in one pool, against a real fake VDSM over a real socket
 * and a real SQLite file: every move ends moved, each disk was copied once,
 * and the fake's own call log shows the pool polled by one
 * `Host.getAllTasksStatuses` per interval while it is busy, never one call
 * per task and never two at once.
 *
 * The bound is on counts over the whole busy stretch (polls <= stretch /
 * interval + 1), not on gaps between two polls: a loaded machine delays
 * polls (fewer of them, still correct) but cannot make more of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SqliteMoveStore } from '../store/sqlite-store.js';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool } from '../test-support/fake-pool.js';
import type { TrackerEvent } from '../tasks/pool-task-tracker.js';
import { MoveOrchestrator } from './orchestrator.js';

const MOVES = 500;
const INTERVAL_MS = 1_000;
/** The tracker's default: early polls only while at most this many tasks are in flight. */
const EARLY_POLLS_UP_TO = 10;

describe('500 moves at once in one pool', function () {
  this.timeout(600_000);
  let pool: FakePool;
  let folder: string;
  let store: SqliteMoveStore;
  let orchestrator: MoveOrchestrator;

  before(async function () {
    pool = await startFakePool({ hosts: 1, smallDisks: MOVES, callLogCapacity: 200_000, forceBuiltinCopier: true });
    folder = mkdtempSync(join(tmpdir(), 'engine-move-many-'));
    store = SqliteMoveStore.open({ path: join(folder, 'moves.sqlite') });
  });
  after(async function () {
    orchestrator?.close();
    await store?.close();
    await pool?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('moves every disk, copying each once, with one status call per interval while the pool is busy', async function () {
    const polls: { at: number; tasks: number }[] = [];
    orchestrator = new MoveOrchestrator({
      copyPath: 'spm',
      store,
      hosts: pool.hosts,
      pollIntervalMs: INTERVAL_MS,
      onTrackerEvent: (_pool, event: TrackerEvent) => {
        if (event.type === 'poll') polls.push({ at: event.at, tasks: event.tasks });
      },
    });
    const handles = await Promise.all(
      pool.disks.map((disk) =>
        orchestrator.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain }),
      ),
    );
    const outcomes = await Promise.all(handles.map((handle) => handle.outcome));

    const results = new Map<string, number>();
    for (const outcome of outcomes) results.set(outcome.result, (results.get(outcome.result) ?? 0) + 1);
    expect(Object.fromEntries(results)).to.deep.equal({ moved: MOVES });

    const { calls } = await pool.fake.listCalls({});
    // Copied once each, deleted once each, every task cleared.
    const copies = calls.filter((call) => call.method === 'Image.move');
    expect(copies).to.have.length(MOVES);
    expect(new Set(copies.map((call) => (call.params as { imageID: string }).imageID)).size).to.equal(MOVES);
    expect(calls.filter((call) => call.method === 'Image.delete')).to.have.length(MOVES);
    expect(await pool.clients[0]!.Host.getAllTasksStatuses()).to.deep.equal({});
    const images = await pool.clients[0]!.StorageDomain.getImages({ storagedomainID: IDS.blockDomain });
    expect(pool.disks.filter((disk) => !images.includes(disk.image))).to.deep.equal([]);
    const report = await pool.fake.invariants();
    expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
    const locked = (await Promise.all(pool.disks.map((disk) => store.getDisk(disk.image))))
      .flatMap((disk) => disk!.volumes)
      .filter((volume) => volume.status !== 'OK' || volume.domainId !== IDS.blockDomain);
    expect(locked).to.deep.equal([]);

    // Never two status calls at once: each arrives after the previous one was answered.
    const statusCalls = calls.filter((call) => call.method === 'Host.getAllTasksStatuses').sort((a, b) => a.at - b.at);
    for (let i = 1; i < statusCalls.length; i++) {
      const previous = statusCalls[i - 1]!;
      expect(statusCalls[i]!.at, `status call ${i} overlaps the one before`).to.be.at.least(previous.at + previous.durationMs);
    }
    // The busy stretch: from the first to the last poll that found more tasks
    // in flight than early polls are worth (both clocks are this process's
    // performance.now, the fake being in-process).
    const busy = polls.filter((poll) => poll.tasks > EARLY_POLLS_UP_TO);
    expect(busy.length, 'the pool was busy for several intervals').to.be.at.least(3);
    const from = busy[0]!.at;
    const to = busy[busy.length - 1]!.at;
    const inStretch = statusCalls.filter((call) => call.at > from && call.at <= to).length;
    expect(inStretch, `${inStretch} status calls in ${Math.round(to - from)} ms`).to.be.at.most(Math.floor((to - from) / INTERVAL_MS) + 1);
    console.log(`      ${statusCalls.length} status calls in all, ${inStretch} in the busy stretch of ${Math.round(to - from)} ms (${busy.length} busy polls, up to ${Math.max(...busy.map((p) => p.tasks))} tasks each)`);
    // And over the whole run, a handful of polls for a thousand tasks.
    expect(statusCalls.length).to.be.below(MOVES / 5);
  });
});
