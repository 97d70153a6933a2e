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
 */
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
  return {
    namespace: 'Host',
    verbs: [
      emulate('Host.getAllTasksStatuses', () => ctx.tasks.getAllStatuses(spmPool())),
      emulate('Host.getAllTasksInfo', () => ctx.tasks.getAllInfo(spmPool())),
      emulate('Host.getAllTasks', () => Object.fromEntries(Object.entries(ctx.tasks.getAllTasks()).filter(([id]) => isHeldTask(id)))),
      emulate('Host.getConnectedStoragePools', () => connectedPools(ctx)),
      emulate('Host.getStorageDomains', (params) => listStorageDomains(ctx, params)),
    ],
  };
}
