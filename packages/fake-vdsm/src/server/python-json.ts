/**
 * JSON text exactly as VDSM writes it. VDSM encodes every response and event
 * with Python's `json.dumps(obj)` and its defaults (oVirt/vdsm:
 * lib/yajsonrpc/__init__.py `JsonRpcResponse.encode`, `Notification.emit`):
 * `", "` between items, `": "` after keys, and `ensure_ascii=True`, so every
 * character outside printable ASCII travels as a lowercase `\uXXXX` escape.
 * Content lengths and bytes then match a real host's.
 */

import { randomBytes } from 'node:crypto';

// Tokens of JSON.stringify's output that Python writes differently: a string
// (to skip its inside, or to escape it), a structural comma or colon, and a
// one-digit exponent (`1e-7`; Python's float repr pads it: `1e-07`).
const TOKEN = /"(?:[^"\\]|\\.)*"|[,:]|e[+-]\d(?!\d)/g;
// Python's ensure_ascii escapes everything outside space..tilde; JSON.stringify
// already escaped the control characters below space the same way.
const NEEDS_ESCAPE = /[^\x20-\x7e]/;
const NEEDS_ESCAPE_ALL = /[^\x20-\x7e]/g;

// What a `pyFloat` turns into inside JSON.stringify's output: a string no
// sender can forge (a NUL and a per-process random nonce), swapped for the
// number's text; only number text ever replaces it, so a string a client
// sent can never become raw JSON.
const FLOAT_MARK = `\u0000pyfloat-${randomBytes(12).toString('hex')}:`;
const FLOAT_TOKEN_PREFIX = `"${JSON.stringify(FLOAT_MARK).slice(1, -1)}`;
const FLOAT_TEXT = /^(?:-?\d+(?:\.\d+)?(?:e[+-]\d+)?|null)$/;

/** A number Python holds as a float: `json.dumps` writes `42.0`, not `42` (see `pyFloat`). */
export interface PyFloat {
  toJSON(): string;
}

/**
 * `value` as a Python float in `pythonJsonDumps` output: `100` goes out as
 * `100.0`, `42.5` as `42.5`. For fields a Java reader casts to `Double`
 * (the engine's `Host.getJobs` progress, vdsm-sdm.md §5.3), where `42`
 * would fail the cast. Non-finite values go out as `null`, as any number.
 */
export function pyFloat(value: number): PyFloat {
  const text = !Number.isFinite(value) ? 'null' : Number.isInteger(value) ? `${value}.0` : String(value);
  return { toJSON: () => `${FLOAT_MARK}${text}` };
}

/**
 * Serializes `value` like Python's `json.dumps(value)`.
 *
 * `JSON.stringify` already escapes what Python escapes below U+0020 (the same
 * `\"`, `\\`, `\b \f \n \r \t` and `\u00XX` forms), so its output only needs
 * the separators widened, DEL and non-ASCII escaped and short exponents
 * padded; one regex pass does all of it. (Non-finite numbers, which Python
 * writes as `NaN`/`Infinity`, come out as `null`: VDSM never sends them.)
 * Returns `undefined` where `JSON.stringify` does (a bare `undefined`).
 */
export function pythonJsonDumps(value: unknown): string | undefined {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) return undefined;
  return json.replace(TOKEN, widenOrEscape);
}

function widenOrEscape(token: string): string {
  if (token === ',') return ', ';
  if (token === ':') return ': ';
  if (token.charCodeAt(0) === 0x65 /* e */) return `${token.slice(0, 2)}0${token.slice(2)}`;
  if (token.startsWith(FLOAT_TOKEN_PREFIX)) {
    const text = token.slice(FLOAT_TOKEN_PREFIX.length, -1);
    if (FLOAT_TEXT.test(text)) return pyFloatText(text);
  }
  return NEEDS_ESCAPE.test(token) ? token.replace(NEEDS_ESCAPE_ALL, escapeCodeUnit) : token;
}

/** One UTF-16 code unit as Python writes it; an astral character becomes its two surrogates, as in Python. */
function escapeCodeUnit(char: string): string {
  return '\\u' + char.charCodeAt(0).toString(16).padStart(4, '0');
}

/** A float's text as Python's repr writes it (the exponent padded: `1e-07`). */
function pyFloatText(text: string): string {
  return text.replace(/e([+-])(\d)$/, 'e$10$2');
}
