/**
 * `StorageDomain.getInfo`, `getStats`, `getImages`, `getVolumes` and
 * `Image.getVolumes`, with the shapes and wire types of the real VDSM
 * (vdsm-wire.md §5 "Shapes", §10.5): getInfo's version is a string and has
 * `remotePath` (file) or `vguuid`/`state`/metadata devices (block); getStats
 * sends strings on file domains and ints on block domains.
 *
 * Checks: every one of these only `produce`s the domain (358); none needs
 * the pool (hsm.py `getStorageDomainInfo`, `getStorageDomainStats`,
 * `getImagesList`, `getVolumesList`).
 */
import { createHash } from 'node:crypto';
import {
  BLANK_UUID,
  StorageDomainClassId,
  StorageDomainType,
  StorageDomainTypeId,
} from '@vdsm-kit/client/api';
import type { BlockStorageDomainStats, FileStorageDomainStats, StorageDomainInfo, StorageDomainStats } from '@vdsm-kit/client/api';
import { sizeOf } from '../data/volume-files.js';
import type { DomainRecord } from '../model/records.js';
import { blockFreeSpace, fileFreeSpace } from '../model/space.js';
import { domainConditionHolds } from '../faults/domain-faults.js';
import { requireConnectedPool, requireDomain, requireReadableDomain } from './checks.js';
import type { StorageContext } from './context.js';
import { locateVolumeFile } from './volume-locations.js';

/**
 * VDSM's lease alignment for the domains the fake models (format 5, 512-byte
 * sectors, up to 250 hosts: `sc.ALIGNMENT_1M`).
 */
export const DOMAIN_ALIGNMENT = 1024 * 1024;

/** blockSD.py `VG_METADATASIZE`: the 128 MiB LVM metadata area VDSM gives a block domain's VG. */
export const VG_METADATA_SIZE = 128 * 1024 * 1024;

/**
 * Bytes of VG metadata one LV takes in the fake's emulation of `vg_mda_free`
 * (LVM keeps two copies in its metadata area, so at most half is usable).
 */
const VG_METADATA_PER_LV = 1024;

/** The special LVs every VDSM block domain has (metadata, ids, leases, inbox, outbox, master, xleases). */
const SPECIAL_LV_COUNT = 7;

/**
 * Where the file domain's folder lives "on the server": the fake's state
 * folder stands in for the NFS export holding `<sdUUID>/` (VDSM reports the
 * mount's `server:/export`).
 */
export function fileDomainRemotePath(stateDir: string): string {
  return `localhost:${stateDir}`;
}

/** `StorageDomain.getInfo` (sd.py `getInfo` + fileSD/blockSD extras). */
export function domainInfo(ctx: StorageContext, sdUUID: string): StorageDomainInfo {
  const domain = requireReadableDomain(ctx, sdUUID);
  const info: StorageDomainInfo = {
    uuid: domain.id,
    type: domain.type,
    class: domain.domainClass,
    name: domain.name,
    role: domain.role,
    // sd.py getPools: the pools the domain is attached to (none for an unattached one).
    pool: domain.poolId === '' ? [] : [domain.poolId],
    version: String(domain.version),
    block_size: domain.blockSize,
    alignment: DOMAIN_ALIGNMENT,
  };
  if (domain.kind === 'file') return { ...info, remotePath: fileDomainRemotePath(ctx.stateDir) };
  const device = multipathWwid(domain.id);
  return { ...info, vguuid: lvmUuid(domain.id), state: 'OK', metadataDevice: device, vgMetadataDevice: device };
}

/** `StorageDomain.getStats`: file domains in strings (fileSD.py), block domains in ints (blockSD.py). */
export async function domainStats(ctx: StorageContext, sdUUID: string): Promise<StorageDomainStats> {
  const domain = requireReadableDomain(ctx, sdUUID);
  return domain.kind === 'file' ? fileDomainStats(ctx, domain) : blockDomainStats(ctx, domain);
}

/** The free bytes of a domain: extents for block, real allocation for file (model/space.ts); 0 under a `domainFull` fault. */
export async function domainFreeBytes(ctx: StorageContext, domain: DomainRecord): Promise<number> {
  if (domainConditionHolds(ctx, domain.id, 'domainFull')) return 0;
  // Removed volumes count: their files or LVs hold space until the purge.
  const volumes = ctx.store.listVolumes(domain.id, undefined, { includeRemoved: true });
  if (domain.kind === 'block') return blockFreeSpace(domain, volumes);
  return fileFreeSpace(domain, volumes, async (volume) => {
    const path = await locateVolumeFile(ctx.stateDir, volume);
    if (path === undefined) return 0;
    try {
      return (await sizeOf(path)).true;
    } catch (error) {
      // Purged between locating and sizing it (another task's delete runs
      // meanwhile): it holds no space now. Found as a copy failing with 261
      // while a delete ran on its target domain (test/engine-move-workers).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  });
}

async function fileDomainStats(ctx: StorageContext, domain: DomainRecord): Promise<FileStorageDomainStats> {
  const free = await domainFreeBytes(ctx, domain);
  // fileSD.py getStats: statvfs sizes as str(), no VG metadata area.
  return { disktotal: String(domain.capacity), diskfree: String(free), mdasize: 0, mdafree: 0, mdavalid: true, mdathreshold: true };
}

async function blockDomainStats(ctx: StorageContext, domain: DomainRecord): Promise<BlockStorageDomainStats> {
  const lvCount = ctx.store.listVolumes(domain.id, undefined, { includeRemoved: true }).length + SPECIAL_LV_COUNT;
  const mdafree = VG_METADATA_SIZE / 2 - lvCount * VG_METADATA_PER_LV;
  return {
    disktotal: domain.capacity,
    diskfree: await domainFreeBytes(ctx, domain),
    mdasize: VG_METADATA_SIZE,
    mdafree,
    // blockSD.py metadataValidity: the area is big enough, and not critically full.
    mdavalid: true,
    mdathreshold: mdafree > VG_METADATA_SIZE / 4,
  };
}

/** `StorageDomain.getImages`: images being deleted (`_remove_me_`) are already gone. */
export function domainImages(ctx: StorageContext, sdUUID: string): string[] {
  requireDomain(ctx, sdUUID);
  return ctx.store.listImages(sdUUID);
}

/**
 * `StorageDomain.getVolumes` (hsm.py `getVolumesList`): the volumes of
 * `imgUUID`, or of every image for BLANK_UUID. The pool id is unused, as in VDSM.
 */
export function domainVolumes(ctx: StorageContext, sdUUID: string, imgUUID: string): string[] {
  requireDomain(ctx, sdUUID);
  const volumes = ctx.store.listVolumes(sdUUID, imgUUID === BLANK_UUID ? undefined : imgUUID);
  return volumes.map((volume) => volume.id);
}

/** `Image.getVolumes`: API.Image calls getVolumesList, so an unknown image is `[]`, not an error. */
export function imageVolumes(ctx: StorageContext, sdUUID: string, imgUUID: string): string[] {
  return domainVolumes(ctx, sdUUID, imgUUID);
}

/** What `Host.getStorageDomains` filters by (the verb's params). */
export interface DomainFilter {
  readonly storagepoolID: string | null;
  readonly domainClass: number | null;
  readonly storageType: number | null;
  readonly remotePath: string | null;
}

/**
 * `Host.getStorageDomains` (hsm.py `getStorageDomainsList`): the domains of
 * the pool (309 unless connected to it) or, without a pool or with
 * BLANK_UUID, every domain this host sees; filtered by the type and class
 * ints and the remote path. Unreachable domains are left out, as VDSM drops
 * domains it cannot produce.
 */
export function listStorageDomains(ctx: StorageContext, filter: DomainFilter): string[] {
  const { storagepoolID: spUUID } = filter;
  let domains: DomainRecord[];
  if (spUUID !== null && spUUID !== BLANK_UUID) {
    requireConnectedPool(ctx, spUUID);
    domains = ctx.store.listDomains(spUUID);
  } else {
    domains = ctx.store.listDomains();
  }
  return domains
    .filter((domain) => domain.reachable)
    .filter((domain) => filter.storageType === null || typeIdOf(domain) === filter.storageType)
    .filter((domain) => filter.domainClass === null || StorageDomainClassId[domain.domainClass] === filter.domainClass)
    .filter((domain) => filter.remotePath === null || (domain.kind === 'file' && sameRemotePath(fileDomainRemotePath(ctx.stateDir), filter.remotePath)))
    .map((domain) => domain.id);
}

/** The sd.py type int of a domain's type name (undefined for names without one, e.g. SHAREDFS). */
function typeIdOf(domain: DomainRecord): number | undefined {
  for (const [key, name] of Object.entries(StorageDomainType)) {
    if (name === domain.type) return (StorageDomainTypeId as Record<string, number>)[key];
  }
  return undefined;
}

/** fileUtils.normalize_path: trailing slashes do not matter. */
function sameRemotePath(a: string, b: string): boolean {
  const strip = (path: string): string => path.replace(/\/+$/, '');
  return strip(a) === strip(b);
}

// ---- stable identities of the emulated LVM objects ----

const LVM_UUID_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * An LVM-style UUID (32 of [0-9A-Za-z] in groups 6-4-4-4-4-4-6, as `vgs -o
 * uuid` prints) derived from `seed`, so a domain keeps its VG UUID across restarts.
 */
export function lvmUuid(seed: string): string {
  const digest = createHash('sha256').update(`vg:${seed}`).digest();
  const chars = [...digest.subarray(0, 32)].map((byte) => LVM_UUID_CHARS[byte % LVM_UUID_CHARS.length]).join('');
  const groups = [6, 4, 4, 4, 4, 4, 6];
  const parts: string[] = [];
  let at = 0;
  for (const length of groups) {
    parts.push(chars.slice(at, at + length));
    at += length;
  }
  return parts.join('-');
}

/** A multipath WWID (`36001405` + 25 hex digits, the LIO iSCSI target's form) derived from `seed`. */
export function multipathWwid(seed: string): string {
  return `36001405${createHash('sha256').update(`lun:${seed}`).digest('hex').slice(0, 25)}`;
}
