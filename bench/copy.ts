/**
 * `npm run bench -- copy [--size-gib N] [--data-mib N] [--runs N] [--dir DIR]`
 *
 * How fast fake-vdsm copies a sparse volume, against `cp --sparse=always` of
 * the same file in the same run (coreutils skips holes with SEEK_HOLE and
 * turns zero blocks into holes: the best a plain file copy does).
 *
 * The source is a RAW sparse volume of `--size-gib` (8) GiB holding
 * `--data-mib` (1024) MiB of random data in 256 pieces at scattered
 * offsets, in a temporary folder under `--dir` (the OS temp dir): enough data
 * that the copy, not process start or page-cache luck, decides the time.
 * Like is compared with like: every path ends with an fsync of its target
 * (qemu-img with VDSM's `-t none` writes with O_DIRECT and would otherwise be
 * the only one paying for the disk), and before every copy the page cache is
 * dropped (`/proc/sys/vm/drop_caches`, as root), so every path reads its
 * source from the disk as qemu-img's `-T none` does anyway; where the cache
 * cannot be dropped, every path reads the source the warm-up left in it, and
 * the output says so (`page_cache`). Each copier path (cp; the fake's copier
 * through qemu-img with VDSM's options, when installed; the fake's built-in
 * copier) runs once to warm up, then `--runs` (5) rounds take turns, the
 * order rotating each round, so slow and fast moments of a shared machine
 * fall on every side; each path's ratio to cp is taken within its round and
 * printed as median and min-max. Each target is verified (the block checksum
 * equal to the source's, allocated bytes compared) and throughput is the
 * data bytes over the copy time.
 *
 * Targets per copier path: median copy time <= 1.5 x cp's, allocated bytes
 * within 5% of the source's. The last line is a JSON object with the
 * numbers (the keys of earlier versions kept, with `_median`, `_min` and
 * `_max` beside each ratio); the process never fails on a number.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { VolumeFormat } from '@vdsm-kit/client/api';
// Benchmarks run against the built packages (`tsc -b` first, see run.ts: no `development` condition, so this is dist/).
import { checksum, copierName, copyVolume, createRaw, sizeOf, writeScatteredData } from '@vdsm-kit/fake-vdsm/data';
import type { CopierName } from '@vdsm-kit/fake-vdsm/data';
import { cpuPressure, qemuImgVersion } from './machine-state.js';
import { formatSpread, spreadOf } from './spread.js';
import type { Spread } from './spread.js';

const run$ = promisify(execFile);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The targets the lead set for the data plane. */
const TARGETS = { ratioVsCpMax: 1.5, allocatedTolerance: 0.05 } as const;

/** The baseline (followed by an fsync of its target, like every path). */
const CP = 'cp --sparse=always';

/** Pieces the data is split into (scattered over the volume). */
const PIECES = 256;

interface Settings {
  readonly size: number;
  readonly data: number;
  readonly runs: number;
  readonly dir: string;
}

/** A copier path under test: copies `src` to a new file `dst`. */
interface CopyPath {
  readonly name: typeof CP | CopierName;
  copy(src: string, dst: string): Promise<void>;
}

/** What one copier path measured. */
interface PathResult {
  readonly name: string;
  /** Seconds per round, fsync included. */
  readonly times: readonly number[];
  readonly time: Spread;
  /** Its time over cp's in the same round, per round. */
  readonly ratioVsCp: Spread;
  readonly allocated: number;
  readonly checksumOk: boolean;
}

/** Runs the benchmark (the `Benchmark.run` of bench/run.ts). */
export async function run(args: readonly string[]): Promise<void> {
  const settings = readSettings(args);
  const work = await mkdtemp(join(settings.dir, 'fake-vdsm-bench-copy-'));
  try {
    const src = join(work, 'source.raw');
    process.stderr.write(`building a ${settings.size / GiB} GiB sparse volume with ${settings.data / MiB} MiB of data in ${work}\n`);
    await buildSource(src, settings);
    const sourceSum = await checksum(src, VolumeFormat.RAW);
    const sourceSizes = await sizeOf(src);

    const fsync = async (file: string): Promise<void> => {
      // coreutils' sync(1) with a file argument fsyncs that file.
      await run$('sync', [file]);
    };
    const paths: CopyPath[] = [
      {
        name: CP,
        copy: async (from, to) => {
          await run$('cp', ['--sparse=always', from, to]);
          await fsync(to);
        },
      },
    ];
    for (const copier of ['qemu-img', 'builtin'] as const) {
      if (copier === 'qemu-img' && (await copierName()) !== 'qemu-img') {
        process.stderr.write('qemu-img is not installed: its path is skipped\n');
        continue;
      }
      paths.push({
        name: copier,
        copy: async (from, to) => {
          // As a move job does: create the target volume, then copy into it.
          await createRaw(to, sourceSizes.apparent);
          await copyVolume({ src: from, dst: to, srcFormat: VolumeFormat.RAW, dstFormat: VolumeFormat.RAW, copier });
          await fsync(to);
        },
      });
    }
    const { results, pageCache } = await measure(paths, src, join(work, 'target.raw'), sourceSum, settings);
    await report(settings, sourceSizes.true, results, pageCache);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `npm run bench` calls `run`; `main` is the same, for callers that expect that name. */
export const main = run;

function readSettings(args: readonly string[]): Settings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'size-gib': { type: 'string', default: '8' },
      'data-mib': { type: 'string', default: '1024' },
      runs: { type: 'string', default: '5' },
      dir: { type: 'string', default: tmpdir() },
    },
  });
  const positive = (name: string, text: string): number => {
    const value = Number(text);
    if (!(value > 0)) throw new Error(`--${name} must be a number > 0, not ${text}`);
    return value;
  };
  const size = Math.round(positive('size-gib', values['size-gib']) * GiB);
  const data = Math.round(positive('data-mib', values['data-mib']) * MiB);
  const runs = positive('runs', values.runs);
  if (!Number.isInteger(runs)) throw new Error(`--runs must be an integer, not ${values.runs}`);
  if (data * 2 > size) throw new Error('--data-mib must be at most half of --size-gib');
  return { size, data, runs, dir: resolve(values.dir) };
}

/** The source: a sparse file of `size` with `data` bytes of random data in PIECES scattered pieces. */
async function buildSource(path: string, settings: Settings): Promise<void> {
  await createRaw(path, settings.size);
  await writeScatteredData(path, { pieces: PIECES, pieceSize: Math.floor(settings.data / PIECES / 4096) * 4096, seed: 42 });
  // On disk before timing starts, so no copy pays for the source's writeback.
  await run$('sync', [path]);
}

/**
 * One warm-up copy per path (it also leaves the source in the page cache for
 * every path alike), then `runs` rounds in which each path copies once, the
 * order rotating by one each round. Before each copy (untimed) the target is
 * removed and the file system synced, so no copy pays for an earlier one's
 * writeback. Verifies each path's last target.
 */
/** Drops the page cache (clean pages only: sync first); false where not allowed (not root, a container). */
async function dropPageCache(): Promise<boolean> {
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

async function measure(
  paths: readonly CopyPath[],
  src: string,
  dst: string,
  sourceSum: string,
  settings: Settings,
): Promise<{ results: PathResult[]; pageCache: 'dropped' | 'warm' }> {
  await run$('sync', ['--file-system', dirname(dst)]);
  const dropping = await dropPageCache();
  const once = async (path: CopyPath): Promise<number> => {
    await rm(dst, { force: true });
    await run$('sync', ['--file-system', dirname(dst)]);
    if (dropping) await dropPageCache();
    const started = performance.now();
    await path.copy(src, dst);
    return (performance.now() - started) / 1000;
  };
  process.stderr.write(`warm-up: ${paths.map((p) => p.name).join(', ')}\n`);
  for (const path of paths) await once(path);
  const times = new Map(paths.map((path) => [path.name, [] as number[]]));
  for (let round = 0; round < settings.runs; round += 1) {
    const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
    process.stderr.write(`round ${round + 1}/${settings.runs}: ${order.map((p) => p.name).join(', ')}\n`);
    for (const path of order) times.get(path.name)!.push(await once(path));
  }
  const baseline = times.get(CP)!;
  const results: PathResult[] = [];
  for (const path of paths) {
    await once(path);
    const allocated = (await sizeOf(dst)).true;
    const checksumOk = (await checksum(dst, VolumeFormat.RAW)) === sourceSum;
    const own = times.get(path.name)!;
    results.push({
      name: path.name,
      times: own,
      time: spreadOf(own),
      ratioVsCp: spreadOf(own.map((t, round) => t / baseline[round]!)),
      allocated,
      checksumOk,
    });
  }
  await rm(dst, { force: true });
  return { results, pageCache: dropping ? 'dropped' : 'warm' };
}

async function report(settings: Settings, sourceAllocated: number, results: readonly PathResult[], pageCache: 'dropped' | 'warm'): Promise<void> {
  const [baseline, ...copiers] = results;
  if (baseline === undefined) throw new Error('the baseline was not measured');
  const verdict = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');
  const judge = (result: PathResult) => {
    const allocatedRatio = result.allocated / sourceAllocated;
    const allocatedPass = Math.abs(allocatedRatio - 1) <= TARGETS.allocatedTolerance;
    const ratioPass = result.ratioVsCp.median <= TARGETS.ratioVsCpMax;
    return { allocatedRatio, allocatedPass, ratioPass, pass: ratioPass && allocatedPass && result.checksumOk };
  };
  const mibPerS = (seconds: number): number => settings.data / MiB / seconds;

  const rows: string[][] = [['copier', 'median s', 'runs (s)', 'vs cp: median (min-max)', 'MiB/s', 'allocated MiB', 'vs source', 'checksum', '']];
  for (const result of results) {
    const j = judge(result);
    rows.push([
      result.name,
      result.time.median.toFixed(3),
      result.times.map((t) => t.toFixed(2)).join(' '),
      formatSpread(result.ratioVsCp),
      mibPerS(result.time.median).toFixed(0),
      (result.allocated / MiB).toFixed(1),
      `${j.allocatedRatio.toFixed(3)}x`,
      result.checksumOk ? 'equal' : 'DIFFERENT',
      result === baseline ? 'baseline' : verdict(j.pass),
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const [qemuImg, pressure] = await Promise.all([qemuImgVersion(), cpuPressure()]);
  const coreutils = /\d+(\.\d+)+/.exec((await run$('cp', ['--version'])).stdout)?.[0] ?? 'unknown';
  console.log(`copy benchmark: Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), qemu-img ${qemuImg}, coreutils ${coreutils}`);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}${pressure === undefined ? '' : `, CPU pressure ${pressure} % (avg60)`}`);
  console.log(
    `source: ${settings.size / GiB} GiB RAW sparse, ${settings.data / MiB} MiB of data in ${PIECES} pieces, ${(sourceAllocated / MiB).toFixed(1)} MiB allocated; ` +
      `${settings.runs} interleaved rounds after a warm-up, every copy fsynced, the page cache ${pageCache === 'dropped' ? 'dropped before each copy' : 'warm for every copy (it cannot be dropped here)'}; targets: median <= ${TARGETS.ratioVsCpMax}x cp, allocated within ${TARGETS.allocatedTolerance * 100}%\n`,
  );
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
  console.log('');

  const paths: Record<string, object> = {};
  for (const result of copiers) {
    const j = judge(result);
    paths[result.name] = {
      copy_s: round(result.time.median, 4),
      runs_s: result.times.map((t) => round(t, 4)),
      cp_sparse_s: round(baseline.time.median, 4),
      ratio_vs_cp: round(result.ratioVsCp.median, 3),
      ratio_vs_cp_median: round(result.ratioVsCp.median, 3),
      ratio_vs_cp_min: round(result.ratioVsCp.min, 3),
      ratio_vs_cp_max: round(result.ratioVsCp.max, 3),
      throughput_mib_s: round(mibPerS(result.time.median), 1),
      allocated_bytes: result.allocated,
      allocated_ratio: round(j.allocatedRatio, 4),
      checksum_equal: result.checksumOk,
      ratio_pass: j.ratioPass,
      allocated_pass: j.allocatedPass,
      pass: j.pass,
    };
  }
  const best = copiers.reduce<PathResult | undefined>((a, b) => (a === undefined || b.time.median < a.time.median ? b : a), undefined);
  const bestJudged = best === undefined ? undefined : judge(best);
  console.log(
    JSON.stringify({
      benchmark: 'copy',
      node: process.version,
      cores: availableParallelism(),
      loadavg_1m: round(loadavg()[0] ?? 0, 2),
      qemu_img: qemuImg,
      coreutils,
      size_bytes: settings.size,
      data_bytes: settings.data,
      source_allocated_bytes: sourceAllocated,
      runs: settings.runs,
      fsync_every_copy: true,
      page_cache: pageCache,
      cp_sparse_s: round(baseline.time.median, 4),
      cp_sparse_runs_s: baseline.times.map((t) => round(t, 4)),
      cp_sparse_throughput_mib_s: round(mibPerS(baseline.time.median), 1),
      cp_sparse_allocated_bytes: baseline.allocated,
      paths,
      copy_path: best?.name ?? null,
      copy_s: best === undefined ? null : round(best.time.median, 4),
      ratio_vs_cp: best === undefined ? null : round(best.ratioVsCp.median, 3),
      ratio_vs_cp_median: best === undefined ? null : round(best.ratioVsCp.median, 3),
      ratio_vs_cp_min: best === undefined ? null : round(best.ratioVsCp.min, 3),
      ratio_vs_cp_max: best === undefined ? null : round(best.ratioVsCp.max, 3),
      allocated_ratio: bestJudged === undefined ? null : round(bestJudged.allocatedRatio, 4),
      targets: { ratio_vs_cp_max: TARGETS.ratioVsCpMax, allocated_tolerance: TARGETS.allocatedTolerance },
      pass: copiers.length > 0 && copiers.every((result) => judge(result).pass),
    }),
  );
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
