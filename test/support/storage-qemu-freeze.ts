/**
 * Holding a copy in the middle, deterministically: the fake copies with a
 * `qemu-img convert` child process (VDSM's way), so stopping that child
 * with SIGSTOP freezes the copy (and its task, its locks, its ILLEGAL target)
 * exactly where it is, for as long as a test needs; SIGCONT lets it finish.
 * A crash test can then SIGKILL the fake while the copy is provably still
 * running. Linux only (reads /proc); the fake's built-in copier runs inside
 * the fake's process and cannot be frozen this way (`canFreezeCopies`).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { execFileSync } from 'node:child_process';

/** The fake's switch that hides qemu-img (packages/fake-vdsm/src/data/tools.ts `NO_QEMU_ENV`). */
const NO_QEMU_ENV = 'FAKE_VDSM_NO_QEMU';

/**
 * True when the fake will copy with a qemu-img child and /proc shows it:
 * Linux, qemu-img on PATH, and the fake not told to do without it.
 */
export function canFreezeCopies(): boolean {
  if (process.platform !== 'linux' || process.env[NO_QEMU_ENV] !== undefined) return false;
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The direct children of `pid` (every thread's), from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const thread of threads) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').split(' ')) {
        if (child.trim() !== '') children.push(Number(child));
      }
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return children;
}

/** The argv of `pid`, or undefined once it is gone. */
function argvOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  } catch {
    return undefined;
  }
}

/** Pids of the `qemu-img convert` children of `parentPid`. */
export function convertChildren(parentPid: number): number[] {
  return childrenOf(parentPid).filter((pid) => {
    const argv = argvOf(pid);
    return argv !== undefined && basename(argv[0] ?? '') === 'qemu-img' && argv[1] === 'convert';
  });
}

/** A frozen copy: its qemu-img processes are stopped until `thaw` or `kill`. */
export interface FrozenCopy {
  readonly pids: readonly number[];
  /** Lets the copy go on (SIGCONT). */
  thaw(): void;
  /** Ends the copy's processes (SIGKILL works on stopped processes too). */
  kill(): void;
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      // Already gone (reaped by its parent): nothing to signal.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/**
 * Waits for a `qemu-img convert` child of `parentPid` and stops it at once
 * (polling /proc every millisecond: a copy of tens of MiB lasts tens of
 * milliseconds). `ready` may ask for more before freezing (e.g. recorded
 * progress); it is checked on each poll once the child exists.
 *
 * @throws Error when no convert child shows up (and passes `ready`) within `timeoutMs`.
 */
export async function freezeNextCopy(
  parentPid: number,
  options: { readonly timeoutMs?: number; readonly ready?: () => boolean | Promise<boolean> } = {},
): Promise<FrozenCopy> {
  const deadline = performance.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const pids = convertChildren(parentPid);
    if (pids.length > 0 && (options.ready === undefined || (await options.ready()))) {
      signalAll(pids, 'SIGSTOP');
      return {
        pids,
        thaw: () => signalAll(pids, 'SIGCONT'),
        kill: () => signalAll(pids, 'SIGKILL'),
      };
    }
    if (performance.now() > deadline) throw new Error(`no qemu-img convert child of pid ${parentPid} to freeze within ${options.timeoutMs ?? 10_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * True for a recorded task progress strictly between 0 and 1: the copy has
 * begun and its copier has not reported the end yet (at 1, qemu-img may
 * already be exiting).
 */
export function isMidway(progress: number | undefined): boolean {
  return progress !== undefined && progress > 0 && progress < 1;
}
