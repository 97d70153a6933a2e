/**
 * `Image.delete` (hsm.py `deleteImage`, vdsm-wire.md §8.2) and its two jobs,
 * `purgeImage` and `zeroImage` (fileSD.py / blockSD.py).
 *
 * Synchronous, in VDSM's order:
 * 1. pool connected (309), domain produced (358);
 * 2. EXCLUSIVE `00_storage`/`<img>_<sd>` + SHARED `00_storage`/`<sd>`, taken
 *    for the task and held until it ends (a second delete of the image
 *    waits, up to 120 s, then 851);
 * 3. no volumes -> 268 `Image does not exist in domain: 'image=<img>, domain=<sd>'`;
 * 4. postZero: schedule `zeroImage` (654 `Not SPM: ('<sp>',)`);
 *    else: `pool.deleteImage` now (a `@secured` pool method: 654 exactly
 *    `Not SPM`) renames the image `_remove_me_<img>`, so it is gone from
 *    `getImages` before the call returns; then schedule `purgeImage`.
 * `force` is ignored ("deprecated and not evaluated"). VDSM's 223 for a
 * template used by other images cannot arise: the fake's model keeps each
 * volume in one image.
 *
 * Jobs:
 * - purge, file: discard -> 349; else the files, rows and folder go.
 * - purge, block: the LVs (files) and rows go; discard is best effort.
 * - zero, file: nothing is zeroed (VDSM logs "won't be zeroed"); discard ->
 *   349; else the image is renamed `_remove_me_` and removed. VDSM leaves
 *   that removal to its image garbage collector; the fake has none, so it
 *   removes at once (as the lead's brief for this module asks).
 * - zero, block: renamed `_remove_me_ZERO_<img>`, every volume zeroed in
 *   parallel over its whole LV (extents) at `ctx.wipeBytesPerSecond` on
 *   the clock, then removed; a failed wipe fails the task with 374.
 *   `Task.stop` aborts the wipes (443 inside), the task ends with 411
 *   (§7.2) and nothing is removed: like VDSM's LVs that keep their
 *   `_remove_me_ZERO_` tag, the rows stay `removed` and the partly zeroed
 *   files stay in `_remove_me_ZERO_<img>`, out of every listing.
 */
import { VdsmErrorCode, pyTuple } from '@vdsm-kit/client/api';
import type { TaskId, WireParamsOf } from '@vdsm-kit/client/api';
import { removedImageDir } from '../data/layout.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { discardNotSupportedError, imageDoesNotExistError, requireConnectedPool, requireDomain, requireSpm, storageError } from './checks.js';
import { generalError } from './clone-structure.js';
import type { StorageContext } from './context.js';
import { deleteImageNow, hideImage } from './image-removal.js';
import { prepareTask } from './task-prepare.js';
import { isEmptyDir, reconcileVolumes, removeEmptyDir, removeVolume } from './volume-removal.js';
import type { RemovalRecord } from './volume-removal.js';


/** Job kind of `Image.delete` without postZero. */
export const PURGE_IMAGE_JOB = 'purgeImage';
/** Job kind of `Image.delete` with postZero. */
export const ZERO_IMAGE_JOB = 'zeroImage';

/** What the delete jobs get (JSON). */
export interface DeleteImageJobParams {
  readonly sdUUID: string;
  readonly imgUUID: string;
  /** The image's volumes when the verb ran (VDSM's `volsImgs`). */
  readonly volumes: readonly string[];
  readonly discard: boolean;
}

/**
 * `Image.delete`: the synchronous part; returns the task id.
 *
 * @throws VdsmError 309, 358, 851, 268, 654, or 256 when the rename fails;
 *   100 (VDSM's fallback, the verb sets no default exception) for anything else.
 */
export function deleteImage(ctx: StorageContext, params: WireParamsOf<'Image.delete'>): Promise<TaskId> {
  const { imageID: imgUUID, storagepoolID: spUUID, storagedomainID: sdUUID, postZero, discard } = params;
  return prepareTask(ctx, generalError, async (task) => {
    requireConnectedPool(ctx, spUUID);
    const domain = requireDomain(ctx, sdUUID);
    // Both images and domains can be on two domains at once (live storage migration): lock the pair.
    await ctx.locks.acquire(STORAGE_NAMESPACE, `${imgUUID}_${sdUUID}`, 'exclusive', task.taskId);
    await task.sharedDomainLocks([sdUUID]);

    const volumes = ctx.store.listVolumes(sdUUID, imgUUID);
    if (volumes.length === 0) throw imageDoesNotExistError(imgUUID, sdUUID);
    const jobParams: DeleteImageJobParams = { sdUUID, imgUUID, volumes: volumes.map((v) => v.id), discard };
    if (postZero) return task.schedule(spUUID, 'Image.delete', ZERO_IMAGE_JOB, jobParams);

    requireSpm(ctx, spUUID, 'secure');
    // The image leaves every listing before the call returns (fileSD.py deleteImage renames it).
    await hideImage(ctx, domain, imgUUID, volumes, false);
    return task.schedule(spUUID, 'Image.delete', PURGE_IMAGE_JOB, jobParams);
  });
}

/** The job handlers of this module, by kind. */
export function deleteImageJobs(ctx: StorageContext): Record<string, JobHandler<DeleteImageJobParams, RemovalRecord>> {
  const rollback = async (job: JobContext<DeleteImageJobParams, RemovalRecord>): Promise<void> => {
    const record = job.recovery.get();
    if (record === undefined) return;
    const dropped = await reconcileVolumes(ctx, record);
    job.logger.info({ dropped }, 'interrupted image removal reconciled');
  };
  return {
    [PURGE_IMAGE_JOB]: { run: (job) => purgeImage(ctx, job), rollback },
    [ZERO_IMAGE_JOB]: { run: (job) => zeroImage(ctx, job), rollback },
  };
}

// ---- the jobs ----

async function purgeImage(ctx: StorageContext, job: JobContext<DeleteImageJobParams, RemovalRecord>): Promise<void> {
  const { sdUUID, imgUUID, discard } = job.params;
  // The job produces the domain again (358 if it went away meanwhile).
  const domain = requireDomain(ctx, sdUUID);
  await job.phase('delete', { domain: sdUUID, image: imgUUID });
  if (domain.kind === 'file') {
    // fileSD.py purgeImage: the image is already out of the listing, the task fails.
    if (discard) throw discardNotSupportedError(sdUUID);
  } else if (discard && !domain.discard) {
    // blockSD.py purgeImage: discard failures are only logged.
    job.logger.warn({ sdUUID, imgUUID }, 'discard not supported by the storage, volumes removed without it');
  }
  // Unlinking a volume's file frees its blocks, which is all a discard before lvremove achieves.
  await removeImage(ctx, job, domain);
}

async function zeroImage(ctx: StorageContext, job: JobContext<DeleteImageJobParams, RemovalRecord>): Promise<void> {
  const { sdUUID, imgUUID, discard } = job.params;
  const domain = requireDomain(ctx, sdUUID);
  await job.phase('zero', { domain: sdUUID, image: imgUUID });
  // image.py-level deletion with postZero: zeroed on block, not on file (349 for discard there).
  await deleteImageNow(
    ctx,
    { signal: job.signal, logger: job.logger, recordRemoval: (record) => job.recovery.set(record), progress: (f) => job.progress(f) },
    domain,
    imgUUID,
    { postZero: true, discard },
  );
  job.recovery.clear();
  job.progress(1);
}

/**
 * Removes the image's volumes (files, rows) from its removed folder, then
 * the folder. The volumes are recorded first, so an interrupted removal is
 * reconciled by the rollback.
 */
async function removeImage(
  ctx: StorageContext,
  job: JobContext<DeleteImageJobParams, RemovalRecord>,
  domain: DomainRecord,
): Promise<void> {
  const { sdUUID, imgUUID } = job.params;
  const volumes = liveOrRemovedVolumes(ctx, job.params);
  job.recovery.set({ sdUUID, imgUUID, volumes: volumes.map((volume) => volume.id) });
  const dir = removedImageDir(ctx.stateDir, sdUUID, imgUUID);
  if (domain.kind === 'file') {
    // fileSD.py purgeImage: one by one, then rmdir (256 when that fails).
    for (const [index, volume] of volumes.entries()) {
      await removeVolume(ctx, volume);
      job.progress((index + 1) / volumes.length);
      // A stop or fault between two volumes ends the purge there; the rollback reconciles what is gone.
      job.signal.throwIfAborted();
    }
    try {
      await removeEmptyDir(dir);
    } catch (error) {
      throw storageError(VdsmErrorCode.ImageDeleteError, pyTuple(`${imgUUID} ${describe(error)}`));
    }
  } else {
    // blockSD.py purgeImage/zeroImage: lvremove per volume in parallel; failures make one 551.
    const results = await Promise.allSettled(volumes.map((volume) => removeVolume(ctx, volume)));
    const errors = results.flatMap((result) => (result.status === 'rejected' ? [describe(result.reason)] : []));
    if (errors.length > 0) throw storageError(VdsmErrorCode.CannotRemoveLogicalVolume, pyTuple(errors));
    // rmDCImgDir: only an emptied folder goes.
    if (await isEmptyDir(dir)) await removeEmptyDir(dir);
  }
  job.recovery.clear();
  job.progress(1);
}

// ---- helpers ----


/** The rows of the volumes the verb saw, whether or not they are marked removed yet. */
function liveOrRemovedVolumes(ctx: StorageContext, params: DeleteImageJobParams): VolumeRecord[] {
  return params.volumes.flatMap((id) => {
    const volume = ctx.store.getVolume(params.sdUUID, id);
    return volume !== undefined && volume.imageId === params.imgUUID ? [volume] : [];
  });
}

/** Python's `str(e)` of what a step threw. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
