/**
 * `npm run bench -- hostile [--duration S] [--calls N]`
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
 * pass, and its peak (VmHWM) at the end. The latency ratio is attack over
 * quiet in the same run. Prints readable lines, then one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VdsmClient } from '@vdsm-kit/client';
import { spawnReady } from './child-process.js';
import type { ReadyChild } from './child-process.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MiB = 1024 * 1024;

interface FakeReady {
  readonly stomp: { readonly host: string; readonly port: number };
}

interface Settings {
  readonly durationMs: number;
  readonly calls: number;
}

interface Latency {
  readonly calls: number;
  readonly medianMs: number;
  readonly p99Ms: number;
}

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({ args: [...args], options: { duration: { type: 'string', default: '5' }, calls: { type: 'string', default: '200000' } } });
  const settings: Settings = { durationMs: Number(values.duration) * 1000, calls: Number(values.calls) };
  // Error level: every hostile connection would log a warning, and the logging is not what is measured.
  const fake = await spawnReady<FakeReady>(['packages/fake-vdsm/dist/cli.js', 'serve', '--port', '0', '--log-level', 'error'], { cwd: ROOT });
  const pid = fake.child.pid as number;
  const { host, port } = fake.ready.stomp;
  const client = new VdsmClient({ transport: 'tcp', host, port });
  let attacker: ReadyChild<unknown> | undefined;
  try {
    await client.connect();
    await pings(client, 1000); // warm-up
    const quiet = await latency(client, settings.durationMs);
    const baselineRss = await memory(pid, 'VmRSS');
    const cpuBefore = await cpuSeconds(pid);
    attacker = await spawnReady(['--import', 'tsx', 'bench/hostile-attacker.ts', host, String(port), String(settings.calls)], { cwd: ROOT });
    const underAttack = await latency(client, settings.durationMs);
    await attacker.stop();
    const fakeCpu = (await cpuSeconds(pid)) - cpuBefore;
    const peakRss = await memory(pid, 'VmHWM');
    const stillServed = await pings(client, 100).then(
      () => true,
      () => false,
    );
    report(settings, quiet, underAttack, baselineRss, peakRss, fakeCpu, stillServed);
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

function report(settings: Settings, quiet: Latency, attack: Latency, baselineRss: number, peakRss: number, fakeCpu: number, stillServed: boolean): void {
  const ratio = attack.medianMs / quiet.medianMs;
  console.log(`hostile benchmark: Node ${process.version}, ${availableParallelism()} cores, ${settings.durationMs / 1000} s quiet + ${settings.durationMs / 1000} s under attack`);
  console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(`fake-vdsm RSS: baseline ${(baselineRss / MiB).toFixed(1)} MiB, peak ${(peakRss / MiB).toFixed(1)} MiB (${(peakRss / baselineRss).toFixed(2)}x)`);
  console.log(`polite ping2 quiet:        median ${quiet.medianMs.toFixed(3)} ms, p99 ${quiet.p99Ms.toFixed(3)} ms (${quiet.calls} calls)`);
  console.log(`polite ping2 under attack: median ${attack.medianMs.toFixed(3)} ms, p99 ${attack.p99Ms.toFixed(3)} ms (${attack.calls} calls), ${ratio.toFixed(2)}x quiet`);
  console.log(`fake-vdsm CPU during the attack: ${fakeCpu.toFixed(2)} s in ${settings.durationMs / 1000} s; polite client served after it: ${stillServed}`);
  console.log(
    JSON.stringify({
      benchmark: 'hostile',
      node: process.version,
      cores: availableParallelism(),
      loadavg_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      duration_s: settings.durationMs / 1000,
      greedy_calls: settings.calls,
      rss_baseline_mib: Math.round((baselineRss / MiB) * 10) / 10,
      rss_peak_mib: Math.round((peakRss / MiB) * 10) / 10,
      rss_peak_vs_baseline: Math.round((peakRss / baselineRss) * 100) / 100,
      ping2_quiet_median_ms: Math.round(quiet.medianMs * 1000) / 1000,
      ping2_attack_median_ms: Math.round(attack.medianMs * 1000) / 1000,
      ping2_quiet_p99_ms: Math.round(quiet.p99Ms * 1000) / 1000,
      ping2_attack_p99_ms: Math.round(attack.p99Ms * 1000) / 1000,
      ping2_latency_ratio: Math.round(ratio * 100) / 100,
      fake_cpu_s_during_attack: Math.round(fakeCpu * 100) / 100,
      served_after: stillServed,
    }),
  );
}
