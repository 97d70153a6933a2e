/**
 * Errors of the pool's task tracking, with codes to branch on. They say what
 * the caller can know for sure: a submission that may or may not have reached
 * VDSM is never reported as a plain failure, because retrying it blindly could
 * copy or delete twice (engine-move.md s5 row 16).
 */

export type TrackerErrorCode = 'SUBMISSION_UNCERTAIN' | 'NO_SPM' | 'TRACKER_CLOSED';

export class TrackerError extends Error {
  override name = 'TrackerError';
  constructor(
    readonly code: TrackerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The verb was sent but no answer came (timeout, dropped connection): VDSM may
 * have started the task. Look for it (`Host.getAllTasksInfo`, the target
 * domain's images) before sending it again.
 */
export class SubmissionUncertainError extends TrackerError {
  override name = 'SubmissionUncertainError';
  constructor(
    readonly method: string,
    cause: unknown,
  ) {
    super('SUBMISSION_UNCERTAIN', `${method} was sent but not answered; the task may exist on the SPM`, { cause });
  }
}

/** No host of the pool says it is the SPM (all unreachable, or the pool has no SPM now). */
export class NoSpmError extends TrackerError {
  override name = 'NoSpmError';
  constructor(poolId: string, detail: string) {
    super('NO_SPM', `No SPM found for pool ${poolId}: ${detail}`);
  }
}

export class TrackerClosedError extends TrackerError {
  override name = 'TrackerClosedError';
  constructor() {
    super('TRACKER_CLOSED', 'The pool task tracker was closed');
  }
}
