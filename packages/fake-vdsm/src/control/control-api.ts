/**
 * The control plane's operations, as one interface that both the in-process
 * fake (`startFakeVdsm()`'s object) and the HTTP `ControlClient` implement,
 * so a test can swap one for the other. Every shape here is plain JSON: the
 * HTTP API (control/http-server.ts) sends exactly these objects.
 */
import type { HostJobInfo } from '@vdsm-kit/client/api';
import type { LockRow } from '../tasks/task-repo.js';

/** Error codes of the control plane (`{"error": {"code", "message"}}` over HTTP). */
export type ControlErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'unavailable'
  | 'internal';

/** HTTP status of each control error code. */
export const CONTROL_ERROR_STATUS: Readonly<Record<ControlErrorCode, number>> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

/** A typed failure of a control operation (in-process it is thrown; over HTTP it is the error body). */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The HTTP status for this error. */
  get status(): number {
    return CONTROL_ERROR_STATUS[this.code];
  }
}

/** A fault rule as the engine returns it (faults/rule.ts `FaultRuleWithId`), kept opaque here. */
export type FaultRuleJson = { readonly id: string } & Record<string, unknown>;

/** One logged firing (faults/engine.ts `Firing`), kept opaque here. */
export type FiringJson = Record<string, unknown>;

/** `GET /hosts`: a served host and its pool role. */
export interface HostView {
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
  readonly poolId: string | null;
  /** True when this host holds its pool's SPM role. */
  readonly spm: boolean;
  /** False while the host is crashed on its own (`crashHost`): its port refuses connections. */
  readonly up: boolean;
}

/** `GET /domains`. */
export interface DomainView {
  readonly id: string;
  readonly poolId: string;
  readonly name: string;
  readonly kind: string;
  readonly type: string;
  readonly role: string;
  readonly status: string;
  readonly capacity: number;
  readonly reachable: boolean;
}

/** `GET /images?domain=`: an image on a domain and its volumes' ids. */
export interface ImageView {
  readonly domainId: string;
  readonly id: string;
  readonly volumes: readonly string[];
}

/** `GET /volumes?domain=&image=` and `GET /volumes/:sd/:img/:vol`. */
export interface VolumeView {
  readonly domainId: string;
  readonly imageId: string;
  readonly id: string;
  readonly parentId: string;
  /** VDSM's format code (`VolumeFormat`: 4 COW, 5 RAW). */
  readonly format: number;
  /** VDSM's allocation code (`VolumeAllocation`: 1 PREALLOCATED, 2 SPARSE). */
  readonly allocation: number;
  readonly capacity: number;
  readonly legality: string;
  readonly generation: number;
  readonly removed: boolean;
  /** `{apparent, true}` of the file, or null when the file is missing. */
  readonly sizes: { readonly apparent: number; readonly true: number } | null;
  /** The block checksum of the guest-visible content (`VolumeChecksum.checksum`), when asked for (`?checksum=1`). */
  readonly checksum?: string;
}

/**
 * `GET /volumes/:sd/:img/:vol/checksum`: the block checksum of the guest
 * content (data/checksum.ts), with its parameters as ovirt-imageio's
 * checksum reply gives them: SHA-256 of the 4 MiB blocks' SHA-256 digests,
 * zero blocks included.
 */
export interface VolumeChecksum {
  readonly algorithm: 'sha256';
  readonly blockSize: number;
  /** Hex. */
  readonly checksum: string;
}

/** `GET /tasks`: a stored task row. */
export interface TaskView {
  readonly id: string;
  readonly poolId: string | null;
  readonly verb: string;
  readonly tag: string;
  readonly state: string;
  readonly code: number;
  readonly message: string;
  readonly kind: string;
  readonly progress: number;
}

/** `GET /jobs?host=N`: an SDM host job as `Host.getJobs` shows it, with the host that runs it. */
export type JobView = HostJobInfo & {
  /** The VDSM host id whose table lists it. */
  readonly host: number;
};

/** `GET /locks`. */
export type LockView = LockRow;

/** Bytes for `POST /volumes/:sd/:img/:vol/data`: exactly one of `hex`, `base64`, or `pattern` (one byte 0-255) with `length`. */
export interface WriteDataRequest {
  readonly offset: number;
  readonly hex?: string;
  readonly base64?: string;
  readonly pattern?: number;
  readonly length?: number;
}

/** Result of a data write (no checksum: it costs a read of the data; ask `checksum` when needed). */
export interface WriteDataResult {
  readonly written: number;
}

/** `GET /invariants`. */
export interface InvariantReport {
  readonly ok: boolean;
  readonly violations: readonly InvariantViolation[];
}

/** One broken invariant. */
export interface InvariantViolation {
  readonly kind: 'file-without-row' | 'row-without-file' | 'illegal-outside-task' | 'orphan-lock' | 'multiple-spm';
  readonly message: string;
  readonly [key: string]: unknown;
}

/** `POST /reset`: `{}` for everything, `{pool}` for one pool. */
export interface ResetRequest {
  readonly pool?: string;
}

/** What a reset did. */
export interface ResetResult {
  readonly scope: 'all' | 'pool';
  readonly pools: readonly string[];
  readonly faultsCleared: number;
  readonly tasksCleared: number;
  readonly volumesRestored: number;
}

/** `GET /calls?method=&since=`: which calls to list. */
export interface CallQuery {
  /** Only calls of this method (`Image.move`). */
  readonly method?: string;
  /** A cursor: only calls with a `seq` greater than this (the `next` of an earlier page). Default 0: all held. */
  readonly since?: number;
}

/** One JSON-RPC call the fake answered (control/call-log.ts). */
export interface CallView {
  /** Its place in the log: 1, 2, ... in the order the calls were answered, never reused (not even after `DELETE /calls`). */
  readonly seq: number;
  /** When the call arrived, on the fake's clock (ms; the storage clock, the one `POST /clock/advance` moves). */
  readonly at: number;
  /** When the call arrived, wall time (ISO 8601). */
  readonly time: string;
  /** How long it took to answer, on the fake's clock (ms). */
  readonly durationMs: number;
  /** The VDSM host id that answered. */
  readonly host: number;
  /** The connection it came on (`ConnectionDescription.id`, unique in the process), null when unknown. */
  readonly connection: number | null;
  /** How it came: `tcp`, `tls` or `ws` (WebSocket, plain or over TLS). */
  readonly transport: string;
  /** The SEND's `ovirtCorrelationId`, null without one. */
  readonly flowId: string | null;
  /** The JSON-RPC id, null for a notification. */
  readonly id: string | number | null;
  readonly method: string;
  /**
   * The params as sent. When their JSON is longer than `MAX_RECORDED_PARAMS_CHARS`
   * this is the first that many characters of it, as a string, and `paramsTruncated` is true.
   */
  readonly params: unknown;
  readonly paramsTruncated: boolean;
  /** What it answered: 0 for a result, the error's code, null when no answer was sent (a `noAnswer` fault, a notification). */
  readonly code: number | null;
}

/** `GET /calls`: the matching calls the log holds, oldest first. */
export interface CallPage {
  readonly calls: readonly CallView[];
  /** The newest `seq` recorded, whatever the filter (0 before the first call): the `since` of the next poll. */
  readonly next: number;
  /** Calls after `since` (of any method) the log no longer holds: pushed out of the ring or cleared. 0 for a poller keeping up. */
  readonly dropped: number;
}

/** The operations every control surface offers. */
export interface ControlApi {
  health(): Promise<{ ok: true }>;
  addFault(rule: unknown): Promise<FaultRuleJson>;
  listFaults(): Promise<FaultRuleJson[]>;
  /** @returns false when there was no such rule (HTTP: 404). */
  removeFault(id: string): Promise<boolean>;
  clearFaults(): Promise<number>;
  faultLog(): Promise<FiringJson[]>;
  reset(request?: ResetRequest): Promise<ResetResult>;
  listHosts(): Promise<HostView[]>;
  listDomains(): Promise<DomainView[]>;
  listImages(domainId: string): Promise<ImageView[]>;
  listVolumes(domainId: string, imageId?: string): Promise<VolumeView[]>;
  getVolume(domainId: string, imageId: string, volumeId: string, options?: { checksum?: boolean }): Promise<VolumeView>;
  listTasks(): Promise<TaskView[]>;
  listLocks(): Promise<LockView[]>;
  /** The SDM host jobs every host lists (`Host.getJobs`), or host `hostId`'s only. */
  listJobs(hostId?: number): Promise<JobView[]>;
  /**
   * Aborts an SDM job, which no VDSM verb can (jobs.py `abort`): pending, it
   * ends `aborted` at once; running, its copy is killed and it ends
   * `aborted`, the destination left ILLEGAL at its old generation. The
   * `|jobs|status|<id>` event is sent. Resolves with the job as it is then.
   * ControlError 'not_found' for a job the host does not list, 'conflict' for one that ended.
   */
  abortJob(hostId: number, jobId: string): Promise<JobView>;
  writeData(domainId: string, imageId: string, volumeId: string, request: WriteDataRequest): Promise<WriteDataResult>;
  checksum(domainId: string, imageId: string, volumeId: string): Promise<VolumeChecksum>;
  /** Advances a manual clock (ControlError 'conflict' otherwise); resolves with the clock's new time. */
  advanceClock(ms: number): Promise<{ now: number }>;
  invariants(): Promise<InvariantReport>;
  /**
   * Crashes the fake: every connection dropped, running jobs let go of
   * without persisting anything (a restart recovers them). Under
   * `fake-vdsm serve` the process SIGKILLs itself instead (a supervisor
   * restarts it on the same `--state`).
   */
  crash(): Promise<void>;
  /** Starts a crashed fake again on the same state folder and ports: the startup recovery runs. */
  restart(): Promise<void>;
  /**
   * Crashes host `hostId` alone, as a VDSM process dying on one host of the
   * pool while the others (and the SPM) live on: its listener and every
   * connection close, its SDM host jobs are lost (not persisted, as VDSM's
   * are not: a copy's destination stays ILLEGAL at its old generation, and
   * its volume lease is freed as sanlock frees a dead holder's). Resolves
   * once the host is down; again for a host already down.
   * ControlError 'not_found' for no such host, 'conflict' for the pool's SPM
   * (crash() the fake, or move the role first).
   */
  crashHost(hostId: number): Promise<void>;
  /**
   * Starts host `hostId` again on its port, with an empty job table.
   * ControlError 'not_found' for no such host, 'conflict' for a host that is up.
   */
  restartHost(hostId: number): Promise<void>;
  /** The recent JSON-RPC calls (a bounded ring, `callLogCapacity`), filtered and paged by `query`. */
  listCalls(query?: CallQuery): Promise<CallPage>;
  /** Empties the call log; resolves with how many calls it held. `seq` goes on counting. */
  clearCalls(): Promise<number>;
  /** The metrics in the Prometheus text format (control/metrics.ts). */
  metrics(): Promise<string>;
}
