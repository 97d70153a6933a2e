/**
 * The swarm part of bench/move.ts, in a child process of its own so its peak
 * resident memory is the orchestrator's (and Node's and tsx's floor, which
 * it reports too, measured before the first move): every disk of a list
 * moved at once from the file domain to the block domain by one
 * MoveOrchestrator, one pool, one tracker. Prints one JSON line (SwarmResult)
 * on stdout when done.
 *
 * `runSwarmChild` is the parent's side: it starts this file under tsx and
 * reads that line.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MoveOrchestrator, SqliteMoveStore } from '@vdsm-kit/engine-move';
import type { MoveOutcome } from '@vdsm-kit/engine-move';
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import { countedHosts } from './move-support.js';
import type { FakeReady } from './move-support.js';

export interface SwarmConfig {
  readonly fake: FakeReady;
  /** A JSON file: the image ids to move, each on the default fixture's file domain. */
  readonly disksPath: string;
  readonly dbPath: string;
  readonly pollIntervalMs: number;
  readonly firstEarlyPollMs: number;
  readonly submissionWindow?: number;
}

export interface SwarmResult {
  readonly moves: number;
  readonly moved: number;
  readonly durationS: number;
  /** The most moves in flight at once (asked for, outcome not yet known). */
  readonly concurrentMoves: number;
  /** The most of our tasks the tracker followed on the SPM at once. */
  readonly maxTasksOnSpm: number;
  readonly submissionWindow: number;
  readonly statusCalls: number;
  /** While the submission window was full with moves waiting for it. */
  readonly steadyS: number;
  readonly steadyStatusCalls: number;
  readonly statusCallsPerInterval: number;
  readonly rssMb: number;
  readonly rssBaselineMb: number;
  readonly callsByMethod: Record<string, number>;
  /** Moves that did not end moved, by `result/failedPhase/error code`. */
  readonly notMoved: Record<string, number>;
}

const STATUS_METHOD = 'Host.getAllTasksStatuses';

/** Peak resident memory of this process so far, MiB (getrusage's ru_maxrss is KiB on Linux). */
function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function swarm(config: SwarmConfig): Promise<SwarmResult> {
  const images = JSON.parse(await readFile(config.disksPath, 'utf8')) as string[];
  const counted = countedHosts(config.fake);
  const store = SqliteMoveStore.open({ path: config.dbPath });
  let maxTasksOnSpm = 0;
  let windowSize = 0;
  /** performance.now() of each poll that found the window full and moves waiting for it. */
  const fullAt: number[] = [];
  const orchestrator = new MoveOrchestrator({
    copyPath: 'spm',
    store,
    hosts: counted.hosts,
    pollIntervalMs: config.pollIntervalMs,
    tracker: {
      firstEarlyPollMs: config.firstEarlyPollMs,
      ...(config.submissionWindow === undefined ? {} : { submissionWindow: config.submissionWindow }),
    },
    onTrackerEvent: (poolId, event) => {
      if (event.type !== 'poll') return;
      const window = orchestrator.tracker(poolId).window;
      windowSize = window.size;
      maxTasksOnSpm = Math.max(maxTasksOnSpm, event.tasks);
      if (window.used === window.size && window.waiting > 0) fullAt.push(performance.now());
    },
  });
  try {
    // The floor: modules loaded, the store open, a connection up.
    await counted.hosts[0]!.api.Host.ping2();
    const rssBaselineMb = peakRssMb();
    const started = performance.now();
    let inFlight = 0;
    let concurrentMoves = 0;
    const outcomes = await Promise.all(
      images.map(async (image): Promise<MoveOutcome> => {
        inFlight += 1;
        concurrentMoves = Math.max(concurrentMoves, inFlight);
        try {
          const handle = await orchestrator.moveDisk({
            poolId: DEFAULT_IDS.pool,
            diskId: image,
            srcDomainId: DEFAULT_IDS.fileDomain,
            dstDomainId: DEFAULT_IDS.blockDomain,
          });
          return await handle.outcome;
        } finally {
          inFlight -= 1;
        }
      }),
    );
    const durationS = (performance.now() - started) / 1000;
    const statusAt = counted.calls.filter((c) => c.method === STATUS_METHOD).map((c) => c.at);
    const [from, to] = [fullAt[0] ?? 0, fullAt.at(-1) ?? 0];
    const steadyStatusCalls = statusAt.filter((at) => at > from && at <= to).length;
    const steadyMs = to - from;
    const callsByMethod: Record<string, number> = {};
    for (const call of counted.calls) callsByMethod[call.method] = (callsByMethod[call.method] ?? 0) + 1;
    const notMoved: Record<string, number> = {};
    for (const o of outcomes) {
      if (o.result === 'moved' && o.failedPhase === null) continue;
      const key = `${o.result}/${o.failedPhase}/${o.error?.code ?? '-'} ${o.error?.message.slice(0, 80) ?? ''}`;
      notMoved[key] = (notMoved[key] ?? 0) + 1;
    }
    return {
      notMoved,
      moves: images.length,
      moved: outcomes.filter((o) => o.result === 'moved' && o.failedPhase === null).length,
      durationS,
      concurrentMoves,
      maxTasksOnSpm,
      submissionWindow: windowSize,
      statusCalls: statusAt.length,
      steadyS: steadyMs / 1000,
      steadyStatusCalls,
      statusCallsPerInterval: steadyMs > 0 ? steadyStatusCalls / (steadyMs / config.pollIntervalMs) : Number.NaN,
      rssMb: peakRssMb(),
      rssBaselineMb,
      callsByMethod,
    };
  } finally {
    orchestrator.close();
    await store.close();
    await counted.close();
  }
}

/** Runs this file as `node --import tsx bench/move-swarm.ts CONFIG` and resolves with its result line. */
export function runSwarmChild(config: SwarmConfig & { readonly cwd: string }): Promise<SwarmResult> {
  const { cwd, ...childConfig } = config;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(childConfig)], {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`the swarm child exited (${signal ?? code})`));
      try {
        resolve(JSON.parse(last) as SwarmResult);
      } catch {
        reject(new Error(`the swarm child's last line is not JSON: ${last}`));
      }
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await swarm(JSON.parse(process.argv[2]!) as SwarmConfig);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
