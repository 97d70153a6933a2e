/**
 * STOMP 1.2 header escaping: `\r`, `\n`, `:` and `\` inside a header name or
 * value travel as `\r`, `\n`, `\c` and `\\`. VDSM applies this to every frame,
 * CONNECT and CONNECTED included (oVirt/vdsm:lib/yajsonrpc/stomp.py
 * `encodeValue` / `decodeValue`), so we do too.
 */
import { StompProtocolError } from '../errors.js';

const NEEDS_ESCAPE = /[\r\n:\\]/;
const TO_ESCAPE = /[\r\n:\\]/g;

const ESCAPES: Readonly<Record<string, string>> = {
  '\r': '\\r',
  '\n': '\\n',
  ':': '\\c',
  '\\': '\\\\',
};

/** What each character after a backslash stands for; anything else is an error. */
const UNESCAPES: Readonly<Record<string, string>> = {
  r: '\r',
  n: '\n',
  c: ':',
  '\\': '\\',
};

/** Escapes a header name or value for the wire. Strings without special characters come back as they are. */
export function escapeHeaderValue(s: string): string {
  // Most headers (destinations, UUIDs, numbers) need nothing: test before allocating.
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(TO_ESCAPE, (c) => ESCAPES[c] as string);
}

/**
 * Undoes `escapeHeaderValue`. Throws a `StompProtocolError` on a backslash
 * followed by anything but `r`, `n`, `c` or `\`, or at the very end (STOMP 1.2
 * makes undefined escapes a fatal protocol error).
 */
export function unescapeHeaderValue(s: string): string {
  let slash = s.indexOf('\\');
  if (slash === -1) return s;
  let out = '';
  let from = 0;
  while (slash !== -1) {
    const next = s[slash + 1];
    const plain = next === undefined ? undefined : UNESCAPES[next];
    if (plain === undefined) {
      const shown = next === undefined ? 'a lone "\\" at the end' : JSON.stringify(`\\${next}`);
      throw new StompProtocolError(`Invalid escape sequence in STOMP header: ${shown} (only \\r \\n \\c \\\\ are defined)`);
    }
    out += s.slice(from, slash) + plain;
    from = slash + 2;
    slash = s.indexOf('\\', from);
  }
  return out + s.slice(from);
}
