/**
 * The verbs the fake emulates, one module per namespace (Host now; Image,
 * Volume, StorageDomain, StoragePool and Task plug in the same way). A module
 * lists its verbs (`emulate(method, handler)`); the params schema of each
 * comes from the client's `VERBS`, the one source of truth for parameter
 * names and types.
 */
import { VERBS } from '@vdsm-kit/client/api';
import type { ResultOf, VdsmMethod, WireParamsOf } from '@vdsm-kit/client/api';
import type { TransportKind } from '@vdsm-kit/client/transport';
import { z } from 'zod';
import { inCall } from '../faults/operation.js';

/** Where a call came from; handlers use it for replies such as `lastClientIface`. */
export interface ConnectionDescription {
  readonly transport: TransportKind;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Our address the client connected to. */
  readonly localAddress?: string;
  /** The server's number for this STOMP connection: unique in the process, from 1 up. */
  readonly id?: number;
}

/** What a handler knows about the call besides its params. */
export interface CallContext {
  /** The SEND's `ovirtCorrelationId` (the engine's flow id). */
  readonly flowId: string | undefined;
  readonly connection: ConnectionDescription;
}

/** Schema of a verb's named params (an object schema; its key order maps positional params). */
export type ParamsSchema = z.ZodObject;

/**
 * One emulated verb. The handler gets the params as the schema parsed them
 * (defaults filled in, wire types) and returns the JSON-RPC result (undefined
 * becomes `true`, as VDSM's void verbs do) or throws a `VdsmError` for VDSM's
 * `{code, message}`.
 */
export interface EmulatedVerb {
  /** `Namespace.verb`. */
  readonly method: string;
  /**
   * The verb's schema as the client uses it: strict, an unknown param is an
   * error (VDSM's `[devel] api_strict_mode = true`).
   */
  readonly strictParams: ParamsSchema;
  /** The same params, unknown ones dropped: VDSM's default, which only logs them. */
  readonly params: ParamsSchema;
  readonly handler: (params: Record<string, unknown>, context: CallContext) => unknown;
}

/** The verbs of one namespace. */
export interface ApiModule {
  readonly namespace: string;
  readonly verbs: readonly EmulatedVerb[];
}

/** What a handler may answer: the verb's wire result, or nothing for a void verb. */
type HandlerResult<M extends VdsmMethod> = ResultOf<M> | undefined;

/**
 * Emulates `method` with `handler`. The params schema comes from the client's
 * verb table (`VERBS`), the one source of truth for names, order, wire types
 * and defaults; the handler is typed from it, params in and result out.
 */
export function emulate<M extends VdsmMethod>(
  method: M,
  handler: (params: WireParamsOf<M>, context: CallContext) => HandlerResult<M> | Promise<HandlerResult<M>>,
): EmulatedVerb {
  const strictParams: ParamsSchema = VERBS[method].params;
  return {
    method,
    strictParams,
    params: z.object(strictParams.shape),
    // One operation per call (faults/operation.ts): the tasks it starts remember the method and params.
    // Sound: the dispatcher only passes what this verb's own schema produced.
    handler: (params, context) => inCall(method, params, () => (handler as EmulatedVerb['handler'])(params, context)),
  };
}

/**
 * Emulates `method` like `emulate`, except that the params named in `loose`
 * reach the handler as sent (any JSON) in VDSM's default mode: VDSM checks
 * those itself and answers its own error (the SDM endpoints are Python
 * `properties` objects that fail with 100 and `str(e)`, not with -32602). In
 * strict mode (`api_strict_mode`) the client's schema still applies to them.
 */
export function emulateLoose<M extends VdsmMethod, K extends keyof WireParamsOf<M> & string>(
  method: M,
  loose: readonly K[],
  handler: (params: Omit<WireParamsOf<M>, K> & { readonly [P in K]: unknown }, context: CallContext) => HandlerResult<M> | Promise<HandlerResult<M>>,
): EmulatedVerb {
  const verb = emulate(method, handler as never);
  const shape: Record<string, z.ZodType> = { ...verb.params.shape };
  for (const name of loose) shape[name] = z.unknown();
  return { ...verb, params: z.object(shape) };
}

/** Emulated verbs by method name. */
export class ApiRegistry {
  readonly #verbs = new Map<string, EmulatedVerb>();

  constructor(modules: Iterable<ApiModule> = []) {
    for (const module of modules) this.register(module);
  }

  /**
   * Adds a namespace's verbs.
   *
   * @throws Error when a verb is outside the module's namespace or registered twice (wiring bugs).
   */
  register(module: ApiModule): void {
    for (const verb of module.verbs) {
      if (!verb.method.startsWith(`${module.namespace}.`)) {
        throw new Error(`Verb ${verb.method} does not belong to namespace ${module.namespace}`);
      }
      if (this.#verbs.has(verb.method)) throw new Error(`Verb ${verb.method} is registered twice`);
      this.#verbs.set(verb.method, verb);
    }
  }

  /** The verb serving `method`, if the fake emulates it. */
  get(method: string): EmulatedVerb | undefined {
    return this.#verbs.get(method);
  }

  /** Every emulated method name, sorted (a coverage list). */
  get methods(): string[] {
    return [...this.#verbs.keys()].sort();
  }
}
