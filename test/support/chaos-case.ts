/**
 * One chaos case, and the fast-check arbitraries that draw it from a seed: a
 * disk move (two-verb or `--legacy`, with or without wipe, file to block or
 * block to file), the fault rules of the fake's catalogue armed for it (every
 * action of docs/faults.md, at every layer, each bounded by `times` so that
 * the schedule runs out and the move can end), crashes of the fake at the Nth
 * call it answers, and, when the orchestrator runs as the `engine-move` CLI,
 * a SIGKILL of it at a named kill point or at the Nth call. Shrinking (by
 * fast-check) removes faults and crashes and lowers their numbers, so a
 * failing case ends as the fewest faults that still fail.
 */
import fc from 'fast-check';
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import { failpointNames } from '@vdsm-kit/engine-move';

const { fileDomain, blockDomain } = DEFAULT_IDS;

/** A fault rule as `POST /faults` takes it. */
export interface ChaosFault {
  readonly match: Record<string, unknown>;
  readonly action: Record<string, unknown>;
  readonly times: number;
  readonly after?: number;
}

/** A crash of the fake once it has answered `afterCalls` calls of this case, back after `downMs`. */
export interface FakeCrash {
  readonly afterCalls: number;
  /** Real milliseconds the fake stays down (clients meet refused connections meanwhile). */
  readonly downMs: number;
  /** A real SIGKILL of a `fake-vdsm serve` process, or the in-process `crash()`. */
  readonly sigkill: boolean;
}

/** A SIGKILL of the `engine-move` process: at a named kill point (ENGINE_MOVE_FAILPOINT) or at the Nth call the fake answered. */
export type OrchestratorKill = { readonly failpoint: string } | { readonly afterCalls: number };

export type Direction = 'file-to-block' | 'block-to-file';

export interface ChaosCase {
  readonly direction: Direction;
  readonly legacy: boolean;
  readonly wipe: boolean;
  /** The orchestrator in this process (cheap), or the CLI as a child process (to be SIGKILLed). */
  readonly runner: 'in-process' | 'cli';
  /** The fake's own fault PRNG seed. */
  readonly fakeSeed: number;
  readonly faults: readonly ChaosFault[];
  readonly crashes: readonly FakeCrash[];
  readonly kill: OrchestratorKill | null;
}

/** Which way the disk goes. */
export function domainsOf(direction: Direction): { src: string; dst: string } {
  return direction === 'file-to-block' ? { src: fileDomain, dst: blockDomain } : { src: blockDomain, dst: fileDomain };
}

/** Every JSON-RPC method the orchestrator sends (what RPC and wire rules pick from). */
export const ORCHESTRATOR_METHODS = [
  'Image.move',
  'Image.delete',
  'Host.getAllTasksStatuses',
  'Host.getAllTasksInfo',
  'Task.getStatus',
  'Task.clear',
  'Task.stop',
  'StoragePool.getSpmStatus',
  'StorageDomain.getImages',
  'StorageDomain.getInfo',
  'Volume.getInfo',
] as const;

/**
 * VDSM codes worth answering: generic (100), busy (405), not SPM (654), unknown
 * and wrong-state task (401, 410), image not in domain (268), delete failure
 * (256), copy failure (261), domain unreachable (358), no space (251), timeout (851).
 */
const ERROR_CODES = [100, 405, 654, 401, 410, 268, 256, 261, 358, 251, 851] as const;

/** The fake's clock runs this much faster than real time in every case (wipes, lock timeouts, fault delays). */
export const TIME_SCALE = 0.01;
/** Each call's timeout in the orchestrator's clients (real ms): a lost answer costs this much. */
export const CALL_TIMEOUT_MS = 1500;

const times = fc.integer({ min: 1, max: 3 });
const after = fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined });
const host = fc.option(fc.constantFrom(1, 2), { nil: undefined });
const withHost = (match: Record<string, unknown>, id: number | undefined) => (id === undefined ? match : { ...match, host: id });

/** The task kinds and phases a move makes, and which of them report progress (where `failAt` can fire). */
const TASK_POINTS = [
  { kind: 'moveImage', phase: 'create', progress: true },
  { kind: 'moveImage', phase: 'copy', progress: true },
  { kind: 'moveImage', phase: 'delete', progress: false },
  { kind: 'purgeImage', phase: 'delete', progress: true },
  { kind: 'zeroImage', phase: 'zero', progress: true },
] as const;

function fault(match: Record<string, unknown>, action: Record<string, unknown>, count: number, skip: number | undefined): ChaosFault {
  return { match, action, times: count, ...(skip === undefined ? {} : { after: skip }) };
}

/** RPC layer: an error code, a late answer, no answer, an answer after the client's timeout. */
const rpcFault = fc
  .record({
    method: fc.constantFrom(...ORCHESTRATOR_METHODS),
    host,
    action: fc.oneof(
      fc.constantFrom(...ERROR_CODES).map((error) => ({ error })),
      fc.integer({ min: 100, max: 60_000 }).map((delayMs) => ({ delayMs })),
      fc.constant({ noAnswer: true }),
      // On the fake's clock: past the client's timeout in real time.
      fc.integer({ min: 1, max: 3 }).map((n) => ({ answerAfterMs: (CALL_TIMEOUT_MS * n) / TIME_SCALE })),
    ),
    times,
    after,
  })
  .map((f) => fault(withHost({ method: f.method }, f.host), f.action, f.times, f.after));

/** Status layer: a task missing from K polls, a garbled listing. */
const statusFault = fc.oneof(
  fc
    .record({ kind: fc.constantFrom('moveImage', 'purgeImage', 'zeroImage'), polls: fc.integer({ min: 1, max: 8 }), after })
    .map((f) => fault({ task: { kind: f.kind } }, { hideForPolls: f.polls }, f.polls, f.after)),
  fc.record({ times, after }).map((f) => fault({ method: 'Host.getAllTasksStatuses' }, { malformedStatus: true }, f.times, f.after)),
);

/** Task layer, at a phase a move's task enters (`hang`: in-process only, see normalize). */
const taskFault = fc
  .record({
    point: fc.constantFrom(...TASK_POINTS),
    choice: fc.oneof(
      fc.record({ failAt: fc.double({ min: 0, max: 1, noNaN: true }), error: fc.constantFrom(100, 261, 256, 251) }),
      fc.integer({ min: 100, max: 60_000 }).map((phaseDelayMs) => ({ phaseDelayMs })),
      fc.constantFrom('cleanSuccess', 'cleanFailure').map((finish) => ({ finish })),
      fc.constant({ failSourceDelete: true }),
      fc.constant({ loseSpm: true }),
      fc.constant({ crash: true }),
      fc.constant({ hang: true }),
    ),
    times,
  })
  .map(({ point, choice, times: count }) => {
    // failAt needs a phase with progress after it; failSourceDelete needs a move's source delete (operation 2).
    if ('failSourceDelete' in choice) return fault({ method: 'Image.move', params: { operation: 2 } }, choice, count, undefined);
    const task = 'failAt' in choice && !point.progress ? { kind: 'moveImage', phase: 'copy' } : { kind: point.kind, phase: point.phase };
    return fault({ task }, choice, count, undefined);
  });

/** Domain conditions on either domain of the move, seen from one host or all. */
const domainFault = fc
  .record({ domain: fc.constantFrom(fileDomain, blockDomain), host, full: fc.boolean(), times, after })
  .map((f) => fault(withHost({ domain: f.domain }, f.host), f.full ? { domainFull: true } : { domainUnreachable: true }, f.times, f.after));

/** Wire layer: a closed connection, silent heart-beats, a slow connection, lost or doubled events. */
const wireFault = fc.oneof(
  fc
    .record({ method: fc.option(fc.constantFrom(...ORCHESTRATOR_METHODS), { nil: undefined }), host, times, after })
    .map((f) => fault(withHost(f.method === undefined ? {} : { method: f.method }, f.host), { closeConnection: true }, f.times, f.after)),
  fc.record({ host: fc.constantFrom(1, 2), after }).map((f) => fault({ host: f.host }, { stopHeartbeats: true }, 1, f.after)),
  fc
    .record({ host: fc.constantFrom(1, 2), rate: fc.integer({ min: 2_000, max: 100_000 }), after })
    .map((f) => fault({ host: f.host }, { slowBytes: f.rate }, 1, f.after)),
  fc.record({ host: fc.constantFrom(1, 2), drop: fc.boolean(), times }).map((f) => fault({ host: f.host }, f.drop ? { dropEvents: true } : { duplicateEvents: true }, f.times, undefined)),
);

/** A fault from any layer of the catalogue. */
export const faultArbitrary: fc.Arbitrary<ChaosFault> = fc.oneof(rpcFault, statusFault, taskFault, domainFault, wireFault);

const crashArbitrary = fc.record({ afterCalls: fc.integer({ min: 1, max: 40 }), downMs: fc.constantFrom(0, 100, 500), sigkill: fc.constant(false) });

/** A kill point of any phase, or a call count; `normalize` keeps the points the case's flow passes. */
const killArbitrary: fc.Arbitrary<OrchestratorKill> = fc.oneof(
  fc.constantFrom(...failpointNames()).map((failpoint) => ({ failpoint })),
  fc.integer({ min: 1, max: 40 }).map((afterCalls) => ({ afterCalls })),
);

export interface CaseOptions {
  /** May a case move block to file (off until the fake copies that way). */
  readonly blockToFile: boolean;
  /** Share of cases whose orchestrator is the CLI, SIGKILLed (0..1). */
  readonly processShare: number;
}

/**
 * Makes a drawn case one that can run: a CLI case's fake crashes are real
 * SIGKILLs (its fake is a process) and it has no `hang` (the CLI's zombie
 * limit is 50 h), an in-process case no CLI kill, and a kill point one the
 * flow passes (the single verb never copies or deletes the source by itself).
 */
function normalize(c: ChaosCase): ChaosCase {
  const cli = c.runner === 'cli';
  const phases = c.legacy ? ['legacy-move', 'delete-target'] : ['copy', 'delete-source', 'delete-target'];
  const kill = !cli || c.kill === null ? null : 'failpoint' in c.kill && !phases.includes(c.kill.failpoint.slice(0, c.kill.failpoint.indexOf(':'))) ? null : c.kill;
  return {
    ...c,
    faults: cli ? c.faults.filter((f) => !('hang' in f.action)) : c.faults,
    crashes: cli ? c.crashes.slice(0, 1).map((crash) => ({ ...crash, sigkill: true })) : c.crashes,
    kill,
  };
}

/**
 * A whole case. Faults come first in the record, so shrinking tries removing
 * them before anything else; no part depends on another as drawn (a chained
 * draw would redraw the faults whenever the move's shape shrinks).
 */
export function caseArbitrary(options: CaseOptions): fc.Arbitrary<ChaosCase> {
  const processPercent = Math.round(options.processShare * 100);
  return fc
    .record({
      faults: fc.array(faultArbitrary, { maxLength: 5 }),
      crashes: fc.array(crashArbitrary, { maxLength: 2 }),
      kill: fc.option(killArbitrary, { nil: null, freq: 4 }),
      direction: options.blockToFile ? fc.constantFrom<Direction>('file-to-block', 'block-to-file') : fc.constant<Direction>('file-to-block'),
      legacy: fc.boolean(),
      wipe: fc.boolean(),
      // Unbiased: fast-check leans integers towards their bounds, which would make most cases processes.
      runner: fc.noBias(fc.integer({ min: 1, max: 100 })).map((n): ChaosCase['runner'] => (n <= processPercent ? 'cli' : 'in-process')),
      fakeSeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    })
    .map(normalize);
}

/** One line per case, for logs and for the replay message. */
export function describeCase(c: ChaosCase): string {
  const { src, dst } = domainsOf(c.direction);
  const kind = (id: string) => (id === fileDomain ? 'file' : 'block');
  const parts = [
    `${kind(src)}->${kind(dst)}`,
    c.legacy ? 'legacy' : 'two-verb',
    c.wipe ? 'wipe' : 'no wipe',
    c.runner,
    `${c.faults.length} fault(s)`,
    ...c.crashes.map((x) => `${x.sigkill ? 'SIGKILL' : 'crash'} fake after ${x.afterCalls} calls`),
    ...(c.kill === null ? [] : ['failpoint' in c.kill ? `SIGKILL engine-move at ${c.kill.failpoint}` : `SIGKILL engine-move after ${c.kill.afterCalls} calls`]),
  ];
  return parts.join(', ');
}
