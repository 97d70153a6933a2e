/**
 * A chain copied layer by layer to another domain, as image.py does it for
 * `move`, `cloneStructure` and `syncData`:
 * - `createTargetImage` (`_createTargetImage`): the chain's volumes on the
 *   target, same UUIDs and parents, no data;
 * - `copyChainData` (`_interImagesCopy`): each layer's data onto its
 *   counterpart, which sits on the previous one (qemu-img then copies only
 *   what the layer holds).
 */
import { pyTuple, VdsmError, VdsmErrorCode, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import type { VolumeLegality } from '@vdsm-kit/client/api';
import type { Logger } from '../logger.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { requireVolume, templateOf } from './image-chain.js';
import { createVolume } from './target-volumes.js';
import type { CreationJournal } from './target-volumes.js';
import { copyVolumeData } from './volume-data.js';

/** What these steps need from the job they run in. */
export interface ChainJob {
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Progress of the whole chain, 0..1. */
  progress(fraction: number): void;
}

/**
 * A block domain cannot hold a sparse RAW volume (an LV is allocated);
 * otherwise the target keeps the source's allocation (VDSM creates it sparse
 * and sets the metadata back to PREALLOCATED).
 */
export function targetAllocation(dst: DomainRecord, source: VolumeRecord): VolumeAllocation {
  return dst.kind === 'block' && source.format === VolumeFormat.RAW ? VolumeAllocation.Preallocated : source.allocation;
}

/**
 * image.py `_createTargetImage`: creates every volume of `chain` (read on
 * `srcSdUUID`) on `dst` with `legality`, recording each in `journal` first.
 * A chain on a template sits on the template's copy on the target.
 *
 * @throws VdsmError 201 when the template is not on the target, 212 / 550 when a
 *   volume exists, 504 when the VG lacks extents, 260 `Error during destination
 *   image manipulation: ('<img>', '<sd>', '<error>')` when a file cannot be made.
 */
export async function createTargetImage(
  ctx: StorageContext,
  job: ChainJob,
  journal: CreationJournal,
  srcSdUUID: string,
  dst: DomainRecord,
  chain: readonly VolumeRecord[],
  legality: VolumeLegality,
): Promise<VolumeRecord[]> {
  const template = templateOf(ctx, srcSdUUID, chain);
  let parent: VolumeRecord | undefined = template === undefined ? undefined : requireVolume(ctx, dst.id, template.id);
  const targets: VolumeRecord[] = [];
  for (const source of chain) {
    try {
      parent = await createVolume(
        ctx,
        journal,
        dst,
        {
          imageId: source.imageId,
          id: source.id,
          ...(parent === undefined ? {} : { parent }),
          format: source.format,
          allocation: targetAllocation(dst, source),
          role: source.role,
          diskType: source.diskType,
          capacity: source.capacity,
          legality,
          description: source.description,
        },
        { signal: job.signal },
      );
    } catch (error) {
      if (error instanceof VdsmError) throw error;
      job.logger.error({ volUUID: source.id, error: describe(error) }, 'Unexpected error');
      throw storageError(VdsmErrorCode.DestImageActionError, pyTuple(source.imageId, dst.id, describe(error)));
    }
    targets.push(parent);
  }
  return targets;
}

/**
 * image.py `_interImagesCopy`: copies `sources[i]` into `targets[i]`, in
 * order. VDSM's own errors (443 when stopped) pass; any failure of the copy
 * itself is logged and becomes 261 `low level Image copy failed: ()`.
 */
export async function copyChainData(
  ctx: StorageContext,
  job: ChainJob,
  dst: DomainRecord,
  sources: readonly VolumeRecord[],
  targets: readonly VolumeRecord[],
): Promise<void> {
  for (const [index, source] of sources.entries()) {
    const target = targets[index];
    if (target === undefined) throw new RangeError(`no target volume for ${source.id}`);
    // The layer below: the previous target, or for the base its parent (a template) on the target.
    const targetParent = index > 0 ? targets[index - 1] : ctx.store.getVolume(dst.id, target.parentId);
    job.logger.debug({ volUUID: source.id, index, of: sources.length }, 'copying volume');
    try {
      await copyVolumeData(ctx, {
        source,
        target,
        targetDomain: dst,
        ...(targetParent === undefined ? {} : { targetParent }),
        signal: job.signal,
        onProgress: (fraction) => job.progress((index + fraction) / sources.length),
      });
    } catch (error) {
      if (error instanceof VdsmError) throw error;
      job.logger.error({ imgUUID: source.imageId, srcSdUUID: source.domainId, dstSdUUID: dst.id, error: describe(error) }, 'Copy image error');
      throw storageError(VdsmErrorCode.CopyImageError, pyTuple());
    }
    job.logger.debug({ volUUID: source.id, index, of: sources.length }, 'volume copied');
  }
}

/** Python's `str(e)` of what a step threw. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
