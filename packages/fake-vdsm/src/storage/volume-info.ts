/**
 * `Volume.getInfo` (volume.py `getInfo` / `metadata2info`), with VDSM's wire
 * types: capacity, ctime and sizes are strings, `type` holds the allocation
 * (the schema's allocType), `status` is ILLEGAL for an illegal volume.
 *
 * Checks (hsm.py `getVolumeInfo` -> `_produce_volume`, no pool needed):
 * unknown domain 358; on a file domain a missing image folder 254
 * `Image path does not exist or cannot be accessed/created: ('<dir>',)`
 * (fileVolume.py `validateImagePath`; block domains create the folder
 * lazily instead); a missing volume 201 `Volume does not exist: ('<vol>',)`.
 */
import {
  VdsmErrorCode,
  VolumeAllocationName,
  VolumeFormatName,
  VolumeLegality,
  VolumeRoleName,
  VolumeStatus,
  pyTuple,
} from '@vdsm-kit/client/api';
import type { VolumeInfo } from '@vdsm-kit/client/api';
import { imageDir, volumePath } from '../data/layout.js';
import { roundUpToExtents, sizeOf } from '../data/volume-files.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { requireDomain, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { isDirectory, isFile } from './volume-locations.js';
import { hasVolumeLeases, volumeLeaseInfo } from '../jobs/volume-leases.js';

/** VDSM's metadata `MTIME`: no longer maintained, always 0. */
const MTIME = '0';

/**
 * The live (not removed) volume `volUUID` of image `imgUUID` on `sdUUID`,
 * produced as VDSM's `sdCache.produce(sd).produceVolume(img, vol)` does.
 *
 * @throws VdsmError 358, 254 or 201 (see the module comment).
 */
export async function produceVolume(
  ctx: StorageContext,
  sdUUID: string,
  imgUUID: string,
  volUUID: string,
): Promise<{ domain: DomainRecord; volume: VolumeRecord; path: string }> {
  const domain = requireDomain(ctx, sdUUID);
  const dir = imageDir(ctx.stateDir, sdUUID, imgUUID);
  if (domain.kind === 'file' && !(await isDirectory(dir))) {
    throw storageError(VdsmErrorCode.ImagePathError, pyTuple(dir));
  }
  const path = volumePath(ctx.stateDir, sdUUID, imgUUID, volUUID);
  const volume = ctx.store.getVolume(sdUUID, volUUID);
  if (volume === undefined || volume.removed || volume.imageId !== imgUUID || !(await isFile(path))) {
    throw storageError(VdsmErrorCode.VolumeDoesNotExist, pyTuple(volUUID));
  }
  return { domain, volume, path };
}

/** `Volume.getInfo`. */
export async function volumeInfo(ctx: StorageContext, sdUUID: string, imgUUID: string, volUUID: string): Promise<VolumeInfo> {
  const { domain, volume, path } = await produceVolume(ctx, sdUUID, imgUUID, volUUID);
  const sizes = await volumeSizes(domain, volume, path);
  return {
    uuid: volume.id,
    type: VolumeAllocationName[volume.allocation],
    format: VolumeFormatName[volume.format],
    disktype: volume.diskType,
    voltype: VolumeRoleName[volume.role],
    capacity: String(volume.capacity),
    parent: volume.parentId,
    description: volume.description,
    // volume.py metadata2info: the pool is no longer kept in volume metadata.
    pool: '',
    domain: volume.domainId,
    image: volume.imageId,
    ctime: String(volume.ctime),
    mtime: MTIME,
    legality: volume.legality,
    generation: volume.generation,
    // The fake does not track VDSM's SEQUENCE metadata key; 0 is its default.
    sequence: 0,
    apparentsize: String(sizes.apparent),
    truesize: String(sizes.true),
    status: volume.legality === VolumeLegality.Illegal ? VolumeStatus.Illegal : VolumeStatus.Ok,
    // volume.py getInfo: children are no longer computed.
    children: [],
    // getLeaseStatus: only on domains with volume leases; the holder while an SDM job has it.
    ...(hasVolumeLeases(domain) ? { lease: volumeLeaseInfo(domain, volume, path, ctx.hostJobs?.leases.owners(domain.id, volume.id) ?? []) } : {}),
  };
}

/**
 * VDSM's apparentsize/truesize: a file volume's `st_size` and `st_blocks *
 * 512`; a block volume's LV size for both (blockVolume.py
 * `getVolumeSize`/`getVolumeTrueSize` read `lvs -o size`), i.e. its capacity in
 * whole extents, which is also what its stand-in file is sized to.
 */
async function volumeSizes(domain: DomainRecord, volume: VolumeRecord, path: string): Promise<{ apparent: number; true: number }> {
  if (domain.kind === 'block') {
    const lvSize = Math.max(roundUpToExtents(volume.capacity), (await sizeOf(path)).apparent);
    return { apparent: lvSize, true: lvSize };
  }
  return sizeOf(path);
}
