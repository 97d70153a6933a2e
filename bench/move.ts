/**
 * `npm run bench -- move [--runs N] [--moves-per-side K] [--settle-ms MS]
 *   [--time-scale F] [--poll-interval-ms MS] [--first-early-poll-ms MS] [--size-gib N]
 *   [--data-mib N] [--wipe-rate MiBps] [--swarm N] [--submission-window N]
 *   [--dir DIR] [--skip-swarm]`
 *
 * engine-move's copy-then-delete flow against the legacy single verb
 * (`Image.move` operation move), both run by the same MoveOrchestrator
 * against fake-vdsm (`fake-vdsm serve`, a child process with a core of its
 * own) in the same run, on the same disk: a RAW PREALLOCATED disk of
 * `--size-gib` (10) GiB virtual size holding `--data-mib` (1024) MiB of data
 * in 16 pieces, moved back and forth between two block domains (postZero
 * only applies to a block-domain source; block -> block is used throughout).
 *
 *  1. wipe: `wipeAfterDelete`, postZero paced at `--wipe-rate` (100) MiB/s of
 *     volume size on the fake's storage clock, which runs `--time-scale`
 *     (0.02) times real time (a 102.4 s wipe of 10 GiB takes 2 s). The figure
 *     is `available_ratio`: time from moveDisk to the disk being usable on
 *     the target, new flow over legacy. Beside it the expected figure
 *     copy / (copy + wipe), from the new flow's own copy and delete phases.
 *  2. no wipe: `nowipe_total_ratio`, total time (moveDisk to doneAt), new
 *     over legacy. The aim is <= 1.05: the orchestrator's early polls after
 *     each submission win back the second verb's detection delay.
 *  3. SDM path (issue 12), in the wipe pairs: a third side moves the same disk
 *     by SDM host jobs (structure by the SPM, data by `SDM.copy_data` on host
 *     2 of the fake's two). `available_ratio_sdm` is its available time over
 *     legacy's; `spm_calls_sdm_over_spm` the JSON-RPC calls that reached the
 *     SPM (host 1, from the fake's own call log, `GET /calls`) during an SDM
 *     move over those during the SPM path's copy-then-delete move of the same
 *     disk: what the SDM path takes off the SPM.
 *  A side is `--moves-per-side` (1) moves of one flow, its times their sum;
 *  a side lasts seconds (the copy), many poll intervals. Each
 *  ratio comes from `--runs` (5) pairs of sides, a wipe pair and a no-wipe
 *  pair in turn, the order inside a pair alternating (new first, then legacy
 *  first), and is printed per pair with its median, min and max. Two warm-up
 *  moves (one of each flow, no wipe) come first and are not counted.
 *
 *  Before each move the bench waits `--settle-ms` (5000) so that every copy
 *  starts from the same state. On this kind of machine (a nested VM that
 *  reports free pages to its host, dmesg "Free page reporting enabled") a
 *  copy's cost depends on how long the machine's memory sat idle before it:
 *  qemu-img convert of this disk, measured on its own, takes 0.5-0.9 s (0.5 s
 *  of kernel time) when it starts right after the previous copy, and 4.8-9.9 s
 *  (3.2-4.5 s of kernel time, 62% of it in copy_folio_from_iter_atomic,
 *  writing the new page cache, against 19% when fast) after a 6 s pause. A
 *  primer that writes and frees 1.2 GiB just before the copy does not make it
 *  fast again; which host mechanism it is was not pinned down. The bench used
 *  to run `sync` (0.6-1 s: every process's dirty data) and then the move,
 *  which put the gap at that edge: copies came out 2-5x slower at random,
 *  whichever side drew them, and a pair's ratio with them. With the settle
 *  every copy pays the slow state (kernel time 2.0-3.9 s a copy in the bench,
 *  by mode alike); its wall time still varies with the machine's load, which
 *  the report states (load average, CPU pressure), so five pairs still
 *  spread widely on a busy machine: read the median with min and max.
 *
 * The orchestrator's hot path: one status answer for 1,000 tasks, from the
 * JSON body to every waiting move told its end (bench/status-poll.ts),
 * printed per task (`status_poll_us_per_task`, median and min-max).
 *
 * Polling: the production interval (10 s) and first early poll (250 ms)
 * scaled by `--time-scale`, as the fake's storage time is (override with
 * `--poll-interval-ms` / `--first-early-poll-ms`). The copy itself is real
 * I/O (qemu-img when installed) and is not scaled.
 *
 *  4. swarm (`--skip-swarm` leaves it out): `--swarm` (1000) small disks
 *     (8 MiB, 64 KiB of data, on the file domain) moved to the block domain
 *     at once by one orchestrator in its own child process
 *     (bench/move-swarm.ts), against a fake of its own. Reported:
 *     `concurrent_moves` (moves in flight at once), `status_calls_per_interval`
 *     (Host.getAllTasksStatuses calls per poll interval while the SPM holds a
 *     full submission window, counted by an interceptor on the hosts'
 *     callers), `rss_mb` (the child's peak resident memory; `rss_baseline_mb`
 *     is the same child before its first move, the Node + tsx floor), and the
 *     most tasks the orchestrator had on the SPM (back-pressure: the
 *     submission window, `--submission-window`, default the orchestrator's).
 *
 * The last line is a JSON object with every figure; nothing here fails the
 * process on a number.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MoveOrchestrator, SqliteMoveStore } from '@vdsm-kit/engine-move';
import type { MoveOutcome } from '@vdsm-kit/engine-move';
import { ControlClient, DEFAULT_IDS, defaultFixture } from '@vdsm-kit/fake-vdsm';
import type { FixtureInput } from '@vdsm-kit/fake-vdsm';
import { cpuPressure, qemuImgVersion } from './machine-state.js';
import { measureStatusPoll } from './status-poll.js';
import type { StatusPollFigures } from './status-poll.js';
import { ROOT, countedHosts, round, smallFileDisks, startFakeChild } from './move-support.js';
import { spreadOf } from './spread.js';
import { runSwarmChild } from './move-swarm.js';
import type { SwarmResult } from './move-swarm.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The engine's AsyncTaskPollingRate and the orchestrator's first early poll, in production. */
const PRODUCTION_POLL_INTERVAL_MS = 10_000;
const PRODUCTION_FIRST_EARLY_POLL_MS = 250;

/** The aim for the no-wipe total. */
const NOWIPE_TARGET = 1.05;

/** The second block domain the disk moves to and back from. */
const SECOND_BLOCK_DOMAIN = '77777777-7777-4777-8777-777777777777';
const BIG_DISK = { image: '88888888-8888-4888-8888-888888888888', volume: '99999999-9999-4999-8999-999999999999' };
const DATA_PIECES = 16;

interface Settings {
  readonly runs: number;
  readonly movesPerSide: number;
  readonly settleMs: number;
  readonly timeScale: number;
  readonly pollIntervalMs: number;
  readonly firstEarlyPollMs: number;
  readonly size: number;
  readonly data: number;
  readonly wipeRateMiBps: number;
  readonly swarm: number;
  readonly submissionWindow: number | undefined;
  readonly skipSwarm: boolean;
  readonly dir: string;
}

/** One measured side: `movesPerSide` moves of one flow, their times summed. */
interface Timed {
  readonly mode: Mode;
  readonly availableS: number;
  readonly totalS: number;
  /** Calls the SPM (host 1) answered during the side's moves, from the fake's call log. */
  readonly spmCalls: number;
  /** New flow only: the copy and source-delete phases as the store recorded them. */
  readonly copyS?: number;
  readonly deleteS?: number;
}

/** The machine while the flows ran: contention shows in every figure. */
interface Environment {
  readonly qemuImg: string;
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  /** /proc/pressure/cpu `some avg60` at the end (share of time some task waited for a CPU), when the kernel has PSI. */
  readonly cpuPressureEnd?: number;
}

/** new: copy then delete on the SPM path; legacy: the single verb; sdm: copy then delete on the SDM path. */
type Mode = 'new' | 'legacy' | 'sdm';

interface Pair {
  readonly new: Timed;
  readonly legacy: Timed;
  /** Wipe pairs only. */
  readonly sdm?: Timed;
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = readSettings(args);
  const work = await mkdtemp(join(settings.dir, 'vdsm-kit-bench-move-'));
  try {
    process.stderr.write(
      `move bench: ${settings.size / GiB} GiB disk with ${settings.data / MiB} MiB of data, time scale ${settings.timeScale}, ` +
        `poll interval ${settings.pollIntervalMs} ms (first early ${settings.firstEarlyPollMs} ms), ${settings.runs} runs per side\n`,
    );
    const qemuImg = await qemuImgVersion();
    const loadStart = loadavg();
    const { wipe, nowipe } = await measureFlows(settings, work);
    const swarm = settings.skipSwarm ? undefined : await measureSwarm(settings, work);
    process.stderr.write('status poll: one answer for 1,000 tasks, parsed and dispatched\n');
    const statusPoll = await measureStatusPoll();
    const cpuPressureEnd = await cpuPressure();
    const env: Environment = { qemuImg, loadStart, loadEnd: loadavg(), ...(cpuPressureEnd === undefined ? {} : { cpuPressureEnd }) };
    report(settings, env, wipe, nowipe, swarm, statusPoll);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export const main = run;

function readSettings(args: readonly string[]): Settings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      runs: { type: 'string', default: '5' },
      'moves-per-side': { type: 'string', default: '1' },
      'settle-ms': { type: 'string', default: '5000' },
      'time-scale': { type: 'string', default: '0.02' },
      'poll-interval-ms': { type: 'string' },
      'first-early-poll-ms': { type: 'string' },
      'size-gib': { type: 'string', default: '10' },
      'data-mib': { type: 'string', default: '1024' },
      'wipe-rate': { type: 'string', default: '100' },
      swarm: { type: 'string', default: '1000' },
      'submission-window': { type: 'string' },
      'skip-swarm': { type: 'boolean', default: false },
      dir: { type: 'string', default: tmpdir() },
    },
  });
  const positive = (name: string, text: string): number => {
    const value = Number(text);
    if (!(value > 0)) throw new Error(`--${name} must be a number > 0, not ${text}`);
    return value;
  };
  const nonNegative = (name: string, text: string): number => {
    const value = Number(text);
    if (!(value >= 0)) throw new Error(`--${name} must be a number >= 0, not ${text}`);
    return value;
  };
  const integer = (name: string, text: string): number => {
    const value = positive(name, text);
    if (!Number.isInteger(value)) throw new Error(`--${name} must be an integer, not ${text}`);
    return value;
  };
  const timeScale = positive('time-scale', values['time-scale']);
  const size = Math.round(positive('size-gib', values['size-gib']) * GiB);
  const data = Math.round(positive('data-mib', values['data-mib']) * MiB);
  if (data > size) throw new Error('--data-mib must fit in --size-gib');
  return {
    runs: integer('runs', values.runs),
    movesPerSide: integer('moves-per-side', values['moves-per-side']),
    settleMs: nonNegative('settle-ms', values['settle-ms']),
    timeScale,
    pollIntervalMs:
      values['poll-interval-ms'] === undefined ? PRODUCTION_POLL_INTERVAL_MS * timeScale : positive('poll-interval-ms', values['poll-interval-ms']),
    firstEarlyPollMs:
      values['first-early-poll-ms'] === undefined
        ? PRODUCTION_FIRST_EARLY_POLL_MS * timeScale
        : positive('first-early-poll-ms', values['first-early-poll-ms']),
    size,
    data,
    wipeRateMiBps: positive('wipe-rate', values['wipe-rate']),
    swarm: integer('swarm', values.swarm),
    submissionWindow: values['submission-window'] === undefined ? undefined : integer('submission-window', values['submission-window']),
    skipSwarm: values['skip-swarm'],
    dir: resolve(values.dir),
  };
}

/** The default fixture, a second block domain, and the big disk on the first block domain. */
function flowFixture(settings: Settings): FixtureInput {
  const fixture = defaultFixture();
  fixture.domains = [
    ...(fixture.domains ?? []),
    { id: SECOND_BLOCK_DOMAIN, name: 'iscsi-second', kind: 'block', type: 'ISCSI', capacity: '100 GiB', discard: true },
  ];
  // The data in DATA_PIECES pieces spread over the disk, 4 KiB aligned, a different byte each.
  const piece = Math.floor(settings.data / DATA_PIECES / 4096) * 4096;
  const stride = Math.floor(settings.size / DATA_PIECES / 4096) * 4096;
  fixture.disks = [
    ...(fixture.disks ?? []),
    {
      id: BIG_DISK.image,
      domain: DEFAULT_IDS.blockDomain,
      capacity: settings.size,
      volumes: [
        {
          id: BIG_DISK.volume,
          format: 'RAW',
          allocation: 'PREALLOCATED',
          data: Array.from({ length: DATA_PIECES }, (_, i) => ({ offset: i * stride, pattern: i + 1, length: piece })),
        },
      ],
    },
  ];
  return fixture;
}

/**
 * Pairs of sides of the same disk moved between the two block domains, a
 * wipe pair and a no-wipe pair in turn, so both ratios see the same load.
 */
async function measureFlows(settings: Settings, work: string): Promise<{ wipe: Pair[]; nowipe: Pair[] }> {
  const fake = await startFakeChild({ fixture: flowFixture(settings), dir: work, timeScale: settings.timeScale, wipeRateMiBps: settings.wipeRateMiBps, hosts: 2 });
  const counted = countedHosts(fake.ready);
  const control = new ControlClient(fake.ready.control);
  const store = SqliteMoveStore.open({ path: join(work, 'flows.sqlite') });
  const orchestrator = new MoveOrchestrator({
    copyPath: 'spm',
    store,
    hosts: counted.hosts,
    pollIntervalMs: settings.pollIntervalMs,
    // The SPM's tasks and the SDM path's host jobs are followed alike.
    tracker: { firstEarlyPollMs: settings.firstEarlyPollMs },
    hostJobs: { firstEarlyPollMs: settings.firstEarlyPollMs },
  });
  let on = DEFAULT_IDS.blockDomain as string;
  /** Calls host 1 (the SPM) answered since `since`, paging the fake's call log. */
  const spmCallsSince = async (since: number): Promise<number> => {
    let count = 0;
    for (let cursor = since; ; ) {
      const page = await control.listCalls({ since: cursor });
      if (page.dropped > 0) throw new Error(`the fake's call log dropped ${page.dropped} calls: raise --call-log`);
      count += page.calls.filter((call) => call.host === 1).length;
      if (page.calls.length === 0 || page.next === cursor) return count;
      cursor = page.calls.at(-1)!.seq;
      if (cursor >= page.next) return count;
    }
  };
  const moveOnce = async (mode: Mode, wipe: boolean): Promise<Timed> => {
    const to = on === DEFAULT_IDS.blockDomain ? SECOND_BLOCK_DOMAIN : DEFAULT_IDS.blockDomain;
    // Every copy starts from the same memory state: see the module comment (free page reporting).
    await setTimeout(settings.settleMs);
    // The newest seq, whatever the filter: a method no call has lists nothing.
    const since = (await control.listCalls({ method: 'none.none' })).next;
    const started = Date.now();
    const handle = await orchestrator.moveDisk({
      poolId: DEFAULT_IDS.pool,
      diskId: BIG_DISK.image,
      srcDomainId: on,
      dstDomainId: to,
      wipeAfterDelete: wipe,
      discard: false,
      legacy: mode === 'legacy',
      copyPath: mode === 'sdm' ? 'sdm' : 'spm',
    });
    const outcome = await handle.outcome;
    if (outcome.result !== 'moved' || outcome.failedPhase !== null || outcome.availableAt === null) {
      throw new Error(`${mode} move ${on} -> ${to} did not succeed: ${JSON.stringify(outcome)}`);
    }
    on = to;
    const spmCalls = await spmCallsSince(since);
    return { mode, availableS: (outcome.availableAt - started) / 1000, totalS: (outcome.doneAt - started) / 1000, spmCalls, ...phaseTimes(outcome) };
  };
  const side = async (mode: Mode, wipe: boolean): Promise<Timed> => {
    const moves: Timed[] = [];
    for (let i = 0; i < settings.movesPerSide; i++) moves.push(await moveOnce(mode, wipe));
    const sum = (pick: (t: Timed) => number | undefined): number => moves.reduce((total, t) => total + (pick(t) ?? 0), 0);
    return {
      mode,
      availableS: sum((t) => t.availableS),
      totalS: sum((t) => t.totalS),
      spmCalls: sum((t) => t.spmCalls),
      ...(mode !== 'legacy' ? { copyS: sum((t) => t.copyS), deleteS: sum((t) => t.deleteS) } : {}),
    };
  };
  const pair = async (index: number, wipe: boolean): Promise<Pair> => {
    // Rotate which side goes first, so none always follows another.
    const modes: Mode[] = wipe ? ['new', 'legacy', 'sdm'] : ['new', 'legacy'];
    const order = modes.map((_, i) => modes[(i + index) % modes.length]!);
    const first = order[0]!;
    const sides = new Map<Mode, Timed>();
    for (const mode of order) sides.set(mode, await side(mode, wipe));
    const result: Pair = { new: sides.get('new')!, legacy: sides.get('legacy')!, ...(sides.has('sdm') ? { sdm: sides.get('sdm')! } : {}) };
    process.stderr.write(
      `${wipe ? 'wipe' : 'no wipe'} run ${index + 1} (${first} first, ${settings.movesPerSide} moves a side): ` +
        `new available ${result.new.availableS.toFixed(3)} s total ${result.new.totalS.toFixed(3)} s; ` +
        `legacy available ${result.legacy.availableS.toFixed(3)} s total ${result.legacy.totalS.toFixed(3)} s` +
        (result.sdm ? `; sdm available ${result.sdm.availableS.toFixed(3)} s total ${result.sdm.totalS.toFixed(3)} s, SPM calls sdm ${result.sdm.spmCalls} / spm ${result.new.spmCalls}` : '') +
        '\n',
    );
    return result;
  };
  try {
    // Warm-up moves (the fixture's first copy, qemu-img, the store's first writes), not counted.
    process.stderr.write('warm-up moves\n');
    await moveOnce('new', false);
    await moveOnce('legacy', false);
    await moveOnce('sdm', false);
    const wipe: Pair[] = [];
    const nowipe: Pair[] = [];
    for (let i = 0; i < settings.runs; i++) {
      wipe.push(await pair(i, true));
      nowipe.push(await pair(i, false));
    }
    return { wipe, nowipe };
  } finally {
    orchestrator.close();
    await store.close();
    await counted.close();
    await fake.stop();
  }
}

function phaseTimes(outcome: MoveOutcome): { copyS?: number; deleteS?: number } {
  const seconds = (phase: string): number | undefined => {
    const timing = outcome.phases.find((p) => p.phase === phase);
    return timing?.endedAt == null ? undefined : (timing.endedAt - timing.startedAt) / 1000;
  };
  const copyS = seconds('copy');
  const deleteS = seconds('delete-source');
  return { ...(copyS === undefined ? {} : { copyS }), ...(deleteS === undefined ? {} : { deleteS }) };
}

/** The swarm in its own child process, against a fake of its own. */
async function measureSwarm(settings: Settings, work: string): Promise<SwarmResult> {
  const disks = Array.from({ length: settings.swarm }, () => ({ image: randomUUID(), volume: randomUUID() }));
  const fixture = defaultFixture();
  // One 128 MiB extent per small disk on the block domain: 100 GiB (800 extents) holds only 800 of them.
  fixture.domains = (fixture.domains ?? []).map((d) =>
    d.id === DEFAULT_IDS.blockDomain ? { ...d, capacity: Math.max(200, Math.ceil((settings.swarm * 128) / 1024) + 10) * GiB } : d,
  );
  fixture.disks = [...(fixture.disks ?? []), ...smallFileDisks(disks)];
  process.stderr.write(`swarm: starting a fake with ${settings.swarm} small disks\n`);
  const fake = await startFakeChild({ fixture, dir: work, timeScale: settings.timeScale });
  try {
    const disksPath = join(work, 'swarm-disks.json');
    await writeFile(disksPath, JSON.stringify(disks.map((d) => d.image)));
    return await runSwarmChild({
      fake: fake.ready,
      disksPath,
      dbPath: join(work, 'swarm.sqlite'),
      pollIntervalMs: settings.pollIntervalMs,
      firstEarlyPollMs: settings.firstEarlyPollMs,
      ...(settings.submissionWindow === undefined ? {} : { submissionWindow: settings.submissionWindow }),
      cwd: ROOT,
    });
  } finally {
    await fake.stop();
  }
}

function ratios(pairs: readonly Pair[], pick: (t: Timed) => number): number[] {
  return pairs.map((pair) => pick(pair.new) / pick(pair.legacy));
}

function report(settings: Settings, env: Environment, wipe: readonly Pair[], nowipe: readonly Pair[], swarm: SwarmResult | undefined, statusPoll: StatusPollFigures): void {
  const availableRatios = ratios(wipe, (t) => t.availableS);
  // Expected: the new flow's disk is usable after its copy; the legacy one after copy and wipe.
  const expectedRatios = wipe.map((pair) => pair.new.copyS! / (pair.new.copyS! + pair.new.deleteS!));
  const totalRatios = ratios(nowipe, (t) => t.totalS);
  const available = spreadOf(availableRatios);
  const expected = spreadOf(expectedRatios);
  const total = spreadOf(totalRatios);
  const sdmPairs = wipe.filter((pair) => pair.sdm !== undefined);
  const sdmAvailableRatios = sdmPairs.map((pair) => pair.sdm!.availableS / pair.legacy.availableS);
  const spmCallRatios = sdmPairs.map((pair) => pair.sdm!.spmCalls / pair.new.spmCalls);
  const sdmAvailable = spreadOf(sdmAvailableRatios);
  const spmCallRatio = spreadOf(spmCallRatios);
  const modelledWipeS = (settings.size / (settings.wipeRateMiBps * MiB)) * settings.timeScale;
  const f = (v: number, d = 3): string => v.toFixed(d);
  const loads = (values: readonly number[]): string => values.map((v) => f(v, 2)).join(' ');

  console.log(
    `move benchmark: Node ${process.version}, qemu-img ${env.qemuImg}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}); ` +
      `load average ${loads(env.loadStart)} at the start, ${loads(env.loadEnd)} at the end` +
      (env.cpuPressureEnd === undefined ? '' : `, CPU pressure (some, avg60) ${f(env.cpuPressureEnd, 1)}% at the end`),
  );
  console.log(
    `disk: RAW preallocated ${settings.size / GiB} GiB on a block domain, ${settings.data / MiB} MiB of data, block -> block; ` +
      `time scale ${settings.timeScale} (wipe at ${settings.wipeRateMiBps} MiB/s: ${f(modelledWipeS, 2)} s real for ${f(modelledWipeS / settings.timeScale, 1)} s of storage time); ` +
      `poll interval ${settings.pollIntervalMs} ms, first early poll ${settings.firstEarlyPollMs} ms; ` +
      `${settings.runs} pairs, ${settings.movesPerSide} move(s) a side (times below are a side's sums), ${settings.settleMs} ms settle before each move\n`,
  );
  console.log('with wipe: time until the disk is available (s)');
  console.log('run  new copy  new wipe  new avail  legacy avail  ratio  expected copy/(copy+wipe)');
  wipe.forEach((pair, i) =>
    console.log(
      `${String(i + 1).padStart(3)}  ${f(pair.new.copyS!).padStart(8)}  ${f(pair.new.deleteS!).padStart(8)}  ${f(pair.new.availableS).padStart(9)}  ` +
        `${f(pair.legacy.availableS).padStart(12)}  ${f(availableRatios[i]!).padStart(5)}  ${f(expectedRatios[i]!).padStart(5)}`,
    ),
  );
  console.log(
    `available_ratio median ${f(available.median)} (min ${f(available.min)}, max ${f(available.max)}); ` +
      `expected copy/(copy+wipe) median ${f(expected.median)} (min ${f(expected.min)}, max ${f(expected.max)})\n`,
  );
  console.log('SDM path, with wipe: available time over legacy, and the calls that reached the SPM (host 1) over the SPM path\'s');
  console.log('run  sdm copy  sdm wipe  sdm avail  legacy avail  ratio  spm calls sdm  spm calls spm  ratio');
  sdmPairs.forEach((pair, i) =>
    console.log(
      `${String(i + 1).padStart(3)}  ${f(pair.sdm!.copyS!).padStart(8)}  ${f(pair.sdm!.deleteS!).padStart(8)}  ${f(pair.sdm!.availableS).padStart(9)}  ` +
        `${f(pair.legacy.availableS).padStart(12)}  ${f(sdmAvailableRatios[i]!).padStart(5)}  ${String(pair.sdm!.spmCalls).padStart(13)}  ${String(pair.new.spmCalls).padStart(13)}  ${f(spmCallRatios[i]!).padStart(5)}`,
    ),
  );
  console.log(
    `available_ratio_sdm median ${f(sdmAvailable.median)} (min ${f(sdmAvailable.min)}, max ${f(sdmAvailable.max)}); ` +
      `spm_calls_sdm_over_spm median ${f(spmCallRatio.median)} (min ${f(spmCallRatio.min)}, max ${f(spmCallRatio.max)})\n`,
  );
  console.log('without wipe: total time, moveDisk to done (s)');
  console.log('run  new copy  new delete  new total  legacy total  ratio');
  nowipe.forEach((pair, i) =>
    console.log(
      `${String(i + 1).padStart(3)}  ${f(pair.new.copyS!).padStart(8)}  ${f(pair.new.deleteS!).padStart(10)}  ${f(pair.new.totalS).padStart(9)}  ` +
        `${f(pair.legacy.totalS).padStart(12)}  ${f(totalRatios[i]!).padStart(5)}`,
    ),
  );
  console.log(
    `nowipe_total_ratio median ${f(total.median)} (min ${f(total.min)}, max ${f(total.max)}); aim <= ${NOWIPE_TARGET}: ${total.median <= NOWIPE_TARGET ? 'PASS' : 'FAIL'}\n`,
  );
  if (swarm) {
    console.log(
      `swarm: ${swarm.moves} moves (${swarm.moved} moved) in ${f(swarm.durationS, 1)} s, ${swarm.concurrentMoves} in flight at once, ` +
        `at most ${swarm.maxTasksOnSpm} of our tasks on the SPM (submission window ${swarm.submissionWindow})`,
    );
    console.log(
      `  status calls: ${swarm.statusCalls} in all, ${f(swarm.statusCallsPerInterval, 2)} per ${settings.pollIntervalMs} ms interval in the steady state ` +
        `(${swarm.steadyStatusCalls} calls in ${f(swarm.steadyS, 2)} s with the window full)`,
    );
    for (const [why, count] of Object.entries(swarm.notMoved)) console.log(`  not moved: ${count} x ${why}`);
    console.log(`  orchestrator child RSS: peak ${f(swarm.rssMb, 1)} MiB, ${f(swarm.rssBaselineMb, 1)} MiB before the first move\n`);
  }

  console.log(
    `status poll of ${statusPoll.tasks} tasks (JSON body to every waiting move told its end): ${f(statusPoll.perTaskUs.median, 2)} us per task ` +
      `(min ${f(statusPoll.perTaskUs.min, 2)}, max ${f(statusPoll.perTaskUs.max, 2)}), ${f(statusPoll.roundMs.median, 2)} ms a round, over ${statusPoll.rounds} rounds; the aim is well under 1,000 us\n`,
  );
  console.log(
    JSON.stringify({
      benchmark: 'move',
      node: process.version,
      cores: availableParallelism(),
      qemu_img: env.qemuImg,
      load_average_start: env.loadStart.map((v) => round(v, 2)),
      load_average_end: env.loadEnd.map((v) => round(v, 2)),
      ...(env.cpuPressureEnd === undefined ? {} : { cpu_pressure_some_avg60_end: env.cpuPressureEnd }),
      runs: settings.runs,
      moves_per_side: settings.movesPerSide,
      settle_ms: settings.settleMs,
      time_scale: settings.timeScale,
      poll_interval_ms: settings.pollIntervalMs,
      first_early_poll_ms: settings.firstEarlyPollMs,
      disk: { size_bytes: settings.size, data_bytes: settings.data, from: 'block', to: 'block', wipe_rate_mib_s: settings.wipeRateMiBps },
      available_ratio: round(available.median, 3),
      available_ratio_median: round(available.median, 3),
      available_ratio_min: round(available.min, 3),
      available_ratio_max: round(available.max, 3),
      available_ratio_expected: round(expected.median, 3),
      available_ratio_expected_min: round(expected.min, 3),
      available_ratio_expected_max: round(expected.max, 3),
      available_ratios: availableRatios.map((r) => round(r, 3)),
      available_ratio_sdm: round(sdmAvailable.median, 3),
      available_ratio_sdm_min: round(sdmAvailable.min, 3),
      available_ratio_sdm_max: round(sdmAvailable.max, 3),
      available_ratios_sdm: sdmAvailableRatios.map((r) => round(r, 3)),
      spm_calls_sdm_over_spm: round(spmCallRatio.median, 3),
      spm_calls_sdm_over_spm_min: round(spmCallRatio.min, 3),
      spm_calls_sdm_over_spm_max: round(spmCallRatio.max, 3),
      sdm_wipe_runs: sdmPairs.map((pair) => ({
        sdm_available_s: round(pair.sdm!.availableS, 3),
        sdm_copy_s: round(pair.sdm!.copyS!, 3),
        sdm_wipe_s: round(pair.sdm!.deleteS!, 3),
        sdm_spm_calls: pair.sdm!.spmCalls,
        spm_path_spm_calls: pair.new.spmCalls,
      })),
      nowipe_total_ratio: round(total.median, 3),
      nowipe_total_ratio_median: round(total.median, 3),
      nowipe_total_ratio_min: round(total.min, 3),
      nowipe_total_ratio_max: round(total.max, 3),
      nowipe_total_ratios: totalRatios.map((r) => round(r, 3)),
      nowipe_total_pass: total.median <= NOWIPE_TARGET,
      status_poll_tasks: statusPoll.tasks,
      status_poll_us_per_task: round(statusPoll.perTaskUs.median, 2),
      status_poll_us_per_task_min: round(statusPoll.perTaskUs.min, 2),
      status_poll_us_per_task_max: round(statusPoll.perTaskUs.max, 2),
      status_poll_round_ms: round(statusPoll.roundMs.median, 3),
      wipe_runs: wipe.map((pair) => ({
        new_available_s: round(pair.new.availableS, 3),
        new_total_s: round(pair.new.totalS, 3),
        new_copy_s: round(pair.new.copyS!, 3),
        new_wipe_s: round(pair.new.deleteS!, 3),
        legacy_available_s: round(pair.legacy.availableS, 3),
      })),
      nowipe_runs: nowipe.map((pair) => ({
        new_total_s: round(pair.new.totalS, 3),
        new_copy_s: round(pair.new.copyS!, 3),
        new_delete_s: round(pair.new.deleteS!, 3),
        legacy_total_s: round(pair.legacy.totalS, 3),
      })),
      ...(swarm === undefined
        ? {}
        : {
            concurrent_moves: swarm.concurrentMoves,
            status_calls_per_interval: round(swarm.statusCallsPerInterval, 2),
            rss_mb: round(swarm.rssMb, 1),
            swarm: {
              moves: swarm.moves,
              moved: swarm.moved,
              duration_s: round(swarm.durationS, 2),
              status_calls: swarm.statusCalls,
              steady_s: round(swarm.steadyS, 2),
              steady_status_calls: swarm.steadyStatusCalls,
              max_tasks_on_spm: swarm.maxTasksOnSpm,
              submission_window: swarm.submissionWindow,
              rss_baseline_mb: round(swarm.rssBaselineMb, 1),
              calls_by_method: swarm.callsByMethod,
              not_moved: swarm.notMoved,
            },
          }),
    }),
  );
}
