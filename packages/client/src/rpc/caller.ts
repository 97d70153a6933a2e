/**
 * The one small interface everything above the wire is written against, as
 * undici's Dispatcher: the typed API, the task watcher and the helpers take an
 * `RpcCaller`, so a connection, a reconnecting client or a test double with
 * interceptors all fit.
 */
export interface CallOptions {
  /** Fails the call with a 5022 network error after this long (default: the connection's, 180 s). */
  readonly timeoutMs?: number;
  /** Sent as the `ovirtCorrelationId` header (the engine's flow id). */
  readonly flowId?: string;
  /** Aborts waiting for the answer (the request may still run on the host). */
  readonly signal?: AbortSignal;
}

export interface RpcCaller {
  /**
   * Calls `Namespace.verb` with named params. Resolves with the JSON-RPC
   * `result`; rejects with a `VdsmError` (VDSM's numeric code) when VDSM
   * answers an error, and with a `VdsmNetworkError` (5022) on timeout or drop.
   */
  call(method: string, params: Readonly<Record<string, unknown>>, options?: CallOptions): Promise<unknown>;
}

/** Wraps a caller; interceptors compose right to left like functions. */
export type CallInterceptor = (next: RpcCaller['call']) => RpcCaller['call'];

export function compose(caller: RpcCaller, ...interceptors: CallInterceptor[]): RpcCaller {
  const call = interceptors.reduceRight<RpcCaller['call']>((next, interceptor) => interceptor(next), caller.call.bind(caller));
  return { call };
}
