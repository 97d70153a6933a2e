/**
 * `npm run bench -- move-workers [--moves N] [--lease S] [--poll-interval S]
 *   [--time-scale F] [--dir DIR]`
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
 * The last line is one JSON object with every figure.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MoveOrchestrator, openMoveStore } from '@vdsm-kit/engine-move';
import type { OpenedMoveStore } from '@vdsm-kit/engine-move';
import { ControlClient, DEFAULT_IDS, defaultFixture } from '@vdsm-kit/fake-vdsm';
import { startThrowawayPostgres } from '../packages/engine-move/src/test-support/throwaway-postgres.js';
import type { ThrowawayPostgres } from '../packages/engine-move/src/test-support/throwaway-postgres.js';
import { ROOT, countedHosts, round, smallFileDisks, startFakeChild } from './move-support.js';

interface Settings {
  readonly moves: number;
  readonly leaseS: number;
  readonly pollIntervalS: number;
  readonly timeScale: number;
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
      dir: { type: 'string', default: tmpdir() },
    },
  });
  return {
    moves: Number(values.moves),
    leaseS: Number(values.lease),
    pollIntervalS: Number(values['poll-interval']),
    timeScale: Number(values['time-scale']),
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
    const one = await oneRun(settings, pg, 1, work, false);
    const three = await oneRun(settings, pg, 3, work, false);
    const killed = await oneRun(settings, pg, 3, work, true);
    console.log('workers  moves  moved  seconds  moves/min  status calls/interval  peak RSS MiB (each worker)');
    for (const r of [one, three, killed]) {
      console.log(
        `${String(r.workers).padStart(7)}  ${String(r.moves).padStart(5)}  ${String(r.moved).padStart(5)}  ${String(r.durationS).padStart(7)}  ${String(r.movesPerMin).padStart(9)}  ${String(r.statusCallsPerInterval).padStart(21)}  ${r.rssMb.join(', ')}`,
      );
    }
    console.log(`takeover after SIGKILL (third row): ${killed.takeoverS ?? 'n/a'} s (lease ${settings.leaseS} s)`);
    console.log(
      JSON.stringify({
        bench: 'move-workers',
        lease_s: settings.leaseS,
        poll_interval_s: settings.pollIntervalS,
        moves: settings.moves,
        workers: [1, 3],
        moves_per_min: { '1': one.movesPerMin, '3': three.movesPerMin },
        moves_per_min_with_kill: killed.movesPerMin,
        moved: { '1': one.moved, '3': three.moved, '3_with_kill': killed.moved },
        not_moved: { '1': one.notMoved, '3': three.notMoved, '3_with_kill': killed.notMoved },
        takeover_s: killed.takeoverS ?? null,
        status_calls_per_interval: { '1': one.statusCallsPerInterval, '3': three.statusCallsPerInterval, '3_with_kill': killed.statusCallsPerInterval },
        peak_rss_mb: { '1': one.rssMb, '3': three.rssMb, '3_with_kill': killed.rssMb },
      }),
    );
  } finally {
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}
