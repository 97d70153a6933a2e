/**
 * Building blocks of the verb table: how a verb is described, and the param
 * schemas shared by the namespaces. A param schema is the one source of truth
 * for its verb: names and order exactly as vdsm-api.yml, types as the real VDSM
 * wants them (vdsm-wire.md §5, §10), and the schema's `defaultvalue` as a zod
 * default so every param is always sent (an absent param without default
 * would shift VDSM's positional arguments, §3.3).
 */
import { z } from 'zod';
import { ImageOperation, VolumeAllocation, VolumeFormat, VolumeRole } from '../enums.js';
import { TaskIdSchema } from '../types.js';

/** Describes one `Namespace.verb`. */
export interface VerbDefinition<P extends z.ZodObject = z.ZodObject, R extends z.ZodType = z.ZodType> {
  /**
   * The params: a strict object (an unknown key is refused locally, because
   * VDSM itself would silently ignore a misspelt name); its output is exactly
   * what goes on the wire, in schema order, defaults filled in.
   */
  readonly params: P;
  /** The wire result. It types the client's promise; the client does not validate it. */
  readonly result: R;
  /** True when VDSM answers with a task id at once and does the work in a task. */
  readonly returnsTask: boolean;
  /** The task's `verb` as `Task.getInfo` reports it (VDSM's HSM method name), for task verbs. */
  readonly taskVerb?: string;
}

/** Identity helper that keeps the literal types of a verb definition. */
export function defineVerb<P extends z.ZodObject, R extends z.ZodType>(definition: VerbDefinition<P, R>): VerbDefinition<P, R> {
  return definition;
}

/** A verb that answers with a task id and runs as task `taskVerb`. */
export function defineTaskVerb<P extends z.ZodObject>(params: P, taskVerb: string): VerbDefinition<P, typeof TaskIdSchema> {
  return { params, result: TaskIdSchema, returnsTask: true, taskVerb };
}

// ---- param schemas ----

/**
 * A UUID param. VDSM parses ids with Python's `uuid.UUID`, so any 8-4-4-4-12
 * hex string passes (not only RFC 4122 variants: the ISO image id is
 * `11111111-1111-1111-1111-111111111111`).
 */
export const uuidParam = z.guid();

/** A JSON integer (schema `int`/`long`). */
export const intParam = z.number().int();

/** Schema `boolean`. VDSM also accepts the engine's `"true"`/`"false"`; the client sends JSON booleans. */
export const boolParam = z.boolean();

/**
 * A boolean VDSM reads through `misc.parseBool` (hsm.py `moveImage`,
 * `deleteImage`, `copyImage`: `postZero`, `force`): oVirt's engine sends these
 * as the strings `"true"`/`"false"` (engine-move.md 1.3), so a JSON boolean or
 * either string (any case) is taken, and a JSON boolean goes out.
 */
export const parsedBoolParam = z
  .union([z.boolean(), z.string().regex(/^(true|false)$/i)], { error: 'expected a boolean or "true"/"false"' })
  .transform((value) => (typeof value === 'boolean' ? value : value.toLowerCase() === 'true'));

/**
 * Schema `type: string, datatype: int`: an int VDSM wants as a decimal string
 * (`prevLver`, `domVersion`, sizes). Takes a number, a bigint or a string of
 * digits; sends the string.
 */
export const intStringParam = z
  .union([z.string().regex(/^-?\d+$/), z.number().int(), z.bigint()], { error: 'expected an integer or a string of decimal digits' })
  .transform((value) => String(value));

/** A size in bytes VDSM wants as a string (`Volume.create` `size`, `initialSize`): takes a number too. */
export const sizeStringParam = z
  .union([z.string().regex(/^\d+$/), z.number().int().nonnegative(), z.bigint().nonnegative()], {
    error: 'expected a non-negative integer or a string of decimal digits',
  })
  .transform((value) => String(value));

/** Schema `type: string, datatype: boolean` (`enableScsiFencing`): takes a boolean, sends `'true'`/`'false'`. */
export const boolStringParam = z
  .union([z.boolean(), z.enum(['true', 'false'])], { error: "expected a boolean or 'true'/'false'" })
  .transform((value) => String(value) as 'true' | 'false');

/** `Image.move` operation: the wire int 1 (copy) or 2 (move); the schema's strings are not what VDSM compares. */
export const imageOperationParam = z.literal([ImageOperation.Copy, ImageOperation.Move]);

/** Volume format int: 4 (COW) or 5 (RAW). */
export const volumeFormatParam = z.literal([VolumeFormat.COW, VolumeFormat.RAW]);

/** Allocation int (`preallocate`): 1 (preallocated) or 2 (sparse). */
export const volumeAllocationParam = z.literal([VolumeAllocation.Preallocated, VolumeAllocation.Sparse]);

/** Volume role int (`volType`): 6 shared, 7 internal, 8 leaf. */
export const volumeRoleParam = z.literal([VolumeRole.Shared, VolumeRole.Internal, VolumeRole.Leaf]);
