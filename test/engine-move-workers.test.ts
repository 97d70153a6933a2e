/**
 * Several orchestrator instances: three `engine-move worker` processes share
 * one PostgreSQL store (a throwaway server of the suite's own) and one pool
 * of a `fake-vdsm serve` process. The moves are submitted (one through
 * `engine-move submit`), the workers claim them, and a worker (or the
 * database) goes away the ways a real one does:
 *
 * - the pool's poller SIGKILLed mid-way: its moves and the pool are taken
 *   over, and every move still ends moved, each disk copied once, nothing
 *   LOCKED, no task left on the SPM, one status poll per interval throughout;
 * - a worker paused (SIGSTOP) past its lease, then resumed: it does nothing
 *   more to the moves it lost, and says so (log line and metric);
 * - a worker paused right after its copy verb was answered (a `:stop` kill
 *   point), resumed once its lease lapsed: the answered copy is the move's
 *   task, never sent a second time;
 * - PostgreSQL restarted mid-run: the run completes.
 *
 * Leases of 2 s, a poll interval of 0.2 s, the fake's storage time 20x
 * faster. Every wait is on an event (a log line, the store); nothing is
 * bounded by wall-clock time.
 */
import { readFileSync } from 'node:fs';
import { skipUnless } from '@vdsm-kit/test-support/skip';
import { expect } from 'chai';
import { missingPostgres, startThrowawayPostgres } from '../packages/engine-move/src/test-support/throwaway-postgres.js';
import type { ThrowawayPostgres } from '../packages/engine-move/src/test-support/throwaway-postgres.js';
import { runEngineMove } from './support/engine-move-process.js';
import { startWorker } from './support/engine-move-worker.js';
import type { WorkerProcess } from './support/engine-move-worker.js';
import { callsOf, expectAllMoved, expectOnePollPerInterval, startHarness, submitAll, until } from './support/workers-harness.js';
import type { Harness } from './support/workers-harness.js';
import { TeardownHelper } from './support/teardown.js';

const LEASE_S = 2;
const INTERVAL_S = 0.2;
const POLLING = 'polling the pool (pool lease taken)';
const LOST = 'lease lost: doing nothing more to this move';

/** A process's scheduling state from /proc (`T`: stopped by a signal). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('engine-move workers: three processes sharing the moves of one pool on PostgreSQL', function () {
  this.timeout(900_000);
  const td = new TeardownHelper();
  let pg: ThrowawayPostgres;

  before(async function () {
    skipUnless(this, missingPostgres() === undefined, missingPostgres() ?? '');
    // A server of our own: one test restarts it.
    pg = await startThrowawayPostgres({ ownServer: true });
  });
  after(() => pg?.stop());
  afterEach(() => td.run());

  function workerArgs(harness: Harness, maxMoves: number): string[] {
    return ['--db', harness.db, '--hosts', harness.hostsArg, '--insecure', '--lease', String(LEASE_S), '--poll-interval', String(INTERVAL_S), '--metrics-port', '0', '--max-moves', String(maxMoves)];
  }

  /** The worker that polls the pool now: the last to say it took the pool lease and not since that it gave it up. */
  function poller(workers: readonly WorkerProcess[]): WorkerProcess | undefined {
    return workers.find((w) => w.logs().filter((l) => l.msg === POLLING || l.msg === 'no longer polling the pool').at(-1)?.msg === POLLING);
  }

  async function states(harness: Harness, ids: readonly string[]): Promise<{ id: string; state: string; owner: string | null }[]> {
    const store = await harness.openStore();
    return Promise.all(ids.map(async (id) => ({ id, state: (await store.getMove(id))!.state, owner: (await store.getLease(id))?.owner ?? null })));
  }

  async function waitAll(harness: Harness, ids: readonly string[]): Promise<void> {
    const waited = await runEngineMove(td, ['wait', '--db', harness.db, '--json', ...ids]);
    expect(waited.events).to.have.length(ids.length);
    // A move that did not end moved: say what the fake logged as errors (its stderr is JSON lines).
    const errors = () => harness.fake.stderr().split('\n').filter((line) => /"level":(50|60)/.test(line)).slice(-10).join('\n');
    const notMoved = waited.events.filter((e) => e['result'] !== 'moved').map((e) => JSON.stringify([e['failedPhase'], e['error']]));
    expect(notMoved, notMoved.length ? `the fake's errors:\n${errors()}` : undefined).to.deep.equal([]);
    expect(waited.code, waited.stderr).to.equal(0);
  }

  function metric(text: string, name: string): number {
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  it('60 moves with and without wipe, the poller SIGKILLed mid-way: all moved, each copied once, one status poll per interval', async function () {
    const harness = await startHarness(td, { disks: 60, db: await pg.createDatabase() });
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(td, workerArgs(harness, 20))));
    const ids = await submitAll(td, harness);

    // Mid-way: a third done, and the poller holding moves of its own.
    await until(async () => {
      const now = await states(harness, ids);
      const victim = poller(workers);
      return now.filter((m) => m.state === 'done').length >= 20 && victim !== undefined && now.some((m) => m.owner === victim.ready.owner);
    });
    const victim = poller(workers)!;
    victim.signal('SIGKILL');
    expect(await victim.exited).to.equal('SIGKILL');
    // What it left, read once it is gone (nobody can take a move over before its lease lapses).
    const atKill = await states(harness, ids);
    const victimMoves = atKill.filter((m) => m.owner === victim.ready.owner && m.state !== 'done').map((m) => m.id);
    const survivors = workers.filter((w) => w !== victim);

    // Another worker takes the pool, and the dead one's moves.
    await Promise.race(survivors.map((w) => w.waitForLog((l) => l.msg === POLLING)));
    for (const moveId of victimMoves) await Promise.race(survivors.map((w) => w.waitForLog((l) => l.msg === 'took over move' && l['move'] === moveId)));

    await waitAll(harness, ids);
    const lastSeq = (await harness.control.listCalls({ method: 'none' })).next;
    await expectAllMoved(td, harness, ids);
    const polls = await expectOnePollPerInterval(harness, INTERVAL_S * 1000, lastSeq);
    expect(polls.pollers, 'the pool was polled by the first poller, then by its successor').to.be.at.least(2);

    const texts = await Promise.all(survivors.map((w) => w.metrics()));
    expect(texts.reduce((sum, t) => sum + metric(t, 'engine_move_worker_takeovers_total'), 0)).to.be.at.least(victimMoves.length);
    // Every move not done at the kill was ended by a survivor, and counted there.
    const openAtKill = atKill.filter((m) => m.state !== 'done').length;
    expect(texts.reduce((sum, t) => sum + metric(t, 'engine_move_worker_outcomes_total'), 0)).to.be.at.least(openAtKill);
  });

  it('a worker paused past its lease and resumed does nothing to the moves it lost, and says so', async function () {
    // Slow wipes keep the moves in flight while the worker is paused.
    const harness = await startHarness(td, { disks: 12, db: await pg.createDatabase(), wipeRateMiBps: 1 });
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(td, workerArgs(harness, 4))));
    const ids = await submitAll(td, harness);

    const victim = workers[0]!;
    // Its moves mid-wipe (6.4 s each) are sure to be still in flight when it is paused.
    await until(async () => (await states(harness, ids)).some((m) => m.owner === victim.ready.owner && m.state === 'deleting-source'));
    const held = (await states(harness, ids)).filter((m) => m.owner === victim.ready.owner && m.state === 'deleting-source').map((m) => m.id);
    const store = await harness.openStore();
    const victimDisks = new Set(await Promise.all(held.map(async (id) => (await store.getMove(id))!.diskId)));
    victim.signal('SIGSTOP');
    const others = workers.slice(1);
    for (const moveId of held) await Promise.race(others.map((w) => w.waitForLog((l) => l.msg === 'took over move' && l['move'] === moveId)));
    const resumedAt = (await harness.control.listCalls({ method: 'none' })).next;
    victim.signal('SIGCONT');

    // It finds out, and says so for each move it held.
    for (const moveId of held) await victim.waitForLog((l) => l.msg === LOST && l['move'] === moveId);
    expect(metric(await victim.metrics(), 'engine_move_worker_leases_lost_total')).to.be.at.least(held.length);

    await waitAll(harness, ids);
    const lastSeq = (await harness.control.listCalls({ method: 'none' })).next;
    await expectAllMoved(td, harness, ids);
    await expectOnePollPerInterval(harness, INTERVAL_S * 1000, lastSeq);

    // After it resumed, nothing it sent touched those moves: no verb on their disks, no stop or
    // clear of their tasks, from its connections (those that had sent the verbs of its moves).
    // (It may go on with moves it claims afresh.)
    const verbs = [...(await callsOf(harness.control, 'Image.move')), ...(await callsOf(harness.control, 'Image.delete'))];
    const victimConnections = new Set(verbs.filter((c) => c.seq < resumedAt && victimDisks.has((c.params as { imageID: string }).imageID)).map((c) => c.connection));
    expect(victimConnections.size).to.be.greaterThan(0);
    const lostTasks = new Set<string>();
    for (const moveId of held) for (const task of await store.listTasks({ moveId })) if (task.vdsmTaskId) lostTasks.add(task.vdsmTaskId);
    const after = [...verbs, ...(await callsOf(harness.control, 'Task.clear')), ...(await callsOf(harness.control, 'Task.stop'))].filter((c) => {
      const params = c.params as { imageID?: string; taskID?: string };
      const touchesLost = (params.imageID !== undefined && victimDisks.has(params.imageID)) || (params.taskID !== undefined && lostTasks.has(params.taskID));
      return c.seq > resumedAt && victimConnections.has(c.connection) && touchesLost;
    });
    expect(after.map((c) => `${c.method} ${JSON.stringify(c.params)}`)).to.deep.equal([]);
  });

  it("a worker paused between its copy's answer and recording it, resumed after its lease lapsed, records that copy and never sends it again", async function () {
    const harness = await startHarness(td, { disks: 1, db: await pg.createDatabase() });
    const worker = await startWorker(td, workerArgs(harness, 4), { ENGINE_MOVE_FAILPOINT: 'copy:after-submit:stop' });
    const ids = await submitAll(td, harness);
    await until(async () => processState(worker.child.pid!) === 'T');
    const store = await harness.openStore();
    const lease = await store.getLease(ids[0]!);
    // Nobody else to take it over: the lease lapses, and the resumed worker renews it (same epoch).
    await until(async () => Date.now() > lease!.leaseUntil + 100);
    worker.signal('SIGCONT');
    await waitAll(harness, ids);
    // Copied once: the verb answered before the pause is the move's task, not sent again.
    await expectAllMoved(td, harness, ids);
    expect((await store.getLease(ids[0]!))?.epoch ?? lease!.epoch).to.equal(lease!.epoch);
  });

  it('SIGTERM: a worker gives its moves back before it exits 0, and another ends them', async function () {
    // Wipes slow enough (6.4 s each) that the leaving worker still holds moves when told to go.
    const harness = await startHarness(td, { disks: 8, db: await pg.createDatabase(), wipeRateMiBps: 1 });
    const leaving = await startWorker(td, workerArgs(harness, 8));
    const ids = await submitAll(td, harness);
    await until(async () => (await states(harness, ids)).some((m) => m.owner === leaving.ready.owner && m.state === 'deleting-source'));
    const staying = await startWorker(td, workerArgs(harness, 8));
    const held = (await states(harness, ids)).filter((m) => m.owner === leaving.ready.owner && m.state === 'deleting-source').map((m) => m.id);
    expect(held).to.not.deep.equal([]);
    leaving.signal('SIGTERM');
    expect(await leaving.exited).to.equal(0);
    // Handed back, not left to lapse: no move is its any more the moment it is gone.
    expect((await states(harness, ids)).filter((m) => m.owner === leaving.ready.owner)).to.deep.equal([]);
    await leaving.waitForLog((l) => l.msg === 'stopped: leases given back');
    await waitAll(harness, ids);
    await expectAllMoved(td, harness, ids);
    for (const moveId of held) await staying.waitForLog((l) => l.msg === 'took over move' && l['move'] === moveId);
  });

  it('PostgreSQL restarted mid-run: the workers carry on and the run completes', async function () {
    const server = pg.server!;
    const harness = await startHarness(td, { disks: 20, db: await pg.createDatabase() });
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(td, workerArgs(harness, 8))));
    const ids = await submitAll(td, harness);
    await until(async () => (await states(harness, ids)).filter((m) => m.state === 'done').length >= 5);
    // `status --json`: every move with its phase, and the owner of those not done.
    const status = await runEngineMove(td, ['status', '--db', harness.db, '--json']);
    expect(status.code, status.stderr).to.equal(0);
    const rows = JSON.parse(status.stdout) as { moveId: string; state: string; phase: string | null; owner: string | null }[];
    expect(rows.map((r) => r.moveId).sort()).to.deep.equal([...ids].sort());
    const owners = new Set(workers.map((w) => w.ready.owner));
    for (const row of rows) {
      expect(row).to.have.property('phase');
      // A move being run has its worker as owner (a done one, until it is handed back).
      if (row.state !== 'queued' && row.owner !== null) expect(owners.has(row.owner), JSON.stringify(row)).to.equal(true);
      if (row.state !== 'queued' && row.state !== 'done') expect(row.owner, JSON.stringify(row)).to.not.equal(null);
    }
    await server.restart();
    await waitAll(harness, ids);
    const lastSeq = (await harness.control.listCalls({ method: 'none' })).next;
    await expectAllMoved(td, harness, ids);
    await expectOnePollPerInterval(harness, INTERVAL_S * 1000, lastSeq);
    expect(workers.every((w) => w.child.exitCode === null)).to.equal(true);
  });
});
