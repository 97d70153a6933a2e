/**
 * `Host.*` verbs (VDSM's API.Global). Params and wire types: vdsm-api.yml and
 * vdsm-wire.md §5.
 */
import { z } from 'zod';
import { HostJobType, StorageDomainClassId, StorageDomainTypeId } from '../enums.js';
import { HostJobInfoMapSchema, TaskDetailsSchema, TaskInfoSchema, TaskStatusSchema, UuidListSchema, VdsmCapabilitiesSchema, VoidResultSchema } from '../types.js';
import { defineVerb, uuidParam } from './common.js';
import type { VerbDefinition } from './common.js';

const noParams = z.strictObject({});

export const HOST_VERBS = {
  /** Connectivity check (4.2+; `Host.ping` is deprecated). Answers `true`. */
  'Host.ping2': defineVerb({ params: noParams, result: VoidResultSchema, returnsTask: false }),

  /** Logs `message` on the host and answers it back (4.4+). */
  'Host.echo': defineVerb({
    params: z.strictObject({ message: z.string() }),
    result: z.string(),
    returnsTask: false,
  }),

  /** Host capabilities (loose: about 60 keys). */
  'Host.getCapabilities': defineVerb({ params: noParams, result: VdsmCapabilitiesSchema, returnsTask: false }),

  /** Status of every SPM task, by task id. SPM only: 654 `Not SPM: ()` elsewhere. */
  'Host.getAllTasksStatuses': defineVerb({
    params: noParams,
    result: z.record(z.string(), TaskStatusSchema),
    returnsTask: false,
  }),

  /** `{id, verb}` of every SPM task, by task id. SPM only. */
  'Host.getAllTasksInfo': defineVerb({
    params: noParams,
    result: z.record(z.string(), TaskInfoSchema),
    returnsTask: false,
  }),

  /** Every task on this host (any tag, any host), by task id, with the internal state. */
  'Host.getAllTasks': defineVerb({
    params: noParams,
    result: z.record(z.string(), TaskDetailsSchema),
    returnsTask: false,
  }),

  /** UUIDs of the pools this host is connected to. */
  'Host.getConnectedStoragePools': defineVerb({ params: noParams, result: UuidListSchema, returnsTask: false }),

  /**
   * UUIDs of the domains this host sees, optionally filtered. VDSM compares
   * `domainClass` and `storageType` with the ints of its domain metadata
   * (sd.py `name2class`/`name2type`), not with the schema's names.
   */
  'Host.getStorageDomains': defineVerb({
    params: z.strictObject({
      storagepoolID: uuidParam.nullable().default(null),
      domainClass: z.literal(Object.values(StorageDomainClassId)).nullable().default(null),
      storageType: z.literal(Object.values(StorageDomainTypeId)).nullable().default(null),
      remotePath: z.string().nullable().default(null),
    }),
    result: UuidListSchema,
    returnsTask: false,
  }),

  /**
   * The host jobs (SDM verbs) of this host, by job id, filtered by type and
   * ids (an empty list: all). An unknown id is just absent. Needs no pool.
   * The schema's default `()` is Python's empty tuple: an empty list on the wire.
   */
  'Host.getJobs': defineVerb({
    params: z.strictObject({
      job_type: z.enum(HostJobType).nullable().default(null),
      job_ids: z.array(uuidParam).default([]),
    }),
    result: HostJobInfoMapSchema,
    returnsTask: false,
  }),
} as const satisfies Record<`Host.${string}`, VerbDefinition>;
