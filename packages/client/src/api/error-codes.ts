/**
 * VDSM's error table: the one place that knows which numeric code goes with
 * which VDSM exception class and message. The client builds its `VdsmError`s
 * from it and the fake server words its errors with it (see `vdsmMessage` in
 * python-repr.ts), so a code or a message is never typed twice.
 *
 * Sources: vdsm-wire.md §3.4 (JSON-RPC layer, lib/yajsonrpc/exception.py),
 * §9 (lib/vdsm/storage/exception.py, lib/vdsm/common/exception.py) and the
 * engine's 5022 (engine-move.md §3.4, §4). `message` is VDSM's class message,
 * exactly: on the wire it is followed by `: <repr(value)>` for storage errors
 * (`Task id unknown: ('abc',)`) or `: {<context>}` for JSON-RPC errors, or sent
 * alone.
 */

/** One row of the table. */
export interface VdsmErrorCodeInfo {
  /** VDSM's numeric code, as sent in the JSON-RPC `error.code`. */
  readonly code: number;
  /** VDSM's exception class name, e.g. `UnknownTask` (the engine's name for 5022). */
  readonly name: string;
  /** VDSM's class message: the text before `: <value>` on the wire. */
  readonly message: string;
}

/**
 * Code 0 (`Done` / `OK`) is VDSM's legacy success status, also the `code` of a
 * task that did not fail. It is not an error, so it is not in the table.
 */
export const VDSM_SUCCESS_CODE = 0;

/** Every VDSM error code the kit knows, ordered by code. */
export const VDSM_ERRORS = [
  // JSON-RPC layer (vdsm-wire.md §3.4). -32605 is client side only; its text is
  // from lib/yajsonrpc/exception.py because the reference gives none.
  { code: -32700, name: 'JsonRpcParseError', message: 'Invalid JSON was received by the server. An error occurred on the server while parsing the JSON text.' },
  { code: -32605, name: 'JsonRpcNoResponseError', message: 'No response for JSON-RPC request' },
  { code: -32604, name: 'JsonRpcBindingsError', message: 'Missing bindings for JSON-RPC.' },
  { code: -32603, name: 'JsonRpcInternalError', message: 'Internal JSON-RPC error' },
  { code: -32602, name: 'JsonRpcInvalidParamsError', message: 'Invalid method parameter(s)' },
  { code: -32601, name: 'JsonRpcMethodNotFoundError', message: 'The method does not exist or is not available' },
  { code: -32600, name: 'JsonRpcInvalidRequestError', message: 'Invalid request' },
  // Host-wide errors (lib/vdsm/common/exception.py).
  { code: 7, name: 'CopyFailed', message: 'Copy failed' },
  { code: 13, name: 'ImageFileNotFound', message: 'Drive image file could not be found' },
  { code: 16, name: 'UnexpectedError', message: 'Unexpected exception' },
  { code: 44, name: 'MethodNotImplemented', message: 'Not implemented' },
  { code: 99, name: 'RecoveryInProgress', message: 'Recovering from crash or Initializing' },
  { code: 100, name: 'GeneralException', message: 'General Exception' },
  // Volumes.
  { code: 200, name: 'StorageException', message: 'General Storage Exception' },
  { code: 201, name: 'VolumeDoesNotExist', message: 'Volume does not exist' },
  { code: 202, name: 'IncorrectFormat', message: 'Incorrect Volume format' },
  { code: 204, name: 'VolumeImageHasChildren', message: 'Cannot delete volume which has children (non-ethical)' },
  { code: 205, name: 'VolumeCreationError', message: 'Error creating a new volume' },
  { code: 212, name: 'VolumeAlreadyExists', message: 'Volume already exists' },
  { code: 222, name: 'CannotDeleteVolume', message: 'Volume deletion error' },
  { code: 223, name: 'CannotDeleteSharedVolume', message: 'Shared Volume cannot be deleted' },
  { code: 225, name: 'VolumeCopyError', message: 'Volume copy failed' },
  { code: 231, name: 'IncorrectType', message: 'Incorrect Volume Preallocate Type' },
  // SDM jobs (vdsm-sdm.md §1.3, §3.1): preparing an ILLEGAL copy source, a refused update_volume.
  { code: 227, name: 'prepareIllegalVolumeError', message: 'Cannot prepare illegal volume' },
  { code: 235, name: 'InvalidVolumeUpdate', message: 'Cannot update volume attributes' },
  // Images.
  { code: 251, name: 'TemplateCreationError', message: 'Error creating template from VM' },
  { code: 253, name: 'MoveImageError', message: 'Error moving image' },
  { code: 254, name: 'ImagePathError', message: 'Image path does not exist or cannot be accessed/created' },
  { code: 256, name: 'ImageDeleteError', message: "Could not remove all image's volumes" },
  { code: 259, name: 'SourceImageActionError', message: 'Error during source image manipulation' },
  { code: 260, name: 'DestImageActionError', message: 'Error during destination image manipulation' },
  { code: 261, name: 'CopyImageError', message: 'low level Image copy failed' },
  { code: 262, name: 'ImageIsNotLegalChain', message: 'Image is not a legal chain' },
  { code: 264, name: 'MultipleMoveImageError', message: 'Error moving multiple image' },
  { code: 265, name: 'OverwriteImageError', message: "Can't overwrite image" },
  { code: 266, name: 'MoveTemplateImageError', message: "Cannot move template's image because it is used by a VM" },
  { code: 268, name: 'ImageDoesNotExistInSD', message: 'Image does not exist in domain' },
  // Storage pools.
  { code: 300, name: 'StoragePoolActionError', message: 'Error storage pool action' },
  { code: 304, name: 'StoragePoolMasterNotFound', message: 'Cannot find master domain' },
  { code: 309, name: 'StoragePoolUnknown', message: 'Unknown pool id, pool not connected' },
  { code: 313, name: 'StoragePoolNotConnected', message: 'Storage pool not connected' },
  { code: 324, name: 'StoragePoolWrongMaster', message: 'Wrong Master domain or its version' },
  { code: 321, name: 'ImageNotOnTargetDomain', message: 'Image cannot be found on the specified domain' },
  { code: 323, name: 'CannotConnectMultiplePools', message: 'Cannot connect pool, already connected to another pool' },
  { code: 349, name: 'DiscardIsNotSupported', message: 'Discard is not supported by storage domain' },
  // Storage domains.
  { code: 350, name: 'StorageDomainActionError', message: 'Error in storage domain action' },
  { code: 353, name: 'StorageDomainNotInPool', message: 'Storage domain not in pool' },
  { code: 355, name: 'StorageDomainMasterError', message: 'Error validating master storage domain' },
  { code: 358, name: 'StorageDomainDoesNotExist', message: 'Storage domain does not exist' },
  { code: 369, name: 'StorageDomainNotActive', message: 'Storage domain not active' },
  { code: 374, name: 'VolumesZeroingError', message: 'Cannot zero out volume' },
  { code: 375, name: 'StorageDomainNotMemberOfPool', message: 'Domain is not member in pool' },
  { code: 379, name: 'StorageDomainAccessError', message: 'Domain is either partially accessible or entirely inaccessible' },
  // VDSM builds this one per domain: `No space left on domain <sd>: '<sd>'`.
  { code: 397, name: 'NoSpaceLeftOnDomain', message: 'No space left on domain' },
  // Tasks.
  { code: 400, name: 'InvalidTask', message: 'Task invalid' },
  { code: 401, name: 'UnknownTask', message: 'Task id unknown' },
  { code: 402, name: 'TaskClearError', message: 'Could not clear task' },
  { code: 403, name: 'TaskNotFinished', message: 'Task not finished' },
  { code: 405, name: 'AddTaskError', message: 'TaskManager error, unable to add task' },
  { code: 406, name: 'TaskInProgress', message: 'Running Task in progress' },
  { code: 410, name: 'TaskStateError', message: 'Operation is not allowed in this task state' },
  { code: 411, name: 'TaskAborted', message: 'Task is aborted' },
  { code: 412, name: 'UnmanagedTask', message: "Operation can't be performed on unmanaged task" },
  { code: 413, name: 'TaskPersistError', message: "Can't persist task" },
  { code: 441, name: 'TaskStateTransitionError', message: 'cannot move task to requested state' },
  { code: 442, name: 'TaskHasRefs', message: 'operation cannot be performed - task has active references' },
  { code: 443, name: 'ActionStopped', message: 'Action was stopped' },
  // LVM (block domains).
  { code: 504, name: 'VolumeGroupSizeError', message: 'Volume Group not big enough' },
  { code: 550, name: 'CannotCreateLogicalVolume', message: 'Cannot create Logical Volume' },
  { code: 551, name: 'CannotRemoveLogicalVolume', message: 'Cannot remove Logical Volume' },
  { code: 610, name: 'LogicalVolumeDoesNotExistError', message: 'Logical volume does not exist' },
  // SPM.
  { code: 650, name: 'SpmStartError', message: 'Error starting SPM' },
  { code: 651, name: 'AcquireLockFailure', message: 'Cannot obtain lock' },
  { code: 653, name: 'SpmStopError', message: 'Error stopping SPM, SPM has unfinished task(s)' },
  { code: 654, name: 'SpmStatusError', message: 'Not SPM' },
  { code: 656, name: 'IsSpm', message: 'Operation not allowed while SPM is active' },
  { code: 657, name: 'DomainAlreadyLocked', message: 'Cannot acquire lock, resource marked as locked' },
  { code: 661, name: 'AcquireHostIdFailure', message: 'Cannot acquire host id' },
  // Resource manager (locks).
  { code: 851, name: 'ResourceTimeout', message: 'Resource timeout' },
  { code: 853, name: 'InvalidResourceName', message: 'Invalid resource name' },
  // VDSM's spelling.
  { code: 855, name: 'ResourceAcqusitionFailed', message: 'Could not acquire resource. Probably resource factory threw an exception.' },
  // Volume generations (SDM jobs): the destination's generation is not the one given.
  { code: 911, name: 'GenerationMismatch', message: 'The provided generation does not match the actual generation' },
  // Validation and miscellaneous.
  { code: 1000, name: 'InvalidParameterException', message: 'Invalid parameter' },
  { code: 2005, name: 'MiscOperationInProgress', message: 'Operation is already in progress' },
  // copy_data with copy_bitmaps on a raw side.
  { code: 2009, name: 'UnsupportedOperation', message: 'Unsupported operation' },
  { code: 3000, name: 'ResourceException', message: 'Resource operation failed' },
  // Engine side (codes above 5000 belong to ovirt-engine): a call that timed out
  // or whose connection dropped (vdsm-jsonrpc-java JsonUtils.buildFailedResponse).
  { code: 5022, name: 'VDS_NETWORK_ERROR', message: 'Message timeout which can be caused by communication issues' },
] as const satisfies readonly VdsmErrorCodeInfo[];

type ErrorRow = (typeof VDSM_ERRORS)[number];

/** VDSM's class names that have a row in the table. */
export type VdsmErrorName = ErrorRow['name'];

/** The codes that have a row in the table. */
export type KnownVdsmErrorCode = ErrorRow['code'];

/**
 * Codes by VDSM class name, typed to their literal values:
 * `VdsmErrorCode.UnknownTask` is `401`, `VdsmErrorCode.SpmStatusError` is `654`.
 */
export const VdsmErrorCode = Object.freeze(Object.fromEntries(VDSM_ERRORS.map((row) => [row.name, row.code]))) as {
  readonly [R in ErrorRow as R['name']]: R['code'];
};

const BY_CODE: ReadonlyMap<number, VdsmErrorCodeInfo> = new Map(VDSM_ERRORS.map((row) => [row.code, row]));

/** The table row for `code`, or undefined when VDSM's code is not in the table. */
export function vdsmErrorInfo(code: number): VdsmErrorCodeInfo | undefined {
  return BY_CODE.get(code);
}
