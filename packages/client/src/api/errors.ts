/**
 * Errors that VDSM reports (numeric codes), as classes callers can branch on:
 *
 * ```
 * VdsmError                           any code; vdsmName 'Unknown' when not in the table
 * ├─ JsonRpcError                     -32768..-32000
 * │  └─ MethodNotFoundError           -32601
 * ├─ RecoveryInProgressError          99 (VDSM is starting; retry later)
 * ├─ StorageError                     200..4999 (lib/vdsm/storage/exception.py)
 * │  ├─ VolumeError                   201..249
 * │  ├─ ImageError                    250..299  └─ ImageDoesNotExistInSDError 268
 * │  ├─ StoragePoolError              300..349  └─ StoragePoolUnknownError 309
 * │  ├─ StorageDomainError            350..399  └─ StorageDomainDoesNotExistError 358
 * │  ├─ TaskError                     400..449  └─ UnknownTaskError 401, TaskStateError 410, TaskAbortedError 411
 * │  ├─ LvmError                      500..649  └─ VolumeGroupSizeError 504
 * │  ├─ SpmError                      650..699  └─ NotSpmError 654, IsSpmError 656
 * │  ├─ ResourceError                 850..899  └─ ResourceTimeoutError 851
 * │  └─ InvalidParameterError         1000
 * └─ VdsmNetworkError                 5022 (engine's VDS_NETWORK_ERROR)
 *    ├─ RpcTimeoutError               no answer in time
 *    └─ ConnectionLostError           the connection dropped with the call pending
 * ```
 *
 * Ranges follow the sections of VDSM's exception module. `vdsmErrorFromRpc`
 * picks the most specific class; the table in error-codes.ts supplies every
 * `vdsmName` and default message. Errors of the client's own layers are
 * `VdsmKitError`s (string codes, ../errors.ts).
 */
import { VdsmErrorCode, vdsmErrorInfo } from './error-codes.js';

/** The `error` member of a JSON-RPC response as VDSM sends it (no `data`). */
export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
}

/** VDSM's class message for `code` (the default message of the specific classes). */
function tableMessage(code: number): string {
  return vdsmErrorInfo(code)?.message ?? '';
}

/** An error VDSM answered: VDSM's numeric `code`, its class name and its message as received. */
export class VdsmError extends Error {
  override name = 'VdsmError';
  /** VDSM's numeric code (JSON-RPC `error.code`). */
  readonly code: number;
  /** VDSM's exception class name (`UnknownTask`), or `Unknown` for a code not in the table. */
  readonly vdsmName: string;

  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.vdsmName = vdsmErrorInfo(code)?.name ?? 'Unknown';
  }

  /** The JSON-RPC `error` member that carries this error (what a server sends). */
  toRpcError(): RpcErrorObject {
    return { code: this.code, message: this.message };
  }
}

// ---- categories (constructed with any code of their range) ----

/** JSON-RPC protocol errors (negative codes): bad request, unknown method, internal error. */
export class JsonRpcError extends VdsmError {
  override name = 'JsonRpcError';
}

/** Errors of VDSM's storage subsystem (codes 200..4999). */
export class StorageError extends VdsmError {
  override name = 'StorageError';
}

/** Volume errors (201..249; 200 is the generic StorageException). */
export class VolumeError extends StorageError {
  override name = 'VolumeError';
}

/** Image errors (250..299). */
export class ImageError extends StorageError {
  override name = 'ImageError';
}

/** Storage pool errors (300..349). */
export class StoragePoolError extends StorageError {
  override name = 'StoragePoolError';
}

/** Storage domain errors (350..399). */
export class StorageDomainError extends StorageError {
  override name = 'StorageDomainError';
}

/** Task manager errors (400..449). */
export class TaskError extends StorageError {
  override name = 'TaskError';
}

/** LVM errors of block domains: volume groups, logical volumes, devices (500..649). */
export class LvmError extends StorageError {
  override name = 'LvmError';
}

/** SPM role and cluster lock errors (650..699). */
export class SpmError extends StorageError {
  override name = 'SpmError';
}

/** Resource manager (lock) errors (850..899). */
export class ResourceError extends StorageError {
  override name = 'ResourceError';
}

// ---- specific classes (one code each; the message defaults to VDSM's class message) ----

/** -32601: VDSM's schema has no such method. */
export class MethodNotFoundError extends JsonRpcError {
  override name = 'MethodNotFoundError';
  constructor(message = tableMessage(VdsmErrorCode.JsonRpcMethodNotFoundError), options?: ErrorOptions) {
    super(VdsmErrorCode.JsonRpcMethodNotFoundError, message, options);
  }
}

/** 99: VDSM is starting or recovering and refuses every request; retry later. */
export class RecoveryInProgressError extends VdsmError {
  override name = 'RecoveryInProgressError';
  constructor(message = tableMessage(VdsmErrorCode.RecoveryInProgress), options?: ErrorOptions) {
    super(VdsmErrorCode.RecoveryInProgress, message, options);
  }
}

/** 268: the image is not on the domain (delete: sync; move: in the task). */
export class ImageDoesNotExistInSDError extends ImageError {
  override name = 'ImageDoesNotExistInSDError';
  constructor(message = tableMessage(VdsmErrorCode.ImageDoesNotExistInSD), options?: ErrorOptions) {
    super(VdsmErrorCode.ImageDoesNotExistInSD, message, options);
  }
}

/** 309: wrong pool id, or this host is not connected to the pool. */
export class StoragePoolUnknownError extends StoragePoolError {
  override name = 'StoragePoolUnknownError';
  constructor(message = tableMessage(VdsmErrorCode.StoragePoolUnknown), options?: ErrorOptions) {
    super(VdsmErrorCode.StoragePoolUnknown, message, options);
  }
}

/** 358: the domain is unknown to (not visible from) this host. */
export class StorageDomainDoesNotExistError extends StorageDomainError {
  override name = 'StorageDomainDoesNotExistError';
  constructor(message = tableMessage(VdsmErrorCode.StorageDomainDoesNotExist), options?: ErrorOptions) {
    super(VdsmErrorCode.StorageDomainDoesNotExist, message, options);
  }
}

/** 401: no such task on this host (never existed, or already cleared). */
export class UnknownTaskError extends TaskError {
  override name = 'UnknownTaskError';
  constructor(message = tableMessage(VdsmErrorCode.UnknownTask), options?: ErrorOptions) {
    super(VdsmErrorCode.UnknownTask, message, options);
  }
}

/** 410: not allowed in the task's state, e.g. clearing an unfinished SPM task. */
export class TaskStateError extends TaskError {
  override name = 'TaskStateError';
  constructor(message = tableMessage(VdsmErrorCode.TaskStateError), options?: ErrorOptions) {
    super(VdsmErrorCode.TaskStateError, message, options);
  }
}

/** 411: the task was stopped or failed. */
export class TaskAbortedError extends TaskError {
  override name = 'TaskAbortedError';
  constructor(message = tableMessage(VdsmErrorCode.TaskAborted), options?: ErrorOptions) {
    super(VdsmErrorCode.TaskAborted, message, options);
  }
}

/** 504: no free extents left in the block domain's volume group. */
export class VolumeGroupSizeError extends LvmError {
  override name = 'VolumeGroupSizeError';
  constructor(message = tableMessage(VdsmErrorCode.VolumeGroupSizeError), options?: ErrorOptions) {
    super(VdsmErrorCode.VolumeGroupSizeError, message, options);
  }
}

/** 654 (VDSM's SpmStatusError): an SPM-only verb reached a host that is not the SPM. */
export class NotSpmError extends SpmError {
  override name = 'NotSpmError';
  constructor(message = tableMessage(VdsmErrorCode.SpmStatusError), options?: ErrorOptions) {
    super(VdsmErrorCode.SpmStatusError, message, options);
  }
}

/** 656: the host already is (or contends to be) the SPM. */
export class IsSpmError extends SpmError {
  override name = 'IsSpmError';
  constructor(message = tableMessage(VdsmErrorCode.IsSpm), options?: ErrorOptions) {
    super(VdsmErrorCode.IsSpm, message, options);
  }
}

/** 851: a storage lock was not granted in time (120 s by default). */
export class ResourceTimeoutError extends ResourceError {
  override name = 'ResourceTimeoutError';
  constructor(message = tableMessage(VdsmErrorCode.ResourceTimeout), options?: ErrorOptions) {
    super(VdsmErrorCode.ResourceTimeout, message, options);
  }
}

/** 1000 (VDSM's InvalidParameterException): e.g. a malformed task id, or source == destination. */
export class InvalidParameterError extends StorageError {
  override name = 'InvalidParameterError';
  constructor(message = tableMessage(VdsmErrorCode.InvalidParameterException), options?: ErrorOptions) {
    super(VdsmErrorCode.InvalidParameterException, message, options);
  }
}

// ---- network errors (raised by the client, code 5022 as the engine does) ----

/**
 * The call got no answer: the engine's `VDS_NETWORK_ERROR` (5022). Raised by
 * the client itself, never sent by VDSM; the request may still have run.
 */
export class VdsmNetworkError extends VdsmError {
  override name = 'VdsmNetworkError';
  constructor(message = tableMessage(VdsmErrorCode.VDS_NETWORK_ERROR), options?: ErrorOptions) {
    super(VdsmErrorCode.VDS_NETWORK_ERROR, message, options);
  }
}

/** No answer within the call's timeout; the message is the engine's, word for word. */
export class RpcTimeoutError extends VdsmNetworkError {
  override name = 'RpcTimeoutError';
  /** The `Namespace.verb` that timed out. */
  readonly method: string;
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;

  constructor(method: string, timeoutMs: number, options?: ErrorOptions) {
    super(tableMessage(VdsmErrorCode.VDS_NETWORK_ERROR), options);
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection dropped while the call was pending; `message` is the reason, `cause` the transport error. */
export class ConnectionLostError extends VdsmNetworkError {
  override name = 'ConnectionLostError';
  constructor(reason: string, options?: ErrorOptions) {
    super(reason, options);
  }
}

// ---- construction from the wire ----

type SpecificError = new (message?: string) => VdsmError;
type CategoryError = new (code: number, message: string) => VdsmError;

const SPECIFIC: ReadonlyMap<number, SpecificError> = new Map<number, SpecificError>([
  [VdsmErrorCode.JsonRpcMethodNotFoundError, MethodNotFoundError],
  [VdsmErrorCode.RecoveryInProgress, RecoveryInProgressError],
  [VdsmErrorCode.ImageDoesNotExistInSD, ImageDoesNotExistInSDError],
  [VdsmErrorCode.StoragePoolUnknown, StoragePoolUnknownError],
  [VdsmErrorCode.StorageDomainDoesNotExist, StorageDomainDoesNotExistError],
  [VdsmErrorCode.UnknownTask, UnknownTaskError],
  [VdsmErrorCode.TaskStateError, TaskStateError],
  [VdsmErrorCode.TaskAborted, TaskAbortedError],
  [VdsmErrorCode.VolumeGroupSizeError, VolumeGroupSizeError],
  [VdsmErrorCode.SpmStatusError, NotSpmError],
  [VdsmErrorCode.IsSpm, IsSpmError],
  [VdsmErrorCode.ResourceTimeout, ResourceTimeoutError],
  [VdsmErrorCode.InvalidParameterException, InvalidParameterError],
  [VdsmErrorCode.VDS_NETWORK_ERROR, VdsmNetworkError],
]);

// First match wins, so the wide StorageError range comes after its sub-ranges.
const CATEGORIES: ReadonlyArray<readonly [min: number, max: number, ctor: CategoryError]> = [
  [-32768, -32000, JsonRpcError],
  [201, 249, VolumeError],
  [250, 299, ImageError],
  [300, 349, StoragePoolError],
  [350, 399, StorageDomainError],
  [400, 449, TaskError],
  [500, 649, LvmError],
  [650, 699, SpmError],
  [850, 899, ResourceError],
  [200, 4999, StorageError],
];

/**
 * Turns a JSON-RPC `error` member into the most specific `VdsmError`: the
 * class for its code when there is one, else the class of its code's range,
 * else a plain `VdsmError` (`vdsmName` 'Unknown' when the code is not in the
 * table). The message is kept exactly as received.
 */
export function vdsmErrorFromRpc(error: RpcErrorObject): VdsmError {
  const { code } = error;
  const message = typeof error.message === 'string' ? error.message : String(error.message);
  const Specific = SPECIFIC.get(code);
  if (Specific !== undefined) return new Specific(message);
  for (const [min, max, Category] of CATEGORIES) {
    if (code >= min && code <= max) return new Category(code, message);
  }
  return new VdsmError(code, message);
}
