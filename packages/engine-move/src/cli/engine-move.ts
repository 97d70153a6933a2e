/**
 * `engine-move`: move, resume, status, cancel, audit. Exit status: 0 when
 * every move it ran was moved, 1 when one failed or was cancelled (or on an
 * error), 2 for usage errors. SIGINT/SIGTERM stop following (the move stays
 * in the store, with its tasks on the SPM) and `engine-move resume` picks it up.
 */
import { VdsmClient, VdsmError } from '@vdsm-kit/client';
import { MoveOrchestrator } from '../move/orchestrator.js';
import type { MoveHandle } from '../move/orchestrator.js';
import type { MoveOutcome } from '../move/outcome.js';
import { requestCancel } from '../move/request-cancel.js';
import { MoveStoreError } from '../store/move-store.js';
import { openMoveStore } from '../store/open-store.js';
import type { OpenedMoveStore } from '../store/open-store.js';
import { poolHost } from '../tasks/pool-host.js';
import type { PoolHost } from '../tasks/pool-host.js';
import { parseArgs } from './args.js';
import type { AuditArgs, ConnectionArgs, EngineMoveArgs, MigrateArgs, MoveArgs, ResumeArgs, StatusArgs } from './args.js';
import { JsonLinesView, PlainView, TerminalView, describeOutcome } from './move-view.js';
import type { MoveView } from './move-view.js';
import { moveRequest, submit, wait, waitForOutcomes, worker } from './worker-commands.js';
import { MoveWorker } from '../workers/move-worker.js';
import type { CommandContext } from './worker-commands.js';
import { phaseOfState } from '../move/transitions.js';

interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

export async function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseArgs(argv, io.stdout.columns ?? 80);
  if (parsed.kind === 'exit') {
    io.stdout.write(parsed.stdout);
    io.stderr.write(parsed.stderr);
    return parsed.code;
  }
  try {
    return await run(parsed.args, io);
  } catch (error) {
    io.stderr.write(`engine-move: ${describeError(error)}\n`);
    return 1;
  }
}

function describeError(error: unknown): string {
  if (error instanceof MoveStoreError) return `${error.code}: ${error.message}`;
  if (error instanceof VdsmError) return `VDSM error ${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function commandContext(io: Io): CommandContext {
  return {
    io,
    openStore: (db) => openStore(db, io),
    connect: (connection) => {
      const { hosts, clients } = connect(connection);
      return { hosts, close: async () => void (await Promise.allSettled(clients.map((client) => client.close()))) };
    },
  };
}

async function run(args: EngineMoveArgs, io: Io): Promise<number> {
  switch (args.command) {
    case 'move':
      return move(args, io);
    case 'resume':
      return follow(args, io);
    case 'submit':
      return submit(args, commandContext(io));
    case 'worker':
      return worker(args, commandContext(io));
    case 'wait':
      return wait(args, commandContext(io));
    case 'status':
      return status(args, io);
    case 'cancel': {
      const store = await openStore(args.db, io);
      try {
        const move = await requestCancel(store, args.moveId, Date.now);
        if (move.state === 'done') {
          io.stderr.write(`move ${args.moveId} is already done (${move.result})\n`);
          return 1;
        }
        io.stdout.write(`cancel asked for move ${args.moveId} (${move.state}); the process running it stops the copy and cleans up\n`);
        return 0;
      } finally {
        await store.close();
      }
    }
    case 'audit':
      return audit(args, io);
    case 'migrate':
      return migrate(args, io);
  }
}

/** `--db` as given: an SQLite file or a postgres:// URL; the store's retries and reconnects go to stderr. */
function openStore(db: string, io: Io): Promise<OpenedMoveStore> {
  return openMoveStore(db, { log: (line) => io.stderr.write(`engine-move: ${line}\n`) });
}

async function migrate(args: MigrateArgs, io: Io): Promise<number> {
  // Opening applies what is missing (one transaction per migration) or refuses a newer schema.
  const store = await openStore(args.db, io);
  try {
    io.stdout.write(`${store.description}: schema version ${store.schemaVersion}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

function connect(connection: ConnectionArgs): { hosts: PoolHost[]; clients: VdsmClient[] } {
  const clients = connection.hosts.map(
    ({ host, port }) =>
      new VdsmClient({
        host,
        port,
        timeoutMs: connection.callTimeoutMs,
        ...(connection.tls ? { transport: 'tls' as const, pkiDir: connection.tls.pkiDir } : { transport: 'tcp' as const }),
      }),
  );
  const hosts = clients.map((client, index) => poolHost(`${connection.hosts[index]!.host}:${connection.hosts[index]!.port}`, client, client));
  return { hosts, clients };
}

function moveView(json: boolean, io: Io): MoveView {
  return json ? new JsonLinesView((text) => io.stdout.write(text)) : io.stderr.isTTY ? new TerminalView(io.stderr) : new PlainView((text) => io.stderr.write(text));
}

/** Resolves on the first SIGINT or SIGTERM. */
function interruption(): Promise<'stopped'> {
  return new Promise((resolve) => {
    const onSignal = (): void => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve('stopped');
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

/**
 * `move`: submit, then run as a worker of the store (claiming under a lease,
 * every write fenced, so it can share a PostgreSQL store with `engine-move
 * worker`s) until this move has ended, whichever instance ended it; then it
 * hands back whatever else it held.
 */
async function move(args: MoveArgs, io: Io): Promise<number> {
  const store = await openStore(args.db, io);
  const { hosts, clients } = connect(args.connection);
  const view = moveView(args.json, io);
  const stop = interruption();
  let moveWorker: MoveWorker | undefined;
  try {
    const orchestrator = new MoveOrchestrator({ store, hosts, pollIntervalMs: args.pollIntervalMs });
    const record = await orchestrator.submit(moveRequest(args)).finally(() => orchestrator.close());
    let shown = false;
    moveWorker = new MoveWorker({
      store,
      hosts,
      pollIntervalMs: args.pollIntervalMs,
      onRun: (handle) => {
        if (handle.moveId !== record.moveId) return;
        view.attach(handle);
        handle.once('outcome', () => (shown = true));
      },
    });
    moveWorker.start();
    const outcomes = await waitForOutcomes(store, [record.moveId], () => {}, stop);
    view.close();
    if (outcomes === 'stopped') {
      io.stderr.write('engine-move: stopped; the move stays in the store: run `engine-move resume` (or a worker) to go on\n');
      return 1;
    }
    const [outcome] = outcomes;
    if (args.json && !shown) io.stdout.write(`${JSON.stringify({ event: 'outcome', ...outcome })}\n`);
    if (!args.json) io.stdout.write(describeOutcome(outcome!));
    return outcome!.result === 'moved' ? 0 : 1;
  } finally {
    view.close();
    await moveWorker?.stop();
    await Promise.allSettled(clients.map((client) => client.close()));
    await store.close();
  }
}

async function follow(args: ResumeArgs, io: Io): Promise<number> {
  const store = await openStore(args.db, io);
  const { hosts, clients } = connect(args.connection);
  const orchestrator = new MoveOrchestrator({ store, hosts, pollIntervalMs: args.pollIntervalMs });
  const view = moveView(args.json, io);
  const stop = interruption();
  try {
    const handles: MoveHandle[] = await orchestrator.resume();
    for (const handle of handles) view.attach(handle);
    const outcomes = await Promise.race([Promise.all(handles.map((handle) => handle.outcome)), stop]);
    view.close();
    if (outcomes === 'stopped') {
      io.stderr.write('engine-move: stopped; the moves stay in the store: run `engine-move resume` to go on\n');
      return 1;
    }
    if (!args.json) for (const outcome of outcomes) io.stdout.write(describeOutcome(outcome));
    if (outcomes.length === 0 && !args.json) io.stdout.write('nothing to resume\n');
    return outcomes.every((outcome: MoveOutcome) => outcome.result === 'moved') ? 0 : 1;
  } finally {
    view.close();
    orchestrator.close();
    await Promise.allSettled(clients.map((client) => client.close()));
    await store.close();
  }
}

async function status(args: StatusArgs, io: Io): Promise<number> {
  const store = await openStore(args.db, io);
  try {
    const moves = await store.listMoves(args.diskId ? { diskId: args.diskId } : {});
    if (args.json) {
      // Each move with its phase and, while a worker holds it, its owner and lease.
      const rows = await Promise.all(
        moves.map(async (move) => {
          const lease = move.state === 'done' ? undefined : await store.getLease(move.moveId);
          return { ...move, phase: phaseOfState(move.state) ?? null, owner: lease?.owner ?? null, epoch: lease?.epoch ?? null, leaseUntil: lease?.leaseUntil ?? null };
        }),
      );
      io.stdout.write(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    if (moves.length === 0) io.stdout.write(`no moves in ${store.description}\n`);
    for (const move of moves) {
      const outcome = move.result ? `${move.result}${move.failedPhase ? ` (${move.failedPhase})` : ''}` : move.cancelRequested ? 'cancelling' : '';
      io.stdout.write(`${move.moveId}  disk ${move.diskId}  ${move.state.padEnd(24)} ${outcome}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function audit(args: AuditArgs, io: Io): Promise<number> {
  const store = await openStore(args.db, io);
  try {
    const entries = await store.listAudit(args.moveId ? { moveId: args.moveId } : {});
    if (args.json) {
      for (const entry of entries) io.stdout.write(`${JSON.stringify(entry)}\n`);
      return 0;
    }
    for (const entry of entries) {
      io.stdout.write(`${new Date(entry.at).toISOString()} ${entry.type} ${entry.severity.padEnd(7)} ${entry.message}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
