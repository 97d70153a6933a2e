/**
 * Which byte ranges of a file hold data and which are holes, so a copy or a
 * checksum can skip the holes instead of reading gigabytes of zeros.
 *
 * Node has no `lseek` (libuv declined `uv_fs_lseek`), so SEEK_DATA/SEEK_HOLE
 * come from a helper process: perl's `sysseek` passes the whence straight to
 * lseek(2) (perl-base is essential on Debian, so it is there even without
 * qemu-utils); else `qemu-img map`, which asks the same of the kernel. With
 * neither, the answer is "unknown" and callers treat the whole file as data.
 *
 * Allocated zeros count as data here (the kernel cannot tell them apart);
 * the copiers' 4 KiB zero scan turns them into holes, as qemu-img does.
 */
import { runCommand } from './tools.js';
import type { DataTools } from './tools.js';

/** A byte range of a file. */
export interface Extent {
  readonly offset: number;
  readonly length: number;
}

/**
 * Prints `<data start> <hole start>` per data extent. An ENXIO from
 * SEEK_DATA means no data after the position (the normal end); any other
 * error (e.g. EINVAL on a kernel without SEEK_DATA) exits non-zero, so the
 * caller falls back to reading everything rather than copying nothing.
 */
const SEEK_SCRIPT = `
use strict;
my ($path) = @ARGV;
open(my $fh, '<', $path) or die "open $path: $!\\n";
my $size = -s $fh;
my $pos = 0;
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

/** How the extents were found (for tests and logs). */
export type ExtentMethod = 'seek' | 'qemu-img-map';

/**
 * The data extents of a regular file, in order, adjacent ones merged; or
 * undefined when no helper is available or it failed (read everything then).
 * `method` picks one helper (tests); by default perl first, then qemu-img.
 */
export async function dataExtents(
  path: string,
  tools: DataTools,
  options: { method?: ExtentMethod; signal?: AbortSignal } = {},
): Promise<Extent[] | undefined> {
  const methods: ExtentMethod[] = options.method === undefined ? ['seek', 'qemu-img-map'] : [options.method];
  for (const method of methods) {
    const runner = method === 'seek' ? seekExtents : mapExtents;
    const extents = await runner(path, tools, options.signal);
    if (extents !== undefined) return mergeExtents(extents);
  }
  return undefined;
}

async function seekExtents(path: string, tools: DataTools, signal: AbortSignal | undefined): Promise<Extent[] | undefined> {
  if (tools.perl === undefined) return undefined;
  let stdout: string;
  try {
    ({ stdout } = await runCommand([tools.perl, '-e', SEEK_SCRIPT, path], { signal }));
  } catch (error) {
    if (signal?.aborted) throw error;
    return undefined;
  }
  const extents: Extent[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [start, end] = line.split(' ').map(Number);
    if (start === undefined || end === undefined || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
    if (end > start) extents.push({ offset: start, length: end - start });
  }
  return extents;
}

/** One entry of `qemu-img map --output=json`. */
interface MapEntry {
  start: number;
  length: number;
  data: boolean;
}

async function mapExtents(path: string, tools: DataTools, signal: AbortSignal | undefined): Promise<Extent[] | undefined> {
  if (tools.qemuImg === undefined) return undefined;
  let stdout: string;
  try {
    ({ stdout } = await runCommand([tools.qemuImg, 'map', '--output=json', '-f', 'raw', path], { signal }));
  } catch (error) {
    if (signal?.aborted) throw error;
    return undefined;
  }
  const entries = JSON.parse(stdout) as MapEntry[];
  return entries.filter((entry) => entry.data).map((entry) => ({ offset: entry.start, length: entry.length }));
}

/** Sorts and merges touching or overlapping extents. */
export function mergeExtents(extents: readonly Extent[]): Extent[] {
  const sorted = [...extents].sort((a, b) => a.offset - b.offset);
  const merged: Extent[] = [];
  for (const extent of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && extent.offset <= last.offset + last.length) {
      const end = Math.max(last.offset + last.length, extent.offset + extent.length);
      merged[merged.length - 1] = { offset: last.offset, length: end - last.offset };
    } else {
      merged.push(extent);
    }
  }
  return merged;
}

/** The sum of the extents' lengths. */
export function extentBytes(extents: readonly Extent[]): number {
  let total = 0;
  for (const extent of extents) total += extent.length;
  return total;
}
