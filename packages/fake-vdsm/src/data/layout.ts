/**
 * Where volumes live on disk: VDSM's file-domain layout under the fake's
 * state folder, `<state>/<sdUUID>/images/<imgUUID>/<volUUID>` (VDSM:
 * `/rhev/data-center/mnt/<server>/<sdUUID>/images/<imgUUID>/<volUUID>`).
 * Block domains use the same layout here; their files stand in for LVs.
 *
 * Every id is validated as a UUID before it becomes part of a path, so a
 * client can never name a file outside the state folder (`..`, `/`, NUL).
 * A bad id fails the way VDSM's `validateUUID` fails: 1000
 * `Invalid parameter: '<name>=<value>'`.
 */
import { join } from 'node:path';
import { InvalidParameterError, vdsmMessage, VdsmErrorCode } from '@vdsm-kit/client/api';

/** A UUID in its canonical 8-4-4-4-12 hex form (either case, as VDSM's callers send them). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The folder of a domain holding its images (VDSM's `sd.DOMAIN_IMAGES`). */
export const DOMAIN_IMAGES_DIR = 'images';

/**
 * Prefix of a removed image's folder (VDSM's `sc.REMOVED_IMAGE_PREFIX`):
 * deleting an image renames `<img>` to `_remove_me_<img>` first, so the image
 * leaves `getImages` at once and the purge can finish later.
 */
export const REMOVED_IMAGE_PREFIX = '_remove_me_';

/**
 * Prefix of an image being zeroed before removal (VDSM's
 * `sc.ZEROED_IMAGE_PREFIX`, the `_remove_me_ZERO_` tag of block volumes): an
 * interrupted wipe can be found again after a crash.
 */
export const ZEROED_IMAGE_PREFIX = `${REMOVED_IMAGE_PREFIX}ZERO_`;

/**
 * Returns `value` when it is a UUID; otherwise throws VDSM's 1000
 * InvalidParameterException, `Invalid parameter: '<name>=<value>'` (the
 * value's `str()` inside Python's repr, as `validateUUID(value, name)` words it).
 */
export function assertUuid(name: string, value: unknown): string {
  if (typeof value === 'string' && UUID_PATTERN.test(value)) return value;
  throw new InvalidParameterError(vdsmMessage(VdsmErrorCode.InvalidParameterException, `${name}=${pythonStr(value)}`));
}

/** Python's `str()` of the values a JSON param can hold (enough for error messages). */
function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** `<state>/<sdUUID>`: the domain's folder. */
export function domainDir(state: string, sdUUID: string): string {
  return join(state, assertUuid('sdUUID', sdUUID));
}

/** `<state>/<sdUUID>/images`: the folder holding the domain's image folders. */
export function imagesDir(state: string, sdUUID: string): string {
  return join(domainDir(state, sdUUID), DOMAIN_IMAGES_DIR);
}

/** `<state>/<sdUUID>/images/<imgUUID>`: an image's folder (its volumes' files). */
export function imageDir(state: string, sdUUID: string, imgUUID: string): string {
  return join(imagesDir(state, sdUUID), assertUuid('imgUUID', imgUUID));
}

/** `<state>/<sdUUID>/images/<imgUUID>/<volUUID>`: a volume's file. */
export function volumePath(state: string, sdUUID: string, imgUUID: string, volUUID: string): string {
  return join(imageDir(state, sdUUID, imgUUID), assertUuid('volUUID', volUUID));
}

/** `<state>/<sdUUID>/images/_remove_me_<imgUUID>`: a removed image's folder, awaiting purge. */
export function removedImageDir(state: string, sdUUID: string, imgUUID: string): string {
  return join(imagesDir(state, sdUUID), REMOVED_IMAGE_PREFIX + assertUuid('imgUUID', imgUUID));
}

/** `<state>/<sdUUID>/images/_remove_me_ZERO_<imgUUID>`: an image being wiped before removal. */
export function zeroedImageDir(state: string, sdUUID: string, imgUUID: string): string {
  return join(imagesDir(state, sdUUID), ZEROED_IMAGE_PREFIX + assertUuid('imgUUID', imgUUID));
}

/**
 * A volume's backing file as VDSM records it in a qcow2 header
 * (`volume.getBackingVolumePath`): `../<imgUUID>/<volUUID>`, relative to the
 * volume's own folder, so a domain can be mounted anywhere.
 */
export function backingVolumePath(imgUUID: string, volUUID: string): string {
  return `../${assertUuid('imgUUID', imgUUID)}/${assertUuid('volUUID', volUUID)}`;
}

/** What an entry of a domain's `images` folder is. */
export type ImageDirEntry =
  | { readonly kind: 'image'; readonly imgUUID: string }
  | { readonly kind: 'removed'; readonly imgUUID: string }
  | { readonly kind: 'zeroing'; readonly imgUUID: string };

/**
 * Classifies a name found in `<sd>/images`: an image, a removed image
 * (`_remove_me_<img>`) or one being wiped (`_remove_me_ZERO_<img>`);
 * undefined for anything else (never ours, left alone).
 */
export function parseImageDirName(name: string): ImageDirEntry | undefined {
  if (UUID_PATTERN.test(name)) return { kind: 'image', imgUUID: name };
  // ZERO_ first: the removed prefix is a prefix of it.
  for (const [prefix, kind] of [[ZEROED_IMAGE_PREFIX, 'zeroing'], [REMOVED_IMAGE_PREFIX, 'removed']] as const) {
    if (name.startsWith(prefix)) {
      const imgUUID = name.slice(prefix.length);
      return UUID_PATTERN.test(imgUUID) ? { kind, imgUUID } : undefined;
    }
  }
  return undefined;
}
