/**
 * The fake's data plane seen from outside: volume files under the state
 * folder at `<state>/<sdUUID>/images/<imgUUID>/<volUUID>` (issue 3), their
 * content and their allocation, read with plain file I/O so the suites do
 * not trust the fake's own data/ helpers to check the fake.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REMOVED_PREFIX } from './storage-oracle.js';

/** The folder of a domain's images. */
export function imagesDir(state: string, sdUUID: string): string {
  return join(state, sdUUID, 'images');
}

/** Where issue 3 says a volume's file is. */
export function volumeFile(state: string, sdUUID: string, imgUUID: string, volUUID: string): string {
  return join(imagesDir(state, sdUUID), imgUUID, volUUID);
}

/** Apparent size (`st_size`) and allocated bytes (`st_blocks * 512`, VDSM's truesize). */
export interface FileSizes {
  readonly apparent: number;
  readonly allocated: number;
}

/** The sizes of `path`. */
export async function fileSizes(path: string): Promise<FileSizes> {
  const info = await stat(path);
  return { apparent: info.size, allocated: info.blocks * 512 };
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

const BLOCK = 4096;
const CHUNK = 8 * 1024 * 1024;
/** Zero-checks go chunk, then 64 KiB, then 4 KiB: one memcmp skips a whole hole instead of thousands of small ones. */
const SUB_CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/** True when `buffer[start, end)` is all zeros. */
function isZero(buffer: Buffer, start: number, end: number): boolean {
  return ZEROS.compare(buffer, start, end, 0, end - start) === 0;
}

/**
 * Prints `<data start> <hole start>` per data extent of a file: Node has no
 * lseek, and perl's `sysseek` passes SEEK_DATA (3) / SEEK_HOLE (4) straight to
 * lseek(2) (perl-base is essential on Debian). Reading a hole is not free:
 * the kernel fills the page cache with zero pages, about 1.5 s per cold GiB
 * here, so the digest reads only the extents that hold data.
 */
const SEEK_DATA_SCRIPT = `
my ($path) = @ARGV;
open(my $fh, '<', $path) or die "open: $!\\n";
my $size = -s $fh; my $pos = 0;
while ($pos < $size) {
  my $data = sysseek($fh, $pos, 3);
  if (!defined $data) { last if $!{ENXIO}; die "SEEK_DATA: $!\\n"; }
  my $hole = sysseek($fh, $data, 4);
  defined $hole or die "SEEK_HOLE: $!\\n";
  $hole = $size if $hole > $size;
  print 0 + $data, ' ', 0 + $hole, "\\n";
  $pos = $hole;
}
`;

const execFileAsync = promisify(execFile);

/** The byte ranges of `path` that may hold data (all of it when SEEK_DATA is not available). */
async function dataRanges(path: string, size: number): Promise<Array<readonly [number, number]>> {
  try {
    const { stdout } = await execFileAsync('perl', ['-e', SEEK_DATA_SCRIPT, path]);
    return stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split(' ').map(Number) as [number, number]);
  } catch {
    return [[0, size]];
  }
}

/** Hashes the non-zero 4 KiB blocks of `buffer[0, length)`, which was read at file offset `position`. */
function hashDataBlocks(buffer: Buffer, length: number, position: number, hashBlock: (buffer: Buffer, offset: number, start: number, end: number) => void): void {
  if (isZero(buffer, 0, length)) return;
  for (let sub = 0; sub < length; sub += SUB_CHUNK) {
    const subEnd = Math.min(sub + SUB_CHUNK, length);
    if (isZero(buffer, sub, subEnd)) continue;
    for (let block = sub; block < subEnd; block += BLOCK) {
      const end = Math.min(block + BLOCK, subEnd);
      if (!isZero(buffer, block, end)) hashBlock(buffer, position + block, block, end);
    }
  }
}

/**
 * A digest of what a guest reads from a RAW volume file: SHA-256 over every
 * non-zero 4 KiB block with its offset, then the size. Two files get the same
 * digest exactly when they hold the same bytes, whatever is a hole and
 * whatever allocated zeros, so a copy that keeps holes and one that writes
 * zeros compare equal, as guests see them. Only the data extents are read
 * and only non-zero blocks hashed, so a 1 GiB disk with tens of MiB of data
 * takes tens of milliseconds.
 */
export async function contentDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  const offsetBytes = Buffer.alloc(8);
  const hashBlock = (buffer: Buffer, offset: number, start: number, end: number): void => {
    offsetBytes.writeBigUInt64BE(BigInt(offset));
    hash.update(offsetBytes);
    hash.update(buffer.subarray(start, end));
  };
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const buffer = Buffer.allocUnsafe(CHUNK);
    // Whole 4 KiB blocks, each at most once, whichever extent boundaries they straddle.
    let next = 0;
    for (const [rangeStart, rangeEnd] of await dataRanges(path, size)) {
      const stop = Math.min(size, Math.ceil(rangeEnd / BLOCK) * BLOCK);
      for (let position = Math.max(next, rangeStart - (rangeStart % BLOCK)); position < stop; ) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK, stop - position), position);
        if (bytesRead === 0) break;
        hashDataBlocks(buffer, bytesRead, position, hashBlock);
        position += bytesRead;
        next = position;
      }
    }
    offsetBytes.writeBigUInt64BE(BigInt(size));
    hash.update(offsetBytes);
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** Reads `length` bytes at `offset` of `path`. */
export async function readBytes(path: string, offset: number, length: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, offset);
    return buffer;
  } finally {
    await file.close();
  }
}

/** A file found in a domain's images folder. */
export interface FoundVolumeFile {
  readonly domainId: string;
  /** The image folder's name: `<img>`, `_remove_me_<img>` or `_remove_me_ZERO_<img>`. */
  readonly folder: string;
  /** The image id (the folder name without a removal prefix). */
  readonly imageId: string;
  /** True when the folder is a removed image's (`_remove_me_...`). */
  readonly removed: boolean;
  readonly volumeId: string;
  readonly path: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every file under `<state>/<sd>/images/*` of every domain folder (UUID-named) of the state folder. */
export async function listVolumeFiles(state: string): Promise<FoundVolumeFile[]> {
  const found: FoundVolumeFile[] = [];
  for (const domain of await readdir(state, { withFileTypes: true })) {
    if (!domain.isDirectory() || !UUID.test(domain.name)) continue;
    const images = imagesDir(state, domain.name);
    if (!(await exists(images))) continue;
    for (const folder of await readdir(images, { withFileTypes: true })) {
      if (!folder.isDirectory()) continue;
      const removed = folder.name.startsWith(REMOVED_PREFIX);
      const imageId = folder.name.slice(folder.name.lastIndexOf('_') + 1);
      for (const entry of await readdir(join(images, folder.name), { withFileTypes: true })) {
        if (!entry.isFile()) continue;
        found.push({ domainId: domain.name, folder: folder.name, imageId, removed, volumeId: entry.name, path: join(images, folder.name, entry.name) });
      }
    }
  }
  return found;
}
