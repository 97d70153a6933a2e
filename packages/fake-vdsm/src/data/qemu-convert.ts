/**
 * The qemu-img path of a volume copy, as VDSM runs it
 * (lib/vdsm/storage/qemuimg.py `convert`, image.py `_interImagesCopy`):
 *
 *   qemu-img convert -p -t none -T none -f <src fmt> -O <dst fmt>
 *       [-B <backing> -F <fmt>] -n [--target-is-zero]    the target volume exists (made by the job)
 *       [-W]                                             raw on block storage
 *       <src> <dst>
 *
 * A raw source whose file is longer than its guest size (a RAW volume in an
 * LV of whole extents) is read through the raw driver's `size` option,
 * `--image-opts driver=raw,size=<capacity>,file.filename=<src>`, in place of
 * `-f raw <src>`: only the guest's bytes are copied, and a target of the
 * volume's capacity (a file volume) is not "smaller than input file".
 *
 * or, when qemu-img is to create the target (a sparse RAW file volume), no
 * `-n`. The choices follow VDSM's volume methods (see `planConvert`).
 * Progress comes from `-p`'s `\r    (NN.NN/100%)` records on stdout, parsed
 * as VDSM's `ProgressCommand` does. Abort kills the child (SIGKILL, as
 * `operation.Command.abort`) and ends in 443 ActionStopped even when
 * qemu-img happened to finish first, as VDSM's `Command.run` does.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { systemClock } from '@vdsm-kit/client/clock';
import type { Clock, TimerHandle } from '@vdsm-kit/client/clock';
import { VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import { CommandFailedError, NoSpaceError, actionStopped } from './errors.js';
import { mapNoSpace, qemuFormat } from './volume-files.js';
import type { BackingFile, QemuFormat } from './volume-files.js';

/** qemu's cache modes: `none` is O_DIRECT (VDSM's choice), `writeback` the page cache, `unsafe` the page cache without flushes. */
export type CacheMode = 'none' | 'writeback' | 'unsafe';

/** What decides the command line. */
export interface ConvertInput {
  readonly src: string;
  readonly dst: string;
  /** How the source's bytes are laid out (a plain file flagged COW is raw). */
  readonly srcFormat: QemuFormat;
  /** The guest size of a raw source whose file is longer (an LV rounded up to whole extents); its file's size when omitted. */
  readonly srcSize?: number;
  readonly dstFormat: VolumeFormat;
  /** The target's parent, when it is a layer of a chain. */
  readonly backing?: BackingFile;
  readonly dstAllocation: VolumeAllocation;
  readonly domainKind: 'file' | 'block';
  /** Cache modes of the target (`-t`) and the source (`-T`). */
  readonly cache: { readonly target: CacheMode; readonly source: CacheMode };
}

/** A convert command and the VDSM decisions behind it (for logs and tests). */
export interface ConvertPlan {
  readonly argv: readonly string[];
  /** qemu-img creates (rewrites) the target; VDSM's `requires_create()`. */
  readonly create: boolean;
  /** `--target-is-zero`; VDSM's `zero_initialized()`. */
  readonly targetIsZero: boolean;
  /** `-W`; VDSM's `recommends_unordered_writes()`. */
  readonly unorderedWrites: boolean;
}

/**
 * The convert command for `input`, with VDSM's rules:
 * - create (`requires_create`): a RAW target when sparse; a COW target only
 *   without a parent and for compat 0.10, never with our compat 1.1. Only on
 *   file domains: a block target is an LV sized in extents that qemu-img must
 *   not recreate (VDSM passed `create=not is_block()` before it had
 *   `requires_create`). Since only sparse RAW targets are created, the `-o
 *   compat=…,backing_file=…,preallocation=…` options VDSM would add for a
 *   created qcow2 or preallocated target never apply.
 * - `--target-is-zero` (`zero_initialized`): file volumes are, block ones are
 *   not; qemu-img refuses it for a target with a backing file.
 * - `-B`/`-F`: the target's parent, so only the source layer's own data is
 *   copied and the rest stays with the parent.
 * - `-W` (`recommends_unordered_writes`): RAW on block storage.
 * - `srcSize` (raw sources only): the source read as its first `srcSize`
 *   bytes (see the module comment).
 */
export function planConvert(qemuImg: string, input: ConvertInput): ConvertPlan {
  const onFile = input.domainKind === 'file';
  const create = onFile && input.dstFormat === VolumeFormat.RAW && input.dstAllocation !== VolumeAllocation.Preallocated;
  const targetIsZero = !create && onFile && input.backing === undefined;
  const unorderedWrites = input.dstFormat === VolumeFormat.RAW && !onFile;

  const sized = input.srcSize !== undefined && input.srcFormat === 'raw';
  const source = sized ? ['--image-opts'] : ['-f', input.srcFormat];
  const argv = [qemuImg, 'convert', '-p', '-t', input.cache.target, '-T', input.cache.source, ...source, '-O', qemuFormat(input.dstFormat)];
  if (!create) {
    if (input.backing !== undefined) argv.push('-B', input.backing.path, '-F', qemuFormat(input.backing.format));
    argv.push('-n');
    if (targetIsZero) argv.push('--target-is-zero');
  }
  if (unorderedWrites) argv.push('-W');
  argv.push(sized ? `driver=raw,size=${input.srcSize},file.driver=file,file.filename=${optionValue(input.src)}` : input.src, input.dst);
  return { argv, create, targetIsZero, unorderedWrites };
}

/** A value inside a qemu option string: a comma is written twice. */
function optionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** One `-p` record: `(12.34/100%)` (VDSM's regex, `\s*\(([\d.]+)/100%\)\s*`). */
const PROGRESS_RECORD = /\((\d+(?:\.\d+)?)\/100%\)/;

/**
 * Turns qemu-img's `-p` output into fractions. Records end with `\r`; a
 * trailing partial record waits for the next chunk (VDSM discards everything
 * after the last `\r` for the same reason).
 */
export class ProgressParser {
  #pending = '';
  #last = -1;

  /** Feeds stdout text; returns the newest fraction when it grew, else undefined. */
  feed(text: string): number | undefined {
    const records = (this.#pending + text).split('\r');
    this.#pending = records.pop() ?? '';
    let newest: number | undefined;
    for (const record of records) {
      const match = PROGRESS_RECORD.exec(record);
      if (match === null) continue;
      // qemu-img prints two decimals; rounding to them keeps 33.30% at exactly 0.333.
      const fraction = Math.min(1, Math.round(Number(match[1]) * 100) / 10_000);
      if (fraction > this.#last) {
        this.#last = fraction;
        newest = fraction;
      }
    }
    return newest;
  }
}

/** How often the domain's space is looked at while qemu-img runs, besides each progress record. */
export const SPACE_POLL_MS = 200;

/** Running a planned convert. */
export interface RunConvertOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
  /** Bytes the target's domain can still take; at zero or less the copy fails with NoSpaceError. */
  readonly spaceLeft?: () => number | Promise<number>;
  readonly clock?: Clock;
}

/**
 * Runs the convert command of `plan`. Resolves when qemu-img succeeded;
 * rejects with 443 ActionStopped on abort, `NoSpaceError` on ENOSPC or when
 * `spaceLeft()` runs out (the child is killed; it may have written up to one
 * poll interval past the limit), else `CommandFailedError`.
 */
export function runConvert(plan: ConvertPlan, options: RunConvertOptions = {}): Promise<void> {
  const [command, ...args] = plan.argv;
  const dst = plan.argv.at(-1) ?? '';
  const clock = options.clock ?? systemClock;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(actionStopped());
      return;
    }
    const child = spawn(command ?? 'qemu-img', args, {
      // A relative backing path is resolved from the target's folder.
      cwd: dirname(dst),
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stopped = false;
    let noSpace: NoSpaceError | undefined;
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    const onAbort = (): void => {
      stopped = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    // The emulated capacity: checked on each progress record and every SPACE_POLL_MS.
    let checking = false;
    let pollTimer: TimerHandle | undefined;
    const checkSpace = async (): Promise<void> => {
      if (options.spaceLeft === undefined || checking || noSpace !== undefined) return;
      checking = true;
      try {
        const left = await options.spaceLeft();
        if (left <= 0 && noSpace === undefined) {
          noSpace = new NoSpaceError(dst, 'the storage domain is full');
          kill();
        }
      } finally {
        checking = false;
      }
    };
    const poll = (): void => {
      pollTimer = clock.setTimeout(() => {
        void checkSpace().catch(onSpaceError).finally(() => {
          if (child.exitCode === null && child.signalCode === null) poll();
        });
      }, SPACE_POLL_MS);
      pollTimer.unref?.();
    };
    let spaceError: unknown;
    const onSpaceError = (error: unknown): void => {
      spaceError = error;
      kill();
    };
    if (options.spaceLeft !== undefined) poll();

    const parser = new ProgressParser();
    const stdout: string[] = [];
    const stderr: Buffer[] = [];
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (text: string) => {
      stdout.push(text);
      const fraction = parser.feed(text);
      if (fraction === undefined) return;
      options.onProgress?.(fraction);
      void checkSpace().catch(onSpaceError);
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

    const finish = (): void => {
      options.signal?.removeEventListener('abort', onAbort);
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
    };
    child.once('error', (error) => {
      finish();
      reject(error);
    });
    child.once('close', (code, signal) => {
      finish();
      const output = { stdout: stdout.join(''), stderr: Buffer.concat(stderr).toString() };
      if (stopped) reject(actionStopped());
      else if (noSpace !== undefined) reject(noSpace);
      else if (spaceError !== undefined) reject(spaceError);
      else if (code === 0) resolve();
      else reject(mapNoSpace(new CommandFailedError(plan.argv, code, signal, output), dst));
    });
  });
}
