/**
 * Removing volumes for good (files, then rows) and putting the model back in
 * order after an interrupted removal. Shared by the purge, zero and
 * deleteVolume jobs.
 *
 * Order and crash safety: a volume's file goes first, its row right after.
 * A crash in between leaves a row without its file, which `reconcileVolumes`
 * (the jobs' rollback, run by the next SPM's recovery) removes; the jobs
 * record the volumes in their recovery record before the first removal.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { BLANK_UUID, VolumeRole } from '@vdsm-kit/client/api';
import { removeVolumeFile } from '../data/volume-files.js';
import type { VolumeRecord } from '../model/records.js';
import type { StorageContext } from './context.js';
import { locateVolumeFile, volumeFileCandidates } from './volume-locations.js';

/** What a removal job records before removing anything (its rollback's input). */
export interface RemovalRecord {
  readonly sdUUID: string;
  readonly imgUUID: string;
  readonly volumes: readonly string[];
}

/**
 * Removes the volume's file (wherever it is), then its row, and lets its
 * parent become a leaf again when it has no child left.
 */
export async function removeVolume(ctx: StorageContext, volume: VolumeRecord): Promise<void> {
  for (const path of volumeFileCandidates(ctx.stateDir, volume)) await removeVolumeFile(path);
  dropRow(ctx, volume);
}

/** Deletes the row and rechecks the parent, in one transaction. */
function dropRow(ctx: StorageContext, volume: VolumeRecord): void {
  ctx.store.transaction(() => {
    ctx.store.deleteVolume(volume.domainId, volume.id);
    recheckIfLeaf(ctx, volume.domainId, volume.imageId, volume.parentId);
  });
}

/**
 * volume.py `recheckIfLeaf`: a volume without children is a LEAF, one with
 * children INTERNAL; a SHARED (template) volume stays as it is.
 */
export function recheckIfLeaf(ctx: StorageContext, sdUUID: string, imgUUID: string, volUUID: string): void {
  if (volUUID === BLANK_UUID) return;
  const volume = ctx.store.getVolume(sdUUID, volUUID);
  if (volume === undefined || volume.role === VolumeRole.Shared) return;
  const children = ctx.store.listVolumes(sdUUID, imgUUID, { includeRemoved: true }).filter((v) => v.parentId === volUUID);
  const role = children.length === 0 ? VolumeRole.Leaf : VolumeRole.Internal;
  if (volume.role !== role) ctx.store.updateVolume(sdUUID, volUUID, { role });
}

/**
 * Removes `dir` when it is empty or missing (VDSM `rmDCImgDir`, and the
 * final `rmdir` of fileSD.py `purgeImage`).
 *
 * @throws the file system's error (ENOTEMPTY, ...) when it cannot.
 */
export async function removeEmptyDir(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** True when `dir` is missing or has no entries. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/**
 * Brings the recorded volumes back to "every row has its file": a row
 * whose file is gone (the removal got that far) is deleted; a volume with
 * its file keeps both. Returns the ids whose rows were deleted.
 */
export async function reconcileVolumes(ctx: StorageContext, record: RemovalRecord): Promise<string[]> {
  const dropped: string[] = [];
  for (const id of record.volumes) {
    const volume = ctx.store.getVolume(record.sdUUID, id);
    if (volume === undefined || volume.imageId !== record.imgUUID) continue;
    if ((await locateVolumeFile(ctx.stateDir, volume)) === undefined) {
      dropRow(ctx, volume);
      dropped.push(id);
    }
  }
  return dropped;
}
