/**
 * Engine-style helpers for the storage flows the orchestrator runs, named
 * after the VDSM verbs they send as VDSM and the engine name them (hsm.py,
 * the engine's *VDSCommand), with the engine's vocabulary for domains
 * (source/destination) rather than VDSM's param names. Each is one SPM verb
 * answering a task id at once; poll the task (tasks/) and `Task.clear` it.
 *
 * | helper        | VDSM verb      | hsm.py      | engine command        |
 * | ------------- | -------------- | ----------- | --------------------- |
 * | `moveImage`   | `Image.move`   | moveImage   | MoveImageGroupVDS     |
 * | `copyImage`   | `Volume.copy`  | copyImage   | CopyImageVDS          |
 * | `deleteImage` | `Image.delete` | deleteImage | DeleteImageGroupVDS   |
 *
 * `copyImage` is NOT the move's copy: it copies one volume chain into a new
 * image, collapsing it (templates, clones). The move's copy is `moveImage`
 * with operation `copy` ("copy without collapsing snapshots"), and a move
 * done the design's way is that, followed on success by `deleteImage` of the
 * source.
 *
 * As the engine does (engine-move.md §1.3), every param is sent explicitly,
 * `force`/`postZero`/`discard` default to false, and enums go as VDSM's ints.
 */
import { z } from 'zod';
import type { CallOptions, RpcCaller } from '../rpc/caller.js';
import { ImageOperation, VolumeRole } from './enums.js';
import { InvalidParamsError } from './invalid-params.js';
import { callVerb } from './namespaces.js';
import type { TaskId } from './types.js';
import { boolParam, uuidParam, volumeAllocationParam, volumeFormatParam, volumeRoleParam } from './verbs/common.js';

const moveImageParams = z.strictObject({
  imageID: uuidParam,
  storagepoolID: uuidParam,
  /** Where the image is now (VDSM's `storagedomainID`). */
  srcDomainID: uuidParam,
  /** Where it goes (VDSM's `dstSdUUID`). */
  dstDomainID: uuidParam,
  /**
   * `copy` (VDSM's COPY_OP, 1) keeps the source; `move` (MOVE_OP, 2) deletes
   * it at the end of the same task. No default: the two differ too much to
   * leave to one.
   */
  operation: z.enum(['copy', 'move']),
  /** Zero the source when a `move` deletes it (block domains only). */
  postZero: boolParam.default(false),
  /** Replace an existing copy on the destination. */
  force: boolParam.default(false),
  discard: boolParam.default(false),
});

const copyImageParams = z.strictObject({
  storagepoolID: uuidParam,
  /** The chain's domain, image and top volume (VDSM's `storagedomainID`, `imageID`, `volumeID`). */
  srcDomainID: uuidParam,
  srcImageID: uuidParam,
  srcVolumeID: uuidParam,
  /** The new image and its one volume (VDSM's `dstSdUUID`, `dstImgUUID`, `dstVolUUID`). */
  dstDomainID: uuidParam,
  dstImageID: uuidParam,
  dstVolumeID: uuidParam,
  description: z.string().default(''),
  /** The new volume's role (VDSM ignores it; the engine sends shared for a template, leaf otherwise). */
  volType: volumeRoleParam.default(VolumeRole.Leaf),
  volFormat: volumeFormatParam,
  preallocate: volumeAllocationParam,
  postZero: boolParam.default(false),
  force: boolParam.default(false),
  discard: boolParam.default(false),
});

const deleteImageParams = z.strictObject({
  imageID: uuidParam,
  storagepoolID: uuidParam,
  storagedomainID: uuidParam,
  /** Zero the volumes before removing them (block domains; a no-op on file domains). */
  postZero: boolParam.default(false),
  /** Discard the volumes first (refused with 349 on file domains). */
  discard: boolParam.default(false),
});

export type MoveImageParams = z.input<typeof moveImageParams>;
export type CopyImageParams = z.input<typeof copyImageParams>;
export type DeleteImageParams = z.input<typeof deleteImageParams>;

const OPERATION_INT = { copy: ImageOperation.Copy, move: ImageOperation.Move } as const;

/** The params, or the helper's own InvalidParamsError as a rejection, so that nothing is sent. */
function helperCall<S extends z.ZodType>(
  helper: string,
  schema: S,
  params: unknown,
  send: (p: z.output<S>) => Promise<TaskId>,
): Promise<TaskId> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) return Promise.reject(new InvalidParamsError(helper, parsed.error.issues));
  return send(parsed.data);
}

/**
 * `Image.move` (VDSM's moveImage): copies (operation `copy`) or moves the
 * whole image, its volume chain as it is, to another domain of the pool.
 * Resolves with the SPM task id.
 */
export function moveImage(caller: RpcCaller, params: MoveImageParams, options?: CallOptions): Promise<TaskId> {
  return helperCall('moveImage', moveImageParams, params, (p) =>
    callVerb(
      caller,
      'Image.move',
      {
        imageID: p.imageID,
        storagepoolID: p.storagepoolID,
        storagedomainID: p.srcDomainID,
        dstSdUUID: p.dstDomainID,
        operation: OPERATION_INT[p.operation],
        postZero: p.postZero,
        force: p.force,
        discard: p.discard,
      },
      options,
    ),
  );
}

/**
 * `Volume.copy` (VDSM's copyImage): copies the chain up to `srcVolumeID`
 * into the single volume `dstVolumeID` of a new image, collapsing it.
 * Resolves with the SPM task id.
 */
export function copyImage(caller: RpcCaller, params: CopyImageParams, options?: CallOptions): Promise<TaskId> {
  return helperCall('copyImage', copyImageParams, params, (p) =>
    callVerb(
      caller,
      'Volume.copy',
      {
        volumeID: p.srcVolumeID,
        storagepoolID: p.storagepoolID,
        storagedomainID: p.srcDomainID,
        imageID: p.srcImageID,
        dstSdUUID: p.dstDomainID,
        dstImgUUID: p.dstImageID,
        dstVolUUID: p.dstVolumeID,
        desc: p.description,
        volType: p.volType,
        volFormat: p.volFormat,
        preallocate: p.preallocate,
        postZero: p.postZero,
        force: p.force,
        discard: p.discard,
      },
      options,
    ),
  );
}

/**
 * `Image.delete` (VDSM's deleteImage): deletes an image, the move's last
 * step on the source (or on the target's leftovers). `force`
 * is sent as false: VDSM ignores it. Resolves with the SPM task id.
 */
export function deleteImage(caller: RpcCaller, params: DeleteImageParams, options?: CallOptions): Promise<TaskId> {
  return helperCall('deleteImage', deleteImageParams, params, (p) =>
    callVerb(
      caller,
      'Image.delete',
      {
        imageID: p.imageID,
        storagepoolID: p.storagepoolID,
        storagedomainID: p.storagedomainID,
        postZero: p.postZero,
        force: false,
        discard: p.discard,
      },
      options,
    ),
  );
}
