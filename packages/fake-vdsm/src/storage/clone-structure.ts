/**
 * `Image.cloneStructure` (deprecated; hsm.py `cloneImageStructure` -> job
 * sp.py `cloneImageStructure` -> image.py `cloneStructure`): the image's
 * chain recreated on another domain without its data, the first half of the
 * engine's old live storage migration (`Image.syncData` is the second).
 *
 * Synchronous, in hsm.py's order: both domains produced (358); SHARED
 * `00_storage` locks on both, sorted (851); pool connected (309, after the
 * locks here); SPM (654). VDSM sets no default exception for this verb; the
 * fake answers an unexpected failure with 100 `General Exception`.
 *
 * The job: the image locks, sorted as sp.py sorts them (`01_img_<src>`
 * SHARED, `01_img_<dst>` EXCLUSIVE); the source chain (268, 262); every
 * volume created on the target, same UUIDs, parents, formats and roles,
 * empty and LEGAL (as VDSM's `createVolume` makes them; 212 / 550 when one
 * exists, 504 when the VG lacks extents). Rollback removes what it created.
 */
import { VdsmErrorCode, VolumeLegality } from '@vdsm-kit/client/api';
import type { TaskId, VdsmError, WireParamsOf } from '@vdsm-kit/client/api';
import { emulate } from '../api/registry.js';
import type { EmulatedVerb } from '../api/registry.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import type { LockMode } from '../tasks/resource-locks.js';
import { imageNamespace } from '../tasks/resource-locks.js';
import { requireConnectedPool, requireDomain, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { imageChain } from './image-chain.js';
import { prepareTask } from './task-prepare.js';
import { createTargetImage } from './target-image.js';
import { createdVolumesJournal, removeCreatedVolumes } from './target-volumes.js';
import type { CreatedVolumesRecord } from './target-volumes.js';

/** Job kind (and task verb) of `Image.cloneStructure`. */
export const CLONE_IMAGE_STRUCTURE_JOB = 'cloneImageStructure';

/** What the clone and sync jobs get (JSON). */
export interface ImageTransferJobParams {
  readonly sdUUID: string;
  readonly imgUUID: string;
  readonly dstSdUUID: string;
}

/** VDSM's fallback answer for a verb without a default exception. */
export function generalError(): VdsmError {
  return storageError(VdsmErrorCode.GeneralException);
}

/**
 * The synchronous part shared with `Image.syncData` (hsm.py
 * `cloneImageStructure` / `syncImageData`): both domains produced, shared
 * locks on both, pool connected, then the job scheduled.
 */
export function prepareImageTransfer(
  ctx: StorageContext,
  spUUID: string,
  sdUUID: string,
  dstSdUUID: string,
  schedule: (task: { schedule: (method: 'Image.cloneStructure' | 'Image.syncData', kind: string, params: unknown) => TaskId }) => TaskId,
): Promise<TaskId> {
  return prepareTask(ctx, generalError, async (task) => {
    requireDomain(ctx, sdUUID);
    requireDomain(ctx, dstSdUUID);
    await task.sharedDomainLocks([sdUUID, dstSdUUID]);
    requireConnectedPool(ctx, spUUID);
    return schedule({ schedule: (method, kind, params) => task.schedule(spUUID, method, kind, params) });
  });
}

/**
 * `Image.cloneStructure`, the synchronous part (see the module comment).
 *
 * @returns the task id.
 * @throws VdsmError 358, 851, 309 or 654.
 */
export function cloneStructure(ctx: StorageContext, params: WireParamsOf<'Image.cloneStructure'>): Promise<TaskId> {
  const { imageID: imgUUID, storagepoolID: spUUID, storagedomainID: sdUUID, dstSdUUID } = params;
  const job: ImageTransferJobParams = { sdUUID, imgUUID, dstSdUUID };
  return prepareImageTransfer(ctx, spUUID, sdUUID, dstSdUUID, (task) => task.schedule('Image.cloneStructure', CLONE_IMAGE_STRUCTURE_JOB, job));
}

/** The `Image.cloneStructure` verb, for the Image namespace module. */
export function cloneStructureVerbs(ctx: StorageContext): EmulatedVerb[] {
  return [emulate('Image.cloneStructure', (params) => cloneStructure(ctx, params))];
}

/** The job handler of `Image.cloneStructure`, by kind. */
export function cloneStructureJobs(ctx: StorageContext): Record<string, JobHandler<ImageTransferJobParams, CreatedVolumesRecord>> {
  return {
    [CLONE_IMAGE_STRUCTURE_JOB]: {
      run: (job) => runClone(ctx, job),
      rollback: async (job) => removeCreatedVolumes(ctx, job.recovery.get()?.created ?? []),
    },
  };
}

/**
 * sp.py's image locks for clone and sync: the source image SHARED, the
 * target's EXCLUSIVE, acquired in sorted order (by namespace, then name),
 * waiting without a timeout as `rm.acquireResource` does.
 */
export async function lockImageTransfer(job: JobContext<ImageTransferJobParams, unknown>): Promise<void> {
  const { sdUUID, imgUUID, dstSdUUID } = job.params;
  const requests: Array<[namespace: string, mode: LockMode]> = [
    [imageNamespace(sdUUID), 'shared'],
    [imageNamespace(dstSdUUID), 'exclusive'],
  ];
  requests.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [namespace, mode] of requests) await job.locks.acquire(namespace, imgUUID, mode, { timeoutMs: Infinity });
}

/** sp.py `cloneImageStructure` + image.py `cloneStructure` (= `_createTargetImage`). */
async function runClone(ctx: StorageContext, job: JobContext<ImageTransferJobParams, CreatedVolumesRecord>): Promise<void> {
  const { sdUUID, imgUUID, dstSdUUID } = job.params;
  await lockImageTransfer(job);
  const dst = requireDomain(ctx, dstSdUUID);
  await job.phase('create', { domain: dstSdUUID, image: imgUUID });
  const chain = imageChain(ctx, sdUUID, imgUUID);
  await createTargetImage(ctx, job, createdVolumesJournal(job.recovery), sdUUID, dst, chain, VolumeLegality.Legal);
  job.recovery.clear();
  job.progress(1);
}
