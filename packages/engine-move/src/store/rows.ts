/**
 * Rows as both SQL stores read them (snake_case columns, booleans as 0/1 or
 * true/false, integers possibly as strings from a driver that keeps int8 exact)
 * and their mapping to the records of records.ts: one mapping for both stores.
 */
import type {
  AuditRecord,
  AuditSeverity,
  AuditType,
  CompensationRecord,
  CopyPath,
  CopyPathChoice,
  LeftoverRecord,
  MoveMode,
  MovePhase,
  MoveRecord,
  MoveResult,
  MoveState,
  PhaseOutcome,
  PhaseRecord,
  RecordedError,
  SdmJobRecord,
  SdmJobState,
  TaskRecord,
  TaskState,
  VolumeRecord,
  VolumeStatus,
} from './records.js';

type Int = number | string | bigint;
type Bool = number | boolean;

function int(value: Int): number {
  return typeof value === 'number' ? value : Number(value);
}
function intOrNull(value: Int | null): number | null {
  return value === null ? null : int(value);
}
function bool(value: Bool): boolean {
  return value === true || value === 1;
}
function errorOf(code: Int | null, message: string | null): RecordedError | null {
  return code === null ? null : { code: int(code), message: message ?? '' };
}

export const VOLUME_COLUMNS = 'disk_id, volume_id, domain_id, status, parent_id, position';
export interface VolumeRow {
  disk_id: string;
  volume_id: string;
  domain_id: string;
  status: string;
  parent_id: string | null;
  position: Int;
}
export function volumeFromRow(row: VolumeRow): VolumeRecord {
  return {
    diskId: row.disk_id,
    volumeId: row.volume_id,
    domainId: row.domain_id,
    status: row.status as VolumeStatus,
    parentId: row.parent_id,
    position: int(row.position),
  };
}

/** Every column of a move but `lease_until`, which each store selects as milliseconds its own way. */
export const MOVE_COLUMNS =
  'move_id, pool_id, disk_id, src_domain_id, dst_domain_id, wipe_after_delete, discard, mode, state, result, ' +
  'failed_phase, error_code, error_message, cancel_requested, created_at, available_at, done_at, version, owner, epoch, ' +
  'copy_path_requested, exclude_hosts, copy_retries, copy_path';
export interface MoveRow {
  move_id: string;
  pool_id: string;
  disk_id: string;
  src_domain_id: string;
  dst_domain_id: string;
  wipe_after_delete: Bool;
  discard: Bool;
  mode: string;
  state: string;
  result: string | null;
  failed_phase: string | null;
  error_code: Int | null;
  error_message: string | null;
  cancel_requested: Bool;
  created_at: Int;
  available_at: Int | null;
  done_at: Int | null;
  version: Int;
  owner: string | null;
  epoch: Int;
  /** Milliseconds on the database's clock (each store selects it so). */
  lease_until: Int | null;
  copy_path_requested: string;
  /** A JSON array of host names. */
  exclude_hosts: string;
  copy_retries: Int;
  copy_path: string | null;
}
export function moveFromRow(row: MoveRow): MoveRecord {
  return {
    moveId: row.move_id,
    poolId: row.pool_id,
    diskId: row.disk_id,
    srcDomainId: row.src_domain_id,
    dstDomainId: row.dst_domain_id,
    wipeAfterDelete: bool(row.wipe_after_delete),
    discard: bool(row.discard),
    mode: row.mode as MoveMode,
    state: row.state as MoveState,
    result: row.result as MoveResult | null,
    failedPhase: row.failed_phase as MovePhase | null,
    error: errorOf(row.error_code, row.error_message),
    cancelRequested: bool(row.cancel_requested),
    createdAt: int(row.created_at),
    availableAt: intOrNull(row.available_at),
    doneAt: intOrNull(row.done_at),
    version: int(row.version),
    owner: row.owner,
    epoch: int(row.epoch),
    leaseUntil: intOrNull(row.lease_until),
    copyPath: row.copy_path_requested as CopyPathChoice,
    excludeHosts: JSON.parse(row.exclude_hosts) as string[],
    copyRetries: int(row.copy_retries),
    path: row.copy_path as CopyPath | null,
  };
}

export const PHASE_COLUMNS = 'move_id, phase, started_at, ended_at, outcome, error_code, error_message';
export interface PhaseRow {
  move_id: string;
  phase: string;
  started_at: Int;
  ended_at: Int | null;
  outcome: string | null;
  error_code: Int | null;
  error_message: string | null;
}
export function phaseFromRow(row: PhaseRow): PhaseRecord {
  return {
    moveId: row.move_id,
    phase: row.phase as MovePhase,
    startedAt: int(row.started_at),
    endedAt: intOrNull(row.ended_at),
    outcome: row.outcome as PhaseOutcome | null,
    error: errorOf(row.error_code, row.error_message),
  };
}

export const TASK_COLUMNS =
  'move_id, phase, pool_id, verb, domain_id, image_id, vdsm_task_id, state, created_at, ended_at, end_code, end_message';
export interface TaskRow {
  move_id: string;
  phase: string;
  pool_id: string;
  verb: string;
  domain_id: string;
  image_id: string;
  vdsm_task_id: string | null;
  state: string;
  created_at: Int;
  ended_at: Int | null;
  end_code: Int | null;
  end_message: string | null;
}
export function taskFromRow(row: TaskRow): TaskRecord {
  return {
    moveId: row.move_id,
    phase: row.phase as MovePhase,
    poolId: row.pool_id,
    verb: row.verb,
    domainId: row.domain_id,
    imageId: row.image_id,
    vdsmTaskId: row.vdsm_task_id,
    state: row.state as TaskState,
    createdAt: int(row.created_at),
    endedAt: intOrNull(row.ended_at),
    endCode: intOrNull(row.end_code),
    endMessage: row.end_message,
  };
}

export const SDM_JOB_COLUMNS =
  'job_id, move_id, volume_id, position, host, generation, attempt, state, created_at, ended_at, end_code, end_message';
export interface SdmJobRow {
  job_id: string;
  move_id: string;
  volume_id: string;
  position: Int;
  host: string;
  generation: Int;
  attempt: Int;
  state: string;
  created_at: Int;
  ended_at: Int | null;
  end_code: Int | null;
  end_message: string | null;
}
export function sdmJobFromRow(row: SdmJobRow): SdmJobRecord {
  return {
    jobId: row.job_id,
    moveId: row.move_id,
    volumeId: row.volume_id,
    position: int(row.position),
    host: row.host,
    generation: int(row.generation),
    attempt: int(row.attempt),
    state: row.state as SdmJobState,
    createdAt: int(row.created_at),
    endedAt: intOrNull(row.ended_at),
    endCode: intOrNull(row.end_code),
    endMessage: row.end_message,
  };
}

export interface CompensationRow {
  move_id: string;
  volume_id: string;
  previous_status: string;
}
export function compensationFromRow(row: CompensationRow): CompensationRecord {
  return { moveId: row.move_id, volumeId: row.volume_id, previousStatus: row.previous_status as VolumeStatus };
}

export interface LeftoverRow {
  move_id: string;
  domain_id: string;
  image_id: string;
  reason: string;
  recorded_at: Int;
}
export function leftoverFromRow(row: LeftoverRow): LeftoverRecord {
  return {
    moveId: row.move_id,
    domainId: row.domain_id,
    imageId: row.image_id,
    reason: row.reason,
    recordedAt: int(row.recorded_at),
  };
}

export const AUDIT_COLUMNS = 'seq, at, type, severity, move_id, disk_id, message';
export interface AuditRow {
  seq: Int;
  at: Int;
  type: Int;
  severity: string;
  move_id: string | null;
  disk_id: string | null;
  message: string;
}
export function auditFromRow(row: AuditRow): AuditRecord {
  return {
    seq: int(row.seq),
    at: int(row.at),
    type: int(row.type) as AuditType,
    severity: row.severity as AuditSeverity,
    moveId: row.move_id,
    diskId: row.disk_id,
    message: row.message,
  };
}
