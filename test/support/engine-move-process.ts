/**
 * `engine-move` as a real child process, run from its TypeScript source
 * through tsx (no build needed), so restart tests can SIGKILL it at a named
 * kill point (ENGINE_MOVE_FAILPOINT) and start it again on the same store.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TeardownHelper } from './teardown.js';

const ENGINE_PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'engine-move');

export interface EngineMoveRun {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout's JSON lines (with --json). */
  readonly events: Record<string, unknown>[];
}

/** A running `engine-move`: its end, and a SIGKILL for a test that kills it at a moment of its choosing. */
export interface EngineMoveChild {
  readonly done: Promise<EngineMoveRun>;
  kill(): void;
}

/** Starts `engine-move ARGS` with extra environment. */
export function startEngineMove(td: TeardownHelper, args: readonly string[], env: Record<string, string> = {}): EngineMoveChild {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', 'src/cli.ts', ...args], {
    cwd: ENGINE_PACKAGE_DIR,
    env: { ...process.env, ...env },
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  td.add(kill);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = new Promise<EngineMoveRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      // A SIGKILL can cut the last line short: only whole JSON lines are events.
      const events = stdout.split('\n').flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      resolve({ code, signal, stdout, stderr, events });
    });
  });
  return { done, kill };
}

/** Runs `engine-move ARGS` to its end (or its kill), with extra environment. */
export function runEngineMove(td: TeardownHelper, args: readonly string[], env: Record<string, string> = {}): Promise<EngineMoveRun> {
  return startEngineMove(td, args, env).done;
}
