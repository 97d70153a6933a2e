/**
 * `fake-vdsm serve` as a real child process, for crash tests: started from
 * the package's TypeScript source through tsx (as its own CLI tests do, so
 * no build is needed), read until its one JSON ready line, and killed with
 * whatever signal a test chooses. A state folder outlives the process, so a
 * test restarts the fake on the same folder.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostAddress } from '@vdsm-kit/fake-vdsm';
import type { TeardownHelper } from './teardown.js';

/** packages/fake-vdsm, whose src/cli.ts is run. */
const FAKE_PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'fake-vdsm');

/** What the ready line says (the fields the suites use). */
export interface ProcessReady {
  readonly event: 'ready';
  readonly state: string;
  /** The control API's URL (`GET /calls` ...). */
  readonly control: string;
  readonly hosts: readonly HostAddress[];
}

/** Options of `startFakeProcess` (each maps to a `fake-vdsm serve` flag). */
export interface FakeProcessOptions {
  /** `--state`: required, the folder a restart comes back to. */
  readonly state: string;
  /** `--fixture FILE`: seeds a fresh state folder. */
  readonly fixtureFile?: string;
  /** `--hosts N`. */
  readonly hosts?: number;
  /** `--time-scale F`. */
  readonly timeScale?: number;
  /** `--wipe-rate MiBps`. */
  readonly wipeRateMiBps?: number;
  /** `--call-log N`: calls `GET /calls` keeps. */
  readonly callLog?: number;
  /** `--port P` (hosts on P, P+1, ...): a restart comes back on the same ports. Default 0, free ports. */
  readonly port?: number;
  /** `--control-port P`. */
  readonly controlPort?: number;
  /** `--seed N`: the fault engine's PRNG. */
  readonly seed?: number;
  /** `--log-level` (default debug). */
  readonly logLevel?: string;
}

/** A running `fake-vdsm serve`. */
export interface FakeProcess {
  readonly pid: number;
  readonly ready: ProcessReady;
  /** Everything it wrote on stderr (JSON log lines). */
  stderr(): string;
  /** True once the process has exited (a `crash` fault SIGKILLs it). */
  exited(): boolean;
  /** Sends `signal` and resolves when the process has exited, with its exit code or signal. */
  stop(signal: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

/**
 * Starts `fake-vdsm serve --port 0 ...` and resolves once its ready line is
 * read. A SIGKILL at `td` time makes sure nothing outlives the suite.
 *
 * @throws Error with its stderr when it exits or stays silent for 30 s.
 */
export async function startFakeProcess(td: TeardownHelper, options: FakeProcessOptions): Promise<FakeProcess> {
  const args = ['--import', 'tsx', '--conditions=development', 'src/cli.ts', 'serve', '--port', String(options.port ?? 0), '--state', options.state, '--log-level', options.logLevel ?? 'debug'];
  if (options.controlPort !== undefined) args.push('--control-port', String(options.controlPort));
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  if (options.callLog !== undefined) args.push('--call-log', String(options.callLog));
  if (options.fixtureFile !== undefined) args.push('--fixture', options.fixtureFile);
  if (options.hosts !== undefined) args.push('--hosts', String(options.hosts));
  if (options.timeScale !== undefined) args.push('--time-scale', String(options.timeScale));
  if (options.wipeRateMiBps !== undefined) args.push('--wipe-rate', String(options.wipeRateMiBps));
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, { cwd: FAKE_PACKAGE_DIR });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const stop = async (signal: NodeJS.Signals): Promise<number | NodeJS.Signals | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  td.add(() => stop('SIGKILL'));

  const deadline = performance.now() + 30_000;
  while (!stdout.includes('\n')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`fake-vdsm exited (${child.exitCode ?? child.signalCode}) before ready; stderr:\n${stderr}`);
    if (performance.now() > deadline) throw new Error(`fake-vdsm printed no ready line in 30 s; stderr:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const ready = JSON.parse(stdout.slice(0, stdout.indexOf('\n'))) as ProcessReady;
  if (ready.event !== 'ready') throw new Error(`unexpected first line: ${stdout}`);
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return { pid: child.pid as number, ready, stderr: () => stderr, exited: hasExited, stop };
}
