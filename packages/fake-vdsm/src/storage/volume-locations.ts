/**
 * Where a volume's file is right now. A live volume sits in its image
 * folder; a deleted one (`removed` row) sits in `_remove_me_<img>` until the
 * purge, or in `_remove_me_ZERO_<img>` while a postZero wipe runs (VDSM's
 * two tags, vdsm-wire.md §6, §8.2). The row only says "removed", so the file
 * system tells which of the two.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertUuid, imageDir, removedImageDir, zeroedImageDir } from '../data/layout.js';
import type { VolumeRecord } from '../model/records.js';

/**
 * The paths a volume's file may have, most likely first. All three folders
 * are candidates whatever the row says: a delete renames the folder and
 * then marks the rows, so a crash in between leaves a live row whose file
 * is already in `_remove_me_<img>`.
 */
export function volumeFileCandidates(stateDir: string, volume: VolumeRecord): string[] {
  const { domainId, imageId } = volume;
  const volName = assertUuid('volUUID', volume.id);
  const live = imageDir(stateDir, domainId, imageId);
  const removed = removedImageDir(stateDir, domainId, imageId);
  const zeroing = zeroedImageDir(stateDir, domainId, imageId);
  const dirs = volume.removed ? [removed, zeroing, live] : [live, removed, zeroing];
  return dirs.map((dir) => join(dir, volName));
}

/** The volume's file, or undefined when it is in none of its possible folders. */
export async function locateVolumeFile(stateDir: string, volume: VolumeRecord): Promise<string | undefined> {
  for (const path of volumeFileCandidates(stateDir, volume)) {
    if (await isFile(path)) return path;
  }
  return undefined;
}

/** True when `path` is a regular file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** True when `path` is a directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
