/**
 * `StoragePool.*` verbs (VDSM's API.StoragePool, `ctorArgs = ['storagepoolID']`).
 * A pool this host is not connected to gets 309.
 */
import { z } from 'zod';
import { StorageDomainStatus } from '../enums.js';
import { SpmStatusSchema, StoragePoolFullInfoSchema, VoidResultSchema } from '../types.js';
import { boolParam, boolStringParam, defineTaskVerb, defineVerb, intParam, intStringParam, uuidParam } from './common.js';
import type { VerbDefinition } from './common.js';

const poolParams = z.strictObject({ storagepoolID: uuidParam });

// VDSM capitalises the statuses it is given, and the engine sends them in lower
// case, so the schema lists both spellings.
const domainStatusParam = z.enum([
  ...Object.values(StorageDomainStatus),
  ...Object.values(StorageDomainStatus).map((status) => status.toLowerCase() as Lowercase<StorageDomainStatus>),
]);

export const STORAGE_POOL_VERBS = {
  /**
   * Connects this host to the pool as host `hostID`. With `domainDict` the pool
   * uses the memory backend (no pool metadata on the master domain).
   */
  'StoragePool.connect': defineVerb({
    params: z.strictObject({
      storagepoolID: uuidParam,
      hostID: intParam,
      /** Unused by VDSM; the engine sends the pool id. */
      scsiKey: z.string(),
      masterSdUUID: uuidParam,
      masterVersion: intParam,
      domainDict: z.record(uuidParam, domainStatusParam).nullable().default(null),
    }),
    result: VoidResultSchema,
    returnsTask: false,
  }),

  /** Disconnects this host from the pool. */
  'StoragePool.disconnect': defineVerb({
    params: z.strictObject({
      storagepoolID: uuidParam,
      hostID: intParam,
      scsiKey: z.string(),
      remove: boolParam.default(false),
    }),
    result: VoidResultSchema,
    returnsTask: false,
  }),

  /** Pool info and the info of its domains (any connected host, not only the SPM). */
  'StoragePool.getInfo': defineVerb({ params: poolParams, result: StoragePoolFullInfoSchema, returnsTask: false }),

  /** Who holds the SPM role: `{spmId, spmStatus, spmLver}`. */
  'StoragePool.getSpmStatus': defineVerb({ params: poolParams, result: SpmStatusSchema, returnsTask: false }),

  /**
   * Contends for the SPM role; answers an HSM task id (poll it; 656 when
   * already SPM). `prevLver`, `enableScsiFencing` and `domVersion` are strings
   * on the wire (schema `type: string`).
   */
  'StoragePool.spmStart': defineTaskVerb(
    z.strictObject({
      storagepoolID: uuidParam,
      /** Deprecated: the previous SPM's host id (-1 for none). */
      prevID: intParam,
      /** Deprecated: the previous SPM's lease version, as a string. */
      prevLver: intStringParam,
      /** Unused by VDSM, sent as `'true'`/`'false'`. */
      enableScsiFencing: boolStringParam,
      maxHostID: intParam.nullable().default(null),
      /** Expected master domain version, as a string. */
      domVersion: intStringParam.nullable().default(null),
    }),
    'spmStart',
  ),

  /** Releases the SPM role (does not wait for running tasks). */
  'StoragePool.spmStop': defineVerb({ params: poolParams, result: VoidResultSchema, returnsTask: false }),
} as const satisfies Record<`StoragePool.${string}`, VerbDefinition>;
