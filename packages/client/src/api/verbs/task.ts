/**
 * `Task.*` verbs (VDSM's API.Task, `ctorArgs = ['taskID']`). They work on any
 * host that holds the task; unknown ids get 401, malformed ones 1000.
 */
import { z } from 'zod';
import { TaskInfoSchema, TaskStatusSchema, VoidResultSchema } from '../types.js';
import { defineVerb } from './common.js';
import type { VerbDefinition } from './common.js';

/**
 * Any string: VDSM's `Task.validateID` refuses only an empty id or one with a
 * dot (1000), and any other unknown id gets 401 `Task id unknown`, UUID or
 * not. The schema's `UUID` type is not enforced by VDSM.
 */
const taskParams = z.strictObject({ taskID: z.string() });

export const TASK_VERBS = {
  /** `{taskID, taskState, taskResult, code, message}`. */
  'Task.getStatus': defineVerb({ params: taskParams, result: TaskStatusSchema, returnsTask: false }),

  /** `{id, verb}`. */
  'Task.getInfo': defineVerb({ params: taskParams, result: TaskInfoSchema, returnsTask: false }),

  /** Forgets a finished task; an unfinished SPM task gets 410, an unknown one 401. */
  'Task.clear': defineVerb({ params: taskParams, result: VoidResultSchema, returnsTask: false }),

  /** Aborts a running task (it ends recovered/cleanSuccess, code 411); a no-op on a done task. */
  'Task.stop': defineVerb({ params: taskParams, result: VoidResultSchema, returnsTask: false }),

  /** Rolls a finished task back; 403 while it runs, 441 when already rolled back. */
  'Task.revert': defineVerb({ params: taskParams, result: VoidResultSchema, returnsTask: false }),
} as const satisfies Record<`Task.${string}`, VerbDefinition>;
