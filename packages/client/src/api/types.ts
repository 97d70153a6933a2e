/**
 * Result shapes with the types VDSM really sends (vdsm-wire.md §5 "Shapes",
 * §10), not the schema's: volume sizes are strings, file-domain stats are
 * strings while block-domain stats are ints, `Host.getAllTasks` reports the
 * internal state and `result` instead of `taskResult`.
 *
 * Each shape is a zod schema plus the type inferred from it. The client does
 * not validate results at runtime (they only type its promises); the schemas
 * let the fake server and conformance tests check what they send.
 */
import { z } from 'zod';
import {
  HostJobStatus,
  HostJobType,
  SpmRole,
  StorageDomainClass,
  StorageDomainRole,
  StorageDomainStatus,
  StorageDomainType,
  StoragePoolStatus,
  TaskInternalState,
  TaskResult,
  TaskState,
  VolumeAllocationName,
  VolumeFormatName,
  VolumeLegality,
  VolumeRoleName,
  VolumeStatus,
} from './enums.js';

// ---- task ids ----

/** A VDSM task id (a UUID string), branded so it cannot be mixed up with other ids. */
export const TaskIdSchema = z.guid().brand<'TaskId'>();
export type TaskId = z.output<typeof TaskIdSchema>;

/** True when `value` is a UUID string, i.e. usable as a `TaskId`. */
export function isTaskId(value: unknown): value is TaskId {
  return TaskIdSchema.safeParse(value).success;
}

/** Brands a stored task id (e.g. read back from a database); throws a TypeError unless it is a UUID. */
export function asTaskId(value: string): TaskId {
  if (!isTaskId(value)) throw new TypeError(`not a VDSM task id (UUID): ${JSON.stringify(value)}`);
  return value;
}

/** Void verbs answer `true` (VDSM's bridge turns `None` into `true`). */
export const VoidResultSchema = z.literal(true);

/** A list of UUIDs (images, volumes, pools, domains). */
export const UuidListSchema = z.array(z.string());

// ---- tasks ----

/** `Task.getStatus` and the values of `Host.getAllTasksStatuses`. */
export const TaskStatusSchema = z.object({
  taskID: z.string(),
  taskState: z.enum(TaskState),
  /** `''` until the task is done. */
  taskResult: z.enum(TaskResult),
  /** 0, or the code of the error that failed the job. */
  code: z.number().int(),
  /** e.g. `running job 1 of 1`, `1 jobs completed successfully`, `value=... abortedcode=268`. */
  message: z.string(),
});
export type TaskStatus = z.output<typeof TaskStatusSchema>;

/** `Task.getInfo` and the values of `Host.getAllTasksInfo`. */
export const TaskInfoSchema = z.object({
  id: z.string(),
  /** VDSM's HSM method name: `moveImage`, `deleteImage`, `copyImage`, `spmStart`, ... */
  verb: z.string(),
});
export type TaskInfo = z.output<typeof TaskInfoSchema>;

/** The values of `Host.getAllTasks` (task.py `getDetails`); the schema's `taskResult` is not sent. */
export const TaskDetailsSchema = z.object({
  id: z.string(),
  verb: z.string(),
  /** The internal state, not the wire `taskState`. */
  state: z.enum(TaskInternalState),
  code: z.number().int(),
  message: z.string(),
  /** The job's return value, usually `''`. */
  result: z.json(),
  /** `spm`, `hsm` or `sdm` (tags joined by commas when there are several). */
  tag: z.string(),
});
export type TaskDetails = z.output<typeof TaskDetailsSchema>;

// ---- volumes ----

/** A volume's lease (`Volume.getInfo` `lease`). */
export const VolumeLeaseSchema = z.object({
  path: z.string(),
  offset: z.number().int(),
  owners: z.array(z.number().int()).optional(),
  version: z.number().int().nullable().optional(),
});
export type VolumeLease = z.output<typeof VolumeLeaseSchema>;

/** `Volume.getInfo` (volume.py `getInfo`). */
export const VolumeInfoSchema = z.object({
  uuid: z.string(),
  /** The allocation (the schema calls it allocType). */
  type: z.enum(VolumeAllocationName),
  format: z.enum(VolumeFormatName),
  /** `DATA`, `OVFS`, `MEMD`, `MEMM`, `ISOF`, `HEVD`, ... */
  disktype: z.string(),
  voltype: z.enum(VolumeRoleName),
  /** Virtual size in bytes, as a string. */
  capacity: z.string(),
  /** Parent volume UUID, BLANK_UUID for a base volume. */
  parent: z.string(),
  description: z.string(),
  /** Always `''`. */
  pool: z.string(),
  domain: z.string(),
  image: z.string(),
  /** Creation time in seconds since the epoch, as a string. */
  ctime: z.string(),
  /** Always `'0'`. */
  mtime: z.string(),
  legality: z.enum(VolumeLegality),
  generation: z.number().int(),
  sequence: z.number().int(),
  /** Size of the volume file/LV in bytes, as a string. */
  apparentsize: z.string(),
  /** Allocated bytes, as a string. */
  truesize: z.string(),
  status: z.enum(VolumeStatus),
  children: z.array(z.string()),
  lease: VolumeLeaseSchema.optional(),
});
export type VolumeInfo = z.output<typeof VolumeInfoSchema>;

// ---- storage domains ----

/** `StorageDomain.getInfo` (sd.py `getInfo`); no `lver`, `spm_id`, `master_ver` despite the schema. */
export const StorageDomainInfoSchema = z.object({
  uuid: z.string(),
  type: z.enum(StorageDomainType),
  class: z.enum(StorageDomainClass),
  name: z.string(),
  role: z.enum(StorageDomainRole),
  pool: z.array(z.string()),
  /** Domain format version, as a string (`'5'`). */
  version: z.string(),
  /** 512 or 4096. */
  block_size: z.number().int(),
  /** Lease alignment, 1048576..8388608. */
  alignment: z.number().int(),
  /** File domains only. */
  remotePath: z.string().optional(),
  /** Block domains only. */
  vguuid: z.string().optional(),
  /** Block domains only. */
  state: z.enum(['OK', 'PARTIAL']).optional(),
  /** Block domains only. */
  metadataDevice: z.string().optional(),
  /** Block domains only. */
  vgMetadataDevice: z.string().optional(),
});
export type StorageDomainInfo = z.output<typeof StorageDomainInfoSchema>;

/** `StorageDomain.getStats` of a file domain: sizes are strings, the metadata area is not tracked. */
export const FileStorageDomainStatsSchema = z.object({
  disktotal: z.string(),
  diskfree: z.string(),
  mdasize: z.literal(0),
  mdafree: z.literal(0),
  mdavalid: z.literal(true),
  mdathreshold: z.literal(true),
});
export type FileStorageDomainStats = z.output<typeof FileStorageDomainStatsSchema>;

/** `StorageDomain.getStats` of a block domain: ints. */
export const BlockStorageDomainStatsSchema = z.object({
  disktotal: z.number().int(),
  diskfree: z.number().int(),
  mdasize: z.number().int(),
  mdafree: z.number().int(),
  mdavalid: z.boolean(),
  mdathreshold: z.boolean(),
});
export type BlockStorageDomainStats = z.output<typeof BlockStorageDomainStatsSchema>;

/** `StorageDomain.getStats`: tell the kinds apart with `typeof stats.disktotal`. */
export const StorageDomainStatsSchema = z.union([FileStorageDomainStatsSchema, BlockStorageDomainStatsSchema]);
export type StorageDomainStats = z.output<typeof StorageDomainStatsSchema>;

// ---- storage pools and SPM ----

/** `StoragePool.getInfo` `info`. */
export const StoragePoolInfoSchema = z.object({
  name: z.string(),
  isoprefix: z.string(),
  pool_status: z.enum(StoragePoolStatus),
  lver: z.number().int(),
  /** `'<sdUUID>:<status>,<sdUUID>:<status>,...'`. */
  domains: z.string(),
  master_uuid: z.string(),
  /** As a string. */
  version: z.string(),
  spm_id: z.number().int(),
  type: z.enum(StorageDomainType),
  master_ver: z.number().int(),
});
export type StoragePoolInfo = z.output<typeof StoragePoolInfoSchema>;

/** An alert on a pool's domain. */
export const StoragePoolDomainAlertSchema = z.object({ code: z.number().int(), message: z.string() });
export type StoragePoolDomainAlert = z.output<typeof StoragePoolDomainAlertSchema>;

/** `StoragePool.getInfo` `dominfo` values; version and sizes only for active, monitored domains. */
export const StoragePoolDomainInfoSchema = z.object({
  status: z.enum(StorageDomainStatus),
  alerts: z.array(StoragePoolDomainAlertSchema),
  isoprefix: z.string(),
  version: z.number().int().optional(),
  /** String on file domains, int on block domains (as in getStats). */
  disktotal: z.union([z.string(), z.number().int()]).optional(),
  /** String on file domains, int on block domains (as in getStats). */
  diskfree: z.union([z.string(), z.number().int()]).optional(),
});
export type StoragePoolDomainInfo = z.output<typeof StoragePoolDomainInfoSchema>;

/** `StoragePool.getInfo`. */
export const StoragePoolFullInfoSchema = z.object({
  info: StoragePoolInfoSchema,
  /** By storage domain UUID. */
  dominfo: z.record(z.string(), StoragePoolDomainInfoSchema),
});
export type StoragePoolFullInfo = z.output<typeof StoragePoolFullInfoSchema>;

/** `StoragePool.getSpmStatus`. */
export const SpmStatusSchema = z.object({
  /** The SPM's host id, SPM_ID_FREE (-1) when none. */
  spmId: z.number().int(),
  spmStatus: z.enum(SpmRole),
  /** Lease version, LVER_INVALID (-1) when unknown. */
  spmLver: z.number().int(),
});
export type SpmStatus = z.output<typeof SpmStatusSchema>;

// ---- host ----

/** `Host.getCapabilities` `operatingSystem`. */
export const OperatingSystemSchema = z.looseObject({
  name: z.string(),
  release: z.string(),
  version: z.string(),
  pretty_name: z.string().optional(),
});

/**
 * `Host.getCapabilities` (about 60 top-level keys). Loose: the keys below are
 * typed, every other key is `unknown`.
 */
export const VdsmCapabilitiesSchema = z.looseObject({
  version_name: z.string(),
  software_version: z.string(),
  software_revision: z.string(),
  supportedENGINEs: z.array(z.string()),
  clusterLevels: z.array(z.string()),
  uuid: z.string(),
  ISCSIInitiatorName: z.string(),
  HBAInventory: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
  operatingSystem: OperatingSystemSchema,
  cpuCores: z.string(),
  cpuSockets: z.string(),
  cpuThreads: z.string(),
  cpuModel: z.string(),
  cpuSpeed: z.string(),
  cpuFlags: z.string(),
  memSize: z.string(),
  networks: z.record(z.string(), z.unknown()),
  nics: z.record(z.string(), z.unknown()),
  bondings: z.record(z.string(), z.unknown()),
  vlans: z.record(z.string(), z.unknown()),
  bridges: z.record(z.string(), z.unknown()),
  /** Added by the JSON-RPC bridge: the host interface the request came in on. */
  lastClientIface: z.string(),
  /** Storage domain versions this VDSM supports. */
  domain_versions: z.array(z.number().int()).optional(),
  // Storage type -> supported block sizes (0 = auto), e.g. `{NFS: [512], LOCALFS: [0, 512, 4096]}`.
  supported_block_size: z.record(z.string(), z.array(z.number().int())).optional(),
  backupEnabled: z.boolean().optional(),
});
export type VdsmCapabilities = z.output<typeof VdsmCapabilitiesSchema>;

// ---- host jobs (vdsm-sdm.md §2) ----

/** A failed job's `error` (jobs.py `_run_failed`): a VdsmException's code and `str(e)`, else 100 `General Exception: (...)`. */
export const HostJobErrorSchema = z.object({ code: z.number().int(), message: z.string() });
export type HostJobError = z.output<typeof HostJobErrorSchema>;

/**
 * One job of `Host.getJobs` (jobs.py `Job.info`). `status` is one of the
 * five schema statuses or any other string VDSM may report (its internal
 * `aborting`): a reader treats an unknown one as "still active".
 */
export const HostJobInfoSchema = z.looseObject({
  id: z.string(),
  status: z.union([z.enum(HostJobStatus), z.string()]),
  /** The verb: `copy_data`, `update_volume`, `merge_subchain`, ... */
  description: z.string(),
  job_type: z.union([z.enum(HostJobType), z.string()]),
  /** A float 0.0..100.0 (not the schema's uint), only once the job can tell (qemu-img started); never for update_volume. */
  progress: z.number().min(0).max(100).optional(),
  /** Only when `status` is `failed`. */
  error: HostJobErrorSchema.optional(),
});
export type HostJobInfo = z.output<typeof HostJobInfoSchema>;

/** `Host.getJobs`: job infos by job id; ids asked for but unknown are just absent. */
export const HostJobInfoMapSchema = z.record(z.string(), HostJobInfoSchema);
export type HostJobInfoMap = z.output<typeof HostJobInfoMapSchema>;
