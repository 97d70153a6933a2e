/**
 * `Image.syncData` (deprecated; hsm.py `syncImageData` -> job sp.py
 * `syncImageData` -> image.py `syncData`): copies the data of the source
 * chain into the structure `Image.cloneStructure` made on the target: every
 * volume (`ALL`), all but the leaf (`INTERNAL`) or only the leaf (`LEAF`).
 *
 * Synchronous: as `Image.cloneStructure` (358, 851, 309, 654).
 *
 * The job: the image locks (source SHARED, target EXCLUSIVE, sorted); both
 * chains (268, 262 on either side); the selected volumes; 260 `Error during
 * destination image manipulation: ('<img>', '<dst>')` when the two selections
 * differ in length or volume UUIDs; each selected volume's data copied onto
 * its counterpart (261 when that fails), which is ILLEGAL while written and
 * LEGAL with generation + 1 after (VDSM's `Volume.operation` protocol; a
 * failed or stopped copy leaves it ILLEGAL, generation unchanged, which is
 * all there is to undo: nothing is created, so nothing is rolled back);
 * roles set as on the source.
 */
import { pyTuple, SyncType, VdsmErrorCode, VolumeLegality } from '@vdsm-kit/client/api';
import type { TaskId, WireParamsOf } from '@vdsm-kit/client/api';
import { emulate } from '../api/registry.js';
import type { EmulatedVerb } from '../api/registry.js';
import type { VolumeRecord } from '../model/records.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { requireDomain, storageError } from './checks.js';
import { lockImageTransfer, prepareImageTransfer } from './clone-structure.js';
import type { ImageTransferJobParams } from './clone-structure.js';
import type { StorageContext } from './context.js';
import { imageChain } from './image-chain.js';
import { copyChainData } from './target-image.js';
import { markCopied } from './volume-data.js';

/** Job kind (and task verb) of `Image.syncData`. */
export const SYNC_IMAGE_DATA_JOB = 'syncImageData';

/** What the job gets (JSON). */
export interface SyncImageDataJobParams extends ImageTransferJobParams {
  /** `ALL`, `INTERNAL` or `LEAF`. */
  readonly syncType: string;
}

/**
 * `Image.syncData`, the synchronous part (see the module comment).
 *
 * @returns the task id.
 * @throws VdsmError 358, 851, 309 or 654.
 */
export function syncData(ctx: StorageContext, params: WireParamsOf<'Image.syncData'>): Promise<TaskId> {
  const { imageID: imgUUID, storagepoolID: spUUID, storagedomainID: sdUUID, dstSdUUID, syncType } = params;
  const job: SyncImageDataJobParams = { sdUUID, imgUUID, dstSdUUID, syncType };
  return prepareImageTransfer(ctx, spUUID, sdUUID, dstSdUUID, (task) => task.schedule('Image.syncData', SYNC_IMAGE_DATA_JOB, job));
}

/** The `Image.syncData` verb, for the Image namespace module. */
export function syncDataVerbs(ctx: StorageContext): EmulatedVerb[] {
  return [emulate('Image.syncData', (params) => syncData(ctx, params))];
}

/** The job handler of `Image.syncData`, by kind. */
export function syncDataJobs(ctx: StorageContext): Record<string, JobHandler<SyncImageDataJobParams, never>> {
  return {
    [SYNC_IMAGE_DATA_JOB]: {
      run: (job) => runSync(ctx, job),
      // Nothing is recorded, so the task manager never calls it.
      rollback: () => Promise.resolve(),
    },
  };
}

/** sp.py `syncImageData` + image.py `syncData`. */
async function runSync(ctx: StorageContext, job: JobContext<SyncImageDataJobParams, never>): Promise<void> {
  const { sdUUID, imgUUID, dstSdUUID, syncType } = job.params;
  await lockImageTransfer(job);
  const sources = select(imageChain(ctx, sdUUID, imgUUID), syncType, imgUUID);
  const targets = select(imageChain(ctx, dstSdUUID, imgUUID), syncType, imgUUID);
  // The selected volumes must be the same ones on both sides (image.py compares count, then UUIDs).
  if (sources.length !== targets.length || sources.some((volume, index) => volume.id !== targets[index]?.id)) {
    throw storageError(VdsmErrorCode.DestImageActionError, pyTuple(imgUUID, dstSdUUID));
  }
  const dst = requireDomain(ctx, dstSdUUID);
  await job.phase('copy', { domain: dstSdUUID, image: imgUUID });
  ctx.store.transaction(() => {
    for (const target of targets) ctx.store.updateVolume(dstSdUUID, target.id, { legality: VolumeLegality.Illegal });
  });
  await copyChainData(ctx, job, dst, sources, targets);
  // image.py `_finalizeDestinationImage`: the target's roles follow the source's.
  for (const [index, target] of targets.entries()) {
    const role = sources[index]?.role;
    if (role !== undefined && role !== target.role) ctx.store.updateVolume(dstSdUUID, target.id, { role });
    markCopied(ctx, target);
  }
  job.progress(1);
}

/** The volumes `syncType` selects, base first. */
function select(chain: readonly VolumeRecord[], syncType: string, imgUUID: string): VolumeRecord[] {
  switch (syncType) {
    case SyncType.All:
      return [...chain];
    case SyncType.Internal:
      return chain.slice(0, -1);
    case SyncType.Leaf:
      return chain.slice(-1);
    default:
      // The schema admits only the three; VDSM's MiscNotImplementedException is not in the error table.
      throw new RangeError(`sync type ${syncType} of image ${imgUUID} is not implemented`);
  }
}
