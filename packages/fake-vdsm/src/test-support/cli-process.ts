/**
 * The `fake-vdsm` CLI as processes for tests (TypeScript source through tsx,
 * as the tests run): one control subcommand, or a `serve` until its ready line.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The package folder (the CLI's source is `src/cli.ts` below it). */
export const PACKAGE_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const NODE_ARGS = ['--import', 'tsx', '--conditions=development', 'src/cli.ts'];

/** One subcommand; resolves with its exit code and output (never rejects on exit 1). */
export async function fakeVdsm(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...NODE_ARGS, ...args], { cwd: PACKAGE_DIR, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** A running `fake-vdsm serve`. */
export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The ready line, parsed. */
  readonly ready: { readonly control: string; readonly stomp: { readonly host: string; readonly port: number } } & Record<string, unknown>;
  /** Resolves with the signal that ended it, or its exit code. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

/**
 * Spawns `fake-vdsm serve ARGS` and waits (up to 30 s) for its ready line.
 * The caller stops it (`child.kill`) in a `finally`.
 *
 * @throws Error when it exits or prints nothing first (the process is killed then).
 */
export async function spawnServe(args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve', ...args], { cwd: PACKAGE_DIR });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const deadline = Date.now() + 30_000;
  while (!stdout.includes('\n')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error('serve did not print its ready line');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, ready: JSON.parse(stdout.split('\n')[0] as string) as ServeProcess['ready'], exited };
}
