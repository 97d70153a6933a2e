/**
 * `npm run bench -- rpc [--duration S] [--warmup S] [--window N] [--profile DIR]`
 *
 * How fast the client calls VDSM over TCP, against a baseline measured in
 * the same run on the same machine:
 *  (a) echo: one client writes a SEND-sized message (250 bytes) to a raw TCP
 *      echo server and waits for it back, one at a time;
 *  (b) sequential `Host.ping2` through `VdsmClient` to fake-vdsm, one at a time;
 *  (c) pipelined `Host.ping2`, `--window` (256) calls in flight.
 * Both servers run as child processes (a core each, as a host would have);
 * the client runs here. Everything warms up for `--warmup` first; then (a)
 * and (b) take turns in 3 rounds (`--duration` in all for each), and (c)
 * runs `--duration`.
 *
 * Targets: sequential >= 0.30 x echo, pipelined >= 40,000 calls/s. The last
 * line is a JSON object with the numbers, ratios and pass/fail; nothing here
 * fails the process on a number. With `--profile DIR`, the client is
 * profiled in extra passes of (b) and (c) after the measured ones, and
 * fake-vdsm for its whole life (`--cpu-prof`, which slows it a little: compare
 * numbers of runs without it); the hottest files and functions are printed.
 */
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VdsmClient } from '@vdsm-kit/client';
import { spawnReady } from './child-process.js';
import { formatProfileSummary, startProfiling, summarizeProfile } from './cpu-profile.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** About the size of the SEND frame of a `Host.ping2` request (headers with a UUID reply-to, JSON body with a UUID id). */
const ECHO_MESSAGE_BYTES = 250;

/** The targets the lead set for the RPC path on 2 cores. */
const TARGETS = { sequentialVsEcho: 0.3, pipelinedCallsPerS: 40_000 } as const;

/** Profile files with `--profile`: the client's per measurement, fake-vdsm's for its whole life. */
const CLIENT_PROFILES = { sequential: 'client-sequential.cpuprofile', pipelined: 'client-pipelined.cpuprofile' } as const;
const FAKE_PROFILE = 'fake-vdsm.cpuprofile';

interface Settings {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly window: number;
  readonly profileDir: string | undefined;
}

/** The ready line of `fake-vdsm serve` (the part used here). */
interface FakeReady {
  readonly stomp: { readonly host: string; readonly port: number };
}

/** The ready line of echo-server.ts. */
interface EchoReady {
  readonly host: string;
  readonly port: number;
}

/** A measured rate. */
interface Rate {
  readonly count: number;
  readonly seconds: number;
  readonly perSecond: number;
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = readSettings(args);
  if (settings.profileDir !== undefined) await mkdir(settings.profileDir, { recursive: true });

  const echoServer = await spawnReady<EchoReady>(['--import', 'tsx', 'bench/echo-server.ts'], { cwd: ROOT });
  const fakeArgs = ['packages/fake-vdsm/dist/cli.js', 'serve', '--port', '0', '--log-level', 'warn'];
  // --cpu-prof writes the profile when the process exits; fake-vdsm exits cleanly on SIGTERM.
  const profileArgs = settings.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', settings.profileDir, '--cpu-prof-name', FAKE_PROFILE, '--cpu-prof-interval', '100'];
  const fake = await spawnReady<FakeReady>([...profileArgs, ...fakeArgs], { cwd: ROOT });

  let echoSocket: Socket | undefined;
  let client: VdsmClient | undefined;
  let results: { echo: Rate; sequential: Rate; pipelined: Rate };
  try {
    echoSocket = await connectEcho(echoServer.ready);
    client = new VdsmClient({ transport: 'tcp', host: fake.ready.stomp.host, port: fake.ready.stomp.port });
    await client.connect();
    const echoLoop = echoRoundTrips(echoSocket);
    const sequentialLoop = sequentialCalls(client);
    const pipelinedLoop = pipelinedCalls(client, settings.window);

    progress(`warm-up: ${settings.warmupMs / 1000} s each`);
    for (const loop of [echoLoop, sequentialLoop, pipelinedLoop]) await loop(performance.now() + settings.warmupMs);

    // (a) and (b) are both latency-bound, so they take turns: whatever the
    // machine does meanwhile (other load, CPU sleep states) weighs on both
    // alike and their ratio stays meaningful.
    const slice = settings.durationMs / ROUNDS;
    const echo: Rate[] = [];
    const sequential: Rate[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round}/${ROUNDS}: (a) echo then (b) sequential, ${slice / 1000} s each`);
      echo.push(await timed(echoLoop, slice));
      sequential.push(await timed(sequentialLoop, slice));
    }
    progress(`(c) pipelined, ${settings.window} in flight: ${settings.durationMs / 1000} s`);
    const pipelined = await timed(pipelinedLoop, settings.durationMs);
    results = { echo: combine(echo), sequential: combine(sequential), pipelined };

    if (settings.profileDir !== undefined) {
      // Extra passes, so no reported number comes from a profiled run of the client.
      progress('profiling the client: (b) then (c)');
      await profiled(join(settings.profileDir, CLIENT_PROFILES.sequential), () => timed(sequentialLoop, settings.durationMs));
      await profiled(join(settings.profileDir, CLIENT_PROFILES.pipelined), () => timed(pipelinedLoop, settings.durationMs));
    }
  } finally {
    echoSocket?.destroy();
    await client?.close();
    await echoServer.stop();
    // Also makes fake-vdsm write its profile.
    await fake.stop();
  }
  // Profiles first: the report's JSON object must be the last line.
  if (settings.profileDir !== undefined) await printProfiles(settings.profileDir);
  report(settings, results.echo, results.sequential, results.pipelined);
}

function readSettings(args: readonly string[]): Settings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      duration: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      window: { type: 'string', default: '256' },
      profile: { type: 'string' },
    },
  });
  const seconds = (name: string, text: string): number => {
    const value = Number(text);
    if (!(value > 0)) throw new Error(`--${name} must be a number of seconds > 0, not ${text}`);
    return value * 1000;
  };
  const window = Number(values.window);
  if (!Number.isInteger(window) || window < 1) throw new Error(`--window must be a positive integer, not ${values.window}`);
  return {
    durationMs: seconds('duration', values.duration),
    warmupMs: seconds('warmup', values.warmup),
    window,
    profileDir: values.profile === undefined ? undefined : resolve(values.profile),
  };
}

/** A loop that runs until `until` (a `performance.now()` time) and resolves with how many operations it completed. */
type Loop = (until: number) => Promise<number>;

/** How many turns (a) and (b) take; each runs `duration / ROUNDS` per turn. */
const ROUNDS = 3;

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Runs `loop` for `ms` and returns its rate. */
async function timed(loop: Loop, ms: number): Promise<Rate> {
  const started = performance.now();
  const count = await loop(started + ms);
  const seconds = (performance.now() - started) / 1000;
  return { count, seconds, perSecond: count / seconds };
}

/** The rate over several runs: all operations over all the time. */
function combine(rates: readonly Rate[]): Rate {
  const count = rates.reduce((sum, rate) => sum + rate.count, 0);
  const seconds = rates.reduce((sum, rate) => sum + rate.seconds, 0);
  return { count, seconds, perSecond: count / seconds };
}

/** Runs `work` while recording this process's CPU profile into `file`. */
async function profiled(file: string, work: () => Promise<unknown>): Promise<void> {
  const profiler = await startProfiling();
  try {
    await work();
  } finally {
    await profiler.stop(file);
  }
}

// ---- (a) echo baseline ----

async function connectEcho(server: EchoReady): Promise<Socket> {
  const socket = await new Promise<Socket>((resolveSocket, reject) => {
    const s = connect({ host: server.host, port: server.port }, () => resolveSocket(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  return socket;
}

/**
 * Sequential round trips, one awaited promise each like a client call: write
 * the message, wait until as many bytes came back (TCP may split them).
 */
function echoRoundTrips(socket: Socket): Loop {
  const message = Buffer.alloc(ECHO_MESSAGE_BYTES, 'x');
  let received = 0;
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received >= ECHO_MESSAGE_BYTES && waiting !== undefined) {
      received -= ECHO_MESSAGE_BYTES;
      const done = waiting;
      waiting = undefined;
      done();
    }
  });
  const roundTrip = (): Promise<void> =>
    new Promise((done) => {
      waiting = done;
      socket.write(message);
    });
  return async (until) => {
    let count = 0;
    while (performance.now() < until) {
      await roundTrip();
      count++;
    }
    return count;
  };
}

// ---- (b), (c) Host.ping2 ----

/** One `Host.ping2` at a time through the typed API (param validation included, as users call it). */
function sequentialCalls(client: VdsmClient): Loop {
  return async (until) => {
    let count = 0;
    while (performance.now() < until) {
      await client.Host.ping2();
      count++;
    }
    return count;
  };
}

/**
 * `window` calls in flight: each answer starts the next call until `until`,
 * then the last calls drain. Resolves with every answer, drained ones
 * included, since the drain is inside the time `timed` measures.
 */
function pipelinedCalls(client: VdsmClient, window: number): Loop {
  return (until) =>
    new Promise((resolveCount, reject) => {
      let answered = 0;
      let inFlight = 0;
      let failed = false;
      const start = (): void => {
        inFlight++;
        client.Host.ping2().then(onAnswer, onError);
      };
      const onAnswer = (): void => {
        inFlight--;
        if (failed) return;
        answered++;
        if (performance.now() < until) start();
        else if (inFlight === 0) resolveCount(answered);
      };
      const onError = (error: unknown): void => {
        failed = true;
        reject(error);
      };
      for (let i = 0; i < window; i++) start();
    });
}

// ---- output ----

function report(settings: Settings, echo: Rate, sequential: Rate, pipelined: Rate): void {
  const sequentialVsEcho = sequential.perSecond / echo.perSecond;
  const pipelinedVsEcho = pipelined.perSecond / echo.perSecond;
  const sequentialPass = sequentialVsEcho >= TARGETS.sequentialVsEcho;
  const pipelinedPass = pipelined.perSecond >= TARGETS.pipelinedCallsPerS;
  const verdict = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');

  const rows: string[][] = [
    ['measurement', 'ops', 'seconds', 'ops/s', 'vs echo', 'target', ''],
    ['(a) TCP echo round trips, 250 B', ...numbers(echo), '1.00x', '', ''],
    ['(b) Host.ping2 sequential', ...numbers(sequential), `${sequentialVsEcho.toFixed(2)}x`, `>= ${TARGETS.sequentialVsEcho.toFixed(2)}x echo`, verdict(sequentialPass)],
    [`(c) Host.ping2 pipelined, ${settings.window} in flight`, ...numbers(pipelined), `${pipelinedVsEcho.toFixed(2)}x`, `>= ${TARGETS.pipelinedCallsPerS.toLocaleString('en-US')}/s`, verdict(pipelinedPass)],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`rpc benchmark: Node ${process.version}, ${availableParallelism()} cores (${cpu}), ${settings.warmupMs / 1000} s warm-up + ${settings.durationMs / 1000} s each`);
  console.log('client in this process; fake-vdsm and the echo server in child processes; TCP on 127.0.0.1');
  // (a) and (b) are latency-bound: on an idle machine each wake-up from a CPU
  // sleep state adds to every round trip, so both drop together; the ratio
  // is the figure to compare, and the load says how busy the machine was.
  console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')}\n`);
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
  console.log('');
  console.log(
    JSON.stringify({
      benchmark: 'rpc',
      node: process.version,
      cores: availableParallelism(),
      loadavg_1m: round(loadavg()[0] ?? 0, 2),
      duration_s: settings.durationMs / 1000,
      echo_message_bytes: ECHO_MESSAGE_BYTES,
      echo_roundtrips_per_s: round(echo.perSecond),
      sequential_calls_per_s: round(sequential.perSecond),
      pipelined_calls_per_s: round(pipelined.perSecond),
      pipelined_window: settings.window,
      sequential_vs_echo: round(sequentialVsEcho, 3),
      pipelined_vs_echo: round(pipelinedVsEcho, 3),
      targets: { sequential_vs_echo_min: TARGETS.sequentialVsEcho, pipelined_calls_per_s_min: TARGETS.pipelinedCallsPerS },
      sequential_vs_echo_pass: sequentialPass,
      pipelined_pass: pipelinedPass,
      pass: sequentialPass && pipelinedPass,
    }),
  );
}

function numbers(rate: Rate): string[] {
  return [rate.count.toLocaleString('en-US'), rate.seconds.toFixed(2), Math.round(rate.perSecond).toLocaleString('en-US')];
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Prints where both processes spent their CPU time. */
async function printProfiles(dir: string): Promise<void> {
  const profiles: [title: string, file: string][] = [
    ['client, (b) sequential', CLIENT_PROFILES.sequential],
    ['client, (c) pipelined', CLIENT_PROFILES.pipelined],
    ['fake-vdsm, whole run (idle during (a))', FAKE_PROFILE],
  ];
  for (const [title, name] of profiles) {
    const file = join(dir, name);
    try {
      console.log(`${formatProfileSummary(`${title}: ${file}`, await summarizeProfile(file, ROOT))}\n`);
    } catch (error) {
      console.log(`${title}: no profile (${(error as Error).message})\n`);
    }
  }
}
