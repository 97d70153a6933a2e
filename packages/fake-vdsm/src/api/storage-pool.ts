/**
 * `StoragePool.*` (VDSM's API.StoragePool): connection, pool info and the
 * SPM role. The logic lives in storage/ (pool-connection.ts, pool-info.ts,
 * spm.ts); this module only binds it to the verbs.
 */
import { asTaskId } from '@vdsm-kit/client/api';
import type { StorageContext } from '../storage/context.js';
import { connectPool, disconnectPool } from '../storage/pool-connection.js';
import { poolInfo, spmStatus } from '../storage/pool-info.js';
import { spmStart, spmStop } from '../storage/spm.js';
import { emulate } from './registry.js';
import { voidResult, voidResultAsync } from './void-result.js';
import type { ApiModule } from './registry.js';

/** The `StoragePool` namespace of the host serving `ctx`. */
export function storagePoolApi(ctx: StorageContext): ApiModule {
  return {
    namespace: 'StoragePool',
    verbs: [
      emulate('StoragePool.connect', (params) => voidResult(() => connectPool(ctx, params))),
      emulate('StoragePool.disconnect', ({ storagepoolID }) => voidResult(() => disconnectPool(ctx, storagepoolID))),
      emulate('StoragePool.getInfo', ({ storagepoolID }) => poolInfo(ctx, storagepoolID)),
      emulate('StoragePool.getSpmStatus', ({ storagepoolID }) => spmStatus(ctx, storagepoolID)),
      emulate('StoragePool.spmStart', async (params) => asTaskId(await spmStart(ctx, params))),
      emulate('StoragePool.spmStop', ({ storagepoolID }) => voidResultAsync(() => spmStop(ctx, storagepoolID))),
    ],
  };
}
