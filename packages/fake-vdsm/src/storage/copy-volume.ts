/**
 * `Volume.copy` (hsm.py `copyImage` -> job sp.py `copyImage` -> image.py
 * `copyCollapsed`; vdsm-wire.md §8.3): collapses the chain up to `volumeID`
 * (template included) into ONE new volume `dstVolUUID` of image `dstImgUUID`
 * on `dstSdUUID` (BLANK_UUID: the source domain), in `volFormat` with
 * `preallocate`.
 *
 * Synchronous, in hsm.py's order (which checks the target domain before the
 * create params, a step earlier than the reference's list):
 * 1. anything unexpected -> the default 251 `Error creating template from VM: ('<args>',)`;
 * 2. same domain (or BLANK_UUID) and same image -> 1000 `Invalid parameter: 'dstImgUUID=<img>'`;
 * 3. pool connected (309); source domain produced (358);
 * 4. chain legality (image-chain.ts `validateVolumeChain`: 262, 268, 201);
 * 5. target domain produced (358), then its create params (202, 231);
 * 6. SHARED `00_storage` locks on the domains, sorted (851); SPM (654).
 *
 * The job: SHARED `01_img_<sd>`/srcImg, EXCLUSIVE `01_img_<dst>`/dstImg; the
 * source volume (201); an ILLEGAL or FAKE target image forces `force`, and
 * with `force` the target image is deleted first; the new volume (ILLEGAL,
 * 212 / 550 / 504 as any creation); the collapsed copy (qemu-img reads the
 * whole chain through the top volume); SHARED when `volType` is 6; LEGAL with
 * generation + 1. Without qemu-img the built-in copier handles one plain
 * volume only: a chain (or a template) to collapse fails with 225
 * VolumeCopyError, which VDSM's task reports with code 100 (a
 * VolumeGeneralException is not a StorageException). A failed copy is 261.
 * Rollback removes the new volume.
 */
import { BLANK_UUID, pyTuple, VdsmError, VdsmErrorCode, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import type { TaskId, WireParamsOf } from '@vdsm-kit/client/api';
import { emulate } from '../api/registry.js';
import type { EmulatedVerb } from '../api/registry.js';
import { copierName } from '../data/copier.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { imageNamespace } from '../tasks/resource-locks.js';
import { requireConnectedPool, requireDomain, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { validateCreateVolumeParams } from './create-params.js';
import { chainUpTo, isImageLegal, templateOf, validateVolumeChain, volumeDoesNotExistError } from './image-chain.js';
import { deleteImageNow } from './image-removal.js';
import { prepareTask, pyStr } from './task-prepare.js';
import { createVolume, removeCreatedVolumes } from './target-volumes.js';
import type { CreatedVolume, CreationJournal } from './target-volumes.js';
import { copyVolumeData, markCopied } from './volume-data.js';
import { reconcileVolumes } from './volume-removal.js';
import type { RemovalRecord } from './volume-removal.js';

/** Job kind (and task verb) of `Volume.copy`. */
export const COPY_IMAGE_JOB = 'copyImage';

/** What the job gets (JSON). */
export interface CopyImageJobParams {
  readonly sdUUID: string;
  readonly srcImgUUID: string;
  readonly srcVolUUID: string;
  /** The target domain, BLANK_UUID already replaced by the source domain. */
  readonly dstSdUUID: string;
  readonly dstImgUUID: string;
  readonly dstVolUUID: string;
  readonly description: string;
  readonly volType: number;
  readonly volFormat: number;
  readonly preallocate: number;
  readonly postZero: boolean;
  readonly force: boolean;
  readonly discard: boolean;
}

/** What the rollback undoes: the new volume, or an interrupted deletion of the old target image. */
export interface CopyImageRecovery {
  readonly created?: readonly CreatedVolume[];
  readonly removal?: RemovalRecord;
}

/**
 * `Volume.copy`, the synchronous part (see the module comment).
 *
 * @returns the task id.
 * @throws VdsmError 251, 1000, 309, 358, 262, 268, 201, 202, 231, 851 or 654.
 */
export function copyVolume(ctx: StorageContext, params: WireParamsOf<'Volume.copy'>): Promise<TaskId> {
  const {
    volumeID: srcVolUUID,
    storagepoolID: spUUID,
    storagedomainID: sdUUID,
    imageID: srcImgUUID,
    dstSdUUID,
    dstImgUUID,
    dstVolUUID,
    desc,
    volType,
    volFormat,
    preallocate,
    postZero,
    force,
    discard,
  } = params;
  // hsm.py copyImage's argsStr (vmUUID always '', API.Volume.copy); "preallocate=%s force=%s" has no comma in VDSM.
  const argsStr =
    `sdUUID=${sdUUID}, spUUID=${spUUID}, vmUUID=, srcImgUUID=${srcImgUUID}, srcVolUUID=${srcVolUUID}, ` +
    `dstImgUUID=${dstImgUUID}, dstVolUUID=${dstVolUUID}, description=${desc}, dstSdUUID=${dstSdUUID}, ` +
    `volType=${pyStr(volType)}, volFormat=${pyStr(volFormat)}, preallocate=${pyStr(preallocate)} force=${pyStr(force)}, ` +
    `postZero=${pyStr(postZero)}, discard=${pyStr(discard)}`;
  const defaultError = (): VdsmError => storageError(VdsmErrorCode.TemplateCreationError, pyTuple(argsStr));
  return prepareTask(ctx, defaultError, async (task) => {
    const sameDomain = dstSdUUID === sdUUID || dstSdUUID === BLANK_UUID;
    if (sameDomain && srcImgUUID === dstImgUUID) {
      throw storageError(VdsmErrorCode.InvalidParameterException, `dstImgUUID=${dstImgUUID}`);
    }
    requireConnectedPool(ctx, spUUID);
    requireDomain(ctx, sdUUID);
    validateVolumeChain(ctx, sdUUID, srcImgUUID);
    const target = requireDomain(ctx, sameDomain ? sdUUID : dstSdUUID);
    validateCreateVolumeParams(target, volFormat, BLANK_UUID, preallocate);
    await task.sharedDomainLocks([sdUUID, target.id]);
    const job: CopyImageJobParams = {
      sdUUID,
      srcImgUUID,
      srcVolUUID,
      dstSdUUID: target.id,
      dstImgUUID,
      dstVolUUID,
      description: desc,
      volType,
      volFormat,
      preallocate,
      postZero,
      force,
      discard,
    };
    return task.schedule(spUUID, 'Volume.copy', COPY_IMAGE_JOB, job);
  });
}

/** The `Volume.copy` verb, for the Volume namespace module. */
export function copyVolumeVerbs(ctx: StorageContext): EmulatedVerb[] {
  return [emulate('Volume.copy', (params) => copyVolume(ctx, params))];
}

/** The job handler of `Volume.copy`, by kind. */
export function copyVolumeJobs(ctx: StorageContext): Record<string, JobHandler<CopyImageJobParams, CopyImageRecovery>> {
  return {
    [COPY_IMAGE_JOB]: {
      run: (job) => runCopy(ctx, job),
      rollback: (job) => rollbackCopy(ctx, job),
    },
  };
}

type CopyJob = JobContext<CopyImageJobParams, CopyImageRecovery>;

/** sp.py `copyImage` + image.py `copyCollapsed`. */
async function runCopy(ctx: StorageContext, job: CopyJob): Promise<void> {
  const p = job.params;
  await job.locks.acquire(imageNamespace(p.sdUUID), p.srcImgUUID, 'shared', { timeoutMs: Infinity });
  await job.locks.acquire(imageNamespace(p.dstSdUUID), p.dstImgUUID, 'exclusive', { timeoutMs: Infinity });

  requireDomain(ctx, p.sdUUID);
  const dst = requireDomain(ctx, p.dstSdUUID);
  const source = ctx.store.getVolume(p.sdUUID, p.srcVolUUID);
  if (source === undefined || source.removed || source.imageId !== p.srcImgUUID) throw volumeDoesNotExistError(p.srcVolUUID);

  // Collapsing more than one layer needs qemu-img to read the chain through the top volume.
  const chain = chainUpTo(ctx, p.sdUUID, p.srcImgUUID, source);
  const layers = chain.length + (templateOf(ctx, p.sdUUID, chain) === undefined ? 0 : 1);
  const copier = await copierName({ copier: ctx.forceBuiltinCopier === true ? 'builtin' : 'auto' });
  if (layers > 1 && copier === 'builtin') {
    throw storageError(
      VdsmErrorCode.VolumeCopyError,
      pyTuple(`collapsing ${layers} layers of image ${p.srcImgUUID} into one volume needs qemu-img, and the built-in copier is in use`),
    );
  }

  const force = p.force || !isImageLegal(ctx, p.dstSdUUID, p.dstImgUUID);
  if (force) {
    job.logger.info({ imgUUID: p.dstImgUUID, sdUUID: p.dstSdUUID }, 'delete image on the target domain before overwriting');
    await deleteImageNow(
      ctx,
      { signal: job.signal, logger: job.logger, recordRemoval: (removal) => job.recovery.set({ removal }) },
      dst,
      p.dstImgUUID,
      { postZero: p.postZero, discard: p.discard },
    );
  }

  const journal: CreationJournal = {
    created: () => job.recovery.get()?.created ?? [],
    record: (created) => job.recovery.set({ created }),
  };
  await job.phase('create', { domain: p.dstSdUUID, image: p.dstImgUUID });
  const target = await createVolume(
    ctx,
    journal,
    dst,
    {
      imageId: p.dstImgUUID,
      id: p.dstVolUUID,
      format: p.volFormat as typeof source.format,
      allocation: p.preallocate as typeof source.allocation,
      role: VolumeRole.Leaf,
      diskType: source.diskType,
      capacity: source.capacity,
      legality: VolumeLegality.Illegal,
      description: p.description,
    },
    { signal: job.signal },
  );

  await job.phase('copy', { domain: p.dstSdUUID, image: p.dstImgUUID });
  try {
    await copyVolumeData(ctx, { source, target, targetDomain: dst, signal: job.signal, onProgress: (fraction) => job.progress(fraction) });
  } catch (error) {
    if (error instanceof VdsmError) throw error;
    job.logger.error({ srcVolUUID: p.srcVolUUID, dstVolUUID: p.dstVolUUID, error: describe(error) }, 'conversion failure');
    // image.py: CopyImageError(str(e)) for a failed qemu-img convert.
    throw storageError(VdsmErrorCode.CopyImageError, pyTuple(describe(error)));
  }
  if (p.volType === VolumeRole.Shared) ctx.store.updateVolume(dst.id, target.id, { role: VolumeRole.Shared });
  markCopied(ctx, target);
  job.recovery.clear();
  job.progress(1);
  job.logger.info({ src: `${p.sdUUID}:${p.srcVolUUID}`, dst: `${p.dstSdUUID}:${p.dstVolUUID}` }, 'Finished copying');
}

/** Removes the new volume; reconciles an interrupted deletion of the old target image. */
async function rollbackCopy(ctx: StorageContext, job: CopyJob): Promise<void> {
  const record = job.recovery.get();
  if (record?.removal !== undefined) await reconcileVolumes(ctx, record.removal);
  if (record?.created !== undefined) await removeCreatedVolumes(ctx, record.created);
}

/** Python's `str(e)` of what a step threw. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
