/**
 * The process layer of the fault engine: `{crash: true}`, the whole fake
 * dying at a chosen point of a task (for restart tests, issue 4), or, on an
 * SDM host job of a host that is not the SPM, that host alone (crashHost).
 *
 * How it dies depends on how the fake runs:
 * - `exit` (`fake-vdsm serve`): the process SIGKILLs itself, exactly the
 *   crash the restart tests of issue 3 make from outside: no handler runs,
 *   nothing is flushed beyond what SQLite already committed;
 * - `emulate` (in-process, the default): the task manager lets go of every
 *   task without writing another row (as `close()` does) and refuses new
 *   ones, then `onCrash` runs (the fake's `crash()`, which also stops its
 *   servers); the state left on disk is what a SIGKILL at that point leaves,
 *   so opening a new TaskManager on the same database and calling
 *   `recover` behaves as a restart.
 */

/** How a `crash` fault kills the fake. */
export type CrashMode = 'exit' | 'emulate';

/** The process-fault settings of a fake (TaskManager option `crash`). */
export interface CrashOptions {
  /** Default `emulate`; `serve` passes `exit`. */
  readonly mode?: CrashMode;
  /**
   * Called (on a later turn, never awaited by the crashing job) after the
   * task manager let go of its tasks, in `emulate` mode: the in-process
   * fake's `crash()`. Its errors are logged, not thrown.
   */
  readonly onCrash?: () => void | Promise<void>;
  /**
   * Called (on a later turn) when a `crash` fault fires on a host job of a
   * host that is not its pool's SPM: that host alone dies (the fake's
   * `crashHost(id)`), in either mode, since the process serves the other
   * hosts too. Without it such a crash takes the whole fake.
   */
  readonly onHostCrash?: (hostId: number) => void | Promise<void>;
}

/** The error the crashing job ends with (nobody sees it: the task is let go of first). */
export class ProcessCrashError extends Error {
  override readonly name = 'ProcessCrashError';
}

/**
 * Kills the process (`exit`), or runs `letGo` now and `onCrash` on the next
 * turn (`emulate`). Returns the error the crashing job should throw.
 */
export function crashProcess(options: CrashOptions, letGo: () => void, onError: (error: unknown) => void): ProcessCrashError {
  if (options.mode === 'exit') {
    // SIGKILL, not exit(): no 'exit' handler, no flush, as a real crash.
    process.kill(process.pid, 'SIGKILL');
  }
  letGo();
  const { onCrash } = options;
  // Not awaited: the fake's crash() waits for the jobs to return, this one included.
  if (onCrash !== undefined) onNextTurn(onCrash, onError);
  return new ProcessCrashError('the fake crashed (fault rule)');
}

/**
 * Host `hostId` dies (CrashOptions.onHostCrash): `letGo` now (its tasks),
 * `onHostCrash` on the next turn (its sockets, its job table). Returns the
 * error the crashing job should throw.
 */
export function crashHost(options: CrashOptions, hostId: number, letGo: () => void, onError: (error: unknown) => void): ProcessCrashError {
  letGo();
  const { onHostCrash } = options;
  if (onHostCrash !== undefined) onNextTurn(() => onHostCrash(hostId), onError);
  return new ProcessCrashError(`host ${hostId} crashed (fault rule)`);
}

/** Runs `callback` on the next turn, never awaited by the crashing job; its failure goes to `onError`. */
function onNextTurn(callback: () => void | Promise<void>, onError: (error: unknown) => void): void {
  setImmediate(() => {
    Promise.resolve()
      .then(callback)
      .catch(onError);
  });
}
