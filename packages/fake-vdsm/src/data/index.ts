/**
 * `@vdsm-kit/fake-vdsm/data`: the fake's data plane for suites and
 * benchmarks that check volume files from outside (the checksum every
 * comparison of volume content uses, creating and sizing volume files, the
 * copier). One checksum for all: two places comparing content must agree
 * on what "the same content" hashes to.
 */
export { BlockHash, CHECKSUM_ALGORITHM, CHECKSUM_BLOCK_SIZE, checksumBytes, checksumFile } from './checksum.js';
export { checksum, createRaw, sizeOf } from './volume-files.js';
export type { FileSizes, VolumeFileOptions } from './volume-files.js';
export { copierName, copyVolume } from './copier.js';
export type { CopierName, CopyResult, CopyVolumeOptions } from './copier.js';
export { writeScatteredData } from './scattered-data.js';
export type { ScatteredDataOptions } from './scattered-data.js';
export { findDataTools } from './tools.js';
export { BLOCK_EXTENT_SIZE, roundUpToExtents } from './sizes.js';
export type { DataTools } from './tools.js';
