/**
 * An image's volume chain and its legality, as lib/vdsm/storage/image.py
 * computes them (`getChain`, `isLegal`, `validateVolumeChain`,
 * `getTemplate`) and hsm.py checks a move against templates
 * (`validateImageMove`).
 *
 * A chain is the image's own volumes, base first. A base volume may sit on a
 * template: a SHARED volume of another image on the same domain (the
 * fixture's `parent` of a first volume). VDSM keeps the template out of the
 * chain; so does this module.
 */
import { BLANK_UUID, pyTuple, VdsmErrorCode, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import type { VdsmError } from '@vdsm-kit/client/api';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { imageDoesNotExistError, storageError } from './checks.js';
import type { StorageContext } from './context.js';

/** 262 `Image is not a legal chain: ('<img>',)`. */
export function notLegalChainError(imgUUID: string): VdsmError {
  return storageError(VdsmErrorCode.ImageIsNotLegalChain, pyTuple(imgUUID));
}

/** 201 `Volume does not exist: ('<vol>',)` (VDSM's volume constructors). */
export function volumeDoesNotExistError(volUUID: string): VdsmError {
  return storageError(VdsmErrorCode.VolumeDoesNotExist, pyTuple(volUUID));
}

/**
 * The live volume `volUUID` on `sdUUID` (any image: a template lives in its
 * own), or 201 when there is none.
 */
export function requireVolume(ctx: StorageContext, sdUUID: string, volUUID: string): VolumeRecord {
  const volume = ctx.store.getVolume(sdUUID, volUUID);
  if (volume === undefined || volume.removed) throw volumeDoesNotExistError(volUUID);
  return volume;
}

/**
 * image.py `getChain(sdUUID, imgUUID)`: the image's volumes from its base up
 * to its leaf.
 *
 * @throws VdsmError 268 when the image has no volume on the domain; 262 when
 *   it has no leaf or a parent loop; 201 when a parent is missing.
 */
export function imageChain(ctx: StorageContext, sdUUID: string, imgUUID: string): VolumeRecord[] {
  const volumes = ctx.store.listVolumes(sdUUID, imgUUID);
  const first = volumes[0];
  if (first === undefined) throw imageDoesNotExistError(imgUUID, sdUUID);
  // A template image holds exactly one volume, the template itself.
  if (volumes.length === 1 && first.role === VolumeRole.Shared) return [first];
  const leaf = volumes.find((volume) => volume.role === VolumeRole.Leaf);
  if (leaf === undefined) throw notLegalChainError(imgUUID);
  return chainUpTo(ctx, sdUUID, imgUUID, leaf);
}

/**
 * image.py `getChain(sdUUID, imgUUID, volUUID)`: the chain from the base up
 * to `top` (a template alone when `top` is one).
 *
 * @throws VdsmError 262 on a parent loop; 201 when a parent is missing.
 */
export function chainUpTo(ctx: StorageContext, sdUUID: string, imgUUID: string, top: VolumeRecord): VolumeRecord[] {
  if (top.role === VolumeRole.Shared) return [top];
  const chain: VolumeRecord[] = [];
  const seen = new Set<string>();
  // Walk down to the base or to a template, which stays out of the chain.
  for (let volume: VolumeRecord = top; volume.role !== VolumeRole.Shared; ) {
    chain.unshift(volume);
    seen.add(volume.id);
    if (volume.parentId === BLANK_UUID) break;
    // VDSM guards against corrupted chains that would loop for ever (BZ 1125197).
    if (seen.has(volume.parentId)) throw notLegalChainError(imgUUID);
    volume = requireVolume(ctx, sdUUID, volume.parentId);
  }
  return chain;
}

/** The template a chain sits on (the base's SHARED parent in another image), if any. */
export function templateOf(ctx: StorageContext, sdUUID: string, chain: readonly VolumeRecord[]): VolumeRecord | undefined {
  const base = chain[0];
  if (base === undefined || base.parentId === BLANK_UUID) return undefined;
  return requireVolume(ctx, sdUUID, base.parentId);
}

/** VDSM's test of one volume: legal and not a fake (a backup domain's stand-in template). */
export function isVolumeLegal(volume: VolumeRecord): boolean {
  return volume.legality === VolumeLegality.Legal;
}

/**
 * image.py `isLegal`: every volume of the image (template excluded) is
 * LEGAL. True for an image without volumes on the domain.
 */
export function isImageLegal(ctx: StorageContext, sdUUID: string, imgUUID: string): boolean {
  return ctx.store.listVolumes(sdUUID, imgUUID).every(isVolumeLegal);
}

/**
 * image.py `validateVolumeChain` (Volume.copy's check): the image's volumes
 * and its template are all LEGAL.
 *
 * @throws VdsmError 262 when one is ILLEGAL or FAKE; 268 when the image has
 *   no volume; what `imageChain` throws.
 */
export function validateVolumeChain(ctx: StorageContext, sdUUID: string, imgUUID: string): VolumeRecord[] {
  if (!isImageLegal(ctx, sdUUID, imgUUID)) throw notLegalChainError(imgUUID);
  const chain = imageChain(ctx, sdUUID, imgUUID);
  const template = templateOf(ctx, sdUUID, chain);
  if (template !== undefined && !isVolumeLegal(template)) throw notLegalChainError(imgUUID);
  return chain;
}

/**
 * hsm.py `validateImageMove`: an image based on a template moves only to a
 * domain that has the template; a template image used by other images does
 * not leave a data domain.
 *
 * The fake has no backup-domain fake templates (VDSM makes one when the
 * target is a Backup domain), so a missing template is refused on any target.
 *
 * @throws VdsmError 268 `Image does not exist in domain: 'image=<img>, domain=<dst>'`
 *   for a missing template; 266 `Cannot move template's image because it is
 *   used by a VM: ('<img>',)`.
 */
export function validateImageMove(ctx: StorageContext, src: DomainRecord, dst: DomainRecord, imgUUID: string): void {
  const volumes = ctx.store.listVolumes(src.id, imgUUID);
  const ids = new Set(volumes.map((volume) => volume.id));
  for (const volume of volumes) {
    if (volume.parentId !== BLANK_UUID && !ids.has(volume.parentId)) {
      // Based on a template of another image: it must be on the target too.
      const onTarget = ctx.store.getVolume(dst.id, volume.parentId);
      if (onTarget === undefined || onTarget.removed) throw imageDoesNotExistError(imgUUID, dst.id);
      return;
    }
  }
  // The image is a template when a volume of another image sits on one of its volumes.
  const usedByOthers = ctx.store
    .listVolumes(src.id)
    .some((volume) => volume.imageId !== imgUUID && ids.has(volume.parentId));
  if (usedByOthers && src.domainClass !== 'Backup') {
    throw storageError(VdsmErrorCode.MoveTemplateImageError, pyTuple(imgUUID));
  }
}
