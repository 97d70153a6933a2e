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
// one-digit exponent (`1e-7`; Python's float repr pads it: `1e-07`). The
// scan in `pythonize` finds them; this is its specification, and its test's.
export const TOKEN = /"(?:[^"\\]|\\.)*"|[,:]|e[+-]\d(?!\d)/g;
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
  return pythonize(json);
}

/**
 * What `json.replace(TOKEN, widenOrEscape)` gives, in one scan that copies
 * slices instead of calling back per token (a response has a dozen commas,
 * colons and strings, and the callbacks were most of a call's encoding cost
 * in the fake). `pythonJsonDumps.test` holds both to CPython's output.
 */
function pythonize(json: string): string {
  let out = '';
  let from = 0;
  const length = json.length;
  for (let i = 0; i < length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let special = json.charCodeAt(i + 1) === 0x5c /* a float mark starts with an escaped NUL */;
      for (i++; ; i++) {
        const d = json.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c) i++;
        else if (d > 0x7e) special = true;
      }
      if (special) {
        out += json.slice(from, start) + widenOrEscape(json.slice(start, i + 1));
        from = i + 1;
      }
    } else if (c === 0x2c /* , */ || c === 0x3a /* : */) {
      out += json.slice(from, i + 1) + ' ';
      from = i + 1;
    } else if (c === 0x65 /* e, only in numbers and true/false outside strings */ && isShortExponent(json, i)) {
      out += json.slice(from, i + 2) + '0';
      from = i + 2;
    }
  }
  return from === 0 ? json : out + json.slice(from);
}

/** `json[i..]` is `e+D` or `e-D` with one digit only (the `e[+-]\d(?!\d)` of TOKEN). */
function isShortExponent(json: string, i: number): boolean {
  const sign = json.charCodeAt(i + 1);
  return (sign === 0x2b || sign === 0x2d) && isDigit(json.charCodeAt(i + 2)) && !isDigit(json.charCodeAt(i + 3));
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** What Python writes for one TOKEN match. */
export function widenOrEscape(token: string): string {
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
