/**
 * The SPM role: `StoragePool.spmStart` and `StoragePool.spmStop` (hsm.py
 * `spmStart`/`spmStop`, sp.py `startSpm`/`stopSpm`; vdsm-wire.md §7.3,
 * §8.3). `getSpmStatus` is in pool-info.ts. The role lives in the pools
 * table (`spm_host_id`, `lver`), so every host of the process sees it.
 *
 * spmStart: pool connected (309); already SPM -> 656 `Operation not allowed
 * while SPM is active: ('<sp>',)`; EXCLUSIVE `00_storage`/`<sp>` for the
 * task; then an HSM task `spmStart` whose job takes the cluster lock (held
 * by another host -> 651, as sanlock refuses a lease a live host holds),
 * sets `lver = old lver + 1` and the role, and recovers the pool's tasks
 * (`TaskManager.recover`: finished ones keep their result, unfinished ones
 * are rolled back, §7.3).
 *
 * spmStop: EXCLUSIVE `00_storage`/`<sp>` for the call; pool connected
 * (309); not the SPM -> nothing to do; then the role is released, the lease
 * version kept. Deliberate difference: VDSM's `stopSpm` does not look at
 * tasks (§7.3), but issue 3 asks that spmStop be refused while tasks exist,
 * so unfinished SPM tasks of the pool get 653 `Error stopping SPM, SPM has
 * unfinished task(s): ('<sp>',)` (hsm.py's default exception for the verb,
 * `SpmStopError(spUUID)`).
 */
import { randomUUID } from 'node:crypto';
import { pyTuple, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { WireParamsOf } from '@vdsm-kit/client/api';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { isSpm, requireConnectedPool, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { taskVerbOf } from './verb-names.js';

/** Job kind of `StoragePool.spmStart`. */
export const SPM_START_JOB = 'spmStart';

/**
 * sanlock's answer when a live host holds the lease (`SANLK_ACQUIRE_IDLIVE`),
 * as VDSM's clusterlock.py passes it on: the errno and the exception's `str()`.
 */
const SANLOCK_LEASE_HELD = { rc: -243, err: "(-243, 'Sanlock resource not acquired', 'Lease is held by another host')" } as const;

/** What the spmStart job gets (JSON). */
export interface SpmStartJobParams {
  readonly spUUID: string;
  /** The host contending for the role (jobs do not run "on" a host otherwise). */
  readonly hostId: number;
  readonly prevID: number;
  readonly prevLver: string;
}

/**
 * `StoragePool.spmStart`: the synchronous part; returns the HSM task id.
 *
 * @throws VdsmError 309, 656, 851.
 */
export async function spmStart(ctx: StorageContext, params: WireParamsOf<'StoragePool.spmStart'>): Promise<string> {
  const spUUID = params.storagepoolID;
  // hsm.py checks before and after taking the lock: the role may change while waiting.
  validateNotSpm(ctx, spUUID);
  const taskId = randomUUID();
  try {
    await ctx.locks.acquire(STORAGE_NAMESPACE, spUUID, 'exclusive', taskId);
    validateNotSpm(ctx, spUUID);
    const jobParams: SpmStartJobParams = { spUUID, hostId: ctx.hostId, prevID: params.prevID, prevLver: params.prevLver };
    return ctx.tasks.scheduleHsmTask(taskVerbOf('StoragePool.spmStart'), SPM_START_JOB, jobParams, { taskId });
  } catch (error) {
    ctx.locks.release(taskId);
    throw error;
  }
}

/**
 * `StoragePool.spmStop`.
 *
 * @throws VdsmError 851, 309, 653 (see the module comment).
 */
export async function spmStop(ctx: StorageContext, spUUID: string): Promise<void> {
  const owner = randomUUID();
  await ctx.locks.acquire(STORAGE_NAMESPACE, spUUID, 'exclusive', owner);
  try {
    const pool = requireConnectedPool(ctx, spUUID);
    // sp.py stopSpm: a host that is not the SPM has nothing to stop.
    if (!isSpm(ctx, spUUID)) return;
    // exception.py SpmStopError(spUUID, strRunningTask=None): value `spUUID=<sp>, task=None`.
    if (ctx.tasks.hasUnfinished(spUUID)) throw storageError(VdsmErrorCode.SpmStopError, `spUUID=${spUUID}, task=None`);
    ctx.store.setSpm(spUUID, null, pool.lver);
    ctx.logger.info({ pool: spUUID, host: ctx.hostId, lver: pool.lver }, 'SPM stopped');
  } finally {
    ctx.locks.release(owner);
  }
}

/** The job handler of this module, by kind. */
export function spmJobs(ctx: StorageContext): Record<string, JobHandler<SpmStartJobParams, never>> {
  return {
    // Nothing to undo: a failed start has already given the role back.
    [SPM_START_JOB]: { run: (job) => startSpm(ctx, job), rollback: () => Promise.resolve() },
  };
}

/** sp.py `startSpm`. */
async function startSpm(ctx: StorageContext, job: JobContext<SpmStartJobParams, never>): Promise<void> {
  const { spUUID, hostId } = job.params;
  const pool = ctx.store.getPool(spUUID);
  if (pool === undefined) throw storageError(VdsmErrorCode.StoragePoolUnknown, pyTuple(spUUID));
  if (pool.spmHostId === hostId) return;
  if (pool.spmHostId !== null) {
    job.logger.info({ pool: spUUID, spm: pool.spmHostId }, 'cluster lock held by another host');
    throw storageError(
      VdsmErrorCode.AcquireLockFailure,
      `id=${pool.masterDomainId}, rc=${SANLOCK_LEASE_HELD.rc}, out=Cannot acquire cluster lock, err=${SANLOCK_LEASE_HELD.err}`,
    );
  }
  if (String(pool.lver) !== job.params.prevLver || pool.spmHostId !== job.params.prevID) {
    // Only logged by VDSM too: prevID and prevLVER are obsolete.
    job.logger.info({ expected: { id: pool.spmHostId, lver: pool.lver }, got: { id: job.params.prevID, lver: job.params.prevLver } }, 'spmStart with stale prevID/prevLver');
  }
  const lver = pool.lver + 1;
  ctx.store.setSpm(spUUID, hostId, lver);
  try {
    // Restoring tasks comes last: they are SPM operations.
    await ctx.tasks.recover(spUUID);
  } catch (error) {
    // startSpm: any failure stops the SPM again (stopSpm(force=True)).
    ctx.store.setSpm(spUUID, null, lver);
    throw error;
  }
  job.logger.info({ pool: spUUID, host: hostId, lver }, 'SPM started');
}

/** sp.py `validateNotSPM` after `getPool`: 309, then 656. */
function validateNotSpm(ctx: StorageContext, spUUID: string): void {
  requireConnectedPool(ctx, spUUID);
  if (isSpm(ctx, spUUID)) throw storageError(VdsmErrorCode.IsSpm, pyTuple(spUUID));
}
