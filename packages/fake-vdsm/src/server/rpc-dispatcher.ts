/**
 * JSON-RPC 2.0 as VDSM serves it (oVirt/vdsm:lib/yajsonrpc/__init__.py
 * `JsonRpcServer._parseMessage`, `_handle_request`; vdsm-wire.md 3): a body
 * is one request or a batch; each becomes a response `{jsonrpc, id, result}`
 * or `{jsonrpc, id, error: {code, message}}` with VDSM's codes and Python
 * `str()` messages; one response goes out as a single object (so a
 * one-element batch gets an object back), several as `[a,b]`.
 *
 * Written plainly rather than on json-rpc-2.0's JSONRPCServer: every
 * protocol error needs VDSM's own code, message and `id: null`, bodies must be
 * Python's `json.dumps` text, and a one-element batch must not be re-wrapped,
 * so the library would be overridden at every step it takes.
 *
 * Where VDSM breaks we follow JSON-RPC 2.0 and keep serving: a batch of
 * several requests gets the array answer (VDSM sends nothing), and a request
 * without id (a notification) runs and gets no answer (VDSM's server thread
 * dies and the host stops answering anyone).
 */
import { VdsmError, VdsmErrorCode, vdsmMessage } from '@vdsm-kit/client/api';
import type { PyValue } from '@vdsm-kit/client/api';
import type { ApiRegistry, CallContext, EmulatedVerb } from '../api/registry.js';
import type { FaultEngine } from '../faults/engine.js';
import { rpcFaultFor, waitUntilAnswer } from '../faults/rpc-faults.js';
import type { RpcFault } from '../faults/rpc-faults.js';
import type { Logger } from '../logger.js';
import { parseJsonBody } from './json-body.js';
import { afterValue, isPromiseLike } from './maybe-promise.js';
import type { MaybePromise } from './maybe-promise.js';
import { pythonJsonDumps } from './python-json.js';
import { responseJson } from './response-json.js';
import { composeInterceptors } from './rpc-interceptor.js';
import type { RpcCall, RpcCallHandler, RpcInterceptor, RpcResponse } from './rpc-interceptor.js';
import type { RpcAnswer, RpcId } from './stomp-broker.js';

/** Options of an `RpcDispatcher`. */
export interface RpcDispatcherOptions {
  /** The verbs the fake emulates. */
  readonly registry: ApiRegistry;
  /**
   * Every method VDSM's schema knows. A method here but not in `registry` is
   * answered with 44 `Not implemented` naming it; one in neither with -32601.
   */
  readonly knownMethods: ReadonlySet<string>;
  /** False while the host is "starting": every request then gets 99 `Recovering from crash or Initializing`. */
  readonly isReady: () => boolean;
  /**
   * Refuse unknown params with -32602, as VDSM does with `[devel]
   * api_strict_mode = true`. Default false, VDSM's default: they are ignored.
   */
  readonly strictParams?: boolean;
  readonly logger: Logger;
  /** The process's fault engine: its RPC rules (faults/rpc-faults.ts) act on checked calls. */
  readonly faults?: FaultEngine;
  /** The VDSM host id answering (what a rule's `match.host` compares with; default 1). */
  readonly hostId?: number;
  /** Hooks around every well-formed call, the first outermost (e.g. the call log, the metrics). */
  readonly interceptors?: readonly RpcInterceptor[];
}

/** A parsed request body: its ids (to remember the reply-to by) and a way to run it. */
export interface PreparedRequest {
  /** The ids of the well-formed requests with an id, in body order. */
  readonly ids: readonly RpcId[];
  /**
   * Runs every request: the encoded answer, or undefined when nothing is to
   * be sent; a promise of it only when a verb (or a fault) waits, so an
   * answer known now leaves in this tick. Never throws or rejects.
   */
  run(context: CallContext): MaybePromise<RpcAnswer | undefined>;
}

type Response = RpcResponse;
type Request = RpcCall;

/** One element of a body: a request to run, or a response fixed at parse time (an invalid request). */
type Item = { readonly request: Request } | { readonly response: Response };

const NO_IDS: readonly RpcId[] = [];
const NOT_EMULATED = 'fake-vdsm does not emulate this verb yet';

/** Dispatches JSON-RPC bodies to the API registry. */
export class RpcDispatcher {
  readonly #registry: ApiRegistry;
  readonly #knownMethods: ReadonlySet<string>;
  readonly #isReady: () => boolean;
  readonly #strictParams: boolean;
  readonly #log: Logger;
  readonly #faults: FaultEngine | undefined;
  readonly #hostId: number;
  readonly #handle: RpcCallHandler;

  constructor(options: RpcDispatcherOptions) {
    this.#registry = options.registry;
    this.#knownMethods = options.knownMethods;
    this.#isReady = options.isReady;
    this.#strictParams = options.strictParams ?? false;
    this.#log = options.logger;
    this.#faults = options.faults;
    this.#hostId = options.hostId ?? 1;
    this.#handle = composeInterceptors(options.interceptors ?? [], (request, context) => this.#executeSafely(request, context));
  }

  /** Parses and checks a request body (a SEND's, as UTF-8 text). Never throws. */
  prepare(body: string): PreparedRequest {
    try {
      return this.#prepare(body);
    } catch (error) {
      // E.g. a request nested so deep that wording its error overflows the stack.
      return answered(this.#internalError(null, error));
    }
  }

  #prepare(body: string): PreparedRequest {
    const parsed = parseJsonBody(body);
    if (parsed === undefined) return answered(errorResponse(null, VdsmErrorCode.JsonRpcParseError));
    if (Array.isArray(parsed) && parsed.length === 0) {
      return answered(invalidRequest(parsed, 'request batch is empty'));
    }
    const items = (Array.isArray(parsed) ? parsed : [parsed]).map(toItem);
    const ids: RpcId[] = [];
    for (const item of items) if ('request' in item && item.request.id !== undefined) ids.push(item.request.id);
    return { ids: ids.length === 0 ? NO_IDS : ids, run: (context) => this.#run(items, context) };
  }

  #run(items: readonly Item[], context: CallContext): MaybePromise<RpcAnswer | undefined> {
    if (items.length === 1) {
      return afterValue(this.#settle(items[0] as Item, context), (response) => (response === undefined ? undefined : encodeAnswer([response])));
    }
    return Promise.all(items.map((item) => this.#settle(item, context))).then((settled) => {
      const responses = settled.filter((response): response is Response => response !== undefined);
      return responses.length === 0 ? undefined : encodeAnswer(responses);
    });
  }

  #settle(item: Item, context: CallContext): MaybePromise<Response | undefined> {
    if ('response' in item) return item.response;
    const { request } = item;
    // A notification runs but is never answered; neither is a call a noAnswer fault took.
    const answered = (response: Response | undefined): Response | undefined => (request.id === undefined ? undefined : response);
    // Only a broken interceptor fails here: #executeSafely never throws or rejects.
    const broken = (error: unknown): Response | undefined => answered(this.#internalError(request.id ?? null, error, request.method));
    let pending: MaybePromise<Response | undefined>;
    try {
      pending = this.#handle(request, context);
    } catch (error) {
      return broken(error);
    }
    return isPromiseLike(pending) ? pending.then(answered, broken) : answered(pending);
  }

  #executeSafely(request: Request, context: CallContext): MaybePromise<Response | undefined> {
    const failed = (error: unknown): Response => this.#internalError(request.id ?? null, error, request.method);
    try {
      const response = this.#execute(request, context);
      return isPromiseLike(response) ? response.then(undefined, failed) : response;
    } catch (error) {
      return failed(error);
    }
  }

  /** The call's response; undefined when a `noAnswer` fault swallows it. */
  #execute(request: Request, context: CallContext): MaybePromise<Response | undefined> {
    const id = request.id ?? null;
    // VDSM checks readiness before it even looks the method up.
    if (!this.#isReady()) return errorResponse(id, VdsmErrorCode.RecoveryInProgress);
    const verb = this.#registry.get(request.method);
    if (verb === undefined) return this.#unavailable(id, request.method);

    const params = namedParams(verb, request.params);
    if (typeof params === 'string') return errorResponse(id, VdsmErrorCode.JsonRpcInvalidParamsError, { reason: params });
    const checked = (this.#strictParams ? verb.strictParams : verb.params).safeParse(params);
    if (!checked.success) {
      const reason = checked.error.issues.map((issue) => `${issue.path.join('.') || 'params'}: ${issue.message}`).join('; ');
      return errorResponse(id, VdsmErrorCode.JsonRpcInvalidParamsError, { reason });
    }
    // Faults act on well-formed calls only: the point names the checked params.
    const faults = this.#faults;
    const fault = faults === undefined ? undefined : rpcFaultFor(faults, this.#hostId, request.method, checked.data);
    if (fault === undefined) return this.#call(verb, id, checked.data, context);
    if (fault.kind === 'error') return { jsonrpc: '2.0', id, error: { code: fault.code, message: fault.message } };
    return this.#callLate(verb, id, checked.data, context, faults as FaultEngine, fault);
  }

  /** A call a timing fault holds: its answer late, lost, or the verb started late. */
  async #callLate(
    verb: EmulatedVerb,
    id: RpcId | null,
    params: Record<string, unknown>,
    context: CallContext,
    faults: FaultEngine,
    fault: Exclude<RpcFault, { kind: 'error' }>,
  ): Promise<Response | undefined> {
    const startedAt = faults.clock.now();
    // A late start: the verb's effect (a task) appears only after the wait, its answer when it ends.
    if (fault.kind === 'startDelay') {
      await waitUntilAnswer(faults, startedAt, fault.ms);
      return this.#call(verb, id, params, context);
    }
    // delay / noAnswer: the verb runs now either way, so its effect (a task) exists when the answer is late or lost.
    const response = await this.#call(verb, id, params, context);
    if (fault.kind === 'noAnswer') return undefined;
    await waitUntilAnswer(faults, startedAt, fault.ms);
    return response;
  }

  /** Runs the verb: its result or its error as a response, at once when the handler answers synchronously. Never throws or rejects. */
  #call(verb: EmulatedVerb, id: RpcId | null, params: Record<string, unknown>, context: CallContext): MaybePromise<Response> {
    // VDSM: `res = True if res is None else res`.
    const succeeded = (result: unknown): Response => ({ jsonrpc: '2.0', id, result: result ?? true });
    const failed = (error: unknown): Response =>
      error instanceof VdsmError ? { jsonrpc: '2.0', id, error: error.toRpcError() } : this.#internalError(id, error, verb.method);
    let result: unknown;
    try {
      result = verb.handler(params, context);
    } catch (error) {
      return failed(error);
    }
    return isPromiseLike(result) ? result.then(succeeded, failed) : succeeded(result);
  }

  /** Any exception but a `VdsmError` is a bug in the fake; VDSM answers such with -32603 and `str(e)`. */
  #internalError(id: RpcId | null, error: unknown, method?: string): Response {
    const reason = error instanceof Error ? error.message : String(error);
    this.#log.error({ method, err: error instanceof Error ? error.stack : reason }, 'Internal server error');
    return errorResponse(id, VdsmErrorCode.JsonRpcInternalError, { reason });
  }

  #unavailable(id: RpcId | null, method: string): Response {
    if (this.#knownMethods.has(method)) {
      // VDSM knows the verb, the fake does not emulate it: 44 MethodNotImplemented,
      // VDSM's own code for "exists but not available here", with a context naming
      // the verb. -32601 would tell the client its schema is wrong, which it is not.
      return errorResponse(id, VdsmErrorCode.MethodNotImplemented, { method, reason: NOT_EMULATED });
    }
    return errorResponse(id, VdsmErrorCode.JsonRpcMethodNotFoundError, { method });
  }
}

/** A body whose answer is known at parse time (a parse error, an empty batch). */
function answered(response: Response): PreparedRequest {
  const answer = encodeAnswer([response]);
  return { ids: NO_IDS, run: () => answer };
}

/**
 * Checks one element as VDSM's `JsonRpcRequest.fromRawObject` does. Invalid
 * elements get their response now, with `id: null` as in VDSM.
 */
function toItem(raw: unknown): Item {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    // VDSM: `obj.get` raises AttributeError, caught bare -> JsonRpcInternalError().
    return { response: errorResponse(null, VdsmErrorCode.JsonRpcInternalError) };
  }
  const object = raw as Record<string, unknown>;
  if (object.jsonrpc !== '2.0') return { response: invalidRequest(object, 'Wrong protocol version') };
  const { method, id } = object;
  if (method === undefined || method === null) return { response: invalidRequest(object, 'missing method header in method') };
  const params = 'params' in object ? object.params : [];
  if (params === null || typeof params !== 'object') return { response: invalidRequest(object, 'wrong params type') };
  // VDSM crashes on these two (a non-string method, an unhashable id); JSON-RPC 2.0 calls them invalid requests.
  if (typeof method !== 'string') return { response: invalidRequest(object, 'wrong method type') };
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number' && typeof id !== 'bigint') {
    return { response: invalidRequest(object, 'wrong id type') };
  }
  return { request: { id: id ?? undefined, method, params: params as Record<string, unknown> | unknown[] } };
}

/**
 * Positional params map to names in schema order, as VDSM's
 * `DynamicBridge._name_args` does. Returns a reason string when they cannot.
 */
function namedParams(verb: EmulatedVerb, params: Record<string, unknown> | unknown[]): Record<string, unknown> | string {
  if (!Array.isArray(params)) return params;
  const names = Object.keys(verb.params.shape);
  if (params.length > names.length) {
    return `${verb.method} takes ${names.length} parameter(s) (${names.join(', ') || 'none'}), ${params.length} given`;
  }
  const named: Record<string, unknown> = {};
  params.forEach((value, index) => {
    named[names[index] as string] = value;
  });
  return named;
}

/** -32600 with VDSM's context: `{'request': <the element>, 'reason': ...}`. */
function invalidRequest(request: unknown, reason: string): Response {
  return errorResponse(null, VdsmErrorCode.JsonRpcInvalidRequestError, { request: request as PyValue, reason });
}

/** An error response with VDSM's `str()` of the error: the class message, then `: <repr(context)>` when given. */
function errorResponse(id: RpcId | null, code: number, context?: { readonly [key: string]: PyValue }): Response {
  return { jsonrpc: '2.0', id, error: { code, message: vdsmMessage(code, context) } };
}

/** One response alone, several as VDSM's `'[' + ','.join(...) + ']'`. */
function encodeAnswer(responses: readonly Response[]): RpcAnswer {
  const ids = responses.map((response) => response.id);
  if (responses.length === 1) return { ids, body: dumps(responses[0] as Response) };
  return { ids, body: `[${responses.map(dumps).join(',')}]` };
}

/**
 * Encodes one response; a result JSON cannot carry (a BigInt, a cycle) becomes
 * -32603 for that response alone, as VDSM's `sendReply` does on an encoding error.
 */
function dumps(response: Response): string {
  if (typeof response.id === 'bigint') return dumpsExactId(response, response.id);
  try {
    return responseJson(response) as string;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return pythonJsonDumps(errorResponse(response.id, VdsmErrorCode.JsonRpcInternalError, { reason })) as string;
  }
}

/** The id comes first after `jsonrpc` (VDSM's key order), so its exact digits replace the `null` written in its place. */
function dumpsExactId(response: Response, id: bigint): string {
  const text = dumps({ ...response, id: null });
  const prefix = '{"jsonrpc": "2.0", "id": null';
  return `{"jsonrpc": "2.0", "id": ${id.toString()}${text.slice(prefix.length)}`;
}
