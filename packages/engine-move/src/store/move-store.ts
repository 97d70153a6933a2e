/**
 * The move store: the one interface the orchestrator persists through, with
 * an SQLite implementation (the embedded default) and a PostgreSQL one (for
 * several instances). Both pass the conformance suite in
 * test-support/store-conformance.ts.
 *
 * The write side is deliberately narrow: a move is created once, and every
 * later change is one `Transition`, applied in one transaction, guarded by the
 * state the writer saw (compare-and-set). The state machine builds the
 * transitions; the store only makes each one atomic and refuses a stale one,
 * so a crash between two transitions always leaves a state the machine knows
 * how to resume from.
 */
import type {
  AuditEntry,
  AuditRecord,
  CompensationRecord,
  DiskRecord,
  LeftoverRecord,
  CopyPath,
  MovePhase,
  MoveRecord,
  MoveRequest,
  MoveResult,
  MoveState,
  PhaseOutcome,
  PhaseRecord,
  RecordedError,
  SdmJobRecord,
  SdmJobState,
  TaskRecord,
  TaskState,
  VolumeStatus,
} from './records.js';
import type { Fence, MoveLeaseStore } from './leases.js';

/**
 * Everything one state change writes, applied all or nothing, in this order:
 * the guard; lockDisk, restoreDisk, switchDisk; phaseStarted, phaseEnded;
 * taskDropped, taskPlaceholder, taskSubmitted, taskEnded; sdmJobPlaceholder,
 * sdmJobSubmitted, sdmJobEnded; leftovers; audit; the move's own fields and state. (So one transition can drop a stale
 * placeholder and write its replacement.)
 */
export interface Transition {
  readonly moveId: string;
  /** The state the writer saw; the transition is refused unless the move is still in it. */
  readonly from: MoveState;
  readonly to: MoveState;
  readonly at: number;
  /**
   * The writer's claim on the move: the transition is refused (FENCED, nothing
   * written) unless the move is still held by this owner with this epoch. A
   * worker always passes it; a one-off writer (`engine-move cancel`) does not.
   */
  readonly fence?: Fence;
  /** Fields of the move to set (only those given). */
  readonly move?: {
    readonly result?: MoveResult;
    readonly failedPhase?: MovePhase | null;
    readonly error?: RecordedError | null;
    readonly availableAt?: number;
    readonly doneAt?: number;
    readonly cancelRequested?: boolean;
    /** The copy path taken (set once, when the move starts). */
    readonly path?: CopyPath;
  };
  /**
   * Lock every volume of the disk: each volume's current status is kept as a
   * compensation record, and the volume becomes LOCKED.
   */
  readonly lockDisk?: boolean;
  /** Put every volume of the disk back to the status its compensation record kept, and drop the records. */
  readonly restoreDisk?: boolean;
  /**
   * Map every volume of the disk to this domain, set them to `status`, and
   * drop the compensation records: the copy's end logic in one step.
   */
  readonly switchDisk?: { readonly domainId: string; readonly status: VolumeStatus };
  readonly phaseStarted?: { readonly phase: MovePhase };
  readonly phaseEnded?: {
    readonly phase: MovePhase;
    readonly outcome: PhaseOutcome;
    readonly error?: RecordedError | null;
  };
  /** Write a task placeholder (no VDSM id yet) for this phase. */
  readonly taskPlaceholder?: {
    readonly phase: MovePhase;
    readonly verb: string;
    readonly domainId: string;
    readonly imageId: string;
    /**
     * The per-SPM submission window shared by every instance: refused
     * (WINDOW_FULL, nothing written) when the pool already has this many tasks
     * placeholder or running, of any move.
     */
    readonly windowLimit?: number;
  };
  /** The VDSM id the verb returned for the phase's placeholder. */
  readonly taskSubmitted?: { readonly phase: MovePhase; readonly vdsmTaskId: string };
  /** The phase's task ended as VDSM reported it (it still has to be cleared). */
  readonly taskEnded?: { readonly phase: MovePhase; readonly code: number; readonly message: string };
  /** The phase's placeholder never became a task (the verb failed or never reached VDSM): drop it. */
  readonly taskDropped?: { readonly phase: MovePhase };
  /** An SDM job's placeholder, written before SDM.copy_data is sent (refused if its id or its (position, attempt) exists). */
  readonly sdmJobPlaceholder?: Pick<SdmJobRecord, 'jobId' | 'volumeId' | 'position' | 'host' | 'generation' | 'attempt'>;
  /** The host accepted the placeholder's job. */
  readonly sdmJobSubmitted?: { readonly jobId: string };
  /** A job's end (code 0 done), from a placeholder or running job of this move. */
  readonly sdmJobEnded?: { readonly jobId: string; readonly code: number; readonly message: string };
  readonly leftovers?: readonly Omit<LeftoverRecord, 'moveId' | 'recordedAt'>[];
  readonly audit?: readonly Omit<AuditEntry, 'at'>[];
}

/** A new move and what is known of its disk. */
export interface NewMove {
  readonly request: MoveRequest;
  readonly at: number;
  /** The disk as discovered from VDSM, stored if the store does not know it yet. */
  readonly disk?: DiskRecord;
}

export interface MoveFilter {
  /** Only moves not done. */
  readonly active?: boolean;
  readonly diskId?: string;
  readonly states?: readonly MoveState[];
}

/** The store's errors carry codes, so callers branch on the code and not on a message. */
export class MoveStoreError extends Error {
  override name = 'MoveStoreError';
  constructor(
    readonly code:
      | 'BAD_REQUEST'
      | 'DISK_ALREADY_MOVING'
      | 'MOVE_EXISTS'
      | 'UNKNOWN_MOVE'
      | 'UNKNOWN_DISK'
      | 'DISK_NOT_ON_SOURCE'
      | 'DISK_NOT_OK'
      | 'STALE_TRANSITION'
      | 'BAD_TRANSITION'
      | 'SCHEMA_TOO_NEW'
      /** A fenced write whose owner and epoch no longer hold the move (taken over or released): nothing written. */
      | 'FENCED'
      /** A task placeholder beyond its pool's `windowLimit`: nothing written; try again when a task has ended. */
      | 'WINDOW_FULL',
    message: string,
  ) {
    super(message);
  }
}

export interface MoveStore extends MoveLeaseStore {
  /** A short name for logs and status: "sqlite:/path" or "postgres://host/db". */
  readonly description: string;

  /** The disk and its volumes, or undefined if the store has never seen it. */
  getDisk(diskId: string): Promise<DiskRecord | undefined>;
  /** Records a disk discovered from VDSM; refuses to replace one the store already knows. */
  addDisk(disk: DiskRecord): Promise<void>;

  /**
   * Records a move in state 'queued' (and its disk, if given and new).
   * @throws MoveStoreError DISK_ALREADY_MOVING when the disk has a move that is
   *   not done (nothing is written), MOVE_EXISTS for a reused id, UNKNOWN_DISK,
   *   DISK_NOT_ON_SOURCE when the disk's volumes are not all on the source
   *   domain, DISK_NOT_OK when a volume is not OK.
   */
  createMove(move: NewMove): Promise<MoveRecord>;

  /**
   * Applies one transition in one transaction and returns the move as it is after.
   * @throws MoveStoreError STALE_TRANSITION when the move is no longer in
   *   `from` (another writer moved it on; nothing is written), UNKNOWN_MOVE,
   *   BAD_TRANSITION when the transition names a task or phase that does not
   *   exist in the state it needs, FENCED when `fence` no longer holds the
   *   move, WINDOW_FULL when `taskPlaceholder.windowLimit` is reached.
   */
  apply(transition: Transition): Promise<MoveRecord>;

  /**
   * Marks a task cleared on the SPM; a no-op for one already cleared.
   * @throws MoveStoreError FENCED when `fence` is given and no longer holds the move.
   */
  markTaskCleared(moveId: string, phase: MovePhase, at: number, fence?: Fence): Promise<void>;

  /**
   * Records the id VDSM answered for a verb in the placeholder it was sent
   * for (the task becomes running; the move's state is left as it is), when
   * the transition that should have recorded it cannot be made: the sender's
   * lease lapsed or was taken over while the verb was on the wire. Not fenced,
   * on purpose: it records a fact only the sender knows, and only in the very
   * placeholder the verb was sent for (same move, phase and
   * `placeholderCreatedAt`, still a placeholder), so the next owner follows
   * that task (its `taskSubmitted` with the same id goes through) instead of
   * guessing among the SPM's unattributed tasks. Returns false, writing
   * nothing, when that placeholder is gone or already has its task.
   */
  recordAnswer(moveId: string, phase: MovePhase, placeholderCreatedAt: number, vdsmTaskId: string): Promise<boolean>;

  getMove(moveId: string): Promise<MoveRecord | undefined>;
  listMoves(filter?: MoveFilter): Promise<MoveRecord[]>;
  listPhases(moveId: string): Promise<PhaseRecord[]>;
  /** Tasks of a move, or with `state`, of every move (e.g. 'ended' ones still to clear). */
  listTasks(filter: { readonly moveId?: string; readonly state?: TaskState }): Promise<TaskRecord[]>;
  /** SDM jobs of a move (position, attempt order), or with `host`/`states`, of every move. */
  listSdmJobs(filter: { readonly moveId?: string; readonly states?: readonly SdmJobState[] }): Promise<SdmJobRecord[]>;
  listCompensation(moveId: string): Promise<CompensationRecord[]>;
  listLeftovers(filter?: { readonly moveId?: string }): Promise<LeftoverRecord[]>;
  /** Appends to the audit log outside a transition (e.g. a zombie found while polling). */
  addAudit(entry: AuditEntry): Promise<AuditRecord>;
  /**
   * The audit log in order; `afterSeq` pages on, and a page never skips an
   * entry: on a store where entries can commit out of `seq` order
   * (PostgreSQL), a page given `afterSeq` ends before any entry a
   * transaction still running could precede.
   */
  listAudit(filter?: { readonly moveId?: string; readonly afterSeq?: number; readonly limit?: number }): Promise<AuditRecord[]>;

  close(): Promise<void>;
}
