/**
 * The errors VDSM's task manager and resource manager raise, worded as VDSM's
 * `str(exception)` through the client's error table (`vdsmMessage`), so no
 * text is spelled here. Each builder names the VDSM line it mirrors.
 */
import { pyTuple, vdsmErrorFromRpc, vdsmMessage, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { PyValue, TaskInternalState, VdsmError } from '@vdsm-kit/client/api';
import { abortedValue } from './task-results.js';

/** The client's most specific `VdsmError` for `code`, with VDSM's message for `value`. */
function vdsmError(code: number, value?: PyValue): VdsmError {
  return vdsmErrorFromRpc({ code, message: vdsmMessage(code, value) });
}

/**
 * 1000 `Invalid parameter: 'taskID=<id>'`: task.py `validateID` refuses an
 * empty id or one containing `.` (`InvalidParameterException("taskID", id)`).
 */
export function invalidTaskIdError(taskId: string): VdsmError {
  return vdsmError(VdsmErrorCode.InvalidParameterException, `taskID=${taskId}`);
}

/** 401 `Task id unknown: ('<id>',)` (taskManager.py `_getTask`). */
export function unknownTaskError(taskId: string): VdsmError {
  return vdsmError(VdsmErrorCode.UnknownTask, pyTuple(taskId));
}

/**
 * 410 `Operation is not allowed in this task state: ("can't clean in state
 * <state>",)`: task.py `clean()` refuses a persisted task that is not done.
 */
export function cannotCleanError(state: TaskInternalState): VdsmError {
  return vdsmError(VdsmErrorCode.TaskStateError, pyTuple(`can't clean in state ${state}`));
}

/**
 * 403 `Task not finished: ("can't rollback in state <state>",)`: task.py
 * `rollback()` raises `TaskNotFinished("can't rollback in state %s")`.
 */
export function notFinishedError(state: TaskInternalState): VdsmError {
  return vdsmError(VdsmErrorCode.TaskNotFinished, pyTuple(`can't rollback in state ${state}`));
}

/**
 * 441 `cannot move task to requested state: ('from <a> to <b>',)`: task.py
 * `State.moveto` raises `TaskStateTransitionError("from %s to %s")`.
 */
export function transitionError(from: TaskInternalState, to: TaskInternalState): VdsmError {
  return vdsmError(VdsmErrorCode.TaskStateTransitionError, pyTuple(`from ${from} to ${to}`));
}

/**
 * 411 `Task is aborted: 'value=<id> abortedcode=411'`: what `Task.stop`
 * raises when the task is already aborting (task.py `_incref` raises
 * `TaskAborted(str(self))`, whose value is a preset string).
 */
export function alreadyAbortingError(taskId: string): VdsmError {
  return vdsmError(VdsmErrorCode.TaskAborted, abortedValue(taskId, VdsmErrorCode.TaskAborted));
}

/**
 * 405 `TaskManager error, unable to add task: ('Task id already in use: <id>',)`
 * (taskManager.py `_queueTask`).
 */
export function taskIdInUseError(taskId: string): VdsmError {
  return vdsmError(VdsmErrorCode.AddTaskError, pyTuple(`Task id already in use: ${taskId}`));
}

/**
 * 405 `TaskManager error, unable to add task: ()` (the bare
 * `se.AddTaskError()` of taskManager.py `_queueTask`): the queue of waiting
 * tasks is full.
 */
export function taskQueueFullError(): VdsmError {
  return vdsmError(VdsmErrorCode.AddTaskError, pyTuple());
}

/** 851 `Resource timeout: ()` (resourceManager.py `Owner.acquire` raises `se.ResourceTimeout()`). */
export function resourceTimeoutError(): VdsmError {
  return vdsmError(VdsmErrorCode.ResourceTimeout, pyTuple());
}

/** 853 `Invalid resource name: ('<name>',)` (resourceManager.py `registerResource`). */
export function invalidResourceNameError(name: string): VdsmError {
  return vdsmError(VdsmErrorCode.InvalidResourceName, pyTuple(name));
}
