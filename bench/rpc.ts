/**
 * `npm run bench -- rpc [--duration S] [--warmup S] [--repeats N] [--window N] [--profile DIR]`
 *
 * How fast the client calls VDSM over TCP, against baselines measured in
 * the same run on the same machine:
 *  (a) echo: one client writes a SEND-sized message (250 bytes) to a raw TCP
 *      echo server and waits for it back, one at a time;
 *  (b) sequential `Host.ping2` through `VdsmClient` to fake-vdsm, one at a time;
 *  (c) pipelined echo: `--window` (256) messages in flight, each one back
 *      sends the next (writes corked per tick, as the STOMP channels do);
 *  (d) pipelined `Host.ping2`, `--window` calls in flight.
 * Both servers run as child processes (a core each, as a host would have);
 * the client runs here. Everything warms up for `--warmup` first; then
 * `--repeats` (5) rounds run (a), (b), (c), (d) in turn, `--duration` (1 s)
 * each, so whatever else the machine does weighs on both sides of a ratio
 * alike. Each ratio is taken within a round and printed as its median and
 * min-max over the rounds.
 *
 * Targets (issue 13): sequential >= 0.8 x echo, pipelined >= 100,000 calls/s,
 * both on the median. The last line is a JSON object with the numbers,
 * ratios and pass/fail; nothing here fails the process on a number. With
 * `--profile DIR`, the client is profiled in extra passes of (b) and (d)
 * after the measured ones, and fake-vdsm for its whole life (`--cpu-prof`,
 * which slows it a little: compare numbers of runs without it); the hottest
 * files and functions are printed.
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
import { cpuPressure } from './machine-state.js';
import { formatSpread, spreadOf } from './spread.js';
import type { Spread } from './spread.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** About the size of the SEND frame of a `Host.ping2` request (headers with a UUID reply-to, JSON body with a UUID id). */
const ECHO_MESSAGE_BYTES = 250;

/** The targets of issue 13 for the RPC path on 2 cores. */
const TARGETS = { sequentialVsEcho: 0.8, pipelinedCallsPerS: 100_000 } as const;

/** Profile files with `--profile`: the client's per measurement, fake-vdsm's for its whole life. */
const CLIENT_PROFILES = { sequential: 'client-sequential.cpuprofile', pipelined: 'client-pipelined.cpuprofile' } as const;
const FAKE_PROFILE = 'fake-vdsm.cpuprofile';

interface Settings {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly repeats: number;
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

/** One round: a rate of each of the four measurements. */
interface Round {
  readonly echo: Rate;
  readonly sequential: Rate;
  readonly echoPipelined: Rate;
  readonly pipelined: Rate;
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = readSettings(args);
  if (settings.profileDir !== undefined) await mkdir(settings.profileDir, { recursive: true });

  const echoServer = await spawnReady<EchoReady>(['--import', 'tsx', 'bench/echo-server.ts'], { cwd: ROOT });
  const fakeArgs = ['packages/fake-vdsm/dist/cli.js', 'serve', '--port', '0', '--log-level', 'warn'];
  // --cpu-prof writes the profile when the process exits; fake-vdsm exits cleanly on SIGTERM.
  const profileArgs = settings.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', settings.profileDir, '--cpu-prof-name', FAKE_PROFILE, '--cpu-prof-interval', '100'];
  const fake = await spawnReady<FakeReady>([...profileArgs, ...fakeArgs], { cwd: ROOT });

  const sockets: Socket[] = [];
  let client: VdsmClient | undefined;
  const rounds: Round[] = [];
  try {
    // One connection per echo measurement: a pipelined pass must not leave bytes for the sequential one.
    const echoSequentialSocket = await connectEcho(echoServer.ready);
    const echoPipelinedSocket = await connectEcho(echoServer.ready);
    sockets.push(echoSequentialSocket, echoPipelinedSocket);
    client = new VdsmClient({ transport: 'tcp', host: fake.ready.stomp.host, port: fake.ready.stomp.port });
    await client.connect();
    const echoLoop = echoRoundTrips(echoSequentialSocket);
    const sequentialLoop = sequentialCalls(client);
    const echoPipelinedLoop = pipelinedEcho(echoPipelinedSocket, settings.window);
    const pipelinedLoop = pipelinedCalls(client, settings.window);

    progress(`warm-up: ${settings.warmupMs / 1000} s each`);
    for (const loop of [echoLoop, sequentialLoop, echoPipelinedLoop, pipelinedLoop]) await loop(performance.now() + settings.warmupMs);

    // All four take turns within a round: whatever the machine does meanwhile
    // (other load, CPU sleep states) weighs on both sides of a ratio alike.
    for (let round = 1; round <= settings.repeats; round++) {
      progress(`round ${round}/${settings.repeats}: (a) echo, (b) sequential, (c) pipelined echo, (d) pipelined, ${settings.durationMs / 1000} s each`);
      rounds.push({
        echo: await timed(echoLoop, settings.durationMs),
        sequential: await timed(sequentialLoop, settings.durationMs),
        echoPipelined: await timed(echoPipelinedLoop, settings.durationMs),
        pipelined: await timed(pipelinedLoop, settings.durationMs),
      });
    }

    if (settings.profileDir !== undefined) {
      // Extra passes, so no reported number comes from a profiled run of the client.
      progress('profiling the client: (b) then (d)');
      await profiled(join(settings.profileDir, CLIENT_PROFILES.sequential), () => timed(sequentialLoop, settings.durationMs));
      await profiled(join(settings.profileDir, CLIENT_PROFILES.pipelined), () => timed(pipelinedLoop, settings.durationMs));
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await client?.close();
    await echoServer.stop();
    // Also makes fake-vdsm write its profile.
    await fake.stop();
  }
  // Profiles first: the report's JSON object must be the last line.
  if (settings.profileDir !== undefined) await printProfiles(settings.profileDir);
  report(settings, rounds, await cpuPressure());
}

function readSettings(args: readonly string[]): Settings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      duration: { type: 'string', default: '1' },
      warmup: { type: 'string', default: '1' },
      repeats: { type: 'string', default: '5' },
      window: { type: 'string', default: '256' },
      profile: { type: 'string' },
    },
  });
  const seconds = (name: string, text: string): number => {
    const value = Number(text);
    if (!(value > 0)) throw new Error(`--${name} must be a number of seconds > 0, not ${text}`);
    return value * 1000;
  };
  const positiveInteger = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, not ${text}`);
    return value;
  };
  return {
    durationMs: seconds('duration', values.duration),
    warmupMs: seconds('warmup', values.warmup),
    repeats: positiveInteger('repeats', values.repeats),
    window: positiveInteger('window', values.window),
    profileDir: values.profile === undefined ? undefined : resolve(values.profile),
  };
}

/** A loop that runs until `until` (a `performance.now()` time) and resolves with how many operations it completed. */
type Loop = (until: number) => Promise<number>;

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

/**
 * `window` messages in flight on their own connection: every message that
 * came back whole sends the next until `until`, then the rest drain. Writes
 * made in one tick leave in one `writev`, as the STOMP channels send theirs,
 * so this is what the socket allows a pipelined peer that does no work.
 */
function pipelinedEcho(socket: Socket, window: number): Loop {
  const message = Buffer.alloc(ECHO_MESSAGE_BYTES, 'x');
  let pending = 0;
  let onChunk: ((bytes: number) => void) | undefined;
  socket.on('data', (chunk: Buffer) => onChunk?.(chunk.length));
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  const send = (): void => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    socket.write(message);
  };
  return (until) =>
    new Promise((resolveCount) => {
      let answered = 0;
      let inFlight = 0;
      onChunk = (bytes) => {
        pending += bytes;
        while (pending >= ECHO_MESSAGE_BYTES) {
          pending -= ECHO_MESSAGE_BYTES;
          inFlight--;
          answered++;
          if (performance.now() < until) {
            inFlight++;
            send();
          }
        }
        if (inFlight === 0) {
          onChunk = undefined;
          resolveCount(answered);
        }
      };
      for (let i = 0; i < window; i++) {
        inFlight++;
        send();
      }
    });
}

// ---- (b), (d) Host.ping2 ----

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

function report(settings: Settings, rounds: readonly Round[], pressure: number | undefined): void {
  const of = (pick: (round: Round) => number): Spread => spreadOf(rounds.map(pick));
  const rate = {
    echo: of((r) => r.echo.perSecond),
    sequential: of((r) => r.sequential.perSecond),
    echoPipelined: of((r) => r.echoPipelined.perSecond),
    pipelined: of((r) => r.pipelined.perSecond),
  };
  // Each ratio within its round, where both sides saw the same machine.
  const ratio = {
    sequentialVsEcho: of((r) => r.sequential.perSecond / r.echo.perSecond),
    pipelinedVsEcho: of((r) => r.pipelined.perSecond / r.echo.perSecond),
    pipelinedVsEchoPipelined: of((r) => r.pipelined.perSecond / r.echoPipelined.perSecond),
  };
  const sequentialPass = ratio.sequentialVsEcho.median >= TARGETS.sequentialVsEcho;
  const pipelinedPass = rate.pipelined.median >= TARGETS.pipelinedCallsPerS;
  const verdict = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');
  const perSecond = (spread: Spread): string => `${grouped(spread.median)} (${grouped(spread.min)}-${grouped(spread.max)})`;

  const rows: string[][] = [
    ['measurement', 'ops/s median (min-max)', 'vs (a) echo', 'vs (c) pipelined echo', 'target', ''],
    ['(a) TCP echo round trips, 250 B', perSecond(rate.echo), '1.00x', '', '', ''],
    ['(b) Host.ping2 sequential', perSecond(rate.sequential), formatSpread(ratio.sequentialVsEcho), '', `>= ${TARGETS.sequentialVsEcho.toFixed(2)}x echo`, verdict(sequentialPass)],
    [`(c) TCP echo pipelined, ${settings.window} in flight`, perSecond(rate.echoPipelined), '', '1.00x', '', ''],
    [`(d) Host.ping2 pipelined, ${settings.window} in flight`, perSecond(rate.pipelined), formatSpread(ratio.pipelinedVsEcho), formatSpread(ratio.pipelinedVsEchoPipelined), `>= ${grouped(TARGETS.pipelinedCallsPerS)}/s`, verdict(pipelinedPass)],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const load = loadavg();
  console.log(`rpc benchmark: Node ${process.version}, ${availableParallelism()} cores (${cpu}), ${settings.warmupMs / 1000} s warm-up, ${settings.repeats} rounds of ${settings.durationMs / 1000} s each`);
  console.log('client in this process; fake-vdsm and the echo server in child processes; TCP on 127.0.0.1');
  // (a) and (b) are latency-bound: on an idle machine each wake-up from a CPU
  // sleep state adds to every round trip, so both drop together; the ratio
  // is the figure to compare, and the load says how busy the machine was.
  console.log(`load average at the end: ${load.map((value) => value.toFixed(2)).join(' ')}; CPU pressure (some avg60): ${pressure === undefined ? 'n/a' : `${pressure} %`}\n`);
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
  console.log('');
  const spreadKeys = (name: string, spread: Spread, digits: number): Record<string, number> => ({
    [`${name}_median`]: round(spread.median, digits),
    [`${name}_min`]: round(spread.min, digits),
    [`${name}_max`]: round(spread.max, digits),
  });
  console.log(
    JSON.stringify({
      benchmark: 'rpc',
      node: process.version,
      cores: availableParallelism(),
      loadavg_1m: round(load[0] ?? 0, 2),
      loadavg: load.map((value) => round(value, 2)),
      cpu_pressure_some_avg60: pressure ?? null,
      duration_s: settings.durationMs / 1000,
      repeats: settings.repeats,
      echo_message_bytes: ECHO_MESSAGE_BYTES,
      // The figures without a suffix are the medians over the rounds.
      echo_roundtrips_per_s: round(rate.echo.median),
      sequential_calls_per_s: round(rate.sequential.median),
      pipelined_calls_per_s: round(rate.pipelined.median),
      ...spreadKeys('pipelined_calls_per_s', rate.pipelined, 0),
      echo_pipelined_per_s: round(rate.echoPipelined.median),
      pipelined_window: settings.window,
      sequential_vs_echo: round(ratio.sequentialVsEcho.median, 3),
      ...spreadKeys('sequential_vs_echo', ratio.sequentialVsEcho, 3),
      pipelined_vs_echo: round(ratio.pipelinedVsEcho.median, 3),
      ...spreadKeys('pipelined_vs_echo', ratio.pipelinedVsEcho, 3),
      pipelined_vs_echo_pipelined: round(ratio.pipelinedVsEchoPipelined.median, 3),
      ...spreadKeys('pipelined_vs_echo_pipelined', ratio.pipelinedVsEchoPipelined, 3),
      targets: { sequential_vs_echo_min: TARGETS.sequentialVsEcho, pipelined_calls_per_s_min: TARGETS.pipelinedCallsPerS },
      sequential_vs_echo_pass: sequentialPass,
      pipelined_pass: pipelinedPass,
      pass: sequentialPass && pipelinedPass,
    }),
  );
}

function grouped(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Prints where both processes spent their CPU time. */
async function printProfiles(dir: string): Promise<void> {
  const profiles: [title: string, file: string][] = [
    ['client, (b) sequential', CLIENT_PROFILES.sequential],
    ['client, (d) pipelined', CLIENT_PROFILES.pipelined],
    ['fake-vdsm, whole run (idle during (a) and (c))', FAKE_PROFILE],
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
