/**
 * `npm run bench -- move-workers [--moves N] [--lease S] [--poll-interval S]
 *   [--time-scale F] [--repeats N] [--dir DIR]`
 *
 * Several engine-move workers on one PostgreSQL store (a throwaway server)
 * and one pool of `fake-vdsm serve` (a child process), each worker an
 * `engine-move worker` process of the built CLI:
 *
 *  1. `--moves` (120) small disks (8 MiB, 64 KiB of data) moved from the file
 *     domain to the block domain by 1 worker, then (a fresh database and fake)
 *     by 3 workers: `moves_per_min` for each, from the first submission to
 *     the last outcome, and `status_calls_per_interval` (the fake's call log:
 *     Host.getAllTasksStatuses calls over the run's duration in intervals;
 *     one poller per pool whatever the workers) and the peak RSS of each
 *     worker (VmHWM).
 *  2. A second 3-worker run in which, once a third of the moves is done, the
 *     worker holding the most moves is SIGKILLed: `takeover_s` is the time
 *     from the kill to one of its moves making a step again under another
 *     worker (a higher epoch and another state in the store), and
 *     `moves_per_min_with_kill` that run's rate.
 *
 * The three runs are one round; `--repeats` (5) rounds take turns (the
 * 1-worker and 3-worker runs swap order every round), and each figure is
 * printed as the median with its min-max over the rounds, the ratio of 3
 * workers to 1 taken within each round. The last line is one JSON object with
 * every figure (medians under the earlier keys, `_median`/`_min`/`_max`
 * beside the ratio and the spreads under `spread`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MoveOrchestrator, openMoveStore } from '@vdsm-kit/engine-move';
import type { OpenedMoveStore } from '@vdsm-kit/engine-move';
import { ControlClient, DEFAULT_IDS, defaultFixture } from '@vdsm-kit/fake-vdsm';
import { startThrowawayPostgres } from '../packages/engine-move/src/test-support/throwaway-postgres.js';
import type { ThrowawayPostgres } from '../packages/engine-move/src/test-support/throwaway-postgres.js';
import { ROOT, countedHosts, round, smallFileDisks, startFakeChild } from './move-support.js';
import { cpuPressure } from './machine-state.js';
import { formatSpread, spreadOf } from './spread.js';
import type { Spread } from './spread.js';

interface Settings {
  readonly moves: number;
  readonly leaseS: number;
  readonly pollIntervalS: number;
  readonly timeScale: number;
  readonly repeats: number;
  readonly dir: string;
}

interface WorkerChild {
  readonly child: ChildProcess;
  readonly owner: string;
}

interface RunResult {
  readonly workers: number;
  readonly moves: number;
  readonly moved: number;
  readonly durationS: number;
  readonly movesPerMin: number;
  readonly statusCalls: number;
  readonly statusCallsPerInterval: number;
  readonly rssMb: number[];
  readonly takeoverS?: number;
  /** Moves that did not end moved, by `result/failedPhase: error`. */
  readonly notMoved: Record<string, number>;
}

function readSettings(args: readonly string[]): Settings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      moves: { type: 'string', default: '120' },
      lease: { type: 'string', default: '3' },
      'poll-interval': { type: 'string', default: '0.5' },
      'time-scale': { type: 'string', default: '0.05' },
      repeats: { type: 'string', default: '5' },
      dir: { type: 'string', default: tmpdir() },
    },
  });
  return {
    moves: Number(values.moves),
    leaseS: Number(values.lease),
    pollIntervalS: Number(values['poll-interval']),
    timeScale: Number(values['time-scale']),
    repeats: Number(values.repeats),
    dir: values.dir,
  };
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? round(Number(match[1]) / 1024, 1) : NaN;
}

function startWorker(db: string, hostsArg: string, settings: Settings): Promise<WorkerChild> {
  const child = spawn(
    process.execPath,
    ['packages/engine-move/dist/cli.js', 'worker', '--db', db, '--hosts', hostsArg, '--insecure', '--lease', String(settings.leaseS), '--poll-interval', String(settings.pollIntervalS)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once('exit', (code) => reject(new Error(`engine-move worker exited (${code}) before it was ready`)));
    lines.once('line', (line) => {
      child.stdout!.resume();
      resolve({ child, owner: (JSON.parse(line) as { owner: string }).owner });
    });
  });
}

async function stopWorker(worker: WorkerChild): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGTERM');
  await exited;
}

async function oneRun(settings: Settings, pg: ThrowawayPostgres, workerCount: number, work: string, killOne: boolean): Promise<RunResult> {
  const disks = Array.from({ length: settings.moves }, () => ({ image: randomUUID(), volume: randomUUID() }));
  const fixture = defaultFixture();
  fixture.disks = [...(fixture.disks ?? []), ...smallFileDisks(disks)];
  const fake = await startFakeChild({ fixture, dir: work, timeScale: settings.timeScale, callLog: 1_000_000 });
  const db = await pg.createDatabase();
  const hostsArg = fake.ready.hosts.map((h) => `${h.stomp.host}:${h.stomp.port}`).join(',');
  let store: OpenedMoveStore | undefined;
  const workers: WorkerChild[] = [];
  const counted = countedHosts(fake.ready);
  try {
    store = await openMoveStore(db);
    for (let i = 0; i < workerCount; i += 1) workers.push(await startWorker(db, hostsArg, settings));
    const rss = new Map<number, number>();
    const sampleRss = async (): Promise<void> => {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) rss.set(w.child.pid!, await peakRssMb(w.child.pid!).catch(() => NaN));
    };
    const orchestrator = new MoveOrchestrator({ copyPath: 'spm', store, hosts: counted.hosts });
    const control = new ControlClient(fake.ready.control);
    const firstSeq = (await control.listCalls({ method: 'none' })).next;
    const started = performance.now();
    const ids: string[] = [];
    for (const disk of disks) {
      ids.push((await orchestrator.submit({ poolId: DEFAULT_IDS.pool, diskId: disk.image, srcDomainId: DEFAULT_IDS.fileDomain, dstDomainId: DEFAULT_IDS.blockDomain })).moveId);
    }
    orchestrator.close();
    let takeoverS: number | undefined;
    let killed = !killOne;
    for (;;) {
      const moves = await store.listMoves({});
      const done = moves.filter((m) => m.state === 'done').length;
      if (done === ids.length) break;
      if (!killed && done >= ids.length / 3) {
        killed = true;
        await sampleRss();
        const byOwner = new Map<string, number>();
        for (const m of moves) if (m.owner && m.state !== 'done') byOwner.set(m.owner, (byOwner.get(m.owner) ?? 0) + 1);
        const [victimOwner] = [...byOwner.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
        const victim = workers.find((w) => w.owner === victimOwner);
        if (victim) {
          victim.child.kill('SIGKILL');
          const killedAt = performance.now();
          // Its moves as they were at the kill: a step under another claim is a higher epoch and another state.
          const atKill = (await store.listMoves({})).filter((m) => m.owner === victim.owner && m.state !== 'done');
          const held = new Map(atKill.map((m) => [m.moveId, m]));
          for (; held.size > 0; ) {
            const now = await Promise.all([...held.keys()].map((id) => store!.getMove(id)));
            if (now.some((m) => m && m.epoch > held.get(m.moveId)!.epoch && m.state !== held.get(m.moveId)!.state)) break;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          if (held.size > 0) takeoverS = round((performance.now() - killedAt) / 1000, 2);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const durationS = (performance.now() - started) / 1000;
    await sampleRss();
    const moves = await store.listMoves({});
    const polls = (await control.listCalls({ method: 'Host.getAllTasksStatuses', since: firstSeq })).calls.length;
    return {
      workers: workerCount,
      moves: ids.length,
      moved: moves.filter((m) => m.result === 'moved').length,
      durationS: round(durationS, 2),
      movesPerMin: round((ids.length / durationS) * 60, 1),
      statusCalls: polls,
      statusCallsPerInterval: round(polls / (durationS / settings.pollIntervalS), 2),
      rssMb: [...rss.values()],
      notMoved: moves
        .filter((m) => m.result !== 'moved')
        .reduce<Record<string, number>>((acc, m) => {
          const key = `${m.result}/${m.failedPhase}: ${m.error?.code ?? ''} ${m.error?.message ?? ''}`.slice(0, 200);
          acc[key] = (acc[key] ?? 0) + 1;
          return acc;
        }, {}),
      ...(takeoverS === undefined ? {} : { takeoverS }),
    };
  } finally {
    await Promise.allSettled(workers.map(stopWorker));
    await store?.close();
    await counted.close();
    await fake.stop();
  }
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = readSettings(args);
  const work = await mkdtemp(join(settings.dir, 'vdsm-kit-bench-workers-'));
  const pg = await startThrowawayPostgres();
  try {
    process.stderr.write(`move-workers bench: ${settings.moves} moves, lease ${settings.leaseS} s, poll interval ${settings.pollIntervalS} s, time scale ${settings.timeScale}\n`);
    const rounds: { one: RunResult; three: RunResult; killed: RunResult }[] = [];
    for (let r = 0; r < settings.repeats; r += 1) {
      process.stderr.write(`round ${r + 1}/${settings.repeats}\n`);
      // Taking turns: the order of the 1- and 3-worker runs swaps every round.
      const [first, second] = r % 2 === 0 ? [1, 3] : [3, 1];
      const a = await oneRun(settings, pg, first, work, false);
      const b = await oneRun(settings, pg, second, work, false);
      const killed = await oneRun(settings, pg, 3, work, true);
      rounds.push({ one: first === 1 ? a : b, three: first === 1 ? b : a, killed });
    }
    const of = (pick: (round: (typeof rounds)[number]) => number | undefined): Spread | undefined => {
      const values = rounds.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
      return values.length === 0 ? undefined : spreadOf(values);
    };
    const spread = {
      moves_per_min: { '1': of((r) => r.one.movesPerMin)!, '3': of((r) => r.three.movesPerMin)! },
      moves_per_min_with_kill: of((r) => r.killed.movesPerMin)!,
      workers_3_over_1: of((r) => r.three.movesPerMin / r.one.movesPerMin)!,
      takeover_s: of((r) => r.killed.takeoverS),
      status_calls_per_interval: {
        '1': of((r) => r.one.statusCallsPerInterval)!,
        '3': of((r) => r.three.statusCallsPerInterval)!,
        '3_with_kill': of((r) => r.killed.statusCallsPerInterval)!,
      },
    };
    const peak = (pick: (round: (typeof rounds)[number]) => RunResult): number[] => {
      const worst: number[] = [];
      for (const r of rounds) pick(r).rssMb.forEach((mb, i) => (worst[i] = Math.max(worst[i] ?? 0, mb)));
      return worst;
    };
    const last = rounds[rounds.length - 1]!;
    const pressure = await cpuPressure();
    console.log(`move-workers benchmark: Node ${process.version}, ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}${pressure === undefined ? '' : `, CPU pressure ${pressure} %`}`);
    console.log(`${settings.repeats} rounds; each figure the median (min-max) over the rounds\n`);
    const f = (x: Spread | undefined, digits = 1): string => (x === undefined ? 'n/a' : formatSpread(x, digits, ''));
    console.log(`moves/min, 1 worker:             ${f(spread.moves_per_min['1'])}`);
    console.log(`moves/min, 3 workers:            ${f(spread.moves_per_min['3'])}`);
    console.log(`3 workers over 1 (same round):   ${formatSpread(spread.workers_3_over_1)}`);
    console.log(`moves/min, 3 workers, one killed: ${f(spread.moves_per_min_with_kill)}`);
    console.log(`takeover after SIGKILL:          ${f(spread.takeover_s, 2)} s (lease ${settings.leaseS} s)`);
    console.log(`status calls per interval:       1: ${f(spread.status_calls_per_interval['1'], 2)}, 3: ${f(spread.status_calls_per_interval['3'], 2)}, 3 killed: ${f(spread.status_calls_per_interval['3_with_kill'], 2)}`);
    console.log(`peak RSS MiB per worker (worst): 1: ${peak((r) => r.one).join(', ')}; 3: ${peak((r) => r.three).join(', ')}`);
    const moved = (pick: (round: (typeof rounds)[number]) => RunResult): number => Math.min(...rounds.map((r) => pick(r).moved));
    const median = (x: Spread | undefined): number | null => (x === undefined ? null : round(x.median, 2));
    const rounded = (x: Spread | undefined) => (x === undefined ? null : { median: round(x.median, 3), min: round(x.min, 3), max: round(x.max, 3) });
    console.log(
      JSON.stringify({
        bench: 'move-workers',
        node: process.version,
        loadavg_1m: round(loadavg()[0] ?? 0, 2),
        lease_s: settings.leaseS,
        poll_interval_s: settings.pollIntervalS,
        moves: settings.moves,
        repeats: settings.repeats,
        workers: [1, 3],
        moves_per_min: { '1': median(spread.moves_per_min['1']), '3': median(spread.moves_per_min['3']) },
        moves_per_min_with_kill: median(spread.moves_per_min_with_kill),
        workers_3_over_1_median: round(spread.workers_3_over_1.median, 3),
        workers_3_over_1_min: round(spread.workers_3_over_1.min, 3),
        workers_3_over_1_max: round(spread.workers_3_over_1.max, 3),
        moved: { '1': moved((r) => r.one), '3': moved((r) => r.three), '3_with_kill': moved((r) => r.killed) },
        not_moved: { '1': last.one.notMoved, '3': last.three.notMoved, '3_with_kill': last.killed.notMoved },
        takeover_s: median(spread.takeover_s),
        status_calls_per_interval: {
          '1': median(spread.status_calls_per_interval['1']),
          '3': median(spread.status_calls_per_interval['3']),
          '3_with_kill': median(spread.status_calls_per_interval['3_with_kill']),
        },
        peak_rss_mb: { '1': peak((r) => r.one), '3': peak((r) => r.three), '3_with_kill': peak((r) => r.killed) },
        spread: {
          moves_per_min: { '1': rounded(spread.moves_per_min['1']), '3': rounded(spread.moves_per_min['3']) },
          moves_per_min_with_kill: rounded(spread.moves_per_min_with_kill),
          takeover_s: rounded(spread.takeover_s),
        },
      }),
    );
  } finally {
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}
