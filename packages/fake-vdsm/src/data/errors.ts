/**
 * Errors of the data plane (volume files, copies, wipes). They carry what
 * went wrong at the file level; the job handlers in storage/ turn them into
 * the `VdsmError` VDSM would report (a failed copy becomes 261
 * CopyImageError, as VDSM's image.py does for any qemu-img failure).
 *
 * An aborted copy or wipe is not one of these: it is VDSM's own 443
 * `ActionStopped` (`actionStopped()`), which the task manager understands.
 *
 * | code                            | class                  | meaning |
 * | ------------------------------- | ---------------------- | ------- |
 * | FAKE_VDSM_DATA_NO_SPACE         | NoSpaceError           | the domain is full (ENOSPC, or the emulated capacity reached) |
 * | FAKE_VDSM_DATA_COMMAND_FAILED   | CommandFailedError     | qemu-img, qemu-io, fallocate ... exited non-zero |
 * | FAKE_VDSM_DATA_UNSUPPORTED      | UnsupportedFormatError | a real qcow2 file where only raw bytes can be handled (no qemu-img) |
 */
import { VdsmErrorCode, vdsmErrorFromRpc, vdsmMessage } from '@vdsm-kit/client/api';
import type { VdsmError } from '@vdsm-kit/client/api';
import { VdsmKitError } from '@vdsm-kit/client/errors';

/** Base class of the data plane's own errors. */
export class DataPlaneError extends VdsmKitError {
  override readonly code: string = 'FAKE_VDSM_DATA';
  override name = 'DataPlaneError';
}

/**
 * No space left: either the file system said ENOSPC/EDQUOT, or the emulated
 * domain capacity (`spaceLeft()`) ran out. A partial target may remain; the
 * caller (the job's rollback) removes it.
 */
export class NoSpaceError extends DataPlaneError {
  override readonly code = 'FAKE_VDSM_DATA_NO_SPACE';
  override name = 'NoSpaceError';
  /** The file being written. */
  readonly path: string;

  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(`No space left writing ${path}: ${detail}`, options);
    this.path = path;
  }
}

/** A helper program failed: its argv, exit status and output. */
export class CommandFailedError extends DataPlaneError {
  override readonly code = 'FAKE_VDSM_DATA_COMMAND_FAILED';
  override name = 'CommandFailedError';
  readonly argv: readonly string[];
  /** Exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(argv: readonly string[], exitCode: number | null, signal: NodeJS.Signals | null, output: { stdout: string; stderr: string }) {
    super(`${argv.join(' ')} failed (${signal === null ? `exit ${exitCode}` : `signal ${signal}`}): ${output.stderr.trim() || 'no error output'}`);
    this.argv = argv;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stdout = output.stdout;
    this.stderr = output.stderr;
  }
}

/** A format this code path cannot handle, e.g. a real qcow2 file when qemu-img is not available. */
export class UnsupportedFormatError extends DataPlaneError {
  override readonly code = 'FAKE_VDSM_DATA_UNSUPPORTED';
  override name = 'UnsupportedFormatError';
}

/** VDSM's 443 `ActionStopped` ("Action was stopped"): what an aborted qemu-img or blkdiscard raises. */
export function actionStopped(): VdsmError {
  return vdsmErrorFromRpc({ code: VdsmErrorCode.ActionStopped, message: vdsmMessage(VdsmErrorCode.ActionStopped) });
}

/** Throws `actionStopped()` when `signal` is aborted (checked between I/O steps). */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw actionStopped();
}

/** True for the errno codes that mean the file system is full. */
export function isNoSpaceErrno(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
