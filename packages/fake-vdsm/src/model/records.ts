/**
 * The model's records (camelCase, typed with the client's VDSM enums) and the
 * SQLite rows they are stored as (snake_case, ints for booleans), with one
 * explicit mapping each way, so a column rename touches this file only.
 *
 * Row objects double as the named parameters of the store's statements
 * (`@master_domain_id` binds `row.master_domain_id`).
 */
import type {
  DiskType,
  StorageDomainClass,
  StorageDomainRole,
  StorageDomainStatus,
  StorageDomainType,
  VolumeAllocation,
  VolumeFormat,
  VolumeLegality,
  VolumeRole,
} from '@vdsm-kit/client/api';

/** How a domain stores volumes: files on a mount (NFS, ...) or LVs in a VG (iSCSI, FCP). */
export const DomainKind = { File: 'file', Block: 'block' } as const;
export type DomainKind = (typeof DomainKind)[keyof typeof DomainKind];

/** A domain type with storage behind it (every type but UNKNOWN). */
export type KnownDomainType = Exclude<StorageDomainType, 'UNKNOWN'>;

/**
 * The kind of storage behind each domain type (sd.py `BLOCK_DOMAIN_TYPES`,
 * `FILE_DOMAIN_TYPES`, plus the legacy CIFS and the schema's SHAREDFS, both
 * file storage); UNKNOWN is no kind.
 */
export const DOMAIN_KIND_OF_TYPE: Readonly<Record<KnownDomainType, DomainKind>> = {
  NFS: DomainKind.File,
  LOCALFS: DomainKind.File,
  POSIXFS: DomainKind.File,
  SHAREDFS: DomainKind.File,
  GLUSTERFS: DomainKind.File,
  CIFS: DomainKind.File,
  ISCSI: DomainKind.Block,
  FCP: DomainKind.Block,
};

// ---- pools ----

/** A storage pool (data centre). */
export interface PoolRecord {
  readonly id: string;
  readonly name: string;
  readonly masterDomainId: string;
  readonly masterVersion: number;
  /** VDSM host id of the SPM, or null when no host holds the role. */
  readonly spmHostId: number | null;
  /** SPM lease version; `LVER_INVALID` (-1) before any host took the role. */
  readonly lver: number;
}

/** A `pools` row. */
export interface PoolRow {
  id: string;
  name: string;
  master_domain_id: string;
  master_version: number;
  spm_host_id: number | null;
  lver: number;
}

/** A `pools` row as a record. */
export function poolFromRow(row: PoolRow): PoolRecord {
  return {
    id: row.id,
    name: row.name,
    masterDomainId: row.master_domain_id,
    masterVersion: row.master_version,
    spmHostId: row.spm_host_id,
    lver: row.lver,
  };
}

/** A record as a `pools` row (also the named parameters of its INSERT). */
export function poolToRow(pool: PoolRecord): PoolRow {
  return {
    id: pool.id,
    name: pool.name,
    master_domain_id: pool.masterDomainId,
    master_version: pool.masterVersion,
    spm_host_id: pool.spmHostId,
    lver: pool.lver,
  };
}

// ---- hosts ----

/** A host of the fake (several can share one process). */
export interface HostRecord {
  /** VDSM host id, 1..N (`StoragePool.connect`'s hostID, `spmId`). */
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
  /** The pool the host is connected to, or null. */
  readonly poolId: string | null;
}

/** A `hosts` row. */
export interface HostRow {
  id: number;
  uuid: string;
  name: string;
  pool_id: string | null;
}

/** A `hosts` row as a record. */
export function hostFromRow(row: HostRow): HostRecord {
  return { id: row.id, uuid: row.uuid, name: row.name, poolId: row.pool_id };
}

/** A record as a `hosts` row (also the named parameters of its INSERT). */
export function hostToRow(host: HostRecord): HostRow {
  return { id: host.id, uuid: host.uuid, name: host.name, pool_id: host.poolId };
}

// ---- domains ----

/** A storage domain. */
export interface DomainRecord {
  readonly id: string;
  readonly poolId: string;
  readonly name: string;
  readonly kind: DomainKind;
  /** `StorageDomain.getInfo` `type`: NFS, ISCSI, ... */
  readonly type: StorageDomainType;
  /** `StorageDomain.getInfo` `class`. */
  readonly domainClass: StorageDomainClass;
  readonly role: StorageDomainRole;
  readonly status: StorageDomainStatus;
  /** Domain format version (5 on current VDSM). */
  readonly version: number;
  /** Size in bytes (a block domain's VG size). */
  readonly capacity: number;
  /** Sector size: 512 or 4096. */
  readonly blockSize: number;
  /** The storage supports discard (block domains may; file domains never do). */
  readonly discard: boolean;
  /** False makes the domain invisible to this host (`produce` -> 358). */
  readonly reachable: boolean;
}

/** A `domains` row. */
export interface DomainRow {
  id: string;
  pool_id: string;
  name: string;
  kind: string;
  type: string;
  class: string;
  role: string;
  status: string;
  version: number;
  capacity: number;
  block_size: number;
  discard: number;
  reachable: number;
}

/** A `domains` row as a record. */
export function domainFromRow(row: DomainRow): DomainRecord {
  // The casts are sound: rows are only written from typed records (and CHECKs guard kind).
  return {
    id: row.id,
    poolId: row.pool_id,
    name: row.name,
    kind: row.kind as DomainKind,
    type: row.type as StorageDomainType,
    domainClass: row.class as StorageDomainClass,
    role: row.role as StorageDomainRole,
    status: row.status as StorageDomainStatus,
    version: row.version,
    capacity: row.capacity,
    blockSize: row.block_size,
    discard: row.discard === 1,
    reachable: row.reachable === 1,
  };
}

/** A record as a `domains` row (also the named parameters of its INSERT). */
export function domainToRow(domain: DomainRecord): DomainRow {
  return {
    id: domain.id,
    pool_id: domain.poolId,
    name: domain.name,
    kind: domain.kind,
    type: domain.type,
    class: domain.domainClass,
    role: domain.role,
    status: domain.status,
    version: domain.version,
    capacity: domain.capacity,
    block_size: domain.blockSize,
    discard: domain.discard ? 1 : 0,
    reachable: domain.reachable ? 1 : 0,
  };
}

// ---- volumes ----

/** A volume of an image on one domain. */
export interface VolumeRecord {
  readonly domainId: string;
  readonly id: string;
  readonly imageId: string;
  /** The parent volume, `BLANK_UUID` for a base volume. */
  readonly parentId: string;
  readonly format: VolumeFormat;
  readonly allocation: VolumeAllocation;
  readonly role: VolumeRole;
  readonly diskType: DiskType;
  /** Virtual size in bytes. */
  readonly capacity: number;
  readonly legality: VolumeLegality;
  /** Bumped after each completed operation (VDSM's `Volume.operation`). */
  readonly generation: number;
  readonly description: string;
  /** Creation time, seconds since the epoch (VDSM's `ctime`). */
  readonly ctime: number;
  /** Renamed `_remove_me_` by a delete and not purged yet: gone from listings, still holding space. */
  readonly removed: boolean;
}

/** A `volumes` row. */
export interface VolumeRow {
  domain_id: string;
  id: string;
  image_id: string;
  parent_id: string;
  format: number;
  allocation: number;
  role: number;
  disk_type: string;
  capacity: number;
  legality: string;
  generation: number;
  description: string;
  ctime: number;
  removed: number;
}

/** A `volumes` row as a record. */
export function volumeFromRow(row: VolumeRow): VolumeRecord {
  // The casts are sound: CHECK constraints hold format, allocation, role and legality to VDSM's values.
  return {
    domainId: row.domain_id,
    id: row.id,
    imageId: row.image_id,
    parentId: row.parent_id,
    format: row.format as VolumeFormat,
    allocation: row.allocation as VolumeAllocation,
    role: row.role as VolumeRole,
    diskType: row.disk_type as DiskType,
    capacity: row.capacity,
    legality: row.legality as VolumeLegality,
    generation: row.generation,
    description: row.description,
    ctime: row.ctime,
    removed: row.removed === 1,
  };
}

/** A record as a `volumes` row (also the named parameters of its INSERT). */
export function volumeToRow(volume: VolumeRecord): VolumeRow {
  return {
    domain_id: volume.domainId,
    id: volume.id,
    image_id: volume.imageId,
    parent_id: volume.parentId,
    format: volume.format,
    allocation: volume.allocation,
    role: volume.role,
    disk_type: volume.diskType,
    capacity: volume.capacity,
    legality: volume.legality,
    generation: volume.generation,
    description: volume.description,
    ctime: volume.ctime,
    removed: volume.removed ? 1 : 0,
  };
}

/** The volume fields an update may change (identity and image stay). */
export type VolumePatch = Partial<
  Pick<
    VolumeRecord,
    | 'parentId'
    | 'format'
    | 'allocation'
    | 'role'
    | 'diskType'
    | 'capacity'
    | 'legality'
    | 'generation'
    | 'description'
    | 'removed'
  >
>;

/** A patch as named parameters: every column present, null for "keep". */
export interface VolumePatchRow {
  domain_id: string;
  id: string;
  parent_id: string | null;
  format: number | null;
  allocation: number | null;
  role: number | null;
  disk_type: string | null;
  capacity: number | null;
  legality: string | null;
  generation: number | null;
  description: string | null;
  removed: number | null;
}

/** A patch as the named parameters of the store's UPDATE. */
export function volumePatchToRow(domainId: string, volumeId: string, patch: VolumePatch): VolumePatchRow {
  return {
    domain_id: domainId,
    id: volumeId,
    parent_id: patch.parentId ?? null,
    format: patch.format ?? null,
    allocation: patch.allocation ?? null,
    role: patch.role ?? null,
    disk_type: patch.diskType ?? null,
    capacity: patch.capacity ?? null,
    legality: patch.legality ?? null,
    generation: patch.generation ?? null,
    description: patch.description ?? null,
    removed: patch.removed === undefined ? null : patch.removed ? 1 : 0,
  };
}
