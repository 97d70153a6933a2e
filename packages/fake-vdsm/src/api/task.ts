/**
 * `Task.*` (VDSM's API.Task, `ctorArgs = ['taskID']`): one to one onto the
 * TaskManager, which words every answer and error as VDSM does (unknown id
 * 401, malformed 1000, clear of an unfinished SPM task 410, revert 403/441).
 *
 * An SPM task lives on the pool's SPM (persisted under its master domain and
 * loaded by whichever host takes the role): any other host has never heard of
 * it and answers 401, as VDSM does. HSM tasks (spmStart) are not persisted;
 * the fake answers for them on any host.
 */
import { TaskTag } from '@vdsm-kit/client/api';
import { isSpm } from '../storage/checks.js';
import type { StorageContext } from '../storage/context.js';
import { unknownTaskError } from '../tasks/task-errors.js';
import type { TaskRow } from '../tasks/task-repo.js';
import { emulate } from './registry.js';
import { voidResult, voidResultAsync } from './void-result.js';
import type { ApiModule } from './registry.js';

/** The `Task` namespace of the host serving `ctx`. */
export function taskApi(ctx: StorageContext): ApiModule {
  const { tasks } = ctx;
  // Only an id this host holds reaches the manager; a malformed id still gets the manager's 1000.
  const held = (taskID: string): string => {
    const row = tasks.getRecord(taskID);
    if (row !== undefined && !isHeldBy(ctx, row)) throw unknownTaskError(taskID);
    return taskID;
  };
  return {
    namespace: 'Task',
    verbs: [
      emulate('Task.getStatus', ({ taskID }) => tasks.getStatus(held(taskID))),
      emulate('Task.getInfo', ({ taskID }) => tasks.getInfo(held(taskID))),
      emulate('Task.clear', ({ taskID }) => voidResult(() => tasks.clear(held(taskID)))),
      emulate('Task.stop', ({ taskID }) => voidResult(() => tasks.stop(held(taskID)))),
      emulate('Task.revert', ({ taskID }) => voidResultAsync(() => tasks.revert(held(taskID)))),
    ],
  };
}

/** Whether the host serving `ctx` holds `task`: SPM tasks on their pool's SPM only, an SDM job's task on its host only. */
export function isHeldBy(ctx: StorageContext, task: TaskRow): boolean {
  if (task.tag === TaskTag.Sdm) return (task.job.params as { hostId?: unknown } | null)?.hostId === ctx.hostId;
  return task.tag !== TaskTag.Spm || (task.poolId !== null && isSpm(ctx, task.poolId));
}
