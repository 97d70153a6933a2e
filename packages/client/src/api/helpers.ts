/**
 * Engine-style helpers for the storage flows the orchestrator runs, in the
 * engine's vocabulary (source/destination domain) rather than VDSM's param
 * names. Each is one SPM verb answering a task id at once; poll the task
 * (tasks/) and `Task.clear` it when done.
 *
 * As the engine does (engine-move.md §1.3), every param is sent explicitly,
 * `force`/`postZero`/`discard` default to false, and the operation goes as
 * VDSM's int: a "move" done the engine's way is `copyImage` followed, on
 * success, by `deleteImage` of the source.
 */
import { z } from 'zod';
import type { CallOptions, RpcCaller } from '../rpc/caller.js';
import { ImageOperation } from './enums.js';
import { InvalidParamsError } from './invalid-params.js';
import { callVerb } from './namespaces.js';
import type { TaskId } from './types.js';
import { boolParam, uuidParam } from './verbs/common.js';

const copyImageParams = z.strictObject({
  imageID: uuidParam,
  storagepoolID: uuidParam,
  /** Where the image is now (VDSM's `storagedomainID`). */
  srcDomainID: uuidParam,
  /** Where it goes (VDSM's `dstSdUUID`). */
  dstDomainID: uuidParam,
  /** Zero the source after a VDSM-side move (block domains only). */
  postZero: boolParam.default(false),
  /** Replace an existing copy on the destination. */
  force: boolParam.default(false),
  discard: boolParam.default(false),
});

const moveImageParams = copyImageParams.extend({
  /** `copy` keeps the source; `move` (VDSM's MOVE_OP) deletes it at the end of the same task. */
  operation: z.enum(['copy', 'move']).default('move'),
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

export type CopyImageParams = z.input<typeof copyImageParams>;
export type MoveImageParams = z.input<typeof moveImageParams>;
export type DeleteImageParams = z.input<typeof deleteImageParams>;

const OPERATION_INT = { copy: ImageOperation.Copy, move: ImageOperation.Move } as const;

function parseHelperParams<S extends z.ZodType>(helper: string, schema: S, params: unknown): z.output<S> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new InvalidParamsError(helper, parsed.error.issues);
  return parsed.data;
}

/**
 * Copies an image to another domain of the same pool (`Image.move` with
 * operation 1, the engine's CopyImageGroup). Resolves with the SPM task id.
 */
export function copyImage(caller: RpcCaller, params: CopyImageParams, options?: CallOptions): Promise<TaskId> {
  return moveImageAs('copyImage', caller, { ...params, operation: 'copy' }, options);
}

/**
 * `Image.move` with operation `copy` (1) or `move` (2, the default), in the
 * engine's vocabulary. Resolves with the SPM task id.
 */
export function moveImage(caller: RpcCaller, params: MoveImageParams, options?: CallOptions): Promise<TaskId> {
  return moveImageAs('moveImage', caller, params, options);
}

function moveImageAs(helper: string, caller: RpcCaller, params: MoveImageParams, options: CallOptions | undefined): Promise<TaskId> {
  let p: z.output<typeof moveImageParams>;
  try {
    p = parseHelperParams(helper, moveImageParams, params);
  } catch (error) {
    return Promise.reject(error);
  }
  return callVerb(
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
  );
}

/**
 * Deletes an image (`Image.delete`, the engine's RemoveImage step). `force`
 * is sent as false: VDSM ignores it. Resolves with the SPM task id.
 */
export function deleteImage(caller: RpcCaller, params: DeleteImageParams, options?: CallOptions): Promise<TaskId> {
  let p: z.output<typeof deleteImageParams>;
  try {
    p = parseHelperParams('deleteImage', deleteImageParams, params);
  } catch (error) {
    return Promise.reject(error);
  }
  return callVerb(
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
  );
}
