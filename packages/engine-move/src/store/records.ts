/**
 * What the move store keeps, as plain records. These are the only shapes that
 * cross the store interface, so that the SQLite store and the PostgreSQL store
 * (and the conformance suite they both pass) agree on them to the field.
 *
 * Times are milliseconds since the epoch on the orchestrator's clock (a test
 * clock in tests), never Date objects: both stores keep them as integers.
 */

/** oVirt's ImageStatus for a volume of a disk, as the engine keeps it per volume. */
export const VOLUME_STATUSES = ['OK', 'LOCKED', 'ILLEGAL'] as const;
export type VolumeStatus = (typeof VOLUME_STATUSES)[number];

/** One volume of a disk and the domain the disk is mapped to for it (image_storage_domain_map). */
export interface VolumeRecord {
  readonly volumeId: string;
  readonly diskId: string;
  /** The domain this volume is mapped to: the source until the copy's end logic, the target after. */
  readonly domainId: string;
  readonly status: VolumeStatus;
  /** The parent volume in the chain, or null for the base. */
  readonly parentId: string | null;
  /** Position in the chain, 0 for the base: the order volumes are copied and listed in. */
  readonly position: number;
}

/** A disk (image group) of a pool and its chain of volumes, base first. */
export interface DiskRecord {
  readonly diskId: string;
  readonly poolId: string;
  readonly volumes: readonly VolumeRecord[];
}

/**
 * The states a move goes through. The move state machine (move/) owns the
 * transitions between them; the store only keeps the current one and refuses
 * a transition that does not start from it.
 */
export const MOVE_STATES = [
  /** Recorded, nothing locked yet (submitted, waiting for an orchestrator). */
  'queued',
  /** Volumes LOCKED, the copy's task placeholder written; the copy verb may or may not have reached VDSM. */
  'copy-submitting',
  /** The copy task's id is known; following it. */
  'copying',
  /** Copy done and committed (mapping on the target, unlocked); the source delete's placeholder written. */
  'source-delete-submitting',
  /** Following the source delete. The disk is available on the target. */
  'deleting-source',
  /** Copy failed or was cancelled, volumes unlocked on the source; the target cleanup's placeholder written. */
  'target-delete-submitting',
  /** Following the target cleanup. */
  'deleting-target',
  /** Legacy single verb (Image.move operation move): placeholder written. */
  'legacy-submitting',
  /** Legacy single verb: following its task. */
  'legacy-moving',
  /** Ended; `result` says how. */
  'done',
] as const;
export type MoveState = (typeof MOVE_STATES)[number];

export const MOVE_RESULTS = ['moved', 'failed', 'cancelled'] as const;
export type MoveResult = (typeof MOVE_RESULTS)[number];

/** The phases of a move; `failedPhase` of an outcome is one of them. */
export const MOVE_PHASES = ['copy', 'delete-source', 'delete-target', 'legacy-move'] as const;
export type MovePhase = (typeof MOVE_PHASES)[number];

/** How the copy is done: the two-verb flow, or the old single `Image.move` operation move. */
export const MOVE_MODES = ['copy-delete', 'legacy'] as const;
export type MoveMode = (typeof MOVE_MODES)[number];

/**
 * Which path copies the data (issue 12): `sdm` = the structure made on the
 * target by an SPM task, then one `SDM.copy_data` host job per volume on a
 * pool host; `spm` = the SPM's `Image.move` operation copy task. `auto` (the
 * default) takes SDM when both domains are version 3 or later and a pool host
 * can run it, the SPM path otherwise.
 */
export const COPY_PATH_CHOICES = ['auto', 'sdm', 'spm'] as const;
export type CopyPathChoice = (typeof COPY_PATH_CHOICES)[number];
export type CopyPath = Exclude<CopyPathChoice, 'auto'>;

/** A VDSM error as the move recorded it. */
export interface RecordedError {
  readonly code: number;
  readonly message: string;
}

/** What the user asked for. */
export interface MoveRequest {
  readonly moveId: string;
  readonly poolId: string;
  readonly diskId: string;
  readonly srcDomainId: string;
  readonly dstDomainId: string;
  readonly wipeAfterDelete: boolean;
  readonly discard: boolean;
  readonly mode: MoveMode;
  /** The copy path asked for (default auto). */
  readonly copyPath?: CopyPathChoice;
  /** Host names (PoolHost.name) never to run a copy job on. */
  readonly excludeHosts?: readonly string[];
  /** Host jobs a failed volume copy may be tried again, each on another host (default 0). */
  readonly copyRetries?: number;
}

export interface MoveRecord extends MoveRequest {
  readonly copyPath: CopyPathChoice;
  readonly excludeHosts: readonly string[];
  readonly copyRetries: number;
  /** The path the copy took, decided when the move starts; null before. */
  readonly path: CopyPath | null;
  readonly state: MoveState;
  /** Set when state is 'done'. */
  readonly result: MoveResult | null;
  readonly failedPhase: MovePhase | null;
  readonly error: RecordedError | null;
  /** The user asked to cancel; the copy is being stopped. */
  readonly cancelRequested: boolean;
  readonly createdAt: number;
  /** When the disk became usable on the target (the copy's end logic committed). */
  readonly availableAt: number | null;
  /** When everything, the cleanup included, was done. */
  readonly doneAt: number | null;
  /** Bumped by every transition: a cheap version for readers that poll (a claim or renewal does not bump it). */
  readonly version: number;
  /** The instance holding the move's lease (store/leases.ts), or null when none ever did or it was released. */
  readonly owner: string | null;
  /** The fencing token: bumped by every claim, 0 for a move never claimed. */
  readonly epoch: number;
  /**
   * When the lease ends, in milliseconds since the epoch on the database's
   * clock (not the orchestrator's, unlike every other time here); null if never claimed.
   * A lease past this time may be taken over by any claimer.
   */
  readonly leaseUntil: number | null;
}

export const PHASE_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;
export type PhaseOutcome = (typeof PHASE_OUTCOMES)[number];

export interface PhaseRecord {
  readonly moveId: string;
  readonly phase: MovePhase;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly outcome: PhaseOutcome | null;
  readonly error: RecordedError | null;
}

/**
 * A VDSM task of a move, written as a placeholder (no id) before the verb is
 * sent and given its id after, as the engine's async_tasks rows are.
 */
export const TASK_STATES = [
  /** Written before the call; the verb may or may not have reached VDSM. */
  'placeholder',
  /** VDSM returned its id; being followed. */
  'running',
  /** Its end was seen and the move's end logic committed; Task.clear still to do. */
  'ended',
  /** Task.clear succeeded (or VDSM no longer knew it): nothing left on the SPM. */
  'cleared',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskRecord {
  readonly moveId: string;
  readonly phase: MovePhase;
  readonly poolId: string;
  /** The JSON-RPC method that starts it: Image.move or Image.delete. */
  readonly verb: string;
  /** The domain and image it acts on: how a lost submission is found again. */
  readonly domainId: string;
  readonly imageId: string;
  readonly vdsmTaskId: string | null;
  readonly state: TaskState;
  readonly createdAt: number;
  readonly endedAt: number | null;
  /** The task's end as VDSM reported it (code 0 for success). */
  readonly endCode: number | null;
  readonly endMessage: string | null;
}

/**
 * An SDM host job of a move's copy (one `SDM.copy_data` per volume and
 * attempt), written as a placeholder with the id, host and the target's
 * generation G BEFORE the call, as task placeholders are: a restart looks at
 * that host's `Host.getJobs`, then at the volume, never sends it again blindly.
 */
export const SDM_JOB_STATES = [
  /** Written before SDM.copy_data; the call may or may not have reached the host. */
  'placeholder',
  /** The host accepted the job (it answered true, or listed it). */
  'running',
  /** Its end is known and recorded (code 0: done). */
  'ended',
] as const;
export type SdmJobState = (typeof SDM_JOB_STATES)[number];

export interface SdmJobRecord {
  readonly jobId: string;
  readonly moveId: string;
  readonly volumeId: string;
  /** The volume's place in the chain, 0 for the base (copied base first). */
  readonly position: number;
  /** The PoolHost name the job was sent to: where it is polled. */
  readonly host: string;
  /** The target volume's generation read before the call (the copy must find it unchanged). */
  readonly generation: number;
  /** 0 for the first try of the volume, 1.. for retries. */
  readonly attempt: number;
  readonly state: SdmJobState;
  readonly createdAt: number;
  readonly endedAt: number | null;
  readonly endCode: number | null;
  readonly endMessage: string | null;
}

/** The previous status of a volume, kept while the move holds it LOCKED. */
export interface CompensationRecord {
  readonly moveId: string;
  readonly volumeId: string;
  readonly previousStatus: VolumeStatus;
}

/** Something a move left behind on a domain, for a person or a later cleanup. */
export interface LeftoverRecord {
  readonly moveId: string;
  readonly domainId: string;
  readonly imageId: string;
  readonly reason: string;
  readonly recordedAt: number;
}

/**
 * oVirt's audit log types for a move (AuditLogType), so that an engine reading
 * our log sees the numbers it knows.
 */
export const AUDIT_TYPES = {
  /** USER_MOVED_DISK: the move started. */
  MOVE_STARTED: 2008,
  /** USER_FAILED_MOVED_VM_DISK: the move could not start. */
  MOVE_START_FAILED: 2009,
  /** USER_MOVED_DISK_FINISHED_SUCCESS. */
  MOVE_SUCCEEDED: 2010,
  /** USER_MOVED_DISK_FINISHED_FAILURE. */
  MOVE_FAILED: 2011,
  /** USER_MOVE_IMAGE_GROUP_FAILED_TO_DELETE_SRC_IMAGE: the source delete could not start. */
  SOURCE_DELETE_NOT_STARTED: 2025,
  /** USER_MOVE_IMAGE_GROUP_FAILED_TO_DELETE_DST_IMAGE: the target cleanup could not start. */
  TARGET_DELETE_NOT_STARTED: 2026,
  /** DELETE_IMAGE_GROUP_TASK_FAILED: a delete task failed; manual removal may be needed. */
  DELETE_TASK_FAILED: 2053,
  /** TASK_STOPPING_ASYNC_TASK: a zombie task is being stopped. */
  ZOMBIE_STOPPING: 9500,
  /** TASK_CLEARING_ASYNC_TASK: a zombie task is being cleared. */
  ZOMBIE_CLEARING: 9501,
} as const;
export type AuditType = (typeof AUDIT_TYPES)[keyof typeof AUDIT_TYPES];
export const AUDIT_TYPE_NUMBERS: readonly number[] = Object.values(AUDIT_TYPES);

export const AUDIT_SEVERITIES = ['normal', 'warning', 'error'] as const;
export type AuditSeverity = (typeof AUDIT_SEVERITIES)[number];

export interface AuditEntry {
  readonly type: AuditType;
  readonly severity: AuditSeverity;
  readonly moveId: string | null;
  readonly diskId: string | null;
  readonly message: string;
  readonly at: number;
}

export interface AuditRecord extends AuditEntry {
  /** Increasing with every entry: the log's order and a cursor. */
  readonly seq: number;
}
