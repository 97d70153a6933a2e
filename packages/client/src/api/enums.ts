/**
 * VDSM's enumerations as its code wants them on the wire (vdsm-wire.md §6,
 * §7.1, §10). Where the schema (vdsm-api.yml) says a string but VDSM compares
 * integers, the integer wins: `Image.move` gets `operation: 1`, not `'COPY'`.
 *
 * Style: an `as const` object plus a type of the same name (erasable, unlike
 * TS `enum`): `ImageOperation.Copy` is `1` and `ImageOperation` is `0 | 1 | 2`.
 */

type ValueOf<T> = T[keyof T];

// ---- images and volumes (lib/vdsm/storage/image.py, constants.py) ----

/** `Image.move` operation (`UNKNOWN_OP`, `COPY_OP`, `MOVE_OP`); any other value fails the task with 253. */
export const ImageOperation = { Unknown: 0, Copy: 1, Move: 2 } as const;
export type ImageOperation = ValueOf<typeof ImageOperation>;

/** Volume format ints (`COW_FORMAT`, `RAW_FORMAT`); `UNKNOWN_FORMAT = 3` is refused with 202. */
export const VolumeFormat = { COW: 4, RAW: 5 } as const;
export type VolumeFormat = ValueOf<typeof VolumeFormat>;

/** Volume allocation ints, the `preallocate` param (`PREALLOCATED_VOL`, `SPARSE_VOL`); others get 231. */
export const VolumeAllocation = { Preallocated: 1, Sparse: 2 } as const;
export type VolumeAllocation = ValueOf<typeof VolumeAllocation>;

/** Volume role ints (`SHARED_VOL`, `INTERNAL_VOL`, `LEAF_VOL`), the `volType` param. */
export const VolumeRole = { Shared: 6, Internal: 7, Leaf: 8 } as const;
export type VolumeRole = ValueOf<typeof VolumeRole>;

/** The name `Volume.getInfo` reports in `format` for each format int. */
export const VolumeFormatName = { [VolumeFormat.COW]: 'COW', [VolumeFormat.RAW]: 'RAW' } as const;
export type VolumeFormatName = ValueOf<typeof VolumeFormatName>;

/** The name `Volume.getInfo` reports in `type` (the schema's allocType) for each allocation int. */
export const VolumeAllocationName = {
  [VolumeAllocation.Preallocated]: 'PREALLOCATED',
  [VolumeAllocation.Sparse]: 'SPARSE',
} as const;
export type VolumeAllocationName = ValueOf<typeof VolumeAllocationName>;

/** The name `Volume.getInfo` reports in `voltype` for each role int. */
export const VolumeRoleName = {
  [VolumeRole.Shared]: 'SHARED',
  [VolumeRole.Internal]: 'INTERNAL',
  [VolumeRole.Leaf]: 'LEAF',
} as const;
export type VolumeRoleName = ValueOf<typeof VolumeRoleName>;

/**
 * The int for a VDSM name in one of the name maps above, e.g.
 * `valueOfName(VolumeAllocationName, 'SPARSE')` is `2`; undefined for an unknown name.
 */
export function valueOfName<V extends number, N extends string>(names: Readonly<Record<V, N>>, name: string): V | undefined {
  for (const [value, candidate] of Object.entries<N>(names)) {
    if (candidate === name) return Number(value) as V;
  }
  return undefined;
}

/** Volume legality (`Volume.getInfo` `legality`). */
export const VolumeLegality = { Legal: 'LEGAL', Illegal: 'ILLEGAL', Fake: 'FAKE' } as const;
export type VolumeLegality = ValueOf<typeof VolumeLegality>;

/** `Volume.getInfo` `status`: ILLEGAL when the legality is ILLEGAL. */
export const VolumeStatus = { Ok: 'OK', Invalid: 'INVALID', Illegal: 'ILLEGAL' } as const;
export type VolumeStatus = ValueOf<typeof VolumeStatus>;

/** Disk content types (`disktype`): the schema's five plus the hosted-engine `HEVD`. */
export const DiskType = { Data: 'DATA', Ovfs: 'OVFS', Memd: 'MEMD', Memm: 'MEMM', Isof: 'ISOF', Hevd: 'HEVD' } as const;
export type DiskType = ValueOf<typeof DiskType>;

/** `Image.syncData` sync types (strings on the wire). */
export const SyncType = { All: 'ALL', Internal: 'INTERNAL', Leaf: 'LEAF' } as const;
export type SyncType = ValueOf<typeof SyncType>;

// ---- storage domains and pools (lib/vdsm/storage/sd.py, sp.py) ----

/**
 * Storage domain type names (`StorageDomain.getInfo` `type`, `StoragePool.getInfo` `type`):
 * the schema's list (`SHAREDFS`) plus `POSIXFS`, the name sd.py's `DOMAIN_TYPES` gives type 6.
 */
export const StorageDomainType = {
  Unknown: 'UNKNOWN',
  Nfs: 'NFS',
  Fcp: 'FCP',
  Iscsi: 'ISCSI',
  LocalFs: 'LOCALFS',
  Cifs: 'CIFS',
  SharedFs: 'SHAREDFS',
  PosixFs: 'POSIXFS',
  GlusterFs: 'GLUSTERFS',
} as const;
export type StorageDomainType = ValueOf<typeof StorageDomainType>;

/**
 * Storage domain type ints (sd.py `*_DOMAIN`). `Host.getStorageDomains`
 * compares its `storageType` filter with these ints, not with the names.
 */
export const StorageDomainTypeId = { Unknown: 0, Nfs: 1, Fcp: 2, Iscsi: 3, LocalFs: 4, Cifs: 5, PosixFs: 6, GlusterFs: 7 } as const;
export type StorageDomainTypeId = ValueOf<typeof StorageDomainTypeId>;

/** Storage domain class names (`StorageDomain.getInfo` `class`). */
export const StorageDomainClass = { Data: 'Data', Iso: 'Iso', Backup: 'Backup' } as const;
export type StorageDomainClass = ValueOf<typeof StorageDomainClass>;

/** Storage domain class ints (sd.py `DATA_DOMAIN`...), the `domainClass` filter of `Host.getStorageDomains`. */
export const StorageDomainClassId = { Data: 1, Iso: 2, Backup: 3 } as const;
export type StorageDomainClassId = ValueOf<typeof StorageDomainClassId>;

/** Storage domain roles. */
export const StorageDomainRole = { Master: 'Master', Regular: 'Regular' } as const;
export type StorageDomainRole = ValueOf<typeof StorageDomainRole>;

/**
 * Domain statuses as VDSM reports them (capitalised). VDSM capitalises what it
 * receives, so `StoragePool.connect`'s `domainDict` also takes the engine's
 * lower-case spelling.
 */
export const StorageDomainStatus = { Active: 'Active', Attached: 'Attached', Unattached: 'Unattached', Unknown: 'Unknown' } as const;
export type StorageDomainStatus = ValueOf<typeof StorageDomainStatus>;

/** `StoragePool.getInfo` `pool_status`. */
export const StoragePoolStatus = { Connected: 'connected', Uninitialized: 'uninitialized' } as const;
export type StoragePoolStatus = ValueOf<typeof StoragePoolStatus>;

/** `StoragePool.getSpmStatus` `spmStatus`. */
export const SpmRole = { Spm: 'SPM', Contend: 'Contend', Free: 'Free' } as const;
export type SpmRole = ValueOf<typeof SpmRole>;

/** `spmId` when no host holds the SPM role. */
export const SPM_ID_FREE = -1;
/** `spmLver` when the lease version is unknown. */
export const LVER_INVALID = -1;

// ---- tasks (lib/vdsm/storage/task.py) ----

/** The `taskState` VDSM reports (`Task.getStatus`, `Host.getAllTasksStatuses`). */
export const TaskState = {
  Unknown: 'unknown',
  Init: 'init',
  Running: 'running',
  Finished: 'finished',
  Aborting: 'aborting',
  Cleaning: 'cleaning',
} as const;
export type TaskState = ValueOf<typeof TaskState>;

/** The `taskResult` VDSM reports; `''` until the task is done. */
export const TaskResult = { None: '', Success: 'success', CleanSuccess: 'cleanSuccess', CleanFailure: 'cleanFailure' } as const;
export type TaskResult = ValueOf<typeof TaskResult>;

/** VDSM's internal task states (`State`); `Host.getAllTasks` reports these in `state`. */
export const TaskInternalState = {
  Unknown: 'unknown',
  Init: 'init',
  Preparing: 'preparing',
  Blocked: 'blocked',
  Acquiring: 'acquiring',
  Queued: 'queued',
  Running: 'running',
  Finished: 'finished',
  Aborting: 'aborting',
  WaitRecover: 'waitrecover',
  RAcquiring: 'racquiring',
  Recovering: 'recovering',
  RAborting: 'raborting',
  Recovered: 'recovered',
  Failed: 'failed',
} as const;
export type TaskInternalState = ValueOf<typeof TaskInternalState>;

/** What an internal state looks like on the wire. */
export interface TaskWireState {
  readonly taskState: TaskState;
  readonly taskResult: TaskResult;
}

/** VDSM's `DEPRECATED_STATE` + `DEPRECATED_RESULT`: internal state -> `taskState`/`taskResult` (§7.1). */
export const TASK_STATE_ON_WIRE: Readonly<Record<TaskInternalState, TaskWireState>> = {
  unknown: { taskState: 'unknown', taskResult: '' },
  init: { taskState: 'init', taskResult: '' },
  preparing: { taskState: 'running', taskResult: '' },
  blocked: { taskState: 'running', taskResult: '' },
  acquiring: { taskState: 'running', taskResult: '' },
  queued: { taskState: 'running', taskResult: '' },
  running: { taskState: 'running', taskResult: '' },
  finished: { taskState: 'finished', taskResult: 'success' },
  aborting: { taskState: 'aborting', taskResult: '' },
  waitrecover: { taskState: 'cleaning', taskResult: '' },
  racquiring: { taskState: 'cleaning', taskResult: '' },
  recovering: { taskState: 'cleaning', taskResult: '' },
  raborting: { taskState: 'aborting', taskResult: '' },
  recovered: { taskState: 'finished', taskResult: 'cleanSuccess' },
  failed: { taskState: 'finished', taskResult: 'cleanFailure' },
};

/** The states a task ends in (VDSM's `State.done`). */
export const TASK_DONE_STATES: ReadonlySet<TaskInternalState> = new Set<TaskInternalState>(['finished', 'recovered', 'failed']);

/** VDSM's `State._moveto`: for each state, the states a task may move to it from. */
export const TASK_STATE_PREDECESSORS: Readonly<Record<TaskInternalState, readonly TaskInternalState[]>> = {
  unknown: [],
  init: [],
  preparing: ['init', 'blocked'],
  blocked: ['preparing'],
  acquiring: ['preparing', 'acquiring'],
  queued: ['acquiring', 'running'],
  running: ['queued'],
  finished: ['running', 'preparing'],
  aborting: ['preparing', 'blocked', 'acquiring', 'queued', 'running'],
  waitrecover: ['aborting'],
  racquiring: ['aborting', 'finished', 'racquiring', 'waitrecover'],
  recovering: ['racquiring'],
  raborting: ['racquiring', 'recovering', 'waitrecover'],
  recovered: ['recovering'],
  failed: ['recovering', 'aborting', 'raborting'],
};

/** Task tags: `spm` jobs are persisted and listed by getAllTasksStatuses; `hsm`/`sdm` are not. */
export const TaskTag = { Spm: 'spm', Hsm: 'hsm', Sdm: 'sdm' } as const;
export type TaskTag = ValueOf<typeof TaskTag>;

// ---- host jobs (lib/vdsm/jobs.py; vdsm-sdm.md §2) ----

/**
 * `Host.getJobs` statuses. VDSM also reports an internal `aborting` while a
 * running job is being aborted; neither the schema nor the engine knows it,
 * so the result type tolerates any other string (see `HostJobInfoSchema`).
 */
export const HostJobStatus = { Pending: 'pending', Running: 'running', Done: 'done', Failed: 'failed', Aborted: 'aborted' } as const;
export type HostJobStatus = ValueOf<typeof HostJobStatus>;

/** The statuses after which a job never changes again (VDSM's `jobs.Job.active` is false). */
export const HOST_JOB_ENDED_STATUSES: ReadonlySet<string> = new Set<string>([HostJobStatus.Done, HostJobStatus.Failed, HostJobStatus.Aborted]);

/** `Host.getJobs` `job_type`: every SDM job is `storage`. */
export const HostJobType = { Storage: 'storage', V2v: 'v2v' } as const;
export type HostJobType = ValueOf<typeof HostJobType>;

/** `job.description` of the SDM jobs this kit knows (the verb name without `SDM.`). */
export const SdmJobDescription = { CopyData: 'copy_data', UpdateVolume: 'update_volume' } as const;
export type SdmJobDescription = ValueOf<typeof SdmJobDescription>;

/** The largest volume generation; the next one after it is 0 (storage/constants.py `MAX_GENERATION`). */
export const MAX_GENERATION = 999;
