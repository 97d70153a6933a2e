/**
 * `SDM.*` verbs (VDSM's API.SDM, lib/vdsm/storage/sdm/api/): each takes a
 * caller-chosen `job_id`, answers `true` at once and runs as a host job on
 * the host that got the call, polled there with `Host.getJobs` (vdsm-sdm.md
 * §1-§3). Only the two a disk move needs: copy_data and update_volume.
 */
import { z } from 'zod';
import { MAX_GENERATION, VolumeLegality } from '../enums.js';
import { VoidResultSchema } from '../types.js';
import { boolParam, defineVerb, uuidParam } from './common.js';
import type { VerbDefinition } from './common.js';

/** A volume generation (schema `uint`; VDSM's properties check 0..MAX_GENERATION). */
export const generationParam = z.number().int().min(0).max(MAX_GENERATION);

/**
 * A `div` endpoint (`CopyDataDIVEndpoint` with the union's `endpoint_type`
 * and `prepared`): a volume of a domain this host sees. `generation` is only
 * compared on the destination; `prepared: true` says the caller prepared the
 * chain (LSM), otherwise the job prepares and tears it down itself.
 */
export const divEndpointParam = z.strictObject({
  endpoint_type: z.literal('div'),
  sd_id: uuidParam,
  img_id: uuidParam,
  vol_id: uuidParam,
  generation: generationParam.optional(),
  prepared: boolParam.optional(),
});
export type DivEndpoint = z.input<typeof divEndpointParam>;

/**
 * `update_volume`'s `vol_info`: VDSM ignores `endpoint_type` and `prepared`
 * here and always compares `generation` (an absent one fails the job with
 * 911), so the client requires it.
 */
export const updateVolumeInfoParam = z.strictObject({
  endpoint_type: z.literal('div').optional(),
  sd_id: uuidParam,
  img_id: uuidParam,
  vol_id: uuidParam,
  generation: generationParam,
  prepared: boolParam.optional(),
});

/** `VolumeAttributes`: at least one (VDSM: 100 `No attributes to update`). */
export const volumeAttributesParam = z
  .strictObject({
    legality: z.enum([VolumeLegality.Legal, VolumeLegality.Illegal]).optional(),
    /** Up to 210 bytes; VDSM truncates longer ones. */
    description: z.string().optional(),
    /** The new generation; without it VDSM sets (GEN+1) % 1000. The engine's fence sends G+3. */
    generation: generationParam.optional(),
    /** Only `SHARED`, and only for a leaf without parent (else the job fails 235). */
    type: z.literal('SHARED').optional(),
  })
  .refine((attributes) => Object.values(attributes).some((value) => value !== undefined), { message: 'No attributes to update' });

export const SDM_VERBS = {
  /**
   * Copies the source volume's data into the existing destination volume
   * (made by `Volume.create` first). Any host connected to the pool may run
   * it (313 elsewhere); the destination's generation, if given, must match.
   */
  'SDM.copy_data': defineVerb({
    params: z.strictObject({
      job_id: uuidParam,
      source: divEndpointParam,
      destination: divEndpointParam,
      /** Copy qcow2 bitmaps too (4.4); raw on either side fails the job with 2009. */
      copy_bitmaps: boolParam.default(false),
    }),
    result: VoidResultSchema,
    returnsTask: false,
  }),

  /** Sets attributes of a volume whose generation matches `vol_info.generation`; the engine's fence. */
  'SDM.update_volume': defineVerb({
    params: z.strictObject({
      job_id: uuidParam,
      vol_info: updateVolumeInfoParam,
      vol_attr: volumeAttributesParam,
    }),
    result: VoidResultSchema,
    returnsTask: false,
  }),
} as const satisfies Record<`SDM.${string}`, VerbDefinition>;
