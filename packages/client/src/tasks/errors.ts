/**
 * Errors of the task watcher itself (not VDSM's: a task that VDSM reports as
 * failed resolves a `failure` outcome, it does not reject).
 *
 * | code                              | class                      | meaning |
 * | --------------------------------- | -------------------------- | ------- |
 * | VDSM_ERR_TASK_WAIT_TIMEOUT        | TaskWaitTimeoutError       | `wait()` gave up after its `timeoutMs` |
 * | VDSM_ERR_TASK_WATCHER_CLOSED      | TaskWatcherClosedError     | the watcher was closed while (or before) waiting |
 * | VDSM_ERR_TASK_STATUS_INVALID      | TaskStatusInvalidError     | a task status (or the whole status map) did not parse |
 * | VDSM_ERR_INVALID_TASK_ID          | InvalidTaskIdError         | `wait()` got a task id that is not a UUID |
 */
import { VdsmKitError } from '../errors.js';
import type { TaskStatus } from '../api/types.js';

/** `wait(taskId, { timeoutMs })` ran out; the task may still be running on the SPM. */
export class TaskWaitTimeoutError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_TASK_WAIT_TIMEOUT';
  override name = 'TaskWaitTimeoutError';
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
    /** The last valid status seen for the task, if any, so a caller can tell "slow" from "never seen". */
    readonly lastStatus?: TaskStatus,
  ) {
    super(`task ${taskId} did not end within ${timeoutMs} ms`);
  }
}

/** The watcher was closed; every pending and later `wait()` rejects with this. */
export class TaskWatcherClosedError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_TASK_WATCHER_CLOSED';
  override name = 'TaskWatcherClosedError';
  constructor(readonly taskId?: string) {
    super(taskId === undefined ? 'task watcher closed' : `task watcher closed while waiting for task ${taskId}`);
  }
}

/**
 * VDSM answered a task status (or the whole `Host.getAllTasksStatuses` map)
 * that does not parse. Reported to `onPollError`; a bad entry counts as a
 * miss for its task, a bad map updates no task that round.
 */
export class TaskStatusInvalidError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_TASK_STATUS_INVALID';
  override name = 'TaskStatusInvalidError';
  constructor(
    readonly reason: string,
    /** The task whose entry was bad; absent when the whole answer was. */
    readonly taskId?: string,
  ) {
    super(taskId === undefined ? `invalid task status list: ${reason}` : `invalid status for task ${taskId}: ${reason}`);
  }
}

/** A task id that is not a UUID: VDSM names every task with a uuid4, so this is a caller bug. */
export class InvalidTaskIdError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_INVALID_TASK_ID';
  override name = 'InvalidTaskIdError';
  constructor(readonly taskId: unknown) {
    super(`invalid task id: ${describe(taskId)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  return `a ${typeof value}`;
}
