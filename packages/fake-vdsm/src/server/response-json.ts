/**
 * A JSON-RPC response as VDSM's `json.dumps` writes it, the common case
 * written out: `{"jsonrpc": "2.0", "id": <id>, "result": <result>}` with
 * only the id and the result encoded, since the envelope's separators were
 * most of what `pythonJsonDumps` widened per call (issue 13). The text is
 * that of `pythonJsonDumps(response)`, which every other shape still goes
 * through.
 */
import type { RpcResponse } from './rpc-interceptor.js';
import { pythonJsonDumps } from './python-json.js';

/** The keys of a result response, in VDSM's order (`JsonRpcResponse.toDict`). */
const RESULT_KEYS = ['jsonrpc', 'id', 'result'] as const;

/**
 * `pythonJsonDumps(response)`. (The one difference: a `toJSON` of the result
 * is called with the key `''`, not `'result'`; no value the fake answers
 * with reads its key.)
 *
 * @throws what `pythonJsonDumps` throws for a value JSON cannot carry (a BigInt, a cycle).
 */
export function responseJson(response: RpcResponse): string | undefined {
  if (!hasResultKeys(response) || response.jsonrpc !== '2.0') return pythonJsonDumps(response);
  const result = pythonJsonDumps(response.result);
  // A result JSON leaves out (undefined, a function): the generic path drops its key.
  if (result === undefined) return pythonJsonDumps(response);
  return `{"jsonrpc": "2.0", "id": ${pythonJsonDumps(response.id) as string}, "result": ${result}}`;
}

/** True when `response`'s own enumerable keys are exactly jsonrpc, id, result, in that order. */
function hasResultKeys(response: RpcResponse): response is Extract<RpcResponse, { result: unknown }> {
  let index = 0;
  for (const key in response) {
    if (!Object.hasOwn(response, key) || key !== RESULT_KEYS[index]) return false;
    index++;
  }
  return index === RESULT_KEYS.length;
}
