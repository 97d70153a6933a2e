/**
 * Creating volumes inside a job (VDSM's `StorageDomain.createVolume` ->
 * `Volume.create`, as move, copy, clone and Volume.create use it) and
 * undoing that in the job's rollback.
 *
 * Crash safety: a volume is recorded in the job's recovery record BEFORE its
 * file exists, and its row goes in right after the file, so after a SIGKILL
 * the rollback (run by the next SPM's recovery) finds every file and row the
 * job may have made and removes them; removal is idempotent, so a volume
 * recorded but never created costs nothing.
 *
 * Space, as VDSM does it, with no up-front check for the whole image: a
 * block domain's VG hands out whole 128 MiB extents when each LV is created
 * (504 when it lacks them); a file domain takes what the data needs as it is
 * written, so running out shows up during the copy instead.
 */
import { rmdir } from 'node:fs/promises';
import { BLANK_UUID, pyTuple, VdsmErrorCode, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import type { DiskType, VdsmError, VolumeLegality, VolumeRole } from '@vdsm-kit/client/api';
import { backingVolumePath, imageDir, volumePath } from '../data/layout.js';
import { BLOCK_EXTENT_SIZE, createVolumeFile, extentCount, removeVolumeFile, roundUpToExtents } from '../data/volume-files.js';
import { domainConditionHolds } from '../faults/domain-faults.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { blockFreeSpace } from '../model/space.js';
import type { RecoveryRecord } from '../tasks/job-handler.js';
import { storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { isFile } from './volume-locations.js';

/** A volume a job created (or was about to create): what its rollback removes. */
export interface CreatedVolume {
  readonly sdUUID: string;
  readonly imgUUID: string;
  readonly volUUID: string;
}

/** The recovery record of a job that creates volumes. */
export interface CreatedVolumesRecord {
  readonly created: readonly CreatedVolume[];
}

/** A volume to create. */
export interface NewVolume {
  readonly imageId: string;
  readonly id: string;
  /** The parent volume (same image, or a template of another image on the domain); none for a base volume. */
  readonly parent?: VolumeRecord;
  readonly format: VolumeFormat;
  readonly allocation: VolumeAllocation;
  readonly role: VolumeRole;
  readonly diskType: DiskType;
  readonly capacity: number;
  readonly legality: VolumeLegality;
  readonly description: string;
  /**
   * Allocate every block of a PREALLOCATED file volume now (Volume.create).
   * Copy targets start sparse instead (image.py `_createTargetImage`) and get
   * their blocks with the copy; block volumes are files standing in for LVs.
   */
  readonly preallocateFile?: boolean;
}

/** How a creating job records what it creates (its recovery record, which may hold more than the list). */
export interface CreationJournal {
  /** The volumes recorded so far. */
  created(): readonly CreatedVolume[];
  /** Records `volumes` as the complete list (persisted synchronously). */
  record(volumes: readonly CreatedVolume[]): void;
}

/** A journal over a job's recovery record that holds just `{ created }`. */
export function createdVolumesJournal(recovery: RecoveryRecord<CreatedVolumesRecord>): CreationJournal {
  return {
    created: () => recovery.get()?.created ?? [],
    record: (created) => recovery.set({ created }),
  };
}

/** 212 `Volume already exists: ('<vol>',)` (file domains) or 550 `Cannot create Logical Volume: ('<sd>', '<vol>')` (block). */
export function volumeExistsError(domain: DomainRecord, volUUID: string): VdsmError {
  return domain.kind === 'file'
    ? storageError(VdsmErrorCode.VolumeAlreadyExists, pyTuple(volUUID))
    : storageError(VdsmErrorCode.CannotCreateLogicalVolume, pyTuple(domain.id, volUUID));
}

/**
 * 504 `Volume Group not big enough: ('Not enough free extents for creating LV <sd>/<vol> (free=<n>, needed=<n>)',)`,
 * worded after lvm.py's `VolumeGroupSizeError` for a short VG.
 */
export function volumeGroupSizeError(sdUUID: string, volUUID: string, freeExtents: number, neededExtents: number): VdsmError {
  return storageError(
    VdsmErrorCode.VolumeGroupSizeError,
    pyTuple(`Not enough free extents for creating LV ${sdUUID}/${volUUID} (free=${freeExtents}, needed=${neededExtents})`),
  );
}

/**
 * Creates `spec` on `domain`: refuses an existing volume (212 file / 550
 * block) and, on a block domain, a VG without enough free extents (504);
 * records the volume in `journal`; creates its file (sparse RAW, or qcow2 on
 * its parent; block RAW files sized in whole extents, as their LVs are);
 * inserts its row (generation 0).
 */
export async function createVolume(
  ctx: StorageContext,
  journal: CreationJournal,
  domain: DomainRecord,
  spec: NewVolume,
  options: { readonly signal?: AbortSignal } = {},
): Promise<VolumeRecord> {
  const path = volumePath(ctx.stateDir, domain.id, spec.imageId, spec.id);
  if (ctx.store.getVolume(domain.id, spec.id) !== undefined || (await isFile(path))) throw volumeExistsError(domain, spec.id);
  if (domain.kind === 'block') {
    // The LV takes its extents now; removed-but-unpurged volumes still hold theirs.
    const volumes = ctx.store.listVolumes(domain.id, undefined, { includeRemoved: true });
    // A `domainFull` fault leaves the VG without a free extent.
    const full = domainConditionHolds(ctx, domain.id, 'domainFull');
    const freeExtents = full ? 0 : Math.floor(blockFreeSpace(domain, volumes) / BLOCK_EXTENT_SIZE);
    const neededExtents = extentCount(spec.capacity);
    if (neededExtents > freeExtents) throw volumeGroupSizeError(domain.id, spec.id, freeExtents, neededExtents);
  }

  journal.record([...journal.created(), { sdUUID: domain.id, imgUUID: spec.imageId, volUUID: spec.id }]);
  const raw = spec.format === VolumeFormat.RAW;
  await createVolumeFile(
    path,
    {
      format: spec.format,
      capacity: domain.kind === 'block' && raw ? roundUpToExtents(spec.capacity) : spec.capacity,
      preallocate: domain.kind === 'file' && spec.preallocateFile === true && spec.allocation === VolumeAllocation.Preallocated,
      ...(spec.parent === undefined ? {} : { backing: { path: backingVolumePath(spec.parent.imageId, spec.parent.id), format: spec.parent.format } }),
    },
    options.signal === undefined ? {} : { signal: options.signal },
  );
  const record: VolumeRecord = {
    domainId: domain.id,
    id: spec.id,
    imageId: spec.imageId,
    parentId: spec.parent?.id ?? BLANK_UUID,
    format: spec.format,
    allocation: spec.allocation,
    role: spec.role,
    diskType: spec.diskType,
    capacity: spec.capacity,
    legality: spec.legality,
    generation: 0,
    description: spec.description,
    ctime: Math.floor(Date.now() / 1000),
    removed: false,
  };
  ctx.store.insertVolume(record);
  return record;
}

/**
 * The rollback of `createVolume`: removes every recorded volume (file, then
 * row), newest first so children go before their parents, then the image
 * folders left empty. Only what the job recorded is touched: volumes that
 * were there before (refused with 212/550) never were.
 */
export async function removeCreatedVolumes(ctx: StorageContext, created: readonly CreatedVolume[]): Promise<void> {
  for (const { sdUUID, imgUUID, volUUID } of [...created].reverse()) {
    await removeVolumeFile(volumePath(ctx.stateDir, sdUUID, imgUUID, volUUID));
    const row = ctx.store.getVolume(sdUUID, volUUID);
    if (row !== undefined && row.imageId === imgUUID) ctx.store.deleteVolume(sdUUID, volUUID);
  }
  const images = new Map(created.map(({ sdUUID, imgUUID }) => [`${sdUUID}/${imgUUID}`, { sdUUID, imgUUID }]));
  for (const { sdUUID, imgUUID } of images.values()) {
    try {
      await rmdir(imageDir(ctx.stateDir, sdUUID, imgUUID));
    } catch (error) {
      // Missing, or still holding volumes that were there before the job: both fine.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  }
}
