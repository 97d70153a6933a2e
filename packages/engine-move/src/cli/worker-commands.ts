/**
 * The commands of several instances: `submit` (record a move, print its id),
 * `worker` (claim and run moves until SIGTERM), `wait` (wait for outcomes).
 * `submit` and `wait` need no worker of their own: any worker sharing the
 * store runs the move.
 */
import { MoveOrchestrator } from '../move/orchestrator.js';
import type { MoveDiskRequest } from '../move/orchestrator.js';
import { outcomeOf } from '../move/outcome.js';
import type { MoveOutcome } from '../move/outcome.js';
import type { MoveLeaseStore } from '../store/leases.js';
import { MoveStoreError } from '../store/move-store.js';
import type { MoveStore } from '../store/move-store.js';
import { MoveWorker } from '../workers/move-worker.js';
import type { WorkerLog } from '../workers/move-worker.js';
import { WorkerMetrics } from '../workers/worker-metrics.js';
import type { MoveArgs, SubmitArgs, WaitArgs, WorkerArgs } from './args.js';
import { describeOutcome } from './move-view.js';

export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface CommandContext {
  readonly io: Io;
  readonly openStore: (db: string) => Promise<MoveStore & MoveLeaseStore>;
  readonly connect: (args: WorkerArgs['connection']) => { hosts: MoveOrchestratorHosts; close(): Promise<void> };
}

type MoveOrchestratorHosts = ConstructorParameters<typeof MoveOrchestrator>[0]['hosts'];

/** Backstop for `wait`: the store is read this often even without a wake-up. */
const WAIT_POLL_MS = 1000;

/** The move `move` and `submit` ask for. */
export function moveRequest(args: MoveArgs | SubmitArgs): MoveDiskRequest {
  const { poolId, diskId, srcDomainId, dstDomainId, wipeAfterDelete, discard, legacy, copyPath, excludeHosts, copyRetries } = args;
  return { poolId, diskId, srcDomainId, dstDomainId, wipeAfterDelete, discard, legacy, copyPath: legacy ? 'spm' : copyPath, excludeHosts, copyRetries };
}

export async function submit(args: SubmitArgs, ctx: CommandContext): Promise<number> {
  const store = await ctx.openStore(args.db);
  const connection = ctx.connect(args.connection);
  const orchestrator = new MoveOrchestrator({ store, hosts: connection.hosts, pollIntervalMs: args.pollIntervalMs });
  try {
    const move = await orchestrator.submit(moveRequest(args));
    ctx.io.stdout.write(args.json ? `${JSON.stringify({ event: 'submitted', moveId: move.moveId, diskId: move.diskId, at: move.createdAt })}\n` : `${move.moveId}\n`);
    return 0;
  } finally {
    orchestrator.close();
    await connection.close();
    await store.close();
  }
}

/**
 * Calls `onOutcome` for each move as it ends (whichever instance runs it),
 * reading the store on every wake-up and every second as a backstop;
 * resolves once all have ended, or when `stop` resolves first.
 */
export async function waitForOutcomes(
  store: MoveStore & MoveLeaseStore,
  moveIds: readonly string[],
  onOutcome: (outcome: MoveOutcome) => void,
  stop: Promise<unknown> = new Promise(() => {}),
): Promise<MoveOutcome[] | 'stopped'> {
  let wake: (() => void) | undefined;
  let stopped = false;
  void stop.then(() => {
    stopped = true;
    wake?.();
  });
  const unsubscribe = store.onWakeUp(() => wake?.());
  try {
    const outcomes = new Map<string, MoveOutcome>();
    for (;;) {
      for (const moveId of moveIds) {
        if (outcomes.has(moveId)) continue;
        const move = await store.getMove(moveId);
        if (!move) throw new MoveStoreError('UNKNOWN_MOVE', `no move ${moveId} in ${store.description}`);
        if (move.state !== 'done') continue;
        const outcome = await outcomeOf(store, move);
        outcomes.set(moveId, outcome);
        onOutcome(outcome);
      }
      if (outcomes.size === moveIds.length) return moveIds.map((id) => outcomes.get(id)!);
      if (stopped) return 'stopped';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WAIT_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
  }
}

export async function wait(args: WaitArgs, ctx: CommandContext): Promise<number> {
  const store = await ctx.openStore(args.db);
  try {
    const outcomes = await waitForOutcomes(store, args.moveIds, (outcome) =>
      ctx.io.stdout.write(args.json ? `${JSON.stringify({ event: 'outcome', ...outcome })}\n` : describeOutcome(outcome)),
    );
    return outcomes !== 'stopped' && outcomes.every((outcome) => outcome.result === 'moved') ? 0 : 1;
  } finally {
    await store.close();
  }
}

/** JSON lines on stderr, one per event, each naming the worker. */
function stderrLog(io: Io, owner: () => string): WorkerLog {
  return (level, message, fields = {}) => {
    io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, owner: owner(), ...fields })}\n`);
  };
}

/**
 * Runs a worker until SIGTERM or SIGINT: then it stops claiming, finishes the
 * store writes in flight and gives its leases back (exit 0). A second signal
 * exits at once (1); the leases then lapse by themselves.
 */
export async function worker(args: WorkerArgs, ctx: CommandContext): Promise<number> {
  const store = await ctx.openStore(args.db);
  const connection = ctx.connect(args.connection);
  const metrics = new WorkerMetrics();
  let owner = '';
  const log = stderrLog(ctx.io, () => owner);
  const moveWorker = new MoveWorker({
    store,
    hosts: connection.hosts,
    leaseMs: args.leaseMs,
    pollIntervalMs: args.pollIntervalMs,
    maxMoves: args.maxMoves,
    log,
    metrics,
  });
  owner = moveWorker.owner;
  const server = args.metricsPort === undefined ? undefined : await metrics.serve(args.metricsPort);
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log('info', 'stopping: no more claims; giving the leases back', { signal });
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      const again = (): void => {
        log('warn', 'second signal: exiting at once; the leases lapse by themselves');
        process.exit(1);
      };
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  moveWorker.start();
  ctx.io.stdout.write(`${JSON.stringify({ event: 'ready', owner, store: store.description, pid: process.pid, ...(server ? { metricsPort: server.port } : {}) })}\n`);
  log('info', 'worker started', { leaseMs: args.leaseMs, maxMoves: args.maxMoves });
  try {
    await stopped;
    await moveWorker.stop();
    return 0;
  } finally {
    await server?.close();
    await connection.close();
    await store.close();
  }
}
