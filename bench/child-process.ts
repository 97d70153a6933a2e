/**
 * Peers of a benchmark as child processes, so that the measured client and
 * its server each get a core, as they would in real life (a host and an
 * engine are different machines).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child process that announced itself with one JSON line on stdout. */
export interface ReadyChild<T> {
  readonly child: ChildProcess;
  /** The parsed ready line. */
  readonly ready: T;
  /** Ends the child with SIGTERM (SIGKILL after `graceMs`) and waits until it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** How long a child may take to print its ready line. */
const READY_TIMEOUT_MS = 30_000;

/**
 * Starts `node <args>` and resolves once it printed its first stdout line,
 * parsed as JSON. Its stderr goes to ours, so a failed start explains itself.
 * stdin stays open: a child that exits when stdin closes dies with us.
 */
export function spawnReady<T>(args: readonly string[], options: { cwd?: string } = {}): Promise<ReadyChild<T>> {
  const child = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`node ${args.join(' ')}: no ready line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      lines.close();
      void stop();
      reject(error);
    };
    const exitedEarly = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`node ${args.join(' ')} exited (${signal ?? code}) before it was ready`));
    child.once('error', fail);
    child.once('exit', exitedEarly);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.removeListener('exit', exitedEarly);
      child.removeListener('error', fail);
      lines.close();
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout!.resume();
      try {
        resolve({ child, ready: JSON.parse(line) as T, stop });
      } catch {
        fail(new Error(`node ${args.join(' ')}: ready line is not JSON: ${line}`));
      }
    });
  });
}
