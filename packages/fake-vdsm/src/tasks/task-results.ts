/**
 * The `code` and `message` a task reports (VDSM's `TaskResult`), worded as
 * lib/vdsm/storage/task.py words them (vdsm-wire.md §7.1). Every task text of
 * the fake comes from here.
 */
import { VdsmError, VdsmErrorCode, VDSM_SUCCESS_CODE } from '@vdsm-kit/client/api';

/** A task's `code` and `message`. */
export interface TaskResultFields {
  readonly code: number;
  readonly message: string;
}

/** The result of a new task (task.py `Task.__init__`: `TaskResult(0, "Task is initializing", "")`). */
export const INITIAL_RESULT: TaskResultFields = { code: VDSM_SUCCESS_CODE, message: 'Task is initializing' };

/** The fake's tasks run one job each (VDSM's `scheduleJob` adds exactly one). */
const JOB_COUNT = 1;

/** While the job runs (task.py `_runJobs`: `'running job {0} of {1}'`). */
export const RUNNING_RESULT: TaskResultFields = {
  code: VDSM_SUCCESS_CODE,
  message: `running job ${JOB_COUNT} of ${JOB_COUNT}`,
};

/** After the job returned (task.py `_runJobs`: `"%s jobs completed successfully" % i`). */
export const SUCCESS_RESULT: TaskResultFields = {
  code: VDSM_SUCCESS_CODE,
  message: `${JOB_COUNT} jobs completed successfully`,
};

/**
 * The value of VDSM's `TaskAborted(value, abortedcode)`, which becomes the
 * task's message: `value=<value> abortedcode=<code>` (exception.py
 * `TaskAborted.__init__`).
 */
export function abortedValue(value: string, abortedCode: number): string {
  return `value=${value} abortedcode=${abortedCode}`;
}

/** The value task.py gives `TaskAborted` when it finds itself aborting between jobs. */
const SHUTTING_DOWN = 'shutting down';

/** VDSM's `GeneralException` code: what a job failure reports when it is not a storage error. */
const GENERAL_EXCEPTION_CODE = VdsmErrorCode.GeneralException;

/**
 * The result of a job that raised `error` without being stopped. task.py
 * `_run` keeps `e.code` only for `se.StorageException` subclasses; any other
 * exception, VDSM's own `GeneralException`s included, reports code 100. The
 * message is `value=<str(e)> abortedcode=<code>`.
 */
export function jobErrorResult(error: unknown): TaskResultFields {
  const code = error instanceof VdsmError && isStorageException(error.code) ? error.code : GENERAL_EXCEPTION_CODE;
  return { code, message: abortedValue(describe(error), code) };
}

/**
 * The result of a job that `Task.stop` interrupted: code 411. A job that
 * failed after the stop reports `value=<taskID>`: task.py `_run` calls
 * `self.stop()` on the failure, and `_incref` on an aborting task raises
 * `TaskAborted(str(self))` in place of the job's error. A job that returned
 * normally reports `value=shutting down` (`_runJobs` checks `aborting()`).
 */
export function stoppedResult(taskId: string, jobThrew: boolean): TaskResultFields {
  const code = VdsmErrorCode.TaskAborted;
  return { code, message: abortedValue(jobThrew ? taskId : SHUTTING_DOWN, code) };
}

/** Python's `str(e)` for what a job threw: a VdsmError's message is VDSM's `str()` already. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// VDSM error classes that derive from GeneralException but not from
// StorageException (lib/vdsm/storage/exception.py, lib/vdsm/common/exception.py):
// the task errors 400-449 (ActionStopped 443 included), the resource errors
// 850-899, LogicalVolumePermissionsError 559 (a ResourceException) and the
// VolumeGeneralException family below. Outside 200-999 and 2001-2999 nothing
// is a StorageException (InvalidParameterException 1000, ResourceException
// 3000, VolumeGeneralException 4000, ...).
const VOLUME_GENERAL_EXCEPTION_CODES: ReadonlySet<number> = new Set([
  203, 204, 213, 214, 215, 217, 218, 219, 220, 221, 224, 225,
]);
const NON_STORAGE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [400, 449],
  [850, 899],
];
const LOGICAL_VOLUME_PERMISSIONS_ERROR = 559;

/** True when VDSM's exception class for `code` is an `se.StorageException`. */
export function isStorageException(code: number): boolean {
  const inStorageRange = (code >= 200 && code <= 999) || (code >= 2001 && code <= 2999);
  if (!inStorageRange) return false;
  if (VOLUME_GENERAL_EXCEPTION_CODES.has(code) || code === LOGICAL_VOLUME_PERMISSIONS_ERROR) return false;
  return !NON_STORAGE_RANGES.some(([min, max]) => code >= min && code <= max);
}
