/**
 * Size arithmetic VDSM applies to volumes: capacities rounded to 4 KiB
 * (`volume.create`), and block-domain volumes (LVs) sized in whole 128 MiB
 * extents (`VG_EXTENT_SIZE`, lib/vdsm/storage/constants.py). A block
 * domain's free space is its capacity minus the extents its LVs hold.
 */

/** One MiB. */
export const MiB = 1024 * 1024;

/** VDSM's `sc.BLOCK_SIZE_4K`: capacities are rounded up to it. */
export const BLOCK_SIZE_4K = 4096;

/** VDSM's `VG_EXTENT_SIZE`: the LVM extent of block domains, 128 MiB. */
export const BLOCK_EXTENT_SIZE = 128 * MiB;

/** `value` rounded up to a multiple of `alignment` (both non-negative integers). */
export function roundUp(value: number, alignment: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a size: ${value}`);
  if (!Number.isSafeInteger(alignment) || alignment <= 0) throw new RangeError(`not an alignment: ${alignment}`);
  return Math.ceil(value / alignment) * alignment;
}

/** How many 128 MiB extents a block volume of `bytes` takes (at least one, as an LV has). */
export function extentCount(bytes: number): number {
  return Math.max(1, roundUp(bytes, BLOCK_EXTENT_SIZE) / BLOCK_EXTENT_SIZE);
}

/** `bytes` rounded up to whole extents: the size of the LV (and of its file here). */
export function roundUpToExtents(bytes: number): number {
  return extentCount(bytes) * BLOCK_EXTENT_SIZE;
}
