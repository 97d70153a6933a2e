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
 * the client runs here. Each measurement warms up, then runs `--duration`.
 *
 * Targets: sequential >= 0.30 x echo (the protocol layers cost at most about
 * twice a bare round trip), pipelined >= 40,000 calls/s. The last line is a
 * JSON object with the numbers, ratios and pass/fail; nothing here fails the
 * process on a number. With `--profile DIR` the client (this process) and
 * fake-vdsm record CPU profiles of the measurements and the hottest
 * functions are printed.
 */
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { availableParallelism, cpus } from 'node:os';
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
  const profileArgs = settings.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', settings.profileDir, '--cpu-prof-name', 'fake-vdsm.cpuprofile', '--cpu-prof-interval', '100'];
  const fake = await spawnReady<FakeReady>([...profileArgs, ...fakeArgs], { cwd: ROOT });

  let client: VdsmClient | undefined;
  let results: { echo: Rate; sequential: Rate; pipelined: Rate };
  try {
    const echo = await measureEcho(echoServer.ready, settings);
    await echoServer.stop();

    client = new VdsmClient({ transport: 'tcp', host: fake.ready.stomp.host, port: fake.ready.stomp.port });
    await client.connect();
    const profiler = settings.profileDir === undefined ? undefined : await startProfiling();
    const sequential = await measure(settings, '(b) sequential', () => sequentialCalls(client!));
    const pipelined = await measure(settings, '(c) pipelined', () => pipelinedCalls(client!, settings.window));
    await profiler?.stop(join(settings.profileDir!, 'client.cpuprofile'));
    results = { echo, sequential, pipelined };
  } finally {
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

/** Warms `makeLoop()`'s loop up, then measures it for the set duration; says what it does on stderr. */
async function measure(settings: Settings, name: string, makeLoop: () => Loop): Promise<Rate> {
  process.stderr.write(`${name}: ${settings.warmupMs / 1000} s warm-up, ${settings.durationMs / 1000} s measured\n`);
  const loop = makeLoop();
  await loop(performance.now() + settings.warmupMs);
  const started = performance.now();
  const count = await loop(started + settings.durationMs);
  const seconds = (performance.now() - started) / 1000;
  return { count, seconds, perSecond: count / seconds };
}

// ---- (a) echo baseline ----

async function measureEcho(server: EchoReady, settings: Settings): Promise<Rate> {
  const socket = await new Promise<Socket>((resolveSocket, reject) => {
    const s = connect({ host: server.host, port: server.port }, () => resolveSocket(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  try {
    return await measure(settings, '(a) echo', () => echoRoundTrips(socket));
  } finally {
    socket.destroy();
  }
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
 * `window` calls in flight: each answer starts the next call until `until`;
 * resolves with the answers received by then, after the rest drained.
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
        if (performance.now() < until) {
          answered++;
          start();
        } else if (inFlight === 0) {
          resolveCount(answered);
        }
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
  console.log('client in this process; fake-vdsm and the echo server in child processes; TCP on 127.0.0.1\n');
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
  console.log('');
  console.log(
    JSON.stringify({
      benchmark: 'rpc',
      node: process.version,
      cores: availableParallelism(),
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
  for (const name of ['client', 'fake-vdsm']) {
    const file = join(dir, `${name}.cpuprofile`);
    try {
      console.log(`${formatProfileSummary(`${name} (${file})`, await summarizeProfile(file, ROOT))}\n`);
    } catch (error) {
      console.log(`${name}: no profile (${(error as Error).message})`);
    }
  }
}
