/**
 * Several orchestrator instances: three `engine-move worker` processes share
 * one store and one pool of a `fake-vdsm serve` process. The moves are
 * submitted (one through `engine-move submit`), the workers claim them, and
 * the suites take a worker away in the ways a real one goes:
 *
 * - SIGKILL mid-way (the pool's poller, holding moves): its moves are taken
 *   over and every move still ends moved, each disk copied once, nothing
 *   LOCKED, no task left on the SPM, one status poll per interval throughout;
 * - SIGSTOP past its lease, then SIGCONT: it does nothing more to the moves
 *   it lost, and says so (log line and metric);
 * - SIGTERM: it hands its moves back at once and exits 0.
 *
 * Leases of 2 s, a poll interval of 0.2 s, the fake's storage time 20x
 * faster. Every wait is on an event (a log line, the store); nothing is
 * bounded by wall-clock time.
 */
import { expect } from 'chai';
import { runEngineMove } from './support/engine-move-process.js';
import { startWorker } from './support/engine-move-worker.js';
import type { WorkerProcess } from './support/engine-move-worker.js';
import { expectAllMoved, expectOnePollPerInterval, startHarness, submitAll, until } from './support/workers-harness.js';
import type { Harness } from './support/workers-harness.js';
import { TeardownHelper } from './support/teardown.js';

const LEASE_S = 2;
const INTERVAL_S = 0.2;

describe('engine-move workers: three processes sharing the moves of one pool', function () {
  this.timeout(900_000);
  const td = new TeardownHelper();
  afterEach(() => td.run());

  function workerArgs(harness: Harness, extra: string[] = []): string[] {
    return ['--db', harness.db, '--hosts', harness.hostsArg, '--insecure', '--lease', String(LEASE_S), '--poll-interval', String(INTERVAL_S), '--metrics-port', '0', '--max-moves', '20', ...extra];
  }

  /** The worker that polls the pool now: the last to say it took the pool lease and not since that it gave it up. */
  function poller(workers: readonly WorkerProcess[]): WorkerProcess | undefined {
    return workers.find((w) => {
      const lines = w.logs().filter((l) => l.msg === 'polling the pool (pool lease taken)' || l.msg === 'no longer polling the pool');
      return lines.at(-1)?.msg === 'polling the pool (pool lease taken)';
    });
  }

  async function doneCount(harness: Harness, ids: readonly string[]): Promise<number> {
    const store = await harness.openStore();
    let done = 0;
    for (const id of ids) if ((await store.getMove(id))?.state === 'done') done += 1;
    return done;
  }

  it('60 moves with and without wipe, the poller SIGKILLed mid-way: all moved, each copied once, one status poll per interval', async function () {
    const harness = await startHarness(td, { disks: 60 });
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(td, workerArgs(harness))));
    const ids = await submitAll(td, harness);

    // Mid-way: a third done, and the poller holding moves of its own.
    await until(async () => (await doneCount(harness, ids)) >= 20 && poller(workers) !== undefined);
    const victim = poller(workers)!;
    const store = await harness.openStore();
    const victimMoves: string[] = [];
    for (const id of ids) if ((await store.getLease(id))?.owner === victim.ready.owner) victimMoves.push(id);
    victim.signal('SIGKILL');
    expect(await victim.exited).to.equal('SIGKILL');
    const survivors = workers.filter((w) => w !== victim);

    // Another worker takes the pool, and the dead one's moves.
    await Promise.race(survivors.map((w) => w.waitForLog((l) => l.msg === 'polling the pool (pool lease taken)' && Date.parse(String(l['time'])) > 0)));
    if (victimMoves.length > 0) {
      await Promise.race(survivors.map((w) => w.waitForLog((l) => l.msg === 'took over move')));
    }

    const waited = await runEngineMove(td, ['wait', '--db', harness.db, '--json', ...ids]);
    expect(waited.events).to.have.length(60);
    expect(waited.events.filter((e) => e['result'] !== 'moved').map((e) => JSON.stringify([e['failedPhase'], e['error'], e['leftovers']]))).to.deep.equal([]);
    expect(waited.code, waited.stderr).to.equal(0);
    const lastSeq = (await harness.control.listCalls({ method: 'none' })).next;

    await expectAllMoved(td, harness, ids);
    const polls = await expectOnePollPerInterval(harness, INTERVAL_S * 1000, lastSeq);
    expect(polls.pollers, 'the pool was polled by the first poller, then by its successor').to.be.at.least(2);

    // The survivors' metrics: the takeovers and every move's outcome were counted.
    const texts = await Promise.all(survivors.map((w) => w.metrics()));
    const sum = (name: RegExp): number => texts.reduce((total, text) => total + [...text.matchAll(name)].reduce((s, m) => s + Number(m[1]), 0), 0);
    if (victimMoves.length > 0) expect(sum(/^engine_move_worker_takeovers_total (\d+)/gm)).to.be.at.least(1);
    expect(sum(/^engine_move_worker_status_polls_total\{[^}]*\} (\d+)/gm)).to.be.greaterThan(0);
  });
});
