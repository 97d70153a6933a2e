/**
 * Deleting an image from inside another job: image.py `_deleteImage(dom,
 * imgUUID, postZero, discard)`, which `Image.move` uses for the target's old
 * copy (with `force`) and for the source after a move, and `Volume.copy` for
 * an old target image.
 *
 * - no volumes: nothing to do (VDSM logs a warning);
 * - postZero, file domain: not zeroed ("won't be zeroed"); discard -> 349;
 *   else removed;
 * - postZero, block domain: renamed `_remove_me_ZERO_<img>`, every volume
 *   zeroed over its whole LV in parallel at `ctx.wipeBytesPerSecond` on the
 *   clock (a failure -> 374), then removed;
 * - no postZero: renamed `_remove_me_<img>` and removed.
 * VDSM leaves a renamed image to a later purge or garbage collection; the
 * fake has neither here, so the files and rows go at once (as the
 * `Image.delete` jobs of delete-image.ts do).
 *
 * Crash safety: the removal is recorded through `journal` before the first
 * file goes; the recording job's rollback passes it to `reconcileVolumes`,
 * which drops rows whose files are already gone.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pyTuple, VdsmErrorCode } from '@vdsm-kit/client/api';
import { imageDir, removedImageDir, zeroedImageDir } from '../data/layout.js';
import { roundUpToExtents } from '../data/volume-files.js';
import { zeroVolume } from '../data/wiper.js';
import type { Logger } from '../logger.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { discardNotSupportedError, storageError } from './checks.js';
import type { StorageContext } from './context.js';
import { meteredProgress } from './data-meter.js';
import { isDirectory } from './volume-locations.js';
import { isEmptyDir, removeEmptyDir, removeVolume } from './volume-removal.js';
import type { RemovalRecord } from './volume-removal.js';

/** What the deletion needs from the job it runs in. */
export interface RemovalJob {
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Persists the removal before it starts (the job's recovery record). */
  recordRemoval(record: RemovalRecord): void;
  /** Wipe progress, 0..1 (optional). */
  progress?(fraction: number): void;
}

/** How to delete (the verb's `postZero` and `discard`). */
export interface RemovalOptions {
  readonly postZero: boolean;
  readonly discard: boolean;
}

/**
 * Deletes image `imgUUID` from `domain` now (see the module comment).
 *
 * @throws VdsmError 349 (file domain, postZero and discard), 374 (a wipe
 *   failed), 256 (the folder could not be renamed or removed), 443 when the
 *   job is stopped during a wipe (the image then stays renamed, partly zeroed,
 *   out of every listing, as VDSM's `_remove_me_ZERO_` LVs do).
 */
export async function deleteImageNow(
  ctx: StorageContext,
  job: RemovalJob,
  domain: DomainRecord,
  imgUUID: string,
  options: RemovalOptions,
): Promise<void> {
  const volumes = ctx.store.listVolumes(domain.id, imgUUID);
  if (volumes.length === 0) {
    job.logger.warn({ sdUUID: domain.id, imgUUID }, 'No volumes found for image');
    return;
  }
  const zeroing = options.postZero && domain.kind === 'block';
  if (options.postZero && domain.kind === 'file') {
    job.logger.warn({ sdUUID: domain.id, imgUUID }, `image ${imgUUID} on a fileSD ${domain.id} won't be zeroed.`);
    if (options.discard) throw discardNotSupportedError(domain.id);
  }
  job.recordRemoval({ sdUUID: domain.id, imgUUID, volumes: volumes.map((volume) => volume.id) });
  const dir = await hideImage(ctx, domain, imgUUID, volumes, zeroing);
  if (zeroing) await zeroVolumes(ctx, job, dir, volumes);
  for (const volume of volumes) await removeVolume(ctx, { ...volume, removed: true });
  try {
    if (await isEmptyDir(dir)) await removeEmptyDir(dir);
  } catch (error) {
    throw storageError(VdsmErrorCode.ImageDeleteError, pyTuple(`${imgUUID} ${describe(error)}`));
  }
}

/**
 * Renames the image folder (`_remove_me_<img>` or `_remove_me_ZERO_<img>`),
 * then marks its rows removed: from here on no listing shows the image.
 * Folder first: a crash in between leaves live rows whose files the readers
 * still find in the renamed folder (volume-locations.ts). Returns the
 * renamed folder.
 *
 * @throws VdsmError 256 when the folder cannot be renamed (fileSD.py deleteImage).
 */
export async function hideImage(ctx: StorageContext, domain: DomainRecord, imgUUID: string, volumes: readonly VolumeRecord[], zeroing: boolean): Promise<string> {
  const from = imageDir(ctx.stateDir, domain.id, imgUUID);
  const to = zeroing ? zeroedImageDir(ctx.stateDir, domain.id, imgUUID) : removedImageDir(ctx.stateDir, domain.id, imgUUID);
  if (await isDirectory(from)) {
    try {
      await rename(from, to);
    } catch (error) {
      throw storageError(VdsmErrorCode.ImageDeleteError, pyTuple(`${imgUUID} ${describe(error)}`));
    }
  }
  ctx.store.transaction(() => {
    for (const volume of volumes) ctx.store.updateVolume(domain.id, volume.id, { removed: true });
  });
  return to;
}

/** blockSD.py `zeroImgVolumes`: all volumes at once, each over its whole LV; the failures make one 374. */
async function zeroVolumes(ctx: StorageContext, job: RemovalJob, dir: string, volumes: readonly VolumeRecord[]): Promise<void> {
  const done = volumes.map(() => 0);
  const results = await Promise.allSettled(
    volumes.map((volume, index) => {
      const size = roundUpToExtents(volume.capacity);
      return zeroVolume({
        path: join(dir, volume.id),
        size,
        bytesPerSecond: ctx.wipeBytesPerSecond,
        clock: ctx.clock,
        signal: job.signal,
        onProgress: meteredProgress(size, ctx.meter?.wiped.bind(ctx.meter), (fraction) => {
          done[index] = fraction;
          job.progress?.(done.reduce((sum, value) => sum + value, 0) / volumes.length);
        }).onProgress,
      });
    }),
  );
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length === 0) return;
  // A stop is VDSM's ActionStopped, not a zeroing failure: it ends the task with 411.
  if (job.signal.aborted) throw failures[0];
  throw storageError(VdsmErrorCode.VolumesZeroingError, pyTuple(failures.map(describe)));
}

/** Python's `str(e)` of what a step threw. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
