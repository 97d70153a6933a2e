/**
 * `Image.*` verbs (VDSM's API.Image, `ctorArgs = ['imageID', 'storagepoolID',
 * 'storagedomainID']`). The data-changing ones are SPM tasks: they answer a
 * task id at once (vdsm-wire.md §8.1, §8.2).
 */
import { z } from 'zod';
import { SyncType } from '../enums.js';
import { UuidListSchema } from '../types.js';
import { boolParam, defineTaskVerb, defineVerb, imageOperationParam, parsedBoolParam, uuidParam } from './common.js';
import type { VerbDefinition } from './common.js';

export const IMAGE_VERBS = {
  /** UUIDs of the image's volumes (empty for an unknown image, no error). */
  'Image.getVolumes': defineVerb({
    params: z.strictObject({
      imageID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
    }),
    result: UuidListSchema,
    returnsTask: false,
  }),

  /**
   * Copies (operation 1) or moves (2) the image from `storagedomainID` to
   * `dstSdUUID`. An image missing on the source is not refused here: the task
   * ends cleanSuccess with code 268.
   */
  'Image.move': defineTaskVerb(
    z.strictObject({
      imageID: uuidParam,
      storagepoolID: uuidParam,
      /** The source domain. */
      storagedomainID: uuidParam,
      dstSdUUID: uuidParam,
      operation: imageOperationParam,
      /** Zero the source after a move (block domains only; a no-op on file domains). */
      postZero: parsedBoolParam,
      /** Replace an existing copy on the destination. */
      force: parsedBoolParam,
      discard: boolParam.default(false),
    }),
    'moveImage',
  ),

  /**
   * Deletes the image; with `postZero: false` it is gone from the domain's
   * listing before the call returns. A missing image gets 268 synchronously.
   */
  'Image.delete': defineTaskVerb(
    z.strictObject({
      imageID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      postZero: parsedBoolParam,
      /** Ignored by VDSM ("deprecated and not evaluated"). */
      force: parsedBoolParam,
      /** Refused in the task with 349 on file domains. */
      discard: boolParam.default(false),
    }),
    'deleteImage',
  ),

  /** Deletes some volumes of the image. */
  'Image.deleteVolumes': defineTaskVerb(
    z.strictObject({
      imageID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      volumeList: z.array(uuidParam),
      postZero: boolParam.default(false),
      force: boolParam.default(false),
      discard: boolParam.default(false),
    }),
    'deleteVolume',
  ),

  /** Deprecated: creates the image's volumes on `dstSdUUID` without data. */
  'Image.cloneStructure': defineTaskVerb(
    z.strictObject({
      imageID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      dstSdUUID: uuidParam,
    }),
    'cloneImageStructure',
  ),

  /** Deprecated: copies data into a structure made by cloneStructure. */
  'Image.syncData': defineTaskVerb(
    z.strictObject({
      imageID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      dstSdUUID: uuidParam,
      syncType: z.enum(SyncType),
    }),
    'syncImageData',
  ),
} as const satisfies Record<`Image.${string}`, VerbDefinition>;
