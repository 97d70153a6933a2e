/**
 * The text of one JSON-RPC request as the client sends it (vdsm-wire.md
 * §3): hot, so built without the request object.
 */
import type { JSONRPCRequest } from 'json-rpc-2.0';

/**
 * `JSON.stringify({jsonrpc: '2.0', method, params, id})`, key order as
 * vdsm's client writes it (one object, never a batch array), built around
 * the params' own text: the same string without the request object and its
 * walk. A request whose params give no JSON (undefined) is stringified
 * whole, so that case too comes out as before.
 */
export function requestText(method: string, params: Readonly<Record<string, unknown>>, id: string): string {
  const paramsText = JSON.stringify(params) as string | undefined;
  if (paramsText === undefined || typeof method !== 'string') return JSON.stringify({ jsonrpc: '2.0', method, params, id } satisfies JSONRPCRequest);
  // A UUID needs no escaping.
  return `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${paramsText},"id":"${id}"}`;
}
