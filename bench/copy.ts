/**
 * `npm run bench -- copy [--size-gib N] [--data-mib N] [--runs N] [--dir DIR]`
 *
 * How fast fake-vdsm copies a sparse volume, against `cp --sparse=always` of
 * the same file in the same run (coreutils skips holes with SEEK_HOLE and
 * turns zero blocks into holes: the best a plain file copy does).
 *
 * The source is a RAW sparse volume of `--size-gib` (4) GiB holding
 * `--data-mib` (64) MiB of random data in 256 pieces at scattered offsets,
 * in a temporary folder under `--dir` (the OS temp dir). Each copier path
 * (cp; the fake's copier through qemu-img with VDSM's options, when
 * qemu-img is installed; the fake's built-in copier) is run once to warm
 * up, then `--runs` (3) times, best time kept; each target is verified
 * (the block checksum of the content equal to the source's, allocated bytes compared).
 * The fake's copies are timed as a move job does them: the target volume is
 * created, then the data copied.
 *
 * Targets per copier path: copy time <= 1.5 x cp's, allocated bytes within
 * 5% of the source's. cp and the built-in copier leave the data in the page
 * cache; qemu-img with VDSM's `-t none -T none` (O_DIRECT) has it on disk
 * when it returns, so a `cp + fsync` row is shown too (for information: it
 * is what that durability costs a plain copy). The last line is a JSON
 * object with the numbers; the process never fails on a number.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { VolumeFormat } from '@vdsm-kit/client/api';
// Benchmarks run against the built packages (`tsc -b` first, see run.ts: no `development` condition, so this is dist/).
import { checksum, copierName, copyVolume, createRaw, sizeOf, writeScatteredData } from '@vdsm-kit/fake-vdsm/data';
import type { CopierName } from '@vdsm-kit/fake-vdsm/data';

const run$ = promisify(execFile);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The targets the lead set for the data plane. */
const TARGETS = { ratioVsCpMax: 1.5, allocatedTolerance: 0.05 } as const;

/** The baseline, and the same followed by an fsync of the target (shown for information). */
const CP = 'cp --sparse=always';
const CP_FSYNC = 'cp --sparse=always + fsync';

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
  readonly name: typeof CP | typeof CP_FSYNC | CopierName;
  copy(src: string, dst: string): Promise<void>;
}

/** What one copier path measured. */
interface PathResult {
  readonly name: string;
  readonly times: readonly number[];
  readonly best: number;
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

    const cp = async (from: string, to: string): Promise<void> => {
      await run$('cp', ['--sparse=always', from, to]);
    };
    const paths: CopyPath[] = [
      { name: CP, copy: cp },
      // coreutils' sync(1) with a file argument fsyncs that file.
      {
        name: CP_FSYNC,
        copy: async (from, to) => {
          await cp(from, to);
          await run$('sync', [to]);
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
        },
      });
    }

    const results: PathResult[] = [];
    for (const path of paths) results.push(await measure(path, src, join(work, 'target.raw'), sourceSum, settings));
    report(settings, sourceSizes.true, results);
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
      'size-gib': { type: 'string', default: '4' },
      'data-mib': { type: 'string', default: '64' },
      runs: { type: 'string', default: '3' },
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
 * Warm-up, then `runs` timed copies; before each (untimed) the target is
 * removed and the file system synced, so no copy pays for an earlier one's
 * writeback. Verifies the last target.
 */
async function measure(path: CopyPath, src: string, dst: string, sourceSum: string, settings: Settings): Promise<PathResult> {
  process.stderr.write(`${path.name}: warm-up + ${settings.runs} runs\n`);
  const times: number[] = [];
  for (let i = 0; i <= settings.runs; i++) {
    await rm(dst, { force: true });
    await run$('sync', ['--file-system', dirname(dst)]);
    const started = performance.now();
    await path.copy(src, dst);
    const seconds = (performance.now() - started) / 1000;
    if (i > 0) times.push(seconds);
  }
  const allocated = (await sizeOf(dst)).true;
  const checksumOk = (await checksum(dst, VolumeFormat.RAW)) === sourceSum;
  await rm(dst, { force: true });
  return { name: path.name, times, best: Math.min(...times), allocated, checksumOk };
}

function report(settings: Settings, sourceAllocated: number, results: readonly PathResult[]): void {
  const [baseline, synced, ...copiers] = results;
  if (baseline === undefined || synced === undefined) throw new Error('the baselines were not measured');
  const verdict = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');
  const judge = (result: PathResult) => {
    const ratioVsCp = result.best / baseline.best;
    const allocatedRatio = result.allocated / sourceAllocated;
    const allocatedPass = Math.abs(allocatedRatio - 1) <= TARGETS.allocatedTolerance;
    const ratioPass = ratioVsCp <= TARGETS.ratioVsCpMax;
    return { ratioVsCp, allocatedRatio, allocatedPass, ratioPass, pass: ratioPass && allocatedPass && result.checksumOk };
  };

  const rows: string[][] = [['copier', 'best s', 'runs (s)', 'vs cp', 'vs cp+fsync', 'allocated MiB', 'vs source', 'checksum', '']];
  for (const result of results) {
    const j = judge(result);
    rows.push([
      result.name,
      result.best.toFixed(3),
      result.times.map((t) => t.toFixed(3)).join(' '),
      `${j.ratioVsCp.toFixed(2)}x`,
      `${(result.best / synced.best).toFixed(2)}x`,
      (result.allocated / MiB).toFixed(1),
      `${j.allocatedRatio.toFixed(3)}x`,
      result.checksumOk ? 'equal' : 'DIFFERENT',
      result === baseline ? 'baseline' : result === synced ? 'info' : verdict(j.pass),
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log(`copy benchmark: Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'})`);
  console.log(
    `source: ${settings.size / GiB} GiB RAW sparse, ${settings.data / MiB} MiB of data in ${PIECES} pieces, ${(sourceAllocated / MiB).toFixed(1)} MiB allocated; ` +
      `best of ${settings.runs} after a warm-up; targets: <= ${TARGETS.ratioVsCpMax}x cp, allocated within ${TARGETS.allocatedTolerance * 100}%\n`,
  );
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
  console.log('');

  const paths: Record<string, object> = {};
  for (const result of copiers) {
    const j = judge(result);
    paths[result.name] = {
      copy_s: round(result.best, 4),
      runs_s: result.times.map((t) => round(t, 4)),
      cp_sparse_s: round(baseline.best, 4),
      ratio_vs_cp: round(j.ratioVsCp, 3),
      ratio_vs_cp_fsync: round(result.best / synced.best, 3),
      allocated_bytes: result.allocated,
      allocated_ratio: round(j.allocatedRatio, 4),
      checksum_equal: result.checksumOk,
      ratio_pass: j.ratioPass,
      allocated_pass: j.allocatedPass,
      pass: j.pass,
    };
  }
  const best = copiers.reduce<PathResult | undefined>((a, b) => (a === undefined || b.best < a.best ? b : a), undefined);
  const bestJudged = best === undefined ? undefined : judge(best);
  console.log(
    JSON.stringify({
      benchmark: 'copy',
      node: process.version,
      cores: availableParallelism(),
      size_bytes: settings.size,
      data_bytes: settings.data,
      source_allocated_bytes: sourceAllocated,
      runs: settings.runs,
      cp_sparse_s: round(baseline.best, 4),
      cp_sparse_allocated_bytes: baseline.allocated,
      cp_sparse_fsync_s: round(synced.best, 4),
      paths,
      copy_path: best?.name ?? null,
      copy_s: best === undefined ? null : round(best.best, 4),
      ratio_vs_cp: bestJudged === undefined ? null : round(bestJudged.ratioVsCp, 3),
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
