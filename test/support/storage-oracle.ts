/**
 * What real VDSM's storage verbs say, word for word: codes, `str()` of its
 * exceptions, task words. Written out from vdsm-wire.md §7-§9 and VDSM's
 * sources (lib/vdsm/storage/exception.py, hsm.py, task.py), and deliberately
 * NOT derived from the kit's error table or python-repr helpers (same reason
 * as vdsm-oracle.ts: an expectation built with the fake's own code could not
 * catch a wrong table). Keep each fact here once.
 *
 * Python formats used below: `str(e)` of a VDSM exception is
 * `<message>: <repr(value)>`; a 1-tuple of a str reprs as `('x',)`, an empty
 * tuple as `()`, a str holding `'` as `"..."`.
 */

/** VDSM's numeric error codes used by the storage suites (exception.py). */
export const VdsmCode = {
  ImageDoesNotExistInSD: 268,
  CopyImageError: 261,
  StoragePoolUnknown: 309,
  DiscardIsNotSupported: 349,
  StorageDomainDoesNotExist: 358,
  UnknownTask: 401,
  TaskStateError: 410,
  TaskAborted: 411,
  VolumeGroupSizeError: 504,
  AcquireLockFailure: 651,
  SpmStopError: 653,
  SpmStatusError: 654,
  ResourceTimeout: 851,
  InvalidParameterException: 1000,
} as const;

/** `Task.getStatus` words (task.py `DEPRECATED_STATE`/`DEPRECATED_RESULT`, vdsm-wire.md §7.1). */
export const TaskWords = {
  running: 'running',
  finished: 'finished',
  noResult: '',
  success: 'success',
  cleanSuccess: 'cleanSuccess',
  cleanFailure: 'cleanFailure',
  /** A task whose job has not started. */
  initializing: 'Task is initializing',
  /** While the (only) job runs. */
  runningJob: 'running job 1 of 1',
  /** After the job returned. */
  completed: '1 jobs completed successfully',
  /** `Task.getInfo` / `Host.getAllTasks` verb of `Image.move`. */
  moveVerb: 'moveImage',
  deleteVerb: 'deleteImage',
  /** Host.getAllTasks `tag` of an SPM task. */
  spmTag: 'spm',
} as const;

/** `('x',)`: Python's repr of a 1-tuple holding the str `x` (no quotes inside). */
function tuple1(value: string): string {
  return `('${value}',)`;
}

/** The arguments hsm.py `moveImage` prints in its `argsStr`. */
export interface MoveArgs {
  readonly spUUID: string;
  readonly srcDomUUID: string;
  readonly dstDomUUID: string;
  readonly imgUUID: string;
  readonly op: number;
  readonly postZero: boolean;
  readonly force: boolean;
  readonly discard: boolean;
}

const pyBool = (value: boolean): string => (value ? 'True' : 'False');

/**
 * 1000 for `Image.move` with source == target: hsm.py raises
 * `InvalidParameterException("srcDom", "must be different from dstDom: %s" % argsStr)`
 * where argsStr is `spUUID=%s, srcDomUUID=%s, dstDomUUID=%s, imgUUID=%s, vmUUID=%s,
 * op=%s, force=%s, postZero=%s, force=%s,discard=%s` (force twice, no space
 * before discard, vmUUID always '' from API.Image.move).
 */
export function sameDomainMoveMessage(args: MoveArgs): string {
  const argsStr =
    `spUUID=${args.spUUID}, srcDomUUID=${args.srcDomUUID}, dstDomUUID=${args.dstDomUUID}, imgUUID=${args.imgUUID}, ` +
    `vmUUID=, op=${args.op}, force=${pyBool(args.force)}, postZero=${pyBool(args.postZero)}, force=${pyBool(args.force)},` +
    `discard=${pyBool(args.discard)}`;
  return `Invalid parameter: 'srcDom=must be different from dstDom: ${argsStr}'`;
}

/** 358 `StorageDomainDoesNotExist(sdUUID)`. */
export function domainDoesNotExistMessage(sdUUID: string): string {
  return `Storage domain does not exist: ${tuple1(sdUUID)}`;
}

/** 309 `StoragePoolUnknown(spUUID)`. */
export function poolUnknownMessage(spUUID: string): string {
  return `Unknown pool id, pool not connected: ${tuple1(spUUID)}`;
}

/** 654 from `_spmSchedule` / `validateSPM`: `SpmStatusError(spUUID)`. */
export function notSpmScheduleMessage(spUUID: string): string {
  return `Not SPM: ${tuple1(spUUID)}`;
}

/** 654 from a `@secured` pool method (dispatcher's `SecureError` answer): no value at all. */
export const NOT_SPM_SECURE_MESSAGE = 'Not SPM';

/** 654 from `Host.getAllTasksStatuses/Info` off the SPM: `SpmStatusError()`. */
export const NOT_SPM_GET_ALL_MESSAGE = 'Not SPM: ()';

/** 268 `ImageDoesNotExistInSD(imgUUID, sdUUID)`: its value is a preset str, so it reprs in single quotes. */
export function imageNotInDomainMessage(imgUUID: string, sdUUID: string): string {
  return `Image does not exist in domain: 'image=${imgUUID}, domain=${sdUUID}'`;
}

/** 349 `DiscardIsNotSupported(sdUUID, "file storage domain")`. */
export function discardNotSupportedMessage(sdUUID: string): string {
  return `Discard is not supported by storage domain: 'sdUUID=${sdUUID}, reason=file storage domain'`;
}

/** 410 from `Task.clean` of an unfinished SPM task: the value holds `'`, so Python reprs it in double quotes. */
export function cannotCleanMessage(state: string): string {
  return `Operation is not allowed in this task state: ("can't clean in state ${state}",)`;
}

/** 401 `UnknownTask(taskID)`. */
export function unknownTaskMessage(taskId: string): string {
  return `Task id unknown: ${tuple1(taskId)}`;
}

/** 851 `ResourceTimeout()`: a prepare-time lock not granted within `task_resource_default_timeout` (120 s). */
export const RESOURCE_TIMEOUT_MESSAGE = 'Resource timeout: ()';

/** VDSM's `[irs] task_resource_default_timeout`: 120 s. */
export const TASK_RESOURCE_TIMEOUT_MS = 120_000;

/**
 * 653 `SpmStopError(spUUID)`: its `__init__(spUUID, strRunningTask=None)`
 * sets `value = "spUUID=%s, task=%s"`, a str, hence single quotes and `None`.
 */
export function spmStopRefusedMessage(spUUID: string): string {
  return `Error stopping SPM, SPM has unfinished task(s): 'spUUID=${spUUID}, task=None'`;
}

/**
 * A failed job's task message (task.py `TaskAborted(value, abortedcode)`):
 * `value=<str(e)> abortedcode=<code>`. A stopped task reports its own id
 * as the value when its job raised after the stop.
 */
export function taskAbortedMessage(value: string, code: number): string {
  return `value=${value} abortedcode=${code}`;
}

/** The start of a failed job's message whose exception value VDSM builds from runtime details (sizes, qemu-img output). */
export function taskAbortedPrefix(classMessage: string): string {
  return `value=${classMessage}`;
}

/**
 * 261 for a copy that failed (qemu-img failed, the domain filled up): image.py
 * `_interImagesCopy` raises `se.CopyImageError()` without a value, so its
 * `str()` ends in an empty tuple.
 */
export const COPY_IMAGE_FAILED_MESSAGE = 'low level Image copy failed: ()';

/** exception.py class messages whose value is runtime detail (see `taskAbortedPrefix`). */
export const ClassMessage = {
  volumeGroupSize: 'Volume Group not big enough',
  acquireLock: 'Cannot obtain lock',
} as const;

/** Prefixes VDSM gives a deleted image's folder / LVs (constants.py). */
export const REMOVED_PREFIX = '_remove_me_';
export const ZEROED_PREFIX = '_remove_me_ZERO_';

/** LVM extent size of a block domain: 128 MiB. */
export const BLOCK_EXTENT_BYTES = 128 * 1024 * 1024;

/** `StoragePool.getSpmStatus` words (sp.py). */
export const SpmWords = { spm: 'SPM', free: 'Free', freeId: -1 } as const;

/** VDSM's blank UUID ("none"; StorageDomain.getVolumes with it lists every image). */
export const BLANK_UUID = '00000000-0000-0000-0000-000000000000';
