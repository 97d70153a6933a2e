/**
 * The synchronous half every SDM verb shares (hsm.py `sdm_schedule`,
 * jobs.py `add`), and the destination lease every SDM job takes.
 */
import { pyTuple, VdsmErrorCode } from '@vdsm-kit/client/api';
import { storageError } from '../storage/storage-error.js';
import { connectedPoolId, requireDomain } from '../storage/checks.js';
import type { StorageContext } from '../storage/context.js';
import { volumePath } from '../data/layout.js';
import type { DivEndpoint } from './endpoints.js';
import type { HostJobRef, HostJobs } from './host-jobs.js';
import { hasVolumeLeases, volumeLeaseInfo } from './volume-leases.js';

/** The process's host jobs; a context without them is a wiring bug. */
export function requireHostJobs(ctx: StorageContext): HostJobs {
  if (ctx.hostJobs === undefined) throw new Error('this storage context has no host job tables');
  return ctx.hostJobs;
}

/**
 * `self._pool.id` on a host not connected to a pool: 313 `Storage pool not
 * connected: ()` (sp.py `DisconnectedPool`). SDM verbs name no pool.
 */
export function requirePoolConnected(ctx: StorageContext): void {
  if (connectedPoolId(ctx) === undefined) throw storageError(VdsmErrorCode.StoragePoolNotConnected, pyTuple());
}

/**
 * Adds job `jobId` to the serving host's table (100 `Job '<id>' exists`
 * while one is listed) and schedules the sdm task that runs it.
 */
export function scheduleHostJob(ctx: StorageContext, jobId: string, description: string, params: object, method: string): void {
  const hostJobs = requireHostJobs(ctx);
  const table = hostJobs.table(ctx.hostId);
  const job = table.add(jobId, description);
  const ref: HostJobRef = { jobId, hostId: ctx.hostId };
  let taskId: string;
  try {
    taskId = ctx.tasks.scheduleSdmTask(description, description, { ...params, ...ref }, { hostId: ctx.hostId, method });
  } catch (error) {
    // 405 (the host's task queue is full): the job never existed.
    table.remove(jobId);
    throw error;
  }
  job.taskId = taskId;
  hostJobs.track(taskId, table, job);
}

/**
 * Takes the destination's volume lease for `hostId` when its domain has
 * volume leases (VDSM `VolumeLease` in the job's locks); returns what frees it.
 *
 * @throws VdsmError 358 for an unknown domain, 651 when another host holds the lease.
 */
export function takeVolumeLease(ctx: StorageContext, hostJobs: HostJobs, endpoint: DivEndpoint, hostId: number): () => void {
  const domain = requireDomain(ctx, endpoint.sdId);
  if (!hasVolumeLeases(domain)) return () => undefined;
  const volume = ctx.store.getVolume(endpoint.sdId, endpoint.volId);
  const path = volumePath(ctx.stateDir, endpoint.sdId, endpoint.imgId, endpoint.volId);
  const lease = volume === undefined ? { path: `${path}.lease`, offset: 0 } : volumeLeaseInfo(domain, volume, path, []);
  return hostJobs.leases.acquire(endpoint.sdId, endpoint.volId, { ...lease, owners: [] }, hostId);
}
