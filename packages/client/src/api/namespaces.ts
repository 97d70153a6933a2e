/**
 * The typed surface: `createVdsmApi(caller).Image.move({...})`. Every verb of
 * the table in verbs/ becomes a function that validates its params locally,
 * sends the wire params (every param, defaults filled in) through the caller
 * and returns the result typed. Nothing else happens here: timeouts, flow ids
 * and reconnects are the caller's.
 */
import type { CallOptions, RpcCaller } from '../rpc/caller.js';
import { parseVerbParams } from './invalid-params.js';
import { VERBS } from './verbs/index.js';
import type { ParamsOf, ResultOf, VdsmMethod } from './verbs/index.js';

/** A verb's arguments: params are optional when every param has a default (or there are none). */
export type VerbArgs<M extends VdsmMethod> = {} extends ParamsOf<M>
  ? [params?: ParamsOf<M>, options?: CallOptions]
  : [params: ParamsOf<M>, options?: CallOptions];

/** A typed verb: rejects with `InvalidParamsError` (nothing sent) or with what the caller rejects with. */
export type VerbFunction<M extends VdsmMethod> = (...args: VerbArgs<M>) => Promise<ResultOf<M>>;

type NamespaceOf<M> = M extends `${infer N}.${string}` ? N : never;

/** The namespaces of the typed API: `'Host' | 'StoragePool' | ...`. */
export type VdsmNamespace = NamespaceOf<VdsmMethod>;

/** `{ Host: { ping2, ... }, Image: { move, ... }, ... }`. */
export type VdsmApi = {
  readonly [N in VdsmNamespace]: {
    readonly [M in VdsmMethod as M extends `${N}.${infer V}` ? V : never]: VerbFunction<M>;
  };
};

/**
 * Calls one verb by name: validates `params`, sends the wire params, resolves
 * with the typed result. A bad param rejects with `InvalidParamsError` and
 * nothing is sent.
 */
export function callVerb<M extends VdsmMethod>(caller: RpcCaller, method: M, ...[params, options]: VerbArgs<M>): Promise<ResultOf<M>> {
  let wire: Readonly<Record<string, unknown>>;
  try {
    wire = parseVerbParams(method, params);
  } catch (error) {
    return Promise.reject(error);
  }
  // Results are not validated: the schema types the promise (see types.ts).
  return caller.call(method, wire, options) as Promise<ResultOf<M>>;
}

/** Builds the typed namespaces over `caller` (one small object per namespace, made once). */
export function createVdsmApi(caller: RpcCaller): VdsmApi {
  const api: Record<string, Record<string, unknown>> = {};
  for (const method of Object.keys(VERBS) as VdsmMethod[]) {
    const dot = method.indexOf('.');
    const namespace = (api[method.slice(0, dot)] ??= {});
    namespace[method.slice(dot + 1)] = (...args: VerbArgs<typeof method>) => callVerb(caller, method, ...args);
  }
  for (const namespace of Object.values(api)) Object.freeze(namespace);
  return Object.freeze(api) as VdsmApi;
}
