/**
 * A move's outcome as users read it, built from what the store holds, so the
 * outcome of a move finished by another process (or before a restart) is the
 * same as that of one watched in-process.
 */
import type { MoveStore } from '../store/move-store.js';
import type { CopyPath, LeftoverRecord, MoveMode, MovePhase, MoveRecord, MoveResult, PhaseOutcome, RecordedError } from '../store/records.js';

export interface PhaseTiming {
  readonly phase: MovePhase;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly outcome: PhaseOutcome | null;
}

export interface MoveOutcome {
  readonly moveId: string;
  readonly diskId: string;
  readonly mode: MoveMode;
  /** The copy path that ran: `sdm` (host jobs) or `spm` (Image.move); null if the move never started. */
  readonly path: CopyPath | null;
  /** SDM path: the host that ran the last copy job (the one that copied, when the copy succeeded); null otherwise. */
  readonly copyHost: string | null;
  readonly result: MoveResult;
  /** Where it went wrong: copy, delete-source, delete-target (or legacy-move), or null when nothing did. */
  readonly failedPhase: MovePhase | null;
  readonly error: RecordedError | null;
  readonly leftovers: readonly Pick<LeftoverRecord, 'domainId' | 'imageId' | 'reason'>[];
  /** When the disk became usable on the target; null if it never did. */
  readonly availableAt: number | null;
  readonly doneAt: number;
  readonly phases: readonly PhaseTiming[];
}

export async function outcomeOf(store: MoveStore, move: MoveRecord): Promise<MoveOutcome> {
  if (move.state !== 'done' || move.result === null || move.doneAt === null) {
    throw new Error(`Move ${move.moveId} is not done (${move.state})`);
  }
  const [phases, leftovers, jobs] = await Promise.all([
    store.listPhases(move.moveId),
    store.listLeftovers({ moveId: move.moveId }),
    store.listSdmJobs({ moveId: move.moveId }),
  ]);
  const lastJob = [...jobs].sort((a, b) => a.createdAt - b.createdAt || a.position - b.position || a.attempt - b.attempt).pop();
  return {
    moveId: move.moveId,
    diskId: move.diskId,
    mode: move.mode,
    path: move.path,
    copyHost: lastJob?.host ?? null,
    result: move.result,
    failedPhase: move.failedPhase,
    error: move.error,
    leftovers: leftovers.map(({ domainId, imageId, reason }) => ({ domainId, imageId, reason })),
    availableAt: move.availableAt,
    doneAt: move.doneAt,
    phases: phases.map(({ phase, startedAt, endedAt, outcome }) => ({ phase, startedAt, endedAt, outcome })),
  };
}
