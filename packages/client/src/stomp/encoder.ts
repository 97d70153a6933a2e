/**
 * Frame -> bytes, the way VDSM's `Frame.encode` writes them
 * (oVirt/vdsm:lib/yajsonrpc/stomp.py): `COMMAND\n`, then `name:value\n` per
 * header (both escaped), then `\n`, the body and `\0`. One Buffer per frame, so
 * a WebSocket transport can send one frame per message.
 */
import { escapeHeaderValue } from './escape.js';
import { STOMP_COMMANDS, headerEntries } from './frame.js';
import type { FrameInit } from './frame.js';

const CONTENT_LENGTH = 'content-length';
const KNOWN_COMMANDS: ReadonlySet<string> = new Set(STOMP_COMMANDS);

/**
 * Encodes one frame into one Buffer.
 *
 * A caller-given `content-length` header is always dropped; when `body` is
 * defined (an empty string counts) a `content-length` with the body's byte
 * length is written as the last header. That reproduces VDSM's exact header
 * orders, e.g. MESSAGE `destination, content-type, subscription,
 * content-length`, and CONNECTED with no `content-length` at all.
 *
 * @throws TypeError when `command` is not a STOMP 1.2 command (a programming error, not bad peer input).
 */
export function encodeFrame(frame: FrameInit): Buffer {
  const { command, body } = frame;
  if (!KNOWN_COMMANDS.has(command)) throw new TypeError(`Cannot encode unknown STOMP command ${JSON.stringify(command)}`);

  let head = headText(command, frame.headers);
  if (body === undefined) return Buffer.from(head + '\n\0', 'utf8');

  const bodyLength = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  head += CONTENT_LENGTH + ':' + bodyLength + '\n\n';
  const headLength = Buffer.byteLength(head, 'utf8');

  // One allocation for the whole frame; small frames come from Node's buffer pool.
  const out = Buffer.allocUnsafe(headLength + bodyLength + 1);
  out.write(head, 0, 'utf8');
  if (typeof body === 'string') out.write(body, headLength, 'utf8');
  else out.set(body, headLength);
  out[headLength + bodyLength] = 0;
  return out;
}

/** The head of the last frame of a command given its headers as an array: what they were, and their text. */
interface HeadMemo {
  readonly headers: readonly (readonly [string, string])[];
  readonly text: string;
}

/**
 * Per command, the last head built from an array of headers. A connection
 * sends the same headers frame after frame (every RPC SEND has the same
 * destination, content-type and reply-to), so its head text is reused when
 * the headers are equal, entry by entry, to those it was built from: the
 * same text, without escaping and joining them again. Only the text is
 * kept, so memory is bounded by the commands.
 */
const heads = new Map<string, HeadMemo>();

/** `COMMAND\n` and every `name:value\n` but `content-length`, escaped. */
function headText(command: string, headers: FrameInit['headers']): string {
  if (!Array.isArray(headers)) return buildHead(command, headerEntries(headers));
  const entries = headers as readonly (readonly [string, string])[];
  const memo = heads.get(command);
  if (memo !== undefined && sameHeaders(memo.headers, entries)) return memo.text;
  const text = buildHead(command, entries);
  // A copy of each entry: the caller may change its array or entries later.
  heads.set(command, { headers: entries.map(([name, value]) => [name, value] as const), text });
  return text;
}

function sameHeaders(a: readonly (readonly [string, string])[], b: readonly (readonly [string, string])[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as readonly [string, string];
    const y = b[i] as readonly [string, string];
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

function buildHead(command: string, headers: Iterable<readonly [string, string]>): string {
  // The head is built as one string so it is UTF-8 encoded in one call.
  let head = command + '\n';
  for (const [name, value] of headers) {
    if (name === CONTENT_LENGTH) continue;
    head += escapeHeaderValue(name) + ':' + escapeHeaderValue(value) + '\n';
  }
  return head;
}
