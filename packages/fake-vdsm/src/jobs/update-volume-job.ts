/**
 * `SDM.update_volume` (sdm/api/update_volume.py, validators.py
 * `VolumeAttributes`, volume.py `update_attributes`; vdsm-sdm.md §3.1): sets
 * a volume's legality, description, type or generation in one metadata
 * write, as a host job. The engine fences a copy with it (`vol_attr:
 * {generation: G+3}`), so a copy that has not reached its generation check
 * fails 911 later.
 *
 * Synchronous: 313 without a pool; `vol_info` as a div endpoint (100,
 * endpoints.ts); `vol_attr`: 100 `No attributes to update` when empty,
 * `Volume type not supported <t>` for a type other than SHARED, `Legality
 * not supported <l>`, a generation outside 0..999 or a description that is
 * not a string; a listed job id (100).
 *
 * The job: the locks of a copy destination (`00_storage` SHARED,
 * `01_img` EXCLUSIVE, the volume lease: 651 from another host), nothing
 * prepared; the volume (358, 201); `vol_info.generation` ALWAYS compared
 * (absent mismatches too) -> 911; `type` only on a LEAF without parent and
 * the same legality twice -> 235; then GEN = the given one, else (GEN+1) % 1000.
 */
import { BLANK_UUID, pyRepr, SdmJobDescription, VdsmErrorCode, VolumeLegality, VolumeRole, VolumeRoleName } from '@vdsm-kit/client/api';
import type { PyValue } from '@vdsm-kit/client/api';
import { emulateLoose } from '../api/registry.js';
import type { EmulatedVerb } from '../api/registry.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { imageNamespace, STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { storageError } from '../storage/checks.js';
import type { StorageContext } from '../storage/context.js';
import { nextGeneration } from '../storage/volume-data.js';
import { produceVolume } from '../storage/volume-info.js';
import { generationProperty, parseVolumeEndpoint, pythonTypeName } from './endpoints.js';
import type { DivEndpoint } from './endpoints.js';
import { acquireJobLocks } from './host-jobs.js';
import type { HostJobRef } from './host-jobs.js';
import { plainGeneralError } from './job-errors.js';
import { requireHostJobs, requirePoolConnected, scheduleHostJob, takeVolumeLease } from './job-start.js';

/** Job kind (and the sdm task's verb) of `SDM.update_volume`. */
export const UPDATE_VOLUME_JOB = SdmJobDescription.UpdateVolume;

/** VDSM's description limit (volume.py `DESCRIPTION_SIZE`), in bytes of UTF-8. */
const DESCRIPTION_BYTES = 210;

/** `VolumeAttributes` as checked. */
export interface VolumeAttributes {
  readonly legality?: typeof VolumeLegality.Legal | typeof VolumeLegality.Illegal;
  readonly description?: string;
  readonly generation?: number;
  readonly type?: 'SHARED';
}

/** What the job gets (JSON). */
export interface UpdateVolumeJobParams extends HostJobRef {
  readonly volume: DivEndpoint;
  readonly attributes: VolumeAttributes;
}

/** The `SDM.update_volume` verb. */
export function updateVolumeVerbs(ctx: StorageContext): EmulatedVerb[] {
  return [
    emulateLoose('SDM.update_volume', ['vol_info', 'vol_attr'], ({ job_id, vol_info, vol_attr }) => {
      requirePoolConnected(ctx);
      const volume = parseVolumeEndpoint(vol_info);
      const attributes = parseVolumeAttributes(vol_attr);
      scheduleHostJob(ctx, job_id, UPDATE_VOLUME_JOB, { volume, attributes }, 'SDM.update_volume');
      return true;
    }),
  ];
}

/** The job handler of `SDM.update_volume`, by kind. */
export function updateVolumeJobs(ctx: StorageContext): Record<string, JobHandler<UpdateVolumeJobParams, never>> {
  return {
    [UPDATE_VOLUME_JOB]: {
      run: (task) => requireHostJobs(ctx).run(task, () => runUpdateVolume(ctx, task)),
      rollback: () => Promise.resolve(),
    },
  };
}

/** validators.py `VolumeAttributes(params)`. @throws VdsmError 100 with Python's message. */
export function parseVolumeAttributes(raw: unknown): VolumeAttributes {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw plainGeneralError(`'${pythonTypeName(raw)}' object has no attribute 'get'`);
  }
  const params = raw as Record<string, unknown>;
  const generation = generationProperty('generation', params.generation);
  const description = params.description ?? undefined;
  if (description !== undefined && typeof description !== 'string') {
    throw plainGeneralError(`Invalid value ${pyRepr(description as PyValue)} for string property description`);
  }
  const type = params.type ?? undefined;
  const legality = params.legality ?? undefined;
  if (generation === undefined && description === undefined && type === undefined && legality === undefined) {
    throw plainGeneralError('No attributes to update');
  }
  if (type !== undefined && type !== VolumeRoleName[VolumeRole.Shared]) throw plainGeneralError(`Volume type not supported ${pyStr(type)}`);
  if (legality !== undefined && legality !== VolumeLegality.Legal && legality !== VolumeLegality.Illegal) {
    throw plainGeneralError(`Legality not supported ${pyStr(legality)}`);
  }
  return {
    ...(generation === undefined ? {} : { generation }),
    ...(description === undefined ? {} : { description }),
    ...(type === undefined ? {} : { type: 'SHARED' as const }),
    ...(legality === undefined ? {} : { legality: legality as VolumeAttributes['legality'] }),
  };
}

async function runUpdateVolume(ctx: StorageContext, task: JobContext<UpdateVolumeJobParams, never>): Promise<void> {
  const { volume: endpoint, attributes, hostId } = task.params;
  await acquireJobLocks(ctx.store, task, [
    { namespace: STORAGE_NAMESPACE, name: endpoint.sdId, mode: 'shared' },
    { namespace: imageNamespace(endpoint.sdId), name: endpoint.imgId, mode: 'exclusive' },
  ]);
  const freeLease = takeVolumeLease(ctx, requireHostJobs(ctx), endpoint, hostId);
  try {
    const { volume } = await produceVolume(ctx, endpoint.sdId, endpoint.imgId, endpoint.volId);
    await task.phase('update', { domain: endpoint.sdId, image: endpoint.imgId });
    if (endpoint.generation !== volume.generation) {
      throw storageError(VdsmErrorCode.GenerationMismatch, `requested=${endpoint.generation ?? 'None'}, actual=${volume.generation}`);
    }
    if (attributes.type !== undefined) {
      if (volume.role !== VolumeRole.Leaf) {
        throw invalidUpdate(volume.id, `${VolumeRoleName[volume.role]} Volume cannot be updated to ${attributes.type}`);
      }
      if (volume.parentId !== BLANK_UUID) throw invalidUpdate(volume.id, `Volume with parent ${volume.parentId} cannot update to ${attributes.type}`);
    }
    if (attributes.legality !== undefined && attributes.legality === volume.legality) {
      throw invalidUpdate(volume.id, `${volume.legality} Volume cannot be updated to ${attributes.legality}`);
    }
    ctx.store.updateVolume(endpoint.sdId, endpoint.volId, {
      ...(attributes.type === undefined ? {} : { role: VolumeRole.Shared }),
      ...(attributes.legality === undefined ? {} : { legality: attributes.legality }),
      ...(attributes.description === undefined ? {} : { description: truncateUtf8(attributes.description, DESCRIPTION_BYTES) }),
      generation: attributes.generation ?? nextGeneration(volume.generation),
    });
    task.logger.info({ volume: `${endpoint.sdId}:${endpoint.volId}`, attributes }, 'update_volume done');
  } finally {
    freeLease();
  }
}

/** 235 `Cannot update volume attributes: 'vol_id=<id>, reason=<why>'`. */
function invalidUpdate(volId: string, reason: string) {
  return storageError(VdsmErrorCode.InvalidVolumeUpdate, `vol_id=${volId}, reason=${reason}`);
}

/** The longest prefix of `text` whose UTF-8 is at most `bytes` long (no character cut in half). */
function truncateUtf8(text: string, bytes: number): string {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= bytes) return text;
  return new TextDecoder('utf-8', { fatal: false }).decode(encoded.subarray(0, bytes)).replace(/\uFFFD$/, '');
}

/** Python's `%s` of a JSON value. */
function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value as PyValue);
}
