/**
 * `npm run bench -- hostile [--duration S] [--calls N] [--repeats N]`
 *
 * What hostile clients cost fake-vdsm (a child process, `fake-vdsm serve`)
 * and the one well-behaved client beside them:
 *  - quiet: the polite client calls `Host.ping2` one at a time for
 *    `--duration`, nobody else connected; median and p99 latency;
 *  - attack: the same, while these run against the same port: silent
 *    connections, frames over the size limit, an oversized header, garbage,
 *    malformed JSON-RPC (bad JSON, JSON nested 100,000 deep), slow-loris
 *    frames, mid-frame disconnects, four near-limit (60 MiB) frames at once,
 *    and one connection pipelining `--calls` (200,000) `Host.ping2` without
 *    reading a byte of the replies.
 * The attackers run in a child process of their own (bench/hostile-attacker.ts).
 * The fake's RSS is read from /proc (Linux): its baseline after the quiet
 * pass, and its peak (VmHWM) at the end. A round is one quiet pass and one
 * attack pass of `--duration` (2 s) each; `--repeats` (5) rounds take turns,
 * the latency ratio (attack over quiet) is taken within each round and
 * printed as median and min-max. Prints readable lines, then one JSON line
 * (medians under the earlier keys, `_median`/`_min`/`_max` beside the ratio).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VdsmClient } from '@vdsm-kit/client';
import { spawnReady } from './child-process.js';
import type { ReadyChild } from './child-process.js';
import { cpuPressure } from './machine-state.js';
import { formatSpread, spreadOf } from './spread.js';
import type { Spread } from './spread.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MiB = 1024 * 1024;

interface FakeReady {
  readonly stomp: { readonly host: string; readonly port: number };
}

interface Settings {
  readonly durationMs: number;
  readonly calls: number;
  readonly repeats: number;
}

interface Round {
  readonly quiet: Latency;
  readonly attack: Latency;
  readonly fakeCpu: number;
}

interface Latency {
  readonly calls: number;
  readonly medianMs: number;
  readonly p99Ms: number;
}

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: { duration: { type: 'string', default: '2' }, calls: { type: 'string', default: '200000' }, repeats: { type: 'string', default: '5' } },
  });
  const settings: Settings = { durationMs: Number(values.duration) * 1000, calls: Number(values.calls), repeats: Number(values.repeats) };
  // Error level: every hostile connection would log a warning, and the logging is not what is measured.
  const fake = await spawnReady<FakeReady>(['packages/fake-vdsm/dist/cli.js', 'serve', '--port', '0', '--log-level', 'error'], { cwd: ROOT });
  const pid = fake.child.pid as number;
  const { host, port } = fake.ready.stomp;
  const client = new VdsmClient({ transport: 'tcp', host, port });
  let attacker: ReadyChild<unknown> | undefined;
  try {
    await client.connect();
    await pings(client, 1000); // warm-up
    const rounds: Round[] = [];
    let baselineRss = Number.NaN;
    for (let r = 0; r < settings.repeats; r += 1) {
      process.stderr.write(`round ${r + 1}/${settings.repeats}: quiet, then under attack\n`);
      const quiet = await latency(client, settings.durationMs);
      if (r === 0) baselineRss = await memory(pid, 'VmRSS');
      const cpuBefore = await cpuSeconds(pid);
      attacker = await spawnReady(['--import', 'tsx', 'bench/hostile-attacker.ts', host, String(port), String(settings.calls)], { cwd: ROOT });
      const attack = await latency(client, settings.durationMs);
      await attacker.stop();
      attacker = undefined;
      rounds.push({ quiet, attack, fakeCpu: (await cpuSeconds(pid)) - cpuBefore });
    }
    const peakRss = await memory(pid, 'VmHWM');
    const stillServed = await pings(client, 100).then(
      () => true,
      () => false,
    );
    await report(settings, rounds, baselineRss, peakRss, stillServed);
  } finally {
    await attacker?.stop();
    await client.close().catch(() => {});
    await fake.stop();
  }
}

async function pings(client: VdsmClient, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await client.Host.ping2();
}

/** Sequential ping2 round trips for `durationMs`. */
async function latency(client: VdsmClient, durationMs: number): Promise<Latency> {
  const samples: number[] = [];
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const started = performance.now();
    await client.Host.ping2();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return { calls: samples.length, medianMs: at(0.5), p99Ms: at(0.99) };
}

/** User plus system CPU time of a process so far (/proc/<pid>/stat, in clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A line of /proc/<pid>/status, in bytes. */
async function memory(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

async function report(settings: Settings, rounds: readonly Round[], baselineRss: number, peakRss: number, stillServed: boolean): Promise<void> {
  const of = (pick: (round: Round) => number): Spread => spreadOf(rounds.map(pick));
  const ratio = of((r) => r.attack.medianMs / r.quiet.medianMs);
  const quiet = { median: of((r) => r.quiet.medianMs), p99: of((r) => r.quiet.p99Ms), calls: of((r) => r.quiet.calls) };
  const attack = { median: of((r) => r.attack.medianMs), p99: of((r) => r.attack.p99Ms), calls: of((r) => r.attack.calls) };
  const fakeCpu = of((r) => r.fakeCpu);
  const pressure = await cpuPressure();
  const ms = (x: Spread): string => formatSpread(x, 3, ' ms');
  console.log(`hostile benchmark: Node ${process.version}, ${availableParallelism()} cores, ${rounds.length} rounds of ${settings.durationMs / 1000} s quiet + ${settings.durationMs / 1000} s under attack`);
  console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')}${pressure === undefined ? '' : `, CPU pressure ${pressure} %`}`);
  console.log(`fake-vdsm RSS: baseline ${(baselineRss / MiB).toFixed(1)} MiB, peak ${(peakRss / MiB).toFixed(1)} MiB (${(peakRss / baselineRss).toFixed(2)}x)`);
  console.log(`polite ping2 quiet:        median ${ms(quiet.median)}, p99 ${ms(quiet.p99)} (median (min-max) over the rounds)`);
  console.log(`polite ping2 under attack: median ${ms(attack.median)}, p99 ${ms(attack.p99)}`);
  console.log(`attack over quiet (median latency, same round): ${formatSpread(ratio)}`);
  console.log(`fake-vdsm CPU per attack pass: ${formatSpread(fakeCpu, 2, ' s')}; polite client served after the last: ${stillServed}`);
  const r3 = (value: number): number => Math.round(value * 1000) / 1000;
  console.log(
    JSON.stringify({
      benchmark: 'hostile',
      node: process.version,
      cores: availableParallelism(),
      loadavg_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      duration_s: settings.durationMs / 1000,
      repeats: rounds.length,
      greedy_calls: settings.calls,
      rss_baseline_mib: Math.round((baselineRss / MiB) * 10) / 10,
      rss_peak_mib: Math.round((peakRss / MiB) * 10) / 10,
      rss_peak_vs_baseline: Math.round((peakRss / baselineRss) * 100) / 100,
      ping2_quiet_median_ms: r3(quiet.median.median),
      ping2_attack_median_ms: r3(attack.median.median),
      ping2_quiet_p99_ms: r3(quiet.p99.median),
      ping2_attack_p99_ms: r3(attack.p99.median),
      ping2_latency_ratio: Math.round(ratio.median * 100) / 100,
      ping2_latency_ratio_median: r3(ratio.median),
      ping2_latency_ratio_min: r3(ratio.min),
      ping2_latency_ratio_max: r3(ratio.max),
      fake_cpu_s_during_attack: Math.round(fakeCpu.median * 100) / 100,
      served_after: stillServed,
    }),
  );
}
