/**
 * VDSM's task state predicates (lib/vdsm/storage/task.py `State`), built on
 * the client's `TASK_STATE_PREDECESSORS` and `TASK_DONE_STATES` so the
 * transition table exists once.
 */
import { TASK_DONE_STATES, TASK_STATE_PREDECESSORS } from '@vdsm-kit/client/api';
import type { TaskInternalState } from '@vdsm-kit/client/api';
import { transitionError } from './task-errors.js';

/** `State.isDone`: finished, recovered or failed. */
export function isDone(state: TaskInternalState): boolean {
  return TASK_DONE_STATES.has(state);
}

/** `State.canAbort`: the task may move to aborting (it has not started to clean up). */
export function canAbort(state: TaskInternalState): boolean {
  return TASK_STATE_PREDECESSORS.aborting.includes(state);
}

/** `State.isRecovering`: racquiring or recovering (rollback under way). */
export function isRecovering(state: TaskInternalState): boolean {
  return state === 'racquiring' || state === 'recovering';
}

/**
 * `State.moveto` without `force`: throws VdsmError 441
 * `cannot move task to requested state: ('from <a> to <b>',)` unless `to`
 * may follow `from`.
 */
export function assertTransition(from: TaskInternalState, to: TaskInternalState): void {
  if (!TASK_STATE_PREDECESSORS[to].includes(from)) throw transitionError(from, to);
}
