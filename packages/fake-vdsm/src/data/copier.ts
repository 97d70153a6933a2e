/**
 * Copying one volume's data, as a move or copy job does per volume of the
 * chain: `qemu-img convert` with VDSM's options when qemu-img is on PATH,
 * else the built-in zero-skipping copier. Both keep holes and take time in
 * proportion to the data, not the virtual size; both report progress as a
 * fraction and stop on abort with 443 ActionStopped.
 *
 * Space, as VDSM does it (no up-front check): the copy runs until the domain
 * is full. A real ENOSPC, or the emulated capacity running out, rejects with
 * `NoSpaceError`; the job turns that into 261 CopyImageError and its rollback
 * removes the partial target. The emulated capacity is `spaceLeft()`: the
 * bytes the target's domain can still take (capacity minus its files' true
 * sizes, the target's current size included). The built-in copier asks it
 * before each write; with qemu-img it is checked at every progress record
 * and every SPACE_POLL_MS of `clock`, and the child killed when it reaches 0.
 */
import { VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import { systemClock } from '@vdsm-kit/client/clock';
import type { Clock } from '@vdsm-kit/client/clock';
import { UnsupportedFormatError } from './errors.js';
import { planConvert, runConvert } from './qemu-convert.js';
import type { ConvertPlan } from './qemu-convert.js';
import { findDataTools } from './tools.js';
import type { DataTools } from './tools.js';
import { isQcow2File, sizeOf } from './volume-files.js';
import type { BackingFile } from './volume-files.js';
import { zeroSkipCopy } from './zero-skip-copy.js';
import { pathExists } from './path-exists.js';

/** The two ways to copy: VDSM's qemu-img, or the fake's own zero-skipping copier. */
export type CopierName = 'qemu-img' | 'builtin';

/** One volume copy. */
export interface CopyVolumeOptions {
  /** The source volume's file (its chain is read through it when it is qcow2). */
  readonly src: string;
  /** The target volume's file; normally already created by the job, as VDSM creates target volumes first. */
  readonly dst: string;
  readonly srcFormat: VolumeFormat;
  /**
   * The source's guest size, when its file may be longer: a RAW volume on a
   * block domain lives in an LV of whole 128 MiB extents. qemu-img then reads
   * only these bytes (the built-in copier copies the file, and the caller
   * trims a file target to its capacity).
   */
  readonly srcCapacity?: number;
  readonly dstFormat: VolumeFormat;
  /** The target's parent when copying a chain layer by layer (qemu-img: only this layer's data is copied). */
  readonly backing?: BackingFile;
  /** The target's allocation (default SPARSE). */
  readonly dstAllocation?: VolumeAllocation;
  /** The target domain's kind (default 'file'): file volumes start zeroed, block ones do not. */
  readonly domainKind?: 'file' | 'block';
  readonly signal?: AbortSignal;
  /** Called with fractions 0..1, growing, ending with 1 on success. */
  readonly onProgress?: (fraction: number) => void;
  /** The time source for the space polling of the qemu-img path. */
  readonly clock?: Clock;
  /** 'auto' (default): qemu-img when available. Forcing 'qemu-img' without it is an error. */
  readonly copier?: 'auto' | CopierName;
  /** Bytes the target's domain can still take (see the module comment); unlimited when omitted. */
  readonly spaceLeft?: () => number | Promise<number>;
  /** The helper programs; found on PATH when omitted. */
  readonly tools?: DataTools;
}

/** How a copy was done. */
export interface CopyResult {
  readonly copier: CopierName;
  /** The qemu-img command (qemu-img path only). */
  readonly plan?: ConvertPlan;
}

/**
 * Which copier `copyVolume` uses with these options: the forced one, or
 * qemu-img when it is available. Throws when 'qemu-img' is forced but absent.
 */
export async function copierName(options: { readonly copier?: 'auto' | CopierName; readonly tools?: DataTools } = {}): Promise<CopierName> {
  const tools = options.tools ?? (await findDataTools());
  const wanted = options.copier ?? 'auto';
  if (wanted === 'builtin') return 'builtin';
  if (tools.qemuImg !== undefined) return 'qemu-img';
  if (wanted === 'qemu-img') throw new UnsupportedFormatError('the qemu-img copier was requested but qemu-img is not available');
  return 'builtin';
}

/**
 * Copies the guest-visible data of `src` into `dst` (see the module
 * comment). Rejects with 443 ActionStopped on abort, `NoSpaceError` when the
 * domain is full, `CommandFailedError` when qemu-img fails,
 * `UnsupportedFormatError` when the built-in copier meets a real qcow2 image.
 */
export async function copyVolume(options: CopyVolumeOptions): Promise<CopyResult> {
  const tools = options.tools ?? (await findDataTools());
  const copier = await copierName({ tools, copier: options.copier });
  const dstAllocation = options.dstAllocation ?? VolumeAllocation.Sparse;
  const domainKind = options.domainKind ?? 'file';
  const srcIsQcow2 = options.srcFormat === VolumeFormat.COW && (await isQcow2File(options.src));

  if (copier === 'builtin') {
    if (srcIsQcow2) throw new UnsupportedFormatError(`${options.src} is a qcow2 image: copying it needs qemu-img (the built-in copier handles raw data only)`);
    if (options.dstFormat === VolumeFormat.COW && (await pathExists(options.dst)) && (await isQcow2File(options.dst))) {
      throw new UnsupportedFormatError(`${options.dst} is a qcow2 image: writing into it needs qemu-img (the built-in copier handles raw data only)`);
    }
    await zeroSkipCopy({
      src: options.src,
      dst: options.dst,
      // File volumes start as zeros (VDSM's zero_initialized); block ones are cleared first.
      targetIsZero: domainKind === 'file',
      preallocate: domainKind === 'file' && dstAllocation === VolumeAllocation.Preallocated,
      tools,
      signal: options.signal,
      onProgress: options.onProgress,
      spaceLeft: options.spaceLeft,
    });
    return { copier };
  }

  const longerThanGuest = !srcIsQcow2 && options.srcCapacity !== undefined && (await sizeOf(options.src)).apparent > options.srcCapacity;
  const input = {
    src: options.src,
    dst: options.dst,
    srcFormat: srcIsQcow2 ? ('qcow2' as const) : ('raw' as const),
    ...(longerThanGuest ? { srcSize: options.srcCapacity } : {}),
    dstFormat: options.dstFormat,
    backing: options.backing,
    dstAllocation,
    domainKind,
  };
  const plan = planConvert(tools.qemuImg!, { ...input, cache: FAKE_CACHE_MODES });
  await runConvert(plan, { clock: options.clock ?? systemClock, signal: options.signal, onProgress: options.onProgress, spaceLeft: options.spaceLeft });
  return { copier, plan };
}

/**
 * VDSM passes `-t none -T none` (O_DIRECT) because its volumes sit on shared
 * storage that other hosts read: nothing may linger in this host's page cache.
 * The fake's volumes are local files and its crash model is a killed process,
 * whose written pages the kernel keeps, so O_DIRECT would only make every copy
 * wait for the disk (3.7x `cp --sparse=always` on a 4 GiB / 64 MiB volume,
 * against 1.2x through the page cache; `npm run bench -- copy`). The bytes
 * copied, the holes and the command's other options are VDSM's.
 */
const FAKE_CACHE_MODES = { source: 'writeback', target: 'unsafe' } as const;

