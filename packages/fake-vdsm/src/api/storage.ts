/**
 * Everything storage a fake host serves, in two calls:
 *
 * - `storageApi(ctx)`: the namespace modules of one host (its `ctx`
 *   carries its host id), for its `ApiRegistry` next to `hostApi`
 *   (api/host.ts). `Host` appears twice (host.ts and host-tasks.ts); the
 *   registry registers verb by verb, so that is fine.
 * - `storageJobs(ctx)`: every job handler by kind, registered once per
 *   TaskManager (`tasks.register(kind, handler)`). Jobs do not depend on the
 *   serving host, so any host's context will do.
 */
import { cloneStructureJobs } from '../storage/clone-structure.js';
import type { StorageContext } from '../storage/context.js';
import { copyVolumeJobs } from '../storage/copy-volume.js';
import { createVolumeJobs } from '../storage/create-volume.js';
import { deleteImageJobs } from '../storage/delete-image.js';
import { deleteVolumeJobs } from '../storage/delete-volumes.js';
import { moveImageJobs } from '../storage/move-image.js';
import { spmJobs } from '../storage/spm.js';
import { syncDataJobs } from '../storage/sync-data.js';
import type { JobHandler } from '../tasks/job-handler.js';
import { hostTasksApi } from './host-tasks.js';
import { imageApi } from './image.js';
import type { ApiModule } from './registry.js';
import { storageDomainApi } from './storage-domain.js';
import { storagePoolApi } from './storage-pool.js';
import { taskApi } from './task.js';
import { volumeApi } from './volume.js';
import { copyDataJobs } from '../jobs/copy-data-job.js';
import { updateVolumeJobs } from '../jobs/update-volume-job.js';
import { hostJobsApi, sdmApi } from './sdm.js';

/** The storage namespaces of the host serving `ctx`. */
export function storageApi(ctx: StorageContext): ApiModule[] {
  return [storagePoolApi(ctx), storageDomainApi(ctx), imageApi(ctx), volumeApi(ctx), taskApi(ctx), hostTasksApi(ctx), sdmApi(ctx), hostJobsApi(ctx)];
}

/**
 * Every storage job handler, by kind.
 *
 * @throws Error when two modules claim one kind (a wiring bug).
 */
export function storageJobs(ctx: StorageContext): Record<string, JobHandler> {
  const sets: ReadonlyArray<Record<string, JobHandler<never, never>>> = [
    moveImageJobs(ctx),
    deleteImageJobs(ctx),
    deleteVolumeJobs(ctx),
    copyVolumeJobs(ctx),
    createVolumeJobs(ctx),
    cloneStructureJobs(ctx),
    syncDataJobs(ctx),
    spmJobs(ctx),
    copyDataJobs(ctx),
    updateVolumeJobs(ctx),
  ];
  const jobs: Record<string, JobHandler> = {};
  for (const set of sets) {
    for (const [kind, handler] of Object.entries(set)) {
      if (Object.hasOwn(jobs, kind)) throw new Error(`job kind ${kind} is registered twice`);
      jobs[kind] = handler as JobHandler;
    }
  }
  return jobs;
}
