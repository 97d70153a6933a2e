/**
 * What a watched SPM task ended as. Only `finished` + `success` + code 0 is a
 * success: VDSM reports a failed-and-rolled-back task as `finished` too, with
 * `cleanSuccess` (rollback OK) or `cleanFailure` (rollback failed), and the
 * engine also fails a `success` that carries a nonzero code
 * (engine-move.md §2.2, §5 #14).
 */
import { TaskResult } from '../api/enums.js';
import { vdsmErrorFromRpc } from '../api/errors.js';
import type { VdsmError } from '../api/errors.js';
import type { TaskStatus } from '../api/types.js';

/** The task finished and succeeded. */
export interface TaskSuccess {
  readonly kind: 'success';
  readonly taskId: string;
  readonly status: TaskStatus;
}

/** The task finished, but not successfully. */
export interface TaskFailure {
  readonly kind: 'failure';
  readonly taskId: string;
  readonly status: TaskStatus;
  /** `success` here means "success with a nonzero code", which still fails. */
  readonly result: 'cleanSuccess' | 'cleanFailure' | 'success';
  /** The job's VDSM error code (e.g. 268 image not in domain, 411 aborted). */
  readonly code: number;
  /** VDSM's message, e.g. `value=Image does not exist in domain: ... abortedcode=268`. */
  readonly message: string;
  /** `code` + `message` as the typed error VDSM would have raised synchronously. */
  readonly error: VdsmError;
}

/**
 * The SPM no longer knows the task: it was missing (or garbled) for several
 * consecutive polls and `Task.getStatus` confirmed it (401, or a state of
 * `unknown`). Whether its work happened is for the caller to find out.
 */
export interface TaskUnknown {
  readonly kind: 'unknown';
  readonly taskId: string;
  /** Consecutive polls the task was missing from when it was confirmed unknown. */
  readonly misses: number;
  /** The last valid status seen before it vanished, if it was ever seen. */
  readonly lastStatus?: TaskStatus;
}

export type TaskOutcome = TaskSuccess | TaskFailure | TaskUnknown;

/** The outcome a status in state `finished` stands for. */
export function finishedOutcome(status: TaskStatus): TaskSuccess | TaskFailure {
  const taskId = status.taskID;
  const result = status.taskResult;
  if (result === TaskResult.Success && status.code === 0) return { kind: 'success', taskId, status };
  if (result !== TaskResult.Success && result !== TaskResult.CleanSuccess && result !== TaskResult.CleanFailure) {
    // parseTaskStatus refuses `finished` without a result, so this is a bug, not VDSM input.
    throw new TypeError(`task ${taskId} finished with result ${JSON.stringify(result)}`);
  }
  const { code, message } = status;
  return { kind: 'failure', taskId, status, result, code, message, error: vdsmErrorFromRpc({ code, message }) };
}
