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

  // The head is built as one string so it is UTF-8 encoded in one call.
  let head = command + '\n';
  for (const [name, value] of headerEntries(frame.headers)) {
    if (name === CONTENT_LENGTH) continue;
    head += escapeHeaderValue(name) + ':' + escapeHeaderValue(value) + '\n';
  }

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
