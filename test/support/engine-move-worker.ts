/**
 * `engine-move worker` as a real child process (from its TypeScript source
 * through tsx, like engine-move-process.ts): started, read until its ready
 * line, its JSON log lines on stderr kept and waited on, and signalled as a
 * test chooses (SIGTERM, SIGKILL, SIGSTOP/SIGCONT).
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TeardownHelper } from './teardown.js';

const ENGINE_PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'engine-move');

export interface WorkerReady {
  readonly event: 'ready';
  readonly owner: string;
  readonly pid: number;
  readonly metricsPort?: number;
}

export interface WorkerLogLine {
  readonly level: string;
  readonly msg: string;
  readonly owner: string;
  readonly [field: string]: unknown;
}

export interface WorkerProcess {
  readonly ready: WorkerReady;
  readonly child: ChildProcessWithoutNullStreams;
  /** Every log line so far. */
  logs(): WorkerLogLine[];
  /** Resolves with the first log line (past or future) that `match` accepts. */
  waitForLog(match: (line: WorkerLogLine) => boolean): Promise<WorkerLogLine>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves when it exited, with its code or signal. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** GET /metrics (needs --metrics-port). */
  metrics(): Promise<string>;
}

export function engineMoveArgv(args: readonly string[]): string[] {
  return ['--import', 'tsx', '--conditions=development', 'src/cli.ts', ...args];
}

export const ENGINE_MOVE_DIR = ENGINE_PACKAGE_DIR;

/** Starts `engine-move worker ARGS` and resolves once it printed its ready line. */
export async function startWorker(td: TeardownHelper, args: readonly string[], env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, engineMoveArgv(['worker', ...args]), { cwd: ENGINE_PACKAGE_DIR, env: { ...process.env, ...env } });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  td.add(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await exited;
  });
  const lines: WorkerLogLine[] = [];
  const waiters: { match: (line: WorkerLogLine) => boolean; resolve: (line: WorkerLogLine) => void }[] = [];
  let rest = '';
  child.stderr.on('data', (chunk: Buffer) => {
    rest += chunk.toString('utf8');
    let newline: number;
    while ((newline = rest.indexOf('\n')) >= 0) {
      const text = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      let line: WorkerLogLine;
      try {
        line = JSON.parse(text) as WorkerLogLine;
      } catch {
        line = { level: 'raw', msg: text, owner: '' };
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  let stdout = '';
  const ready = await new Promise<WorkerReady>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      try {
        resolve(JSON.parse(stdout.slice(0, newline)) as WorkerReady);
      } catch (error) {
        reject(error as Error);
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      reject(new Error(`engine-move worker exited (${code ?? signal}) before ready: ${lines.map((l) => l.msg).join('\n')}`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
  child.stdout.resume();
  return {
    ready,
    child,
    logs: () => [...lines],
    waitForLog: (match) => {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    signal: (signal) => {
      child.kill(signal);
    },
    exited,
    metrics: async () => {
      if (ready.metricsPort === undefined) throw new Error('worker started without --metrics-port');
      const response = await fetch(`http://127.0.0.1:${ready.metricsPort}/metrics`);
      return response.text();
    },
  };
}
