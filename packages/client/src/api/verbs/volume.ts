/**
 * `Volume.*` verbs (VDSM's API.Volume, `ctorArgs = ['volumeID', 'storagepoolID',
 * 'storagedomainID', 'imageID']`). Formats, allocations and roles are the ints
 * VDSM compares (vdsm-wire.md §10.2), not the schema's strings.
 */
import { z } from 'zod';
import { DiskType } from '../enums.js';
import { VolumeInfoSchema } from '../types.js';
import {
  boolParam,
  parsedBoolParam,
  defineTaskVerb,
  defineVerb,
  intParam,
  sizeStringParam,
  uuidParam,
  volumeAllocationParam,
  volumeFormatParam,
  volumeRoleParam,
} from './common.js';
import type { VerbDefinition } from './common.js';

export const VOLUME_VERBS = {
  /** Creates a volume; a snapshot when `srcImgUUID`/`srcVolUUID` are not BLANK_UUID. */
  'Volume.create': defineTaskVerb(
    z.strictObject({
      volumeID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      imageID: uuidParam,
      /** Virtual size in bytes, sent as a string. */
      size: sizeStringParam,
      volFormat: volumeFormatParam,
      preallocate: volumeAllocationParam,
      diskType: z.enum(DiskType),
      /** Up to 210 bytes; VDSM truncates longer ones. */
      desc: z.string(),
      /** BLANK_UUID for a volume without parent. */
      srcImgUUID: uuidParam,
      /** BLANK_UUID for a volume without parent. */
      srcVolUUID: uuidParam,
      /** Initial allocation in bytes, sent as a string. */
      initialSize: sizeStringParam.nullable().default(null),
      addBitmaps: boolParam.default(false),
      legal: boolParam.default(true),
      sequence: intParam.default(0),
      bitmap: uuidParam.nullable().default(null),
    }),
    'createVolume',
  ),

  /** Volume metadata, with sizes and times as strings. */
  'Volume.getInfo': defineVerb({
    params: z.strictObject({
      volumeID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      imageID: uuidParam,
    }),
    result: VolumeInfoSchema,
    returnsTask: false,
  }),

  /** Collapses the chain up to `volumeID` into a new volume `dstVolUUID` of image `dstImgUUID` on `dstSdUUID`. */
  'Volume.copy': defineTaskVerb(
    z.strictObject({
      volumeID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      imageID: uuidParam,
      dstSdUUID: uuidParam,
      dstImgUUID: uuidParam,
      dstVolUUID: uuidParam,
      desc: z.string(),
      /** Unused by VDSM. */
      volType: volumeRoleParam,
      volFormat: volumeFormatParam,
      preallocate: volumeAllocationParam,
      postZero: parsedBoolParam,
      force: parsedBoolParam,
      discard: boolParam.default(false),
    }),
    'copyImage',
  ),

  /** Deletes a volume. */
  'Volume.delete': defineTaskVerb(
    z.strictObject({
      volumeID: uuidParam,
      storagepoolID: uuidParam,
      storagedomainID: uuidParam,
      imageID: uuidParam,
      postZero: parsedBoolParam,
      /** Delete even a SHARED or INTERNAL volume. */
      force: parsedBoolParam,
      discard: boolParam.default(false),
    }),
    'deleteVolume',
  ),
} as const satisfies Record<`Volume.${string}`, VerbDefinition>;
