/**
 * A volume's file: creating it (RAW sparse or preallocated, qcow2), sizing
 * it, writing data into it, hashing what a guest would read, removing it.
 *
 * RAW volumes are sparse files: `ftruncate` to the capacity, so the apparent
 * size is the capacity and nothing is allocated. Preallocated ones get their
 * blocks from `fallocate` (util-linux; reads back zeros at no write cost) or,
 * without it, from written zeros in 8 MiB chunks (VDSM's fallocate helper
 * falls back the same way).
 *
 * COW volumes are qcow2 images made by `qemu-img create -f qcow2 -o
 * compat=1.1 [-b <backing> -F <fmt>]`, as VDSM makes them. WITHOUT qemu-img
 * a COW volume is a plain sparse file like a RAW one: its format is only the
 * metadata row, its bytes are the guest's bytes, and a chain cannot share
 * data (each layer's file holds what was written to it). The functions here
 * tell the two apart by the qcow2 magic, so a state folder made without
 * qemu-img keeps working on a machine that has it.
 */
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { VolumeFormat } from '@vdsm-kit/client/api';
import { CommandFailedError, NoSpaceError, UnsupportedFormatError, isNoSpaceErrno, throwIfStopped } from './errors.js';
import { checksumFile } from './checksum.js';
import { BLOCK_SIZE_4K, MiB } from './sizes.js';
import { findDataTools, runCommand } from './tools.js';
import type { DataTools } from './tools.js';

export { BLOCK_EXTENT_SIZE, BLOCK_SIZE_4K, extentCount, roundUp, roundUpToExtents } from './sizes.js';

/** The qcow2 compat level of new images (VDSM's `[irs] qcow2_compat` default). */
export const QCOW2_COMPAT = '1.1';

/** qemu's name for a VDSM volume format (VDSM's `sc.fmt2str`). */
export type QemuFormat = 'raw' | 'qcow2';

/** qemu's name for `format`: COW is qcow2, RAW is raw. */
export function qemuFormat(format: VolumeFormat): QemuFormat {
  return format === VolumeFormat.COW ? 'qcow2' : 'raw';
}

/** A qcow2 image starts with `QFI\xfb`. */
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

/** Options most functions here take. */
export interface VolumeFileOptions {
  /** The helper programs to use; found on PATH when omitted (`{}` forces the no-qemu code paths). */
  readonly tools?: DataTools;
  readonly signal?: AbortSignal;
}

/** A qcow2 volume's backing file. */
export interface BackingFile {
  /** As it goes into the header: VDSM writes `../<img>/<vol>` (`backingVolumePath`), relative to the volume's folder. */
  readonly path: string;
  readonly format: VolumeFormat;
}

/** Apparent size (what `ls -l` says, `st_size`) and true size (allocated, `st_blocks * 512`), VDSM's apparentsize/truesize. */
export interface FileSizes {
  readonly apparent: number;
  readonly true: number;
}

/**
 * Creates a RAW volume file of `capacity` bytes: sparse, or with every
 * block allocated when `preallocate`. Creates missing parent folders; fails
 * with the file system's EEXIST when the file is already there (VDSM refuses
 * an existing volume too). ENOSPC while preallocating is a `NoSpaceError`.
 */
export async function createRaw(path: string, capacity: number, options: VolumeFileOptions & { readonly preallocate?: boolean } = {}): Promise<void> {
  checkSize(capacity);
  await mkdir(dirname(path), { recursive: true });
  const file = await open(path, 'wx');
  try {
    await file.truncate(capacity);
  } finally {
    await file.close();
  }
  if (options.preallocate === true) await preallocateFile(path, capacity, options);
}

/**
 * Allocates every block of [0, size) of `path` without changing its content:
 * `fallocate --length` (mode 0 keeps data and allocates the holes, which read
 * as zeros), or without fallocate(1) by writing zeros over the all-zero
 * blocks, 8 MiB at a time. ENOSPC is a `NoSpaceError`.
 */
export async function preallocateFile(path: string, size: number, options: VolumeFileOptions = {}): Promise<void> {
  const tools = options.tools ?? (await findDataTools());
  try {
    if (tools.fallocate !== undefined) {
      await runCommand([tools.fallocate, '--length', String(size), path], { signal: options.signal });
      return;
    }
    const file = await open(path, 'r+');
    try {
      const chunk = Buffer.alloc(Math.min(size, 8 * MiB));
      const zeros = Buffer.alloc(chunk.length);
      for (let offset = 0; offset < size; offset += chunk.length) {
        throwIfStopped(options.signal);
        const length = Math.min(chunk.length, size - offset);
        const { bytesRead } = await file.read(chunk, 0, length, offset);
        chunk.fill(0, bytesRead, length);
        for (let block = 0; block < length; block += BLOCK_SIZE_4K) {
          const end = Math.min(block + BLOCK_SIZE_4K, length);
          if (zeros.compare(chunk, block, end, 0, end - block) === 0) await file.write(zeros, 0, end - block, offset + block);
        }
      }
    } finally {
      await file.close();
    }
  } catch (error) {
    throw mapNoSpace(error, path);
  }
}

/**
 * Creates a COW volume file: a qcow2 image of `capacity` (on `backing` when
 * given) with qemu-img, or without qemu-img a plain sparse file (see the
 * module comment). Creates missing parent folders; EEXIST when it exists.
 */
export async function createQcow2(path: string, capacity: number, options: VolumeFileOptions & { readonly backing?: BackingFile } = {}): Promise<void> {
  checkSize(capacity);
  const tools = options.tools ?? (await findDataTools());
  if (tools.qemuImg === undefined) {
    await createRaw(path, capacity, options);
    return;
  }
  await mkdir(dirname(path), { recursive: true });
  // Claim the name first so an existing volume is refused, as createRaw does; qemu-img then rewrites the file.
  await (await open(path, 'wx')).close();
  const argv = [tools.qemuImg, 'create', '-f', 'qcow2', '-o', `compat=${QCOW2_COMPAT}`];
  if (options.backing !== undefined) argv.push('-b', options.backing.path, '-F', qemuFormat(options.backing.format));
  argv.push(path, String(capacity));
  try {
    // A relative backing path is resolved from the volume's folder; VDSM runs qemu-img there too.
    await runCommand(argv, { signal: options.signal, cwd: dirname(path) });
  } catch (error) {
    await rm(path, { force: true });
    throw mapNoSpace(error, path);
  }
}

/** Creates a volume file of either format (`createRaw` or `createQcow2`). */
export async function createVolumeFile(
  path: string,
  volume: { readonly format: VolumeFormat; readonly capacity: number; readonly preallocate?: boolean; readonly backing?: BackingFile },
  options: VolumeFileOptions = {},
): Promise<void> {
  if (volume.format === VolumeFormat.COW) {
    await createQcow2(path, volume.capacity, { ...options, ...(volume.backing === undefined ? {} : { backing: volume.backing }) });
  } else {
    await createRaw(path, volume.capacity, { ...options, preallocate: volume.preallocate === true });
  }
}

function checkSize(capacity: number): void {
  if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`not a volume capacity: ${capacity}`);
}

/** The file's apparent and true sizes. */
export async function sizeOf(path: string): Promise<FileSizes> {
  const stats = await stat(path);
  return { apparent: stats.size, true: stats.blocks * 512 };
}

/** True when the file starts with the qcow2 magic (a real qcow2 image, not a plain file flagged COW). */
export async function isQcow2File(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(QCOW2_MAGIC.length);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(QCOW2_MAGIC);
  } finally {
    await file.close();
  }
}

/** How the bytes of `path` are laid out: raw (plain file) or a real qcow2 image. */
async function layoutOf(path: string, format: VolumeFormat): Promise<QemuFormat> {
  return format === VolumeFormat.COW && (await isQcow2File(path)) ? 'qcow2' : 'raw';
}

/** The qemu-img or qemu-io path, or an UnsupportedFormatError naming what needs it. */
function requireTool(tool: string | undefined, name: string, path: string): string {
  if (tool === undefined) throw new UnsupportedFormatError(`${path} is a qcow2 image and ${name} is not available`);
  return tool;
}

/**
 * Writes `bytes` at `offset` of the guest-visible disk: positional writes on
 * a raw (or plain) file, `qemu-io write -s` into a qcow2 image (the data
 * lands in this layer).
 */
export async function writeData(path: string, offset: number, bytes: Uint8Array, options: VolumeFileOptions & { readonly format?: VolumeFormat } = {}): Promise<void> {
  if ((await layoutOf(path, options.format ?? VolumeFormat.RAW)) === 'qcow2') {
    const qemuIo = requireTool((options.tools ?? (await findDataTools())).qemuIo, 'qemu-io', path);
    const dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-write-'));
    try {
      const source = join(dir, 'data');
      await writeFile(source, bytes);
      await runQemuIo(qemuIo, path, `write -q -s ${source} ${offset} ${bytes.length}`, options.signal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const file = await open(path, 'r+');
  try {
    await file.write(bytes, 0, bytes.length, offset);
  } catch (error) {
    throw mapNoSpace(error, path);
  } finally {
    await file.close();
  }
}

/**
 * The byte VDSM's tests write into layer `index` of a chain
 * (`qemuio.write_pattern` with `0xf0 + index`), so reading the top shows
 * which layer a range came from.
 */
export function layerPattern(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > 0x0f) throw new RangeError(`layer index out of range: ${index}`);
  return 0xf0 + index;
}

/** Fills `length` bytes at `offset` with the byte `pattern` (qemu-io `write -P` for qcow2 images). */
export async function writePattern(
  path: string,
  offset: number,
  length: number,
  pattern: number,
  options: VolumeFileOptions & { readonly format?: VolumeFormat } = {},
): Promise<void> {
  if ((await layoutOf(path, options.format ?? VolumeFormat.RAW)) === 'qcow2') {
    const qemuIo = requireTool((options.tools ?? (await findDataTools())).qemuIo, 'qemu-io', path);
    await runQemuIo(qemuIo, path, `write -q -P ${pattern} ${offset} ${length}`, options.signal);
    return;
  }
  const chunk = Buffer.alloc(Math.min(length, 8 * MiB), pattern);
  for (let done = 0; done < length; done += chunk.length) {
    throwIfStopped(options.signal);
    await writeData(path, offset + done, chunk.subarray(0, Math.min(chunk.length, length - done)));
  }
}

/**
 * True when the guest reads `pattern` in every byte of [offset, offset +
 * length) (VDSM's `qemuio.verify_pattern`; through the chain for qcow2).
 */
export async function verifyPattern(
  path: string,
  offset: number,
  length: number,
  pattern: number,
  options: VolumeFileOptions & { readonly format?: VolumeFormat } = {},
): Promise<boolean> {
  if ((await layoutOf(path, options.format ?? VolumeFormat.RAW)) === 'qcow2') {
    const qemuIo = requireTool((options.tools ?? (await findDataTools())).qemuIo, 'qemu-io', path);
    try {
      await runQemuIo(qemuIo, path, `read -q -P ${pattern} ${offset} ${length}`, options.signal);
      return true;
    } catch (error) {
      // qemu-io exits 1 and says so on stdout when a byte differs.
      if (error instanceof CommandFailedError && error.stdout.includes('Pattern verification failed')) return false;
      throw error;
    }
  }
  const expected = Buffer.alloc(Math.min(length, 8 * MiB), pattern);
  const actual = Buffer.alloc(expected.length);
  const file = await open(path, 'r');
  try {
    for (let done = 0; done < length; done += expected.length) {
      const size = Math.min(expected.length, length - done);
      const { bytesRead } = await file.read(actual, 0, size, offset + done);
      if (bytesRead !== size || !actual.subarray(0, size).equals(expected.subarray(0, size))) return false;
    }
    return true;
  } finally {
    await file.close();
  }
}

/** Runs one qemu-io command on a qcow2 image, from the image's folder (relative backing paths). */
function runQemuIo(qemuIo: string, path: string, command: string, signal: AbortSignal | undefined): Promise<{ stdout: string }> {
  // qemu-io splits -c on spaces; our paths are UUID-based and temp dirs have no spaces.
  return runCommand([qemuIo, '-f', 'qcow2', '-c', command, path], { signal, cwd: dirname(resolve(path)) });
}

/**
 * The block checksum (checksum.ts) of the guest-visible content: the file
 * itself for RAW (and plain COW) volumes; for a qcow2 image, what `qemu-img
 * convert -O raw` reads through it, so a chain's top gives the whole chain's
 * view. Either way it costs what the data costs: holes are skipped. With
 * `capacity`, a RAW volume's checksum covers exactly its guest size (an LV is
 * larger than the volume it holds).
 */
export async function checksum(
  path: string,
  format: VolumeFormat,
  options: VolumeFileOptions & { readonly capacity?: number } = {},
): Promise<string> {
  const tools = options.tools ?? (await findDataTools());
  if ((await layoutOf(path, format)) === 'raw') {
    return checksumFile(path, { tools, signal: options.signal, ...(options.capacity === undefined ? {} : { length: options.capacity }) });
  }
  const qemuImg = requireTool(tools.qemuImg, 'qemu-img', path);
  const dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-checksum-'));
  try {
    const guest = join(dir, 'guest.raw');
    // The raw copy is sparse (qemu-img skips zeros), so it costs the chain's data, not its capacity.
    await runCommand([qemuImg, 'convert', '-f', 'qcow2', '-O', 'raw', path, guest], { signal: options.signal, cwd: dirname(path) });
    return await checksumFile(guest, { tools, signal: options.signal });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Removes a volume's file; a missing file is not an error (removal is idempotent, rollbacks repeat it). */
export async function removeVolumeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** ENOSPC (from a write, or in a helper's stderr) as a NoSpaceError; anything else unchanged. */
export function mapNoSpace(error: unknown, path: string): unknown {
  if (isNoSpaceErrno(error)) return new NoSpaceError(path, (error as Error).message, { cause: error });
  if (error instanceof CommandFailedError && /No space left on device|Disk quota exceeded/.test(error.stderr)) {
    return new NoSpaceError(path, error.stderr.trim(), { cause: error });
  }
  return error;
}
