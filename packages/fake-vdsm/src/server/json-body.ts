/**
 * A JSON-RPC body as VDSM's Python reads it (`json.loads`), where JavaScript's
 * `JSON.parse` differs in two ways a client can notice:
 *
 * - Python's decoder recurses, and its recursion limit (1000) makes a body
 *   nested about that deep fail to parse: VDSM answers -32700 (its bare
 *   `except` around `json.loads`). V8 parses any depth, and the fake would
 *   then recurse over it (to word an error) until its own stack overflows.
 *   So a body nested deeper than `MAX_JSON_DEPTH` is a parse error here too.
 * - Python's integers are exact, so an id such as 18446744073709551617 comes
 *   back as sent; a double would round it. Such ids become `bigint`s, read
 *   from the text again (lossless-json, only on that rare path).
 */
import { isInteger, isSafeNumber, parse as parseLossless } from 'lossless-json';

/** Nesting (arrays and objects) deeper than this is refused as Python's json.loads would (its limit is ~1000 frames, less what is on the stack). */
export const MAX_JSON_DEPTH = 900;

/** A parsed body, or `undefined` for text that is not JSON VDSM could read. */
export function parseJsonBody(body: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  // Each level of nesting takes two characters of text at least (`[]`), so a
  // body shorter than that cannot be too deep: the walk is skipped for it.
  if (body.length > 2 * MAX_JSON_DEPTH && nestedDeeperThan(parsed, MAX_JSON_DEPTH)) return undefined;
  if (hasInexactId(parsed)) restoreExactIds(parsed, body);
  return parsed;
}

/** Walks the value without recursion (the point is not to overflow on it). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: [object, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
    }
  }
  return false;
}

/** The request objects of a body: itself, or the elements of a batch. */
function requestObjects(parsed: unknown): Record<string, unknown>[] {
  const candidates = Array.isArray(parsed) ? parsed : [parsed];
  return candidates.filter((item): item is Record<string, unknown> => item !== null && typeof item === 'object' && !Array.isArray(item));
}

/** Whether a request of the body has an integer id a double cannot hold; a lone request is checked without building the list. */
function hasInexactId(parsed: unknown): boolean {
  return Array.isArray(parsed) ? parsed.some(hasInexactOwnId) : hasInexactOwnId(parsed);
}

function hasInexactOwnId(item: unknown): boolean {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return false;
  const { id } = item as Record<string, unknown>;
  return typeof id === 'number' && Number.isInteger(id) && !Number.isSafeInteger(id);
}

/** Replaces each integer id a double cannot hold with the exact `bigint` of its text. */
function restoreExactIds(parsed: unknown, body: string): void {
  let exact: unknown;
  try {
    exact = parseLossless(body, null, (text) => (isInteger(text) && !isSafeNumber(text) ? BigInt(text) : 0));
  } catch {
    // lossless-json refuses what JSON.parse takes (a repeated key): keep the rounded ids then.
    return;
  }
  const targets = requestObjects(parsed);
  const sources = requestObjects(exact);
  targets.forEach((target, index) => {
    const id = sources[index]?.['id'];
    if (typeof id === 'bigint') target['id'] = id;
  });
}
