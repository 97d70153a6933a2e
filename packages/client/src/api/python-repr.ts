/**
 * VDSM is Python and its error messages embed Python `repr()` output:
 * `Task id unknown: ('abc',)`, `Image does not exist in domain: 'image=I, domain=S'`,
 * `The method does not exist or is not available: {'method': 'X.y'}`. These
 * helpers produce the same text from JS values so the fake server answers
 * byte-for-byte like VDSM and tests can assert exact messages.
 */
import { vdsmErrorInfo } from './error-codes.js';

/** A Python tuple. Arrays stand for lists, so tuples need their own marker. */
export class PyTuple {
  readonly items: readonly PyValue[];
  constructor(items: readonly PyValue[]) {
    this.items = items;
  }
}

/**
 * The JS values with a Python repr: strings, numbers (int when integral),
 * bigints, booleans (`True`/`False`), null and undefined (`None`), arrays
 * (lists), `PyTuple`s and plain objects (dicts, in insertion order).
 */
export type PyValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | PyTuple
  | readonly PyValue[]
  | { readonly [key: string]: PyValue };

/** Makes a Python tuple: `pyTuple('abc')` is `('abc',)`. */
export function pyTuple(...items: PyValue[]): PyTuple {
  return new PyTuple(items);
}

// Python's str.isprintable() is false for categories Cc Cf Cs Co Cn Zl Zp Zs
// (except the space itself); repr() escapes exactly those characters. The
// categories come from the JS engine's Unicode tables, so a character assigned
// after the Unicode version of VDSM's Python prints raw here and escaped there.
const NON_PRINTABLE = /[\p{C}\p{Z}]/u;
// Strings of plain printable ASCII with no quote or backslash need no escaping.
const PLAIN_ASCII = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

/**
 * Python 3 `repr(str)`: single quotes unless the text has a `'` and no `"`;
 * backslash, the chosen quote, `\t \n \r` and non-printable characters escaped
 * (`\xhh`, `\uhhhh`, `\Uhhhhhhhh`), printable non-ASCII kept as is.
 */
export function reprString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `'${s}'`;
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  // for..of walks code points; a lone surrogate comes out alone, as in Python.
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) out += escapeCodePoint(ch.codePointAt(0) ?? 0);
    else out += ch;
  }
  return out + quote;
}

function escapeCodePoint(cp: number): string {
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** Python's repr of a tuple of `values`: `()`, `('abc',)`, `('a', 'b')`. */
export function reprTuple(...values: PyValue[]): string {
  return pyRepr(new PyTuple(values));
}

/** Python's `repr()` of any `PyValue` (see that type for the mapping). */
export function pyRepr(value: PyValue): string {
  if (typeof value === 'string') return reprString(value);
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  if (value instanceof PyTuple) {
    const items = value.items.map(pyRepr);
    // A one-element tuple keeps its trailing comma: ('abc',).
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  if (isList(value)) return `[${value.map(pyRepr).join(', ')}]`;
  const entries = Object.entries(value).map(([k, v]) => `${reprString(k)}: ${pyRepr(v)}`);
  return `{${entries.join(', ')}}`;
}

// Array.isArray does not narrow readonly arrays out of a union; this does.
function isList(value: object): value is readonly PyValue[] {
  return Array.isArray(value);
}

/**
 * Integral numbers print as Python ints; others as Python floats, which use
 * the shortest round-trip digits like JS but switch to exponent notation
 * below 1e-4 and from 1e16, with a two-digit exponent (`1e-05`, `1e+16`).
 */
function reprNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  const [mantissa = '', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    const fixed = String(n);
    return fixed.includes('.') ? fixed : `${fixed}.0`;
  }
  const sign = exp < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/**
 * The `str()` of a VDSM exception with code `code`, as it travels in the
 * JSON-RPC `error.message`:
 * - no `value`: the bare class message (`Not SPM`, `Recovering from crash or Initializing`);
 * - with `value`: `<message>: <repr(value)>`. Storage errors pass a tuple
 *   (`vdsmMessage(401, pyTuple('abc'))` is `Task id unknown: ('abc',)`,
 *   `pyTuple()` gives `Not SPM: ()`) or a preset string (quoted); JSON-RPC
 *   errors pass their context dict (`{method: 'X.y'}`). Pass `null` for `None`.
 *
 * Throws a RangeError for a code that is not in the error table.
 */
export function vdsmMessage(code: number, value?: PyValue): string {
  const info = vdsmErrorInfo(code);
  if (info === undefined) throw new RangeError(`VDSM error code ${code} is not in the error table`);
  return value === undefined ? info.message : `${info.message}: ${pyRepr(value)}`;
}
