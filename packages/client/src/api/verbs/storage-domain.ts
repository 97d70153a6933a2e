/**
 * `StorageDomain.*` verbs (VDSM's API.StorageDomain). Unknown domains get 358.
 */
import { z } from 'zod';
import { StorageDomainInfoSchema, StorageDomainStatsSchema, UuidListSchema } from '../types.js';
import { defineVerb, uuidParam } from './common.js';
import type { VerbDefinition } from './common.js';

const domainParams = z.strictObject({ storagedomainID: uuidParam });

export const STORAGE_DOMAIN_VERBS = {
  /** Domain metadata; unreadable metadata gets 379. */
  'StorageDomain.getInfo': defineVerb({ params: domainParams, result: StorageDomainInfoSchema, returnsTask: false }),

  /** Sizes: strings on file domains, ints on block domains. */
  'StorageDomain.getStats': defineVerb({ params: domainParams, result: StorageDomainStatsSchema, returnsTask: false }),

  /** UUIDs of the domain's images (images being deleted are already gone). */
  'StorageDomain.getImages': defineVerb({ params: domainParams, result: UuidListSchema, returnsTask: false }),

  /** UUIDs of the volumes of `imageID`, or of every image when `imageID` is BLANK_UUID. */
  'StorageDomain.getVolumes': defineVerb({
    params: z.strictObject({
      storagedomainID: uuidParam,
      storagepoolID: uuidParam,
      imageID: uuidParam,
    }),
    result: UuidListSchema,
    returnsTask: false,
  }),
} as const satisfies Record<`StorageDomain.${string}`, VerbDefinition>;
