/**
 * `Image.move` (hsm.py `moveImage` -> job sp.py `moveImage` -> image.py
 * `move`; vdsm-wire.md §8.1): copies (operation 1) or moves (2) an image,
 * its whole chain, to another domain of the pool.
 *
 * Synchronous, in VDSM's order (errors come back from the call):
 * 1. anything unexpected -> the default 253 `Error moving image: ('<args>',)`;
 * 2. source == target -> 1000 `Invalid parameter: 'srcDom=must be different from dstDom: <args>'`;
 * 3. both domains produced (358; their status is not checked);
 * 4. pool connected (309);
 * 5. template rules (image-chain.ts `validateImageMove`: 268 / 266);
 * 6. SHARED `00_storage` locks on both domains, sorted, up to 120 s each
 *    (851), held by the task until it ends;
 * 7. SPM (654 `Not SPM: ('<sp>',)`); returns the task id.
 * A missing source image is not refused here: the task ends with 268.
 *
 * The job, in image.py's order: operation not 1/2 -> 253; image locks
 * (`01_img_<src>` SHARED for a copy, EXCLUSIVE for a move; `01_img_<dst>`
 * EXCLUSIVE; VDSM's job-level locks wait without a timeout); a target copy
 * that is ILLEGAL or FAKE forces `force`, and with `force` the target copy
 * is deleted first; the source chain (268, 262); every volume created on the
 * target (same UUIDs and parents, ILLEGAL; 212 / 550 when one exists, 504
 * when the VG lacks extents); each volume's data copied (261 when that
 * fails, e.g. a full file domain); each target LEGAL with generation + 1;
 * recoveries cleared; for a move the source deleted (postZero/discard
 * honoured), where a storage error is only logged and the task succeeds.
 * Rollback removes the target volumes the job recorded and never touches the
 * source's data (after a crash in the source's delete it only drops rows
 * whose files are already gone).
 */
import { ImageOperation, pyTuple, VdsmError, VdsmErrorCode, VolumeLegality } from '@vdsm-kit/client/api';
import type { TaskId, WireParamsOf } from '@vdsm-kit/client/api';
import { emulate } from '../api/registry.js';
import type { EmulatedVerb } from '../api/registry.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { imageNamespace } from '../tasks/resource-locks.js';
import { isStorageException } from '../tasks/task-results.js';
import { requireConnectedPool, requireDomain, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { imageChain, isImageLegal, validateImageMove } from './image-chain.js';
import { deleteImageNow } from './image-removal.js';
import type { RemovalJob } from './image-removal.js';
import { prepareTask, pyStr } from './task-prepare.js';
import { copyChainData, createTargetImage } from './target-image.js';
import { removeCreatedVolumes } from './target-volumes.js';
import type { CreatedVolume, CreationJournal } from './target-volumes.js';
import { markCopied } from './volume-data.js';
import { reconcileVolumes } from './volume-removal.js';
import type { RemovalRecord } from './volume-removal.js';

/** Job kind (and task verb) of `Image.move`. */
export const MOVE_IMAGE_JOB = 'moveImage';

/** What the job gets (JSON). */
export interface MoveImageJobParams {
  readonly spUUID: string;
  readonly srcSdUUID: string;
  readonly dstSdUUID: string;
  readonly imgUUID: string;
  /** 1 copy, 2 move; anything else fails the job with 253. */
  readonly op: number;
  readonly postZero: boolean;
  readonly force: boolean;
  readonly discard: boolean;
}

/**
 * What the rollback undoes: the target volumes created so far, or an image
 * deletion under way (the target's old copy, or the source after a move),
 * which the rollback only brings back to "every row has its file".
 */
export interface MoveImageRecovery {
  readonly created?: readonly CreatedVolume[];
  readonly removal?: RemovalRecord;
}

/**
 * `Image.move`, the synchronous part (see the module comment).
 *
 * @returns the task id.
 * @throws VdsmError 253, 1000, 358, 309, 268, 266, 851 or 654.
 */
export function moveImage(ctx: StorageContext, params: WireParamsOf<'Image.move'>): Promise<TaskId> {
  const { imageID: imgUUID, storagepoolID: spUUID, storagedomainID: srcSdUUID, dstSdUUID, operation, postZero, force, discard } = params;
  // hsm.py moveImage's argsStr, vmUUID always '' (API.Image.move), the missing space before discard included.
  const argsStr =
    `spUUID=${spUUID}, srcDomUUID=${srcSdUUID}, dstDomUUID=${dstSdUUID}, imgUUID=${imgUUID}, vmUUID=, op=${pyStr(operation)}, ` +
    `force=${pyStr(force)}, postZero=${pyStr(postZero)}, force=${pyStr(force)},discard=${pyStr(discard)}`;
  const defaultError = (): VdsmError => storageError(VdsmErrorCode.MoveImageError, pyTuple(argsStr));
  return prepareTask(ctx, defaultError, async (task) => {
    if (srcSdUUID === dstSdUUID) {
      throw storageError(VdsmErrorCode.InvalidParameterException, `srcDom=must be different from dstDom: ${argsStr}`);
    }
    const src = requireDomain(ctx, srcSdUUID);
    const dst = requireDomain(ctx, dstSdUUID);
    requireConnectedPool(ctx, spUUID);
    validateImageMove(ctx, src, dst, imgUUID);
    await task.sharedDomainLocks([srcSdUUID, dstSdUUID]);
    const job: MoveImageJobParams = { spUUID, srcSdUUID, dstSdUUID, imgUUID, op: operation, postZero, force, discard };
    return task.schedule(spUUID, 'Image.move', MOVE_IMAGE_JOB, job);
  });
}

/** The `Image.move` verb, for the Image namespace module. */
export function moveImageVerbs(ctx: StorageContext): EmulatedVerb[] {
  return [emulate('Image.move', (params) => moveImage(ctx, params))];
}

/** The job handler of `Image.move`, by kind. */
export function moveImageJobs(ctx: StorageContext): Record<string, JobHandler<MoveImageJobParams, MoveImageRecovery>> {
  return {
    [MOVE_IMAGE_JOB]: {
      run: (job) => runMove(ctx, job),
      rollback: (job) => rollbackMove(ctx, job),
    },
  };
}

type MoveJob = JobContext<MoveImageJobParams, MoveImageRecovery>;

/** sp.py `moveImage` + image.py `move`. */
async function runMove(ctx: StorageContext, job: MoveJob): Promise<void> {
  const { srcSdUUID, dstSdUUID, imgUUID, op, postZero, discard } = job.params;
  let srcMode: 'shared' | 'exclusive';
  if (op === ImageOperation.Move) srcMode = 'exclusive';
  else if (op === ImageOperation.Copy) srcMode = 'shared';
  else throw storageError(VdsmErrorCode.MoveImageError, pyTuple(imgUUID));
  // rm.acquireResource without a timeout: a second move of the image waits for the first.
  await job.locks.acquire(imageNamespace(srcSdUUID), imgUUID, srcMode, { timeoutMs: Infinity });
  await job.locks.acquire(imageNamespace(dstSdUUID), imgUUID, 'exclusive', { timeoutMs: Infinity });

  const dst = requireDomain(ctx, dstSdUUID);
  // An illegal or fake copy on the target is overwritten whatever `force` says.
  const force = job.params.force || !isImageLegal(ctx, dstSdUUID, imgUUID);
  if (force) {
    job.logger.info({ imgUUID, sdUUID: dstSdUUID }, 'delete image on the target domain before overwriting');
    await deleteImageNow(ctx, removalJob(job), dst, imgUUID, { postZero, discard });
  }

  const sourceChain = imageChain(ctx, srcSdUUID, imgUUID);
  await job.phase('create', { domain: dstSdUUID, image: imgUUID });
  const journal: CreationJournal = {
    created: () => job.recovery.get()?.created ?? [],
    record: (created) => job.recovery.set({ created }),
  };
  const targets = await createTargetImage(ctx, job, journal, srcSdUUID, dst, sourceChain, VolumeLegality.Illegal);
  await job.phase('copy', { domain: dstSdUUID, image: imgUUID });
  await copyChainData(ctx, job, dst, sourceChain, targets);
  // A stop or fault that came as the last bytes landed: the copy does not count (the rollback removes it).
  job.signal.throwIfAborted();
  for (const target of targets) markCopied(ctx, target);
  // The copy is complete: whatever happens next, it stays (VDSM's clearRecoveries).
  job.recovery.clear();
  job.progress(1);

  if (op === ImageOperation.Move) await removeSource(ctx, job);
  job.logger.info({ imgUUID, op }, 'image move task finished');
}

/**
 * The delete after a move. VDSM logs a storage error here and reports
 * success ("TODO: Should raise here"); a stop (443) or any other error still
 * fails the task, whose rollback then has nothing of the copy to undo.
 */
async function removeSource(ctx: StorageContext, job: MoveJob): Promise<void> {
  const { srcSdUUID, dstSdUUID, imgUUID, postZero, discard } = job.params;
  await job.phase('delete', { domain: srcSdUUID, image: imgUUID });
  try {
    const src = requireDomain(ctx, srcSdUUID);
    if (job.faultFires('delete', { domain: srcSdUUID, image: imgUUID }, ['failSourceDelete'])) {
      // A `failSourceDelete` fault: the delete fails before removing anything, as an unreachable LV or NFS error would.
      throw storageError(VdsmErrorCode.ImageDeleteError, pyTuple(`${imgUUID} source delete failed (fault rule)`));
    }
    await deleteImageNow(ctx, removalJob(job), src, imgUUID, { postZero, discard });
    job.recovery.clear();
  } catch (error) {
    if (!(error instanceof VdsmError) || !isStorageException(error.code)) throw error;
    // Logged and forgiven: a finished task has nothing left to undo (a revert then does nothing, as in VDSM).
    job.recovery.clear();
    job.logger.warn({ imgUUID, srcSdUUID, dstSdUUID, error: error.message }, 'Failed to remove img from srcDom after it was copied');
  }
}

/** The image deletion's view of the job: its removal goes into the recovery record. */
function removalJob(job: MoveJob): RemovalJob {
  return {
    signal: job.signal,
    logger: job.logger,
    recordRemoval: (removal) => job.recovery.set({ removal }),
  };
}

/**
 * Undoes what the record says: target volumes created by the job go (files,
 * rows, emptied folders); an interrupted deletion is reconciled (rows whose
 * files are gone are dropped). The source's data is never touched.
 */
async function rollbackMove(ctx: StorageContext, job: MoveJob): Promise<void> {
  const record = job.recovery.get();
  if (record?.removal !== undefined) {
    const dropped = await reconcileVolumes(ctx, record.removal);
    job.logger.info({ dropped }, 'interrupted image removal reconciled');
  }
  if (record?.created !== undefined) {
    await removeCreatedVolumes(ctx, record.created);
    job.logger.info({ removed: record.created.map((volume) => volume.volUUID) }, 'target volumes removed');
  }
}
