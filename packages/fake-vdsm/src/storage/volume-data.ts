/**
 * Copying the data of one volume into a target volume the job created, and
 * what follows a good copy (VDSM's `Volume.operation` protocol: the target
 * stays ILLEGAL while written; LEGAL with generation + 1 after).
 *
 * The copy itself is data/copier.ts: `qemu-img convert` with VDSM's options
 * when qemu-img is there (and `ctx.forceBuiltinCopier` is not set), else the
 * built-in zero-skipping copier. On a file domain the copy runs until the
 * domain is full (the emulated capacity, `domainFreeBytes`), as VDSM has no
 * up-front space check; the caller turns the resulting error into VDSM's
 * copy error (261) and its rollback removes the partial target.
 */
import { open } from 'node:fs/promises';
import { VdsmError, VdsmErrorCode, VolumeFormat, VolumeLegality } from '@vdsm-kit/client/api';
import { copyVolume } from '../data/copier.js';
import type { CopyResult } from '../data/copier.js';
import { backingVolumePath, volumePath } from '../data/layout.js';
import { sizeOf } from '../data/volume-files.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import type { StorageContext } from './context.js';
import { inThisOperation } from '../faults/operation.js';
import { domainFreeBytes } from './domain-getters.js';
import { meteredProgress } from './data-meter.js';

/** VDSM's `MAX_GENERATION` (volume.py): the generation wraps to 0 after it. */
export const MAX_GENERATION = 999;

/** One volume's copy. */
export interface VolumeDataCopy {
  /** The volume read: its file, and through it (qcow2) its backing chain unless `backing` stops it. */
  readonly source: VolumeRecord;
  readonly target: VolumeRecord;
  readonly targetDomain: DomainRecord;
  /**
   * The target's parent, when the chain is copied layer by layer (qemu-img
   * then writes only what differs from it); none for a collapsed copy.
   */
  readonly targetParent?: VolumeRecord;
  readonly signal: AbortSignal;
  /** Fraction 0..1 of this volume. */
  readonly onProgress?: (fraction: number) => void;
}

/**
 * Copies `source`'s guest-visible data into `target` (see the module
 * comment). Rejects with 443 ActionStopped when stopped, or with the data
 * plane's error (`NoSpaceError`, `CommandFailedError`,
 * `UnsupportedFormatError`, ...) for the caller to map.
 */
export async function copyVolumeData(ctx: StorageContext, copy: VolumeDataCopy): Promise<CopyResult> {
  const { source, target, targetDomain } = copy;
  const dst = volumePath(ctx.stateDir, target.domainId, target.imageId, target.id);
  const progress = meteredProgress(source.capacity, ctx.meter?.copied.bind(ctx.meter), copy.onProgress);
  const result = await copyVolume({
    src: volumePath(ctx.stateDir, source.domainId, source.imageId, source.id),
    dst,
    srcFormat: source.format,
    srcCapacity: source.capacity,
    dstFormat: target.format,
    ...(copy.targetParent === undefined
      ? {}
      : { backing: { path: backingVolumePath(copy.targetParent.imageId, copy.targetParent.id), format: copy.targetParent.format } }),
    dstAllocation: target.allocation,
    domainKind: targetDomain.kind,
    signal: copy.signal,
    onProgress: progress.onProgress,
    clock: ctx.clock,
    copier: ctx.forceBuiltinCopier === true ? 'builtin' : 'auto',
    // Block targets got their extents when created; a file domain fills as the data lands.
    // A `domainFull` fault leaves no room (domainFreeBytes); bound to the job, so one copy is one operation however often it asks.
    ...(targetDomain.kind === 'file' ? { spaceLeft: inThisOperation(() => domainFreeBytes(ctx, targetDomain)) } : {}),
  });
  progress.complete();
  if (targetDomain.kind === 'file' && target.format === VolumeFormat.RAW) await trimToCapacity(dst, target.capacity);
  return result;
}

/**
 * A RAW file volume is exactly its capacity long. The built-in copier
 * copies a source sized in whole extents (a block volume) whole, which makes
 * the copy longer; the bytes past the capacity are beyond what the guest
 * sees, so they go (qemu-img reads only the capacity: data/copier.ts).
 */
async function trimToCapacity(path: string, capacity: number): Promise<void> {
  if ((await sizeOf(path)).apparent <= capacity) return;
  const file = await open(path, 'r+');
  try {
    await file.truncate(capacity);
  } finally {
    await file.close();
  }
}

/** The generation after `generation` (volume.py: 0..MAX_GENERATION, then 0 again). */
export function nextGeneration(generation: number): number {
  return generation >= MAX_GENERATION ? 0 : generation + 1;
}

/** Ends a target's copy: LEGAL, generation + 1. */
export function markCopied(ctx: StorageContext, target: VolumeRecord): void {
  const current = ctx.store.getVolume(target.domainId, target.id) ?? target;
  ctx.store.updateVolume(target.domainId, target.id, {
    legality: VolumeLegality.Legal,
    generation: nextGeneration(current.generation),
  });
}

/** True for VDSM's 443 ActionStopped: the copy was aborted by Task.stop (it must end the task as stopped). */
export function isActionStopped(error: unknown): error is VdsmError {
  return error instanceof VdsmError && error.code === VdsmErrorCode.ActionStopped;
}
