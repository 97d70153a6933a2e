/**
 * `Image.deleteVolumes` and `Volume.delete`: both are VDSM's
 * `HSM.deleteVolume` (task verb `deleteVolume`), the job `sp.deleteVolume`
 * deleting the listed volumes of one image in the given order
 * (fileVolume.py / blockVolume.py `delete`).
 *
 * Synchronous: pool connected (309); SHARED `00_storage`/`<sd>` for the
 * task; `_spmSchedule` (654 `Not SPM: ('<sp>',)`). The domain and the
 * volumes are only looked at by the job.
 *
 * Job, under EXCLUSIVE `01_img_<sd>`/`<img>` (waited for without limit):
 * domain (358); per volume: produced (254 / 201, volume-info.ts); file
 * domain + discard -> 349; unless `force`, a SHARED volume -> 223 and a
 * volume with children -> 204 (a VolumeGeneralException, which task.py
 * reports with code 100, not as a storage error); marked ILLEGAL; on a block domain postZero
 * zeroes the whole LV on the clock (Task.stop -> 443 inside, the task ends
 * 411 and the volume stays, ILLEGAL); then file and row go and the parent
 * becomes a leaf again when it has no child left.
 */
import { pyRepr, pyTuple, VdsmError, VdsmErrorCode, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import type { TaskId } from '@vdsm-kit/client/api';
import { roundUpToExtents } from '../data/volume-files.js';
import { zeroVolume } from '../data/wiper.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { imageNamespace } from '../tasks/resource-locks.js';
import { discardNotSupportedError, requireConnectedPool, requireDomain, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { meteredProgress } from './data-meter.js';
import { prepareTask, pyStr } from './task-prepare.js';
import { produceVolume } from './volume-info.js';
import { reconcileVolumes, removeVolume } from './volume-removal.js';
import type { RemovalRecord } from './volume-removal.js';

/** Job kind of `Image.deleteVolumes` and `Volume.delete`. */
export const DELETE_VOLUME_JOB = 'deleteVolume';

/** What the verbs ask for (both map onto it). */
export interface DeleteVolumesRequest {
  readonly spUUID: string;
  readonly sdUUID: string;
  readonly imgUUID: string;
  readonly volumes: readonly string[];
  readonly postZero: boolean;
  readonly force: boolean;
  readonly discard: boolean;
}

/** The job's params (JSON). */
export type DeleteVolumeJobParams = Omit<DeleteVolumesRequest, 'spUUID'>;

/**
 * The synchronous part of both verbs; returns the task id.
 *
 * @throws VdsmError 309, 851 or 654; the verb's default exception 222
 *   `Volume deletion error: ('sdUUID=.., spUUID=.., imgUUID=.., volumes=[..], ...',)`
 *   for anything unexpected.
 */
export function deleteVolumes(ctx: StorageContext, request: DeleteVolumesRequest): Promise<TaskId> {
  const { spUUID, ...jobParams } = request;
  const { sdUUID, imgUUID, volumes, postZero, force, discard } = request;
  // hsm.py deleteVolume's argsStr.
  const argsStr =
    `sdUUID=${sdUUID}, spUUID=${spUUID}, imgUUID=${imgUUID}, volumes=${pyRepr([...volumes])}, ` +
    `postZero=${pyStr(postZero)}, force=${pyStr(force)}, discard=${pyStr(discard)}`;
  const defaultError = (): VdsmError => storageError(VdsmErrorCode.CannotDeleteVolume, pyTuple(argsStr));
  return prepareTask(ctx, defaultError, async (task) => {
    requireConnectedPool(ctx, spUUID);
    await task.sharedDomainLocks([sdUUID]);
    return task.schedule(spUUID, 'Image.deleteVolumes', DELETE_VOLUME_JOB, jobParams);
  });
}

/** The job handler of this module, by kind. */
export function deleteVolumeJobs(ctx: StorageContext): Record<string, JobHandler<DeleteVolumeJobParams, RemovalRecord>> {
  return {
    [DELETE_VOLUME_JOB]: {
      run: (job) => runDeleteVolumes(ctx, job),
      async rollback(job) {
        const record = job.recovery.get();
        if (record !== undefined) await reconcileVolumes(ctx, record);
      },
    },
  };
}

async function runDeleteVolumes(ctx: StorageContext, job: JobContext<DeleteVolumeJobParams, RemovalRecord>): Promise<void> {
  const { sdUUID, imgUUID, volumes } = job.params;
  // sp.py deleteVolume: the image lock is taken without a timeout.
  await job.locks.acquire(imageNamespace(sdUUID), imgUUID, 'exclusive', { timeoutMs: Number.POSITIVE_INFINITY });
  const domain = requireDomain(ctx, sdUUID);
  await job.phase('delete', { domain: sdUUID, image: imgUUID });
  // Recorded before the first change: the rollback drops rows whose files went.
  job.recovery.set({ sdUUID, imgUUID, volumes: [...volumes] });
  for (const [index, volUUID] of volumes.entries()) {
    const { volume, path } = await produceVolume(ctx, sdUUID, imgUUID, volUUID);
    await deleteVolume(ctx, job, domain, volume, path);
    job.progress((index + 1) / volumes.length);
  }
  job.recovery.clear();
}

/** fileVolume.py / blockVolume.py `delete` of one volume. */
async function deleteVolume(
  ctx: StorageContext,
  job: JobContext<DeleteVolumeJobParams, RemovalRecord>,
  domain: DomainRecord,
  volume: VolumeRecord,
  path: string,
): Promise<void> {
  const { postZero, force, discard } = job.params;
  job.logger.info({ volume: volume.id }, `Request to delete volume ${volume.id}`);
  if (domain.kind === 'file' && discard) throw discardNotSupportedError(domain.id);
  if (!force) validateDelete(ctx, volume);
  // Marked illegal before anything is destroyed, so an interrupted delete is visible.
  ctx.store.updateVolume(volume.domainId, volume.id, { legality: VolumeLegality.Illegal });
  if (domain.kind === 'block' && postZero) {
    try {
      const size = roundUpToExtents(volume.capacity);
      await zeroVolume({
        path,
        size,
        bytesPerSecond: ctx.wipeBytesPerSecond,
        clock: ctx.clock,
        signal: job.signal,
        onProgress: meteredProgress(size, ctx.meter?.wiped.bind(ctx.meter)).onProgress,
      });
    } catch (error) {
      // blockdev.py zero: ActionStopped passes through, a failed blkdiscard is 374.
      if (error instanceof VdsmError) throw error;
      throw storageError(VdsmErrorCode.VolumesZeroingError, pyTuple(path));
    }
  }
  // A block discard before lvremove only frees the LV's blocks, which removing the file does too.
  await removeVolume(ctx, volume);
}

/** volume.py `validateDelete`: no template, no volume with children. */
function validateDelete(ctx: StorageContext, volume: VolumeRecord): void {
  if (volume.role === VolumeRole.Shared) {
    throw storageError(VdsmErrorCode.CannotDeleteSharedVolume, `img ${volume.imageId} vol ${volume.id}`);
  }
  const children = ctx.store.listVolumes(volume.domainId, volume.imageId).filter((v) => v.parentId === volume.id);
  if (children.length > 0) {
    throw storageError(VdsmErrorCode.VolumeImageHasChildren, [`sdUUID: ${volume.domainId}`, `imgUUID: ${volume.imageId}`, `volUUID: ${volume.id}`]);
  }
}
