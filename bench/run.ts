/**
 * `npm run bench -- <name>`: runs the benchmark bench/<name>.ts against the
 * built packages (`tsc -b` first, then this file under tsx without the
 * `development` condition, so `@vdsm-kit/*` imports load dist/).
 *
 * Each benchmark module exports `run(args)`, prints a human-readable table
 * and, as its last line, one JSON object for machines. Benchmarks report;
 * they never fail a build on a number.
 */

/** A benchmark: takes the arguments after its name, prints its results. */
export interface Benchmark {
  run(args: readonly string[]): Promise<void>;
}

/** Known benchmarks and what they measure (the module is loaded on demand). */
const BENCHMARKS: Record<string, { readonly description: string; load(): Promise<Benchmark> }> = {
  rpc: {
    description: 'Host.ping2 calls/s over TCP to fake-vdsm (sequential and 256 pipelined) vs a raw TCP echo baseline',
    load: () => import('./rpc.js'),
  },
  copy: {
    description: "an 8 GiB sparse RAW volume with 1 GiB of data through the fake's copiers (qemu-img, built-in) vs cp --sparse=always, fsync on every side, 5 interleaved rounds",
    load: () => import('./copy.js'),
  },
  hostile: {
    description: "fake-vdsm's peak RSS vs baseline and a polite client's ping2 latency (attack / quiet) under hostile clients",
    load: () => import('./hostile.js'),
  },
  load: {
    description: "200 clients x 500 calls to fake-vdsm while disks are copied, against the same calls alone in the same run (5 rounds): calls/s and p99 ratios, latency, the fake's heap after GC",
    load: () => import('./load.js'),
  },
  move: {
    description: 'engine-move copy-then-delete vs the legacy single Image.move: availability with wipe, total without, and 1,000 moves at once',
    load: () => import('./move.js'),
  },
  'move-workers': {
    description: 'engine-move workers on PostgreSQL: moves/min with 1 and 3 workers, takeover after a SIGKILL, status calls per interval, peak RSS',
    load: () => import('./move-workers.js'),
  },
};

function usage(): string {
  const lines = ['usage: npm run bench -- <name> [args...]', '', 'benchmarks:'];
  for (const [name, { description }] of Object.entries(BENCHMARKS)) lines.push(`  ${name.padEnd(8)} ${description}`);
  return lines.join('\n');
}

const [name, ...args] = process.argv.slice(2);
const benchmark = name !== undefined && Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
if (benchmark === undefined) {
  if (name !== undefined) console.error(`unknown benchmark: ${name}\n`);
  console.error(usage());
  process.exitCode = 2;
} else {
  await (await benchmark.load()).run(args);
}
