/**
 * `SDM.*` (VDSM's API.SDM) and `Host.getJobs`: the host-job verbs
 * (jobs/). Only copy_data and update_volume are emulated; VDSM's other SDM
 * verbs answer 44 like every verb the fake does not emulate. No verb aborts
 * or deletes a storage job, as on VDSM (the control API can abort one).
 */
import { copyDataVerbs } from '../jobs/copy-data-job.js';
import { requireHostJobs } from '../jobs/job-start.js';
import { pyFloat } from '../server/python-json.js';
import type { StorageContext } from '../storage/context.js';
import { emulate } from './registry.js';
import type { ApiModule } from './registry.js';
import { updateVolumeVerbs } from '../jobs/update-volume-job.js';

/** The `SDM` namespace of the host serving `ctx`. */
export function sdmApi(ctx: StorageContext): ApiModule {
  return { namespace: 'SDM', verbs: [...copyDataVerbs(ctx), ...updateVolumeVerbs(ctx)] };
}

/** `Host.getJobs` of the host serving `ctx` (no pool needed; unknown ids are just absent). */
export function hostJobsApi(ctx: StorageContext): ApiModule {
  return {
    namespace: 'Host',
    verbs: [
      emulate('Host.getJobs', ({ job_type, job_ids }) => {
        const infos = requireHostJobs(ctx).table(ctx.hostId).infos(job_type, job_ids);
        for (const info of Object.values(infos)) {
          // A Python float on the wire (`42.0`): the engine casts it to Double.
          if (info.progress !== undefined) (info as { progress: unknown }).progress = pyFloat(info.progress);
        }
        return infos;
      }),
    ],
  };
}
