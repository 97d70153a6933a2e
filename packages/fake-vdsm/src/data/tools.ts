/**
 * The external programs the data plane uses when the machine has them, and
 * one way to run them. VDSM drives qemu-img for every copy; the fake does the
 * same when qemu-img is on PATH and falls back to its own code otherwise, so
 * CI without qemu-utils still runs (README: `FAKE_VDSM_NO_QEMU=1` forces that
 * fallback on a machine that has qemu-img).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { CommandFailedError, actionStopped } from './errors.js';

/** The optional programs, as absolute paths (absent: not installed, or disabled). */
export interface DataTools {
  /** qemu-img (qemu-utils): convert, create, map. */
  readonly qemuImg?: string;
  /** qemu-io (qemu-utils): writes into qcow2 images (test data and fixtures). */
  readonly qemuIo?: string;
  /** fallocate (util-linux): preallocation and punching holes. */
  readonly fallocate?: string;
  /** perl (perl-base, essential on Debian): SEEK_DATA/SEEK_HOLE, which Node lacks. */
  readonly perl?: string;
}

/** Environment switch: when `1`, qemu-img and qemu-io count as absent. */
export const NO_QEMU_ENV = 'FAKE_VDSM_NO_QEMU';

const found = new Map<string, Promise<string | undefined>>();

/** The absolute path of `name` on PATH, or undefined. Looked up once per process. */
export function findExecutable(name: string): Promise<string | undefined> {
  let result = found.get(name);
  if (result === undefined) {
    result = lookUp(name);
    found.set(name, result);
  }
  return result;
}

async function lookUp(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** The tools this machine has (qemu ones dropped when `FAKE_VDSM_NO_QEMU=1`). */
export async function findDataTools(): Promise<DataTools> {
  const noQemu = process.env[NO_QEMU_ENV] === '1';
  const [qemuImg, qemuIo, fallocate, perl] = await Promise.all([
    noQemu ? undefined : findExecutable('qemu-img'),
    noQemu ? undefined : findExecutable('qemu-io'),
    findExecutable('fallocate'),
    findExecutable('perl'),
  ]);
  return {
    ...(qemuImg === undefined ? {} : { qemuImg }),
    ...(qemuIo === undefined ? {} : { qemuIo }),
    ...(fallocate === undefined ? {} : { fallocate }),
    ...(perl === undefined ? {} : { perl }),
  };
}

/** What a finished command printed. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `argv` to completion and returns its output; a non-zero exit throws
 * `CommandFailedError`. An aborted `signal` kills the child (SIGKILL, as
 * VDSM's `operation.Command.abort` does) and throws 443 ActionStopped.
 * `LC_ALL=C` keeps error messages in English, so they can be recognised.
 */
export function runCommand(argv: readonly string[], options: { signal?: AbortSignal; cwd?: string } = {}): Promise<CommandOutput> {
  const [command, ...args] = argv;
  if (command === undefined) throw new RangeError('runCommand needs a command');
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(actionStopped());
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let stopped = false;
    const onAbort = (): void => {
      stopped = true;
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      const out = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
      if (stopped) reject(actionStopped());
      else if (code === 0) resolve(out);
      else reject(new CommandFailedError(argv, code, signal, out));
    });
  });
}
