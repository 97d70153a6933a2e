/**
 * A hook around each JSON-RPC call the dispatcher runs, in the style of
 * undici's interceptors: an interceptor takes the next handler and returns a
 * handler, so several compose without knowing of each other (the call log
 * and the metrics each add one). The dispatcher keeps parsing, batching and
 * encoding; an interceptor sees one well-formed request (it has a method;
 * a parse error or an invalid element never reaches it) and the response it
 * got, or undefined when no answer is sent (a `noAnswer` fault).
 */
import type { CallContext } from '../api/registry.js';
import type { MaybePromise } from './maybe-promise.js';
import type { RpcId } from './stomp-broker.js';

/** One request of a body, as the client sent it (params not yet named or checked). */
export interface RpcCall {
  /** Undefined for a notification (it runs, nothing is answered). */
  readonly id: RpcId | undefined;
  readonly method: string;
  readonly params: Record<string, unknown> | unknown[];
}

/** The JSON-RPC response to one call. */
export type RpcResponse =
  | { readonly jsonrpc: '2.0'; readonly id: RpcId | null; readonly result: unknown }
  | { readonly jsonrpc: '2.0'; readonly id: RpcId | null; readonly error: { readonly code: number; readonly message: string } };

/**
 * Runs one call: its response, or undefined when none is sent; a promise of
 * it when the call waits for something (a synchronous verb answers at once,
 * and an interceptor should pass a plain value on as one: see
 * `afterValue`). Never rejects.
 */
export type RpcCallHandler = (call: RpcCall, context: CallContext) => MaybePromise<RpcResponse | undefined>;

/** Wraps the next handler (it must call `next` for the call to run at all). */
export type RpcInterceptor = (next: RpcCallHandler) => RpcCallHandler;

/** `handler` wrapped by `interceptors`, the first one outermost. */
export function composeInterceptors(interceptors: readonly RpcInterceptor[], handler: RpcCallHandler): RpcCallHandler {
  return interceptors.reduceRight<RpcCallHandler>((next, interceptor) => interceptor(next), handler);
}

/**
 * The code `call` was answered with: VDSM's status code 0 for a result, the
 * error's code otherwise, null when nothing was sent (a notification, a
 * `noAnswer` fault).
 */
export function answeredCode(call: RpcCall, response: RpcResponse | undefined): number | null {
  if (call.id === undefined || response === undefined) return null;
  return 'error' in response ? response.error.code : 0;
}
