/**
 * The fake's data plane seen from outside: volume files under the state
 * folder at `<state>/<sdUUID>/images/<imgUUID>/<volUUID>` (issue 3), their
 * content and their allocation, read with plain file I/O. Content is
 * compared by the package's one block checksum (`checksumFile` of
 * `@vdsm-kit/fake-vdsm/data`, proven against coreutils in its own tests), so
 * a suite and the control API agree on what "the same bytes" hash to.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { REMOVED_PREFIX } from './storage-oracle.js';

/** The folder of a domain's images. */
export function imagesDir(state: string, sdUUID: string): string {
  return join(state, sdUUID, 'images');
}

/** Where issue 3 says a volume's file is. */
export function volumeFile(state: string, sdUUID: string, imgUUID: string, volUUID: string): string {
  return join(imagesDir(state, sdUUID), imgUUID, volUUID);
}

/** Apparent size (`st_size`) and allocated bytes (`st_blocks * 512`, VDSM's truesize). */
export interface FileSizes {
  readonly apparent: number;
  readonly allocated: number;
}

/** The sizes of `path`. */
export async function fileSizes(path: string): Promise<FileSizes> {
  const info = await stat(path);
  return { apparent: info.size, allocated: info.blocks * 512 };
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Reads `length` bytes at `offset` of `path`. */
export async function readBytes(path: string, offset: number, length: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, offset);
    return buffer;
  } finally {
    await file.close();
  }
}

/** A file found in a domain's images folder. */
export interface FoundVolumeFile {
  readonly domainId: string;
  /** The image folder's name: `<img>`, `_remove_me_<img>` or `_remove_me_ZERO_<img>`. */
  readonly folder: string;
  /** The image id (the folder name without a removal prefix). */
  readonly imageId: string;
  /** True when the folder is a removed image's (`_remove_me_...`). */
  readonly removed: boolean;
  readonly volumeId: string;
  readonly path: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every file under `<state>/<sd>/images/*` of every domain folder (UUID-named) of the state folder. */
export async function listVolumeFiles(state: string): Promise<FoundVolumeFile[]> {
  const found: FoundVolumeFile[] = [];
  for (const domain of await readdir(state, { withFileTypes: true })) {
    if (!domain.isDirectory() || !UUID.test(domain.name)) continue;
    const images = imagesDir(state, domain.name);
    if (!(await exists(images))) continue;
    for (const folder of await readdir(images, { withFileTypes: true })) {
      if (!folder.isDirectory()) continue;
      const removed = folder.name.startsWith(REMOVED_PREFIX);
      const imageId = folder.name.slice(folder.name.lastIndexOf('_') + 1);
      for (const entry of await readdir(join(images, folder.name), { withFileTypes: true })) {
        if (!entry.isFile()) continue;
        found.push({ domainId: domain.name, folder: folder.name, imageId, removed, volumeId: entry.name, path: join(images, folder.name, entry.name) });
      }
    }
  }
  return found;
}
