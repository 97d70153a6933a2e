/**
 * Free space, derived from the volumes rather than stored, as VDSM derives
 * it: a block domain's VG hands out whole 128 MiB extents, so every volume
 * costs its capacity rounded up to extents; a file domain costs what its
 * files really occupy (st_blocks), which only the data plane can measure, so
 * the caller passes that in and this module stays free of file I/O.
 *
 * Pass every volume of the domain, removed ones included: a deleted image
 * keeps its files or LVs until the purge removes them. The extent arithmetic
 * is the data plane's (data/sizes.ts), which sizes block volume files with it.
 */
import { BLOCK_EXTENT_SIZE, extentCount } from '../data/sizes.js';
import type { DomainRecord, VolumeRecord } from './records.js';

/** Bytes the volumes take from a block domain's VG. */
export function blockUsedBytes(volumes: Iterable<Pick<VolumeRecord, 'capacity'>>): number {
  let extents = 0;
  for (const volume of volumes) extents += extentCount(volume.capacity);
  return extents * BLOCK_EXTENT_SIZE;
}

/**
 * Free bytes of a block domain: its capacity minus the extents of its
 * volumes, never below 0 (a VG cannot hand out more than it has).
 */
export function blockFreeSpace(domain: Pick<DomainRecord, 'capacity'>, volumes: Iterable<Pick<VolumeRecord, 'capacity'>>): number {
  return Math.max(0, domain.capacity - blockUsedBytes(volumes));
}

/** The bytes a volume's file really occupies on disk (`st_blocks * 512`). */
export type TrueSizeOf = (volume: VolumeRecord) => number | Promise<number>;

/**
 * Free bytes of a file domain: its capacity minus the true size of each
 * volume file, never below 0 (as `statvfs` never reports less).
 */
export async function fileFreeSpace(
  domain: Pick<DomainRecord, 'capacity'>,
  volumes: Iterable<VolumeRecord>,
  trueSizeOf: TrueSizeOf,
): Promise<number> {
  let used = 0;
  for (const volume of volumes) used += await trueSizeOf(volume);
  return Math.max(0, domain.capacity - used);
}

/** Free bytes of either kind of domain (`trueSizeOf` is only called for file domains). */
export async function domainFreeSpace(
  domain: Pick<DomainRecord, 'kind' | 'capacity'>,
  volumes: Iterable<VolumeRecord>,
  trueSizeOf: TrueSizeOf,
): Promise<number> {
  return domain.kind === 'block' ? blockFreeSpace(domain, volumes) : fileFreeSpace(domain, volumes, trueSizeOf);
}
