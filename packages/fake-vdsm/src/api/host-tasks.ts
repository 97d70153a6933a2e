/**
 * The `Host.*` verbs that need the storage model: the task listings and the
 * pool/domain listings. api/host.ts keeps ping2, echo and getCapabilities;
 * the registry registers verbs one by one, so both modules can name the
 * `Host` namespace.
 *
 * `getAllTasksStatuses` / `getAllTasksInfo` list the SPM tasks of the pool
 * and answer only on its SPM: elsewhere, or when not connected, 654
 * `Not SPM: ()` (hsm.py raises `SpmStatusError()` without args). `getAllTasks` lists
 * every task this host holds (SPM tasks on the SPM only, see task.ts).
 *
 * `getAllTasksStatuses` meets the status faults (faults/status-faults.ts):
 * each poll may hide or garble the entries of the tasks a rule matches.
 */
import { applyStatusFaults, jobParams } from '../faults/status-faults.js';
import type { StatusTaskInfo } from '../faults/status-faults.js';
import { connectedPoolId, requireSpm } from '../storage/checks.js';
import type { StorageContext } from '../storage/context.js';
import { listStorageDomains } from '../storage/domain-getters.js';
import { connectedPools } from '../storage/pool-connection.js';
import { emulate } from './registry.js';
import { isHeldBy } from './task.js';
import type { ApiModule } from './registry.js';

/** The storage part of the `Host` namespace of the host serving `ctx`. */
export function hostTasksApi(ctx: StorageContext): ApiModule {
  /** The pool this host is SPM of; 654 `Not SPM: ()` otherwise. */
  const spmPool = (): string => {
    const poolId = connectedPoolId(ctx);
    requireSpm(ctx, poolId, 'getAll');
    return poolId as string;
  };
  const isHeldTask = (taskId: string): boolean => {
    const row = ctx.tasks.getRecord(taskId);
    return row !== undefined && isHeldBy(ctx, row);
  };
  /** What a status rule can match a listed task on: its job's kind and params. */
  const describeTask = (taskId: string): StatusTaskInfo => {
    const job = ctx.tasks.getRecord(taskId)?.job;
    const params = jobParams(job?.params);
    return { ...(job === undefined ? {} : { kind: job.kind }), ...(params === undefined ? {} : { params }) };
  };
  return {
    namespace: 'Host',
    verbs: [
      emulate('Host.getAllTasksStatuses', () => applyStatusFaults(ctx.faults, ctx.hostId, ctx.tasks.getAllStatuses(spmPool()), describeTask)),
      emulate('Host.getAllTasksInfo', () => ctx.tasks.getAllInfo(spmPool())),
      emulate('Host.getAllTasks', () => Object.fromEntries(Object.entries(ctx.tasks.getAllTasks()).filter(([id]) => isHeldTask(id)))),
      emulate('Host.getConnectedStoragePools', () => connectedPools(ctx)),
      emulate('Host.getStorageDomains', (params) => listStorageDomains(ctx, params)),
    ],
  };
}
