/**
 * The synchronous half of a task verb, as VDSM's `Task.prepare` runs it
 * (lib/vdsm/storage/task.py, dispatcher.py; vdsm-wire.md §7.1): the verb runs
 * inside a task that exists before the job does, takes its locks for that
 * task (so they last until the task ends), and finally `_spmSchedule`s the
 * job under the same task id.
 *
 * When prepare fails the task never existed: its locks are released here, and
 * the error goes back to the caller as the JSON-RPC error. A `VdsmError`
 * (VDSM's `GeneralException` family) travels as is; anything else becomes
 * the verb's default exception (`setDefaultException`, dispatcher.py
 * `generateResponse(e, defaultExceptionInfo)`), e.g. 253 `Error moving image`.
 */
import { randomUUID } from 'node:crypto';
import { asTaskId, VdsmError } from '@vdsm-kit/client/api';
import type { TaskId, TaskMethod } from '@vdsm-kit/client/api';
import { STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { requireSpm } from './checks.js';
import type { StorageContext } from './context.js';
import { taskVerbOf } from './verb-names.js';

/** The task a verb prepares in: its id, and the locks it takes for it. */
export interface PreparingTask {
  /** The task's id; the job is scheduled under it, so the locks below stay held until the task ends. */
  readonly taskId: string;
  /**
   * VDSM `vars.task.getSharedLock(STORAGE, sd)` for each domain, in sorted
   * order (hsm.py sorts them to avoid deadlocks), each waiting up to 120 s.
   *
   * @throws VdsmError 851 `Resource timeout: ()` when one is not granted in time.
   */
  sharedDomainLocks(sdUUIDs: readonly string[]): Promise<void>;
  /**
   * VDSM `_spmSchedule`: refuses unless this host is the pool's SPM (654
   * `Not SPM: ('<sp>',)`), then schedules job `kind` as the task of `method`.
   */
  schedule(spUUID: string, method: TaskMethod, kind: string, params: unknown): TaskId;
}

/**
 * Runs `prepare` in a fresh task (see the module comment). `defaultError`
 * builds the verb's default exception from VDSM's args string.
 */
export async function prepareTask<T>(
  ctx: StorageContext,
  defaultError: () => VdsmError,
  prepare: (task: PreparingTask) => Promise<T>,
): Promise<T> {
  const taskId = randomUUID();
  const task: PreparingTask = {
    taskId,
    async sharedDomainLocks(sdUUIDs) {
      // A task locks a resource once; VDSM's callers never pass a domain twice.
      for (const sdUUID of [...new Set(sdUUIDs)].sort()) {
        await ctx.locks.acquire(STORAGE_NAMESPACE, sdUUID, 'shared', taskId, { clock: ctx.clock });
      }
    },
    schedule(spUUID, method, kind, params) {
      requireSpm(ctx, spUUID, 'schedule');
      return asTaskId(ctx.tasks.scheduleSpmTask(spUUID, taskVerbOf(method), kind, params, { taskId, hostId: ctx.hostId, method }));
    },
  };
  try {
    return await prepare(task);
  } catch (error) {
    // Prepare failed: the task never existed, so nothing else would release what it locked.
    ctx.locks.release(taskId);
    if (error instanceof VdsmError) throw error;
    ctx.logger.error({ error: error instanceof Error ? error.message : String(error) }, 'unexpected error in task prepare');
    throw defaultError();
  }
}

/** Python's `str()` of a verb argument, as VDSM's `argsStr` formats them (`%s`). */
export function pyStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}
