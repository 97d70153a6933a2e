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
 * The fake's RSS is read from /proc (Linux): its baseline after the quiet
 * pass, and its peak (VmHWM) at the end. The latency ratio is attack over
 * quiet in the same run. Prints readable lines, then one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VdsmClient } from '@vdsm-kit/client';
import { spawnReady } from './child-process.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MiB = 1024 * 1024;
const REQUESTS = 'jms.topic.vdsm_requests';
const CONNECT = 'CONNECT\naccept-version:1.2\n\n\0';

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
  const fake = await spawnReady<FakeReady>(['packages/fake-vdsm/dist/cli.js', 'serve', '--port', '0', '--log-level', 'warn'], { cwd: ROOT });
  const pid = fake.child.pid as number;
  const { host, port } = fake.ready.stomp;
  const client = new VdsmClient({ transport: 'tcp', host, port });
  const attack = new Attack(host, port);
  try {
    await client.connect();
    await pings(client, 1000); // warm-up
    const quiet = await latency(client, settings.durationMs);
    const baselineRss = await memory(pid, 'VmRSS');
    attack.start(settings.calls);
    const underAttack = await latency(client, settings.durationMs);
    const greedyRead = attack.stop();
    const peakRss = await memory(pid, 'VmHWM');
    const stillServed = await pings(client, 100).then(
      () => true,
      () => false,
    );
    report(settings, quiet, underAttack, baselineRss, peakRss, greedyRead, stillServed);
  } finally {
    attack.stop();
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

/** A line of /proc/<pid>/status, in bytes. */
async function memory(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

function send(body: string, extra = ''): string {
  return `SEND\ndestination:${REQUESTS}\nreply-to:hostile${extra}\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`;
}

/** The hostile clients, all at once, until stopped. */
class Attack {
  readonly #host: string;
  readonly #port: number;
  readonly #sockets = new Set<Socket>();
  readonly #timers: NodeJS.Timeout[] = [];
  #stopped = true;
  #greedyWritten = 0;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  start(calls: number): void {
    this.#stopped = false;
    for (let i = 0; i < 50; i++) this.#open(() => {}); // silent
    this.#greedy(calls);
    this.#nearLimitFrames(4);
    this.#every(200, () => this.#oneShot(`SEND\ndestination:${REQUESTS}\ncontent-length:${70 * MiB}\n\n`)); // over maxFrameSize
    this.#every(200, () => this.#oneShot(`SEND\nx:${'y'.repeat(20_000)}\n\n\0`)); // oversized header
    this.#every(100, () => this.#oneShot(Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256))))); // garbage
    this.#every(100, () => this.#oneShot(CONNECT + send('{"jsonrpc": ') + send('['.repeat(100_000) + ']'.repeat(100_000)))); // malformed JSON-RPC
    this.#every(50, () => this.#oneShot(CONNECT + send('{"jsonrpc": "2.0", "method": "Host.ping2", "id": 1}').slice(0, 60), true)); // mid-frame disconnect
    for (let i = 0; i < 20; i++) this.#slowLoris();
  }

  /** Stops everything; returns how many bytes the greedy connection managed to write. */
  stop(): number {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    return this.#greedyWritten;
  }

  #open(onConnect: (socket: Socket) => void): Socket {
    const socket = connect(this.#port, this.#host, () => onConnect(socket));
    socket.on('error', () => {});
    socket.on('close', () => this.#sockets.delete(socket));
    this.#sockets.add(socket);
    return socket;
  }

  #every(ms: number, what: () => void): void {
    this.#timers.push(setInterval(what, ms));
  }

  /** Connects, writes `bytes`, reads and drops whatever comes back; `hangUp` closes right after writing. */
  #oneShot(bytes: string | Buffer, hangUp = false): void {
    if (this.#stopped) return;
    this.#open((socket) => {
      socket.resume();
      socket.write(bytes);
      if (hangUp) socket.destroy();
      else setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  /** Pipelines `calls` ping2 and never reads. */
  #greedy(calls: number): void {
    this.#open((socket) => {
      socket.write(CONNECT + `SUBSCRIBE\ndestination:hostile-greedy\nid:g\n\n\0`);
      socket.pause();
      let next = 0;
      const pump = (): void => {
        while (next < calls && !this.#stopped) {
          const batch: string[] = [];
          for (let i = 0; i < 500 && next < calls; i++, next++) batch.push(send(`{"jsonrpc": "2.0", "method": "Host.ping2", "params": {}, "id": "g-${next}"}`, '-greedy'));
          const text = batch.join('');
          this.#greedyWritten += Buffer.byteLength(text);
          if (!socket.write(text)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  }

  /** `count` connections each sending most of a 60 MiB frame, slowly enough to overlap. */
  #nearLimitFrames(count: number): void {
    const chunk = Buffer.alloc(MiB, 0x20);
    for (let i = 0; i < count; i++) {
      this.#open((socket) => {
        socket.resume();
        socket.write(`SEND\ndestination:${REQUESTS}\ncontent-length:${60 * MiB}\n\n`);
        let sent = 0;
        const pump = (): void => {
          while (sent < 59 && !this.#stopped) {
            sent++;
            if (!socket.write(chunk)) {
              socket.once('drain', pump);
              return;
            }
          }
        };
        pump();
      });
    }
  }

  /** A frame one byte every 100 ms. */
  #slowLoris(): void {
    const frame = CONNECT + send('{"jsonrpc": "2.0", "method": "Host.ping2", "id": "slow"}');
    this.#open((socket) => {
      socket.resume();
      let at = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || at >= frame.length) clearInterval(timer);
        else socket.write(frame[at++] as string);
      }, 100);
      this.#timers.push(timer);
    });
  }
}

function report(settings: Settings, quiet: Latency, attack: Latency, baselineRss: number, peakRss: number, greedyWritten: number, stillServed: boolean): void {
  const ratio = attack.medianMs / quiet.medianMs;
  console.log(`hostile benchmark: Node ${process.version}, ${availableParallelism()} cores, ${settings.durationMs / 1000} s quiet + ${settings.durationMs / 1000} s under attack`);
  console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(`fake-vdsm RSS: baseline ${(baselineRss / MiB).toFixed(1)} MiB, peak ${(peakRss / MiB).toFixed(1)} MiB (${(peakRss / baselineRss).toFixed(2)}x)`);
  console.log(`polite ping2 quiet:        median ${quiet.medianMs.toFixed(3)} ms, p99 ${quiet.p99Ms.toFixed(3)} ms (${quiet.calls} calls)`);
  console.log(`polite ping2 under attack: median ${attack.medianMs.toFixed(3)} ms, p99 ${attack.p99Ms.toFixed(3)} ms (${attack.calls} calls), ${ratio.toFixed(2)}x quiet`);
  console.log(`greedy pipeliner wrote ${(greedyWritten / MiB).toFixed(1)} MiB of requests of ${settings.calls} calls before the attack ended; polite client served after it: ${stillServed}`);
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
      greedy_written_mib: Math.round((greedyWritten / MiB) * 10) / 10,
      served_after: stillServed,
    }),
  );
}
