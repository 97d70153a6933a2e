/**
 * `Volume.create` (hsm.py `createVolume` -> job sp.py `createVolume` ->
 * volume.py `Volume.create`): a new volume of an image, a snapshot when it
 * has a parent (`srcVolUUID`).
 *
 * Synchronous, in hsm.py's order:
 * 1. anything unexpected -> the default 205 `Error creating a new volume: ('<args>',)`;
 * 2. pool connected (309); domain produced (358);
 * 3. the ids and sizes (the schema has checked them: UUIDs, digit strings);
 * 4. create params (create-params.ts: 202, 231);
 * 5. SHARED `00_storage` lock on the domain (851); SPM (654).
 *
 * The job: a parent in another image (`srcImgUUID` not BLANK_UUID and not
 * `imageID`) is a template: it becomes SHARED when it has no parent of its
 * own (VDSM `setShared`), otherwise the job fails; EXCLUSIVE
 * `01_img_<sd>`/image; the parent must exist (201) and gives the capacity
 * (volume.py overrides the size with the parent's); the volume is created
 * (212 / 550 / 504), LEAF, LEGAL (ILLEGAL with `legal: false`), a qcow2 on
 * its parent for a snapshot, RAW preallocated files allocated now; a parent
 * in the same image becomes INTERNAL. Rollback removes the volume and gives
 * the parent its role back.
 *
 * Not emulated: `initialSize` (a thin block volume's first LV size; the
 * fake sizes LVs by capacity), `addBitmaps`/`bitmap`, `sequence`; VDSM's
 * 226 for a snapshot of an ILLEGAL parent (not in the client's error table).
 */
import { BLANK_UUID, pyTuple, VdsmError, VdsmErrorCode, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import type { TaskId, VolumeAllocation, VolumeFormat, WireParamsOf } from '@vdsm-kit/client/api';
import { emulate } from '../api/registry.js';
import type { EmulatedVerb } from '../api/registry.js';
import type { VolumeRecord } from '../model/records.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { imageNamespace } from '../tasks/resource-locks.js';
import { requireConnectedPool, requireDomain, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { validateCreateVolumeParams } from './create-params.js';
import { volumeDoesNotExistError } from './image-chain.js';
import { prepareTask, pyStr } from './task-prepare.js';
import { createVolume as createVolumeOnDomain, removeCreatedVolumes } from './target-volumes.js';
import type { CreatedVolume } from './target-volumes.js';

/** Job kind (and task verb) of `Volume.create`. */
export const CREATE_VOLUME_JOB = 'createVolume';

/** What the job gets (JSON). */
export interface CreateVolumeJobParams {
  readonly sdUUID: string;
  readonly imgUUID: string;
  readonly volUUID: string;
  readonly capacity: number;
  readonly volFormat: number;
  readonly preallocate: number;
  readonly diskType: string;
  readonly description: string;
  readonly srcImgUUID: string;
  readonly srcVolUUID: string;
  readonly legal: boolean;
}

/** What the rollback undoes: the new volume, and a parent's role change. */
export interface CreateVolumeRecovery {
  readonly created?: readonly CreatedVolume[];
  /** The parent (same image) made INTERNAL, with the role it had. */
  readonly parent?: { readonly sdUUID: string; readonly volUUID: string; readonly role: number };
}

/**
 * `Volume.create`, the synchronous part (see the module comment).
 *
 * @returns the task id.
 * @throws VdsmError 205, 309, 358, 202, 231, 851 or 654.
 */
export function createVolume(ctx: StorageContext, params: WireParamsOf<'Volume.create'>): Promise<TaskId> {
  const {
    volumeID: volUUID,
    storagepoolID: spUUID,
    storagedomainID: sdUUID,
    imageID: imgUUID,
    size,
    volFormat,
    preallocate,
    diskType,
    desc,
    srcImgUUID,
    srcVolUUID,
    initialSize,
    legal,
  } = params;
  const argsStr =
    `sdUUID=${sdUUID}, spUUID=${spUUID}, imgUUID=${imgUUID}, size=${size}, volFormat=${pyStr(volFormat)}, ` +
    `preallocate=${pyStr(preallocate)}, diskType=${diskType}, volUUID=${volUUID}, desc=${desc}, ` +
    `srcImgUUID=${srcImgUUID}, srcVolUUID=${srcVolUUID}, initialSize=${pyStr(initialSize)}`;
  const defaultError = (): VdsmError => storageError(VdsmErrorCode.VolumeCreationError, pyTuple(argsStr));
  return prepareTask(ctx, defaultError, async (task) => {
    requireConnectedPool(ctx, spUUID);
    const domain = requireDomain(ctx, sdUUID);
    validateCreateVolumeParams(domain, volFormat, srcVolUUID, preallocate);
    await task.sharedDomainLocks([sdUUID]);
    const job: CreateVolumeJobParams = {
      sdUUID,
      imgUUID,
      volUUID,
      capacity: Number(size),
      volFormat,
      preallocate,
      diskType,
      description: desc,
      srcImgUUID,
      srcVolUUID,
      legal,
    };
    return task.schedule(spUUID, 'Volume.create', CREATE_VOLUME_JOB, job);
  });
}

/** The `Volume.create` verb, for the Volume namespace module. */
export function createVolumeVerbs(ctx: StorageContext): EmulatedVerb[] {
  return [emulate('Volume.create', (params) => createVolume(ctx, params))];
}

/** The job handler of `Volume.create`, by kind. */
export function createVolumeJobs(ctx: StorageContext): Record<string, JobHandler<CreateVolumeJobParams, CreateVolumeRecovery>> {
  return {
    [CREATE_VOLUME_JOB]: {
      run: (job) => runCreate(ctx, job),
      rollback: (job) => rollbackCreate(ctx, job),
    },
  };
}

type CreateJob = JobContext<CreateVolumeJobParams, CreateVolumeRecovery>;

/** sp.py `createVolume` + volume.py `Volume.create`. */
async function runCreate(ctx: StorageContext, job: CreateJob): Promise<void> {
  const p = job.params;
  const templateImage = p.srcImgUUID !== BLANK_UUID && p.srcImgUUID !== p.imgUUID;
  if (templateImage) await shareTemplate(ctx, job);
  await job.locks.acquire(imageNamespace(p.sdUUID), p.imgUUID, 'exclusive', { timeoutMs: Infinity });
  const domain = requireDomain(ctx, p.sdUUID);
  await job.phase('create', { domain: p.sdUUID, image: p.imgUUID });

  let parent: VolumeRecord | undefined;
  if (p.srcVolUUID !== BLANK_UUID) {
    // A BLANK srcImgUUID means the new volume's own image (volume.py).
    parent = requireImageVolume(ctx, p.sdUUID, p.srcImgUUID === BLANK_UUID ? p.imgUUID : p.srcImgUUID, p.srcVolUUID);
  }
  const target = await createVolumeOnDomain(
    ctx,
    {
      created: () => job.recovery.get()?.created ?? [],
      record: (created) => job.recovery.set({ ...job.recovery.get(), created }),
    },
    domain,
    {
      imageId: p.imgUUID,
      id: p.volUUID,
      ...(parent === undefined ? {} : { parent }),
      format: p.volFormat as VolumeFormat,
      allocation: p.preallocate as VolumeAllocation,
      role: VolumeRole.Leaf,
      diskType: p.diskType as VolumeRecord['diskType'],
      // volume.py: a snapshot gets the parent's capacity.
      capacity: parent?.capacity ?? p.capacity,
      legality: p.legal ? VolumeLegality.Legal : VolumeLegality.Illegal,
      description: p.description,
      preallocateFile: true,
    },
    { signal: job.signal },
  ).catch((error: unknown) => {
    if (error instanceof VdsmError) throw error;
    throw storageError(VdsmErrorCode.VolumeCreationError, pyTuple(`Volume ${p.volUUID} creation failed: ${describe(error)}`));
  });

  // The parent of a snapshot in the same image is no longer the leaf.
  if (parent !== undefined && parent.imageId === p.imgUUID && parent.role === VolumeRole.Leaf) {
    job.recovery.set({ ...job.recovery.get(), parent: { sdUUID: p.sdUUID, volUUID: parent.id, role: parent.role } });
    ctx.store.updateVolume(p.sdUUID, parent.id, { role: VolumeRole.Internal });
  }
  job.recovery.clear();
  job.progress(1);
  job.logger.info({ sdUUID: p.sdUUID, imgUUID: p.imgUUID, volUUID: target.id }, 'volume created');
}

/**
 * sp.py `createVolume`: a template parent in another image must be SHARED;
 * one without a parent of its own is made so (under its image's lock).
 */
async function shareTemplate(ctx: StorageContext, job: CreateJob): Promise<void> {
  const p = job.params;
  const template = requireImageVolume(ctx, p.sdUUID, p.srcImgUUID, p.srcVolUUID);
  if (template.role === VolumeRole.Shared) return;
  if (template.parentId !== BLANK_UUID) {
    // VDSM's VolumeNonShareable is not in the client's error table; 205 says what failed.
    throw storageError(VdsmErrorCode.VolumeCreationError, pyTuple(`volume ${template.id} has a parent and cannot be shared as a template`));
  }
  const lock = await job.locks.acquire(imageNamespace(p.sdUUID), p.srcImgUUID, 'exclusive', { timeoutMs: Infinity });
  try {
    ctx.store.updateVolume(p.sdUUID, template.id, { role: VolumeRole.Shared });
  } finally {
    lock.release();
  }
}

/** The live volume `volUUID` of image `imgUUID`, or 201. */
function requireImageVolume(ctx: StorageContext, sdUUID: string, imgUUID: string, volUUID: string): VolumeRecord {
  const volume = ctx.store.getVolume(sdUUID, volUUID);
  if (volume === undefined || volume.removed || volume.imageId !== imgUUID) throw volumeDoesNotExistError(volUUID);
  return volume;
}

/** Removes the new volume and gives its parent its role back. */
async function rollbackCreate(ctx: StorageContext, job: CreateJob): Promise<void> {
  const record = job.recovery.get();
  if (record?.parent !== undefined) {
    ctx.store.updateVolume(record.parent.sdUUID, record.parent.volUUID, { role: record.parent.role as VolumeRole });
  }
  if (record?.created !== undefined) await removeCreatedVolumes(ctx, record.created);
}

/** Python's `str(e)` of what a step threw. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
