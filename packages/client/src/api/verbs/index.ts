/**
 * The verb table: every `Namespace.verb` the typed API knows, with its param
 * schema (the one source of truth for names, order, wire types and defaults),
 * its result type and whether it answers a task id. The typed namespaces, the
 * CLI and the fake server are all built from it.
 */
import type { z } from 'zod';
import type { TaskId } from '../types.js';
import type { VerbDefinition } from './common.js';
import { HOST_VERBS } from './host.js';
import { IMAGE_VERBS } from './image.js';
import { SDM_VERBS } from './sdm.js';
import { STORAGE_DOMAIN_VERBS } from './storage-domain.js';
import { STORAGE_POOL_VERBS } from './storage-pool.js';
import { TASK_VERBS } from './task.js';
import { VOLUME_VERBS } from './volume.js';

export const VERBS = {
  ...HOST_VERBS,
  ...STORAGE_POOL_VERBS,
  ...STORAGE_DOMAIN_VERBS,
  ...IMAGE_VERBS,
  ...VOLUME_VERBS,
  ...TASK_VERBS,
  ...SDM_VERBS,
} as const satisfies Record<string, VerbDefinition>;

type Verbs = typeof VERBS;

/** Every method of the typed API: `'Host.ping2' | 'Image.move' | ...`. */
export type VdsmMethod = keyof Verbs;

/** What a caller passes (`z.input`): params with a schema default may be left out. */
export type ParamsOf<M extends VdsmMethod> = z.input<Verbs[M]['params']>;

/** What goes on the wire (`z.output`): every param, defaults filled in, wire types. */
export type WireParamsOf<M extends VdsmMethod> = z.output<Verbs[M]['params']>;

/** The wire result of `M`. */
export type ResultOf<M extends VdsmMethod> = z.output<Verbs[M]['result']>;

/** Methods whose result is a task id. */
export type TaskMethod = { [M in VdsmMethod]: ResultOf<M> extends TaskId ? M : never }[VdsmMethod];

/**
 * The method map in json-rpc-2.0's typed style (`TypedJSONRPCClient<VdsmMethods>`):
 * wire params in, wire result out.
 */
export type VdsmMethods = { [M in VdsmMethod]: (params: WireParamsOf<M>) => ResultOf<M> };

const METHOD_NAMES: ReadonlySet<string> = new Set(Object.keys(VERBS));

/** True when `method` is a method of the typed API. */
export function isVdsmMethod(method: string): method is VdsmMethod {
  return METHOD_NAMES.has(method);
}

export type { VerbDefinition } from './common.js';
export { defineVerb, defineTaskVerb } from './common.js';
export { divEndpointParam, generationParam, updateVolumeInfoParam, volumeAttributesParam } from './sdm.js';
export type { DivEndpoint } from './sdm.js';
