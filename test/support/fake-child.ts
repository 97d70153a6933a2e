/**
 * A real fake VDSM in a child process of its own (fake-child-main.ts), for
 * the suites that measure the fake's memory or must see it survive what
 * clients send: its heap is not the test's, and a crash shows as an exit.
 * Registered with the suite's `TeardownHelper` (killed if still running).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ControlClient } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsmOptions, HostAddress } from '@vdsm-kit/fake-vdsm';
import type { TeardownHelper } from './teardown.js';

/** The fake's memory, read in the child after two full garbage collections. */
export interface FakeMemory {
  /** V8 heap in use. */
  readonly heapUsed: number;
  /** Memory of C++ objects tied to JS ones (Buffers among them). */
  readonly external: number;
  /** Of which ArrayBuffers and Buffers. */
  readonly arrayBuffers: number;
  /** Resident set size now (Linux; NaN elsewhere). */
  readonly rss: number;
  /** Peak resident set size so far (VmHWM; Linux; NaN elsewhere). */
  readonly peakRss: number;
}

/** What the child's ready line says (the fake's `ready` object). */
export interface FakeChildReady {
  readonly stomp: { readonly host: string; readonly port: number };
  readonly control: string;
  readonly hosts: readonly HostAddress[];
}

/** A running fake in a child process. */
export interface FakeChild {
  readonly pid: number;
  readonly ready: FakeChildReady;
  /** Its control API. */
  readonly control: ControlClient;
  /** Heap and RSS after a full GC in the child. */
  memory(): Promise<FakeMemory>;
  /** True while the process runs (false after a crash). */
  readonly alive: boolean;
  /** Everything it wrote on stderr (its info, warn and error log lines, as JSON). */
  stderr(): string;
  /** Resolves with the fields of the first log line with message `msg` after the first `skip` of them. */
  waitForLog(msg: string, skip?: number): Promise<Record<string, unknown>>;
  /** How many log lines with message `msg` it wrote so far. */
  logCount(msg: string): number;
  /** Closes the fake and waits for the process to exit; resolves with its exit code. */
  close(): Promise<number | null>;
}

const CHILD = new URL('./fake-child-main.ts', import.meta.url);

/**
 * Forks fake-child-main.ts with `options` (JSON: no logger, no clock
 * objects) and resolves once its ready line is read.
 *
 * @throws Error with its stderr when it exits before it is ready.
 */
export async function startFakeChild(td: TeardownHelper, options: FakeVdsmOptions = {}): Promise<FakeChild> {
  const child: ChildProcess = fork(CHILD, [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx', '--conditions=development'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  const logWaiters = new Set<() => void>();
  /** Every complete log line so far, parsed. */
  const logLines: Record<string, unknown>[] = [];
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line (a stack trace of a crash): kept in `stderr` only.
      }
    }
    for (const wake of logWaiters) wake();
  });
  const linesWith = (msg: string): Record<string, unknown>[] => logLines.filter((fields) => fields['msg'] === msg);
  const waitForLog = async (msg: string, skip = 0): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = linesWith(msg)[skip];
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`fake child exited before logging "${msg}"; stderr:\n${stderr}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          logWaiters.delete(wake);
          child.removeListener('exit', wake);
          resolve();
        };
        logWaiters.add(wake);
        child.once('exit', wake);
      });
    }
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  td.add(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const ready = await new Promise<FakeChildReady>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const early = (code: number | null): void => reject(new Error(`fake child exited (${code}) before it was ready; stderr:\n${stderr}`));
    child.once('exit', early);
    lines.once('line', (line) => {
      child.removeListener('exit', early);
      lines.close();
      child.stdout!.resume();
      resolve(JSON.parse(line) as FakeChildReady);
    });
  });

  let seq = 0;
  const memory = (): Promise<FakeMemory> =>
    new Promise((resolve, reject) => {
      const asked = ++seq;
      const onMessage = (message: FakeMemory & { type: string; seq: number }): void => {
        if (message.type !== 'memory' || message.seq !== asked) return;
        child.removeListener('message', onMessage);
        child.removeListener('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null): void => reject(new Error(`fake child exited (${code}) while asked for its memory; stderr:\n${stderr}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'memory', seq: asked });
    });

  return {
    pid: child.pid as number,
    ready,
    control: new ControlClient(ready.control),
    memory,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    stderr: () => stderr,
    waitForLog,
    logCount: (msg) => linesWith(msg).length,
    close: async () => {
      if (child.connected) child.send({ type: 'close' });
      return exited;
    },
  };
}
