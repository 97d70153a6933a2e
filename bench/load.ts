/**
 * `npm run bench -- load [--connections N] [--calls N] [--in-flight N]`
 *
 * The figures of test/load.test.ts: N (200) VdsmClients over real sockets,
 * each making `--calls` (500) calls with `--in-flight` (4) at once, against
 * a fake VDSM in a process of its own (test/support/fake-child.ts) while
 * three disks are copied to the block domain and deleted again over and
 * over. Prints calls/s, latency quantiles, and the fake's heap + Buffers
 * after a full GC (baseline, halfway with every connection busy, after the
 * clients left) and its peak RSS; then one JSON line.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadFixture, moveWhile, quantile, runCallLoad } from '../test/support/call-load.js';
import { startFakeChild } from '../test/support/fake-child.js';
import type { FakeMemory } from '../test/support/fake-child.js';
import { TeardownHelper } from '../test/support/teardown.js';

const MiB = 1024 * 1024;
const retained = (memory: FakeMemory): number => memory.heapUsed + memory.external;
const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;

export async function run(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: { connections: { type: 'string', default: '200' }, calls: { type: 'string', default: '500' }, 'in-flight': { type: 'string', default: '4' } },
  });
  const connections = Number(values.connections);
  const callsPerConnection = Number(values.calls);
  const td = new TeardownHelper();
  try {
    const { fixture, disks } = loadFixture(3);
    const fake = await startFakeChild(td, { fixture, timeScale: 0.05 });
    const baseline = await fake.memory();
    let halfway: FakeMemory | undefined;
    const load = runCallLoad(fake.ready.stomp, {
      connections,
      callsPerConnection,
      inFlight: Number(values['in-flight']),
      atHalfway: async () => {
        halfway = await fake.memory();
      },
    });
    const moves = await moveWhile(fake.ready.stomp, disks, load);
    const result = await load;
    const after = await fake.memory();
    const busy = halfway ?? after;
    const callsPerSecond = result.answered / (result.durationMs / 1000);
    console.log(`load benchmark: Node ${process.version}, ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`${connections} connections x ${callsPerConnection} calls: ${result.answered} answered, ${result.failed} failed, in ${(result.durationMs / 1000).toFixed(1)} s (${callsPerSecond.toFixed(0)} calls/s)`);
    console.log(`latency: median ${quantile(result.latenciesMs, 0.5).toFixed(1)} ms, p99 ${quantile(result.latenciesMs, 0.99).toFixed(1)} ms, max ${quantile(result.latenciesMs, 1).toFixed(1)} ms`);
    console.log(`disk copies meanwhile: ${moves.moved} done, ${moves.failures.length} failed`);
    console.log(
      `fake heap+external after GC: baseline ${mib(retained(baseline))} MiB, busy ${mib(retained(busy))} MiB ` +
        `(${((retained(busy) - retained(baseline)) / connections / 1024).toFixed(1)} KiB per connection), after ${mib(retained(after))} MiB; peak RSS ${mib(after.peakRss)} MiB`,
    );
    console.log(
      JSON.stringify({
        benchmark: 'load',
        node: process.version,
        cores: availableParallelism(),
        loadavg_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
        connections,
        calls_per_connection: callsPerConnection,
        answered: result.answered,
        failed: result.failed,
        calls_per_s: Math.round(callsPerSecond),
        latency_median_ms: Math.round(quantile(result.latenciesMs, 0.5) * 10) / 10,
        latency_p99_ms: Math.round(quantile(result.latenciesMs, 0.99) * 10) / 10,
        copies_done: moves.moved,
        copies_failed: moves.failures.length,
        fake_retained_baseline_mib: mib(retained(baseline)),
        fake_retained_busy_mib: mib(retained(busy)),
        fake_retained_after_mib: mib(retained(after)),
        fake_peak_rss_mib: mib(after.peakRss),
      }),
    );
    await fake.close();
  } finally {
    await td.run();
  }
}
