/**
 * Bytes -> frames: an incremental STOMP 1.2 parser shaped like websockets/ws
 * `Receiver`, an explicit state machine fed chunks of any size, split
 * anywhere (inside a UTF-8 character, a `\r\n`, an escape or a body).
 *
 * Speed: a typical chunk holds one or more whole 200-600 byte frames, so the
 * parser works on the chunk in place with `indexOf` scans and hands bodies out
 * as views of it. Only the unfinished tail of a chunk is kept, as a list of
 * pieces joined once when the line or body is complete; a search for a line
 * end or a NUL looks at each new byte once.
 */
import { FrameBudgetError, FrameTooLargeError, HeaderTooLongError, StompProtocolError, TooManyHeadersError } from '../errors.js';
import { unescapeHeaderValue } from './escape.js';
import type { FrameBudget } from './frame-budget.js';
import { HeaderTextCache } from './header-text-cache.js';
import { DEFAULT_FRAME_LIMITS, STOMP_COMMANDS } from './frame.js';
import type { FrameLimits, StompCommand, StompFrame } from './frame.js';

/** Options of a `FrameParser`. */
export interface FrameParserOptions {
  /** Called once per complete frame, synchronously from `write()`. */
  onFrame(frame: StompFrame): void;
  /** Called once per heart-beat EOL (`\n` or `\r\n`) seen between frames or before the first one. */
  onHeartbeat?(): void;
  /** Overrides of `DEFAULT_FRAME_LIMITS`. */
  limits?: Partial<FrameLimits>;
  /**
   * What to do with a raw `:` inside a header value. `'accept'` (default,
   * STOMP 1.2) splits the line at its first colon; `'reject'` fails like VDSM's
   * server does (`decodeValue` raises on `:`; peers must send `\c`).
   */
  rawColonInValue?: 'accept' | 'reject';
  /**
   * Shared with other parsers: the bytes this one holds for an unfinished
   * frame are taken from it, and a chunk that would go over it fails with a
   * `FrameBudgetError`. Call `dispose()` when done with the parser.
   */
  budget?: FrameBudget;
}

// Parser states (ws Receiver style). A frame runs
// AFTER_FRAME -> COMMAND_LINE -> HEADER_LINES -> BODY_BY_LENGTH | BODY_TO_NUL -> AFTER_FRAME.
/** Between frames (and before the first): heart-beat EOLs, or the first byte of a command. */
const AFTER_FRAME = 0;
/** Between frames, a `\r` was the last byte seen: a `\n` must follow. */
const AFTER_FRAME_CR = 1;
/** Reading the command line. */
const COMMAND_LINE = 2;
/** Reading `name:value` lines up to the empty line that ends them. */
const HEADER_LINES = 3;
/** Reading exactly `content-length` body bytes and the NUL after them. */
const BODY_BY_LENGTH = 4;
/** No `content-length`: the body runs to the first NUL. */
const BODY_TO_NUL = 5;

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const NUL = 0x00;

const CONTENT_LENGTH = 'content-length';
const DECIMAL = /^[0-9]+$/;
const KNOWN_COMMANDS: ReadonlySet<string> = new Set(STOMP_COMMANDS);
/** Shared by every empty body, so an empty body never pins a received chunk in memory. */
const EMPTY_BODY = Buffer.alloc(0);

/**
 * Incremental STOMP 1.2 frame parser.
 *
 * - Line ends `\n` or `\r\n`; EOLs between frames are heart-beats.
 * - Header names and values are unescaped (`\r \n \c \\`; any other escape is
 *   an error), never trimmed; when a header repeats the first value wins.
 * - With `content-length` the body is exactly that many bytes and a NUL must
 *   follow; without it the body runs to the first NUL.
 * - Limits (`FrameLimits`) fail as early as the bytes allow: a declared body
 *   too large fails before it arrives, an overlong line before its end.
 *
 * Any error is thrown from `write()` as a `StompProtocolError` (or one of its
 * subclasses); the parser is then failed and every later `write()` throws the
 * same error. An error thrown by `onFrame`/`onHeartbeat` propagates the same
 * way and also fails the parser, since the rest of that chunk went unparsed.
 *
 * Bodies are views of the chunks given to `write()` (or of a join of them):
 * do not reuse a chunk's memory after writing it.
 */
export class FrameParser {
  readonly #onFrame: (frame: StompFrame) => void;
  readonly #onHeartbeat: (() => void) | undefined;
  readonly #limits: FrameLimits;
  readonly #rejectRawColon: boolean;
  readonly #budget: FrameBudget | undefined;

  #state = AFTER_FRAME;
  #failed = false;
  #error: unknown;

  /** Bytes of the unfinished line or body, from earlier chunks. */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** What `#pending` holds of the budget. */
  #reserved = 0;

  /** The line `#readLine` found: `#line[#lineStart, #lineEnd)`, EOL removed. */
  #line: Buffer = EMPTY_BODY;
  #lineStart = 0;
  #lineEnd = 0;

  /** The frame being read. */
  #command: StompCommand = 'SEND';
  #headers = new Map<string, string>();
  #headerCount = 0;
  /** Bytes of the command and header lines so far, EOLs included; counts toward `maxFrameSize`. */
  #headBytes = 0;
  #contentLength = 0;
  /** Header names and values decoded before: most repeat in every frame of a connection. */
  readonly #text = new HeaderTextCache();

  constructor(options: FrameParserOptions) {
    this.#onFrame = options.onFrame;
    this.#onHeartbeat = options.onHeartbeat;
    this.#limits = resolveLimits(options.limits);
    this.#rejectRawColon = options.rawColonInValue === 'reject';
    this.#budget = options.budget;
  }

  /** True while a frame has begun and not ended (a heart-beat EOL does not count). */
  get inFrame(): boolean {
    return this.#state !== AFTER_FRAME && this.#state !== AFTER_FRAME_CR;
  }

  /** Gives back what the unfinished frame holds of the budget; the parser reads nothing more. */
  dispose(): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#error = new StompProtocolError('STOMP parser disposed');
    }
    this.#dropPending();
  }

  /**
   * Feeds bytes; emits every frame and heart-beat they complete.
   * @throws StompProtocolError (or a subclass) on malformed input or a breached limit.
   */
  write(chunk: Uint8Array): void {
    if (this.#failed) throw this.#error;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    try {
      // A listener may dispose of the parser mid-chunk (its channel closed): the rest is not read.
      while (pos < buf.length && !this.#failed) {
        switch (this.#state) {
          case AFTER_FRAME:
            pos = this.#afterFrame(buf, pos);
            break;
          case AFTER_FRAME_CR:
            pos = this.#afterFrameCr(buf, pos);
            break;
          case COMMAND_LINE:
            pos = this.#commandLine(buf, pos);
            break;
          case HEADER_LINES:
            pos = this.#headerLines(buf, pos);
            break;
          case BODY_BY_LENGTH:
            pos = this.#bodyByLength(buf, pos);
            break;
          default:
            pos = this.#bodyToNul(buf, pos);
        }
      }
    } catch (error) {
      this.#failed = true;
      this.#error = error;
      // Drop buffered bytes: a failed parser never reads them.
      this.#dropPending();
      throw error;
    }
  }

  /** AFTER_FRAME: consumes heart-beat EOLs; any other byte starts a frame. */
  #afterFrame(buf: Buffer, pos: number): number {
    while (pos < buf.length) {
      const byte = buf[pos];
      if (byte === LF) {
        pos++;
        this.#onHeartbeat?.();
      } else if (byte === CR) {
        if (pos + 1 === buf.length) {
          this.#state = AFTER_FRAME_CR;
          return pos + 1;
        }
        if (buf[pos + 1] !== LF) throw strayCr(buf[pos + 1] as number);
        pos += 2;
        this.#onHeartbeat?.();
      } else {
        // A new frame: its headers get a fresh Map (the previous frame keeps its own).
        this.#headers = new Map();
        this.#headerCount = 0;
        this.#headBytes = 0;
        this.#state = COMMAND_LINE;
        return pos;
      }
    }
    return pos;
  }

  /** AFTER_FRAME_CR: the `\n` of a `\r\n` heart-beat split across chunks. */
  #afterFrameCr(buf: Buffer, pos: number): number {
    const byte = buf[pos] as number;
    if (byte !== LF) throw strayCr(byte);
    this.#state = AFTER_FRAME;
    this.#onHeartbeat?.();
    return pos + 1;
  }

  /** COMMAND_LINE: the command must be one of `STOMP_COMMANDS`, exactly (no trimming). */
  #commandLine(buf: Buffer, pos: number): number {
    const next = this.#readLine(buf, pos, 'command');
    if (next === -1) return buf.length;
    // From the cache (the same few commands come again and again); a non-ASCII line cannot match a command however decoded.
    const command = this.#text.decode(this.#line, this.#lineStart, this.#lineEnd);
    if (!KNOWN_COMMANDS.has(command)) {
      const shown = preview(this.#line.toString('utf8', this.#lineStart, this.#lineEnd));
      throw new StompProtocolError(`Unknown STOMP command ${shown}`);
    }
    this.#command = command as StompCommand;
    this.#state = HEADER_LINES;
    return next;
  }

  /** HEADER_LINES: every complete header line in the chunk, then the empty line that ends them. */
  #headerLines(buf: Buffer, pos: number): number {
    const limits = this.#limits;
    for (;;) {
      const next = this.#readLine(buf, pos, 'header');
      if (next === -1) return buf.length;
      if (this.#headBytes > limits.maxFrameSize) {
        throw new FrameTooLargeError(`STOMP frame too large: its command and header lines exceed maxFrameSize (${limits.maxFrameSize} bytes)`);
      }
      if (this.#lineEnd === this.#lineStart) {
        this.#startBody();
        return next;
      }
      if (++this.#headerCount > limits.maxHeaders) {
        throw new TooManyHeadersError(`STOMP frame has more than maxHeaders (${limits.maxHeaders}) headers`);
      }
      this.#addHeader(this.#line, this.#lineStart, this.#lineEnd);
      pos = next;
    }
  }

  /** Splits, checks and unescapes one `name:value` line; the first of repeated names wins. */
  #addHeader(line: Buffer, start: number, end: number): void {
    // Split on bytes: 0x3a never occurs inside a multi-byte UTF-8 sequence.
    const colon = line.indexOf(COLON, start);
    if (colon === -1 || colon >= end) {
      throw new StompProtocolError(`STOMP header line without ":": ${preview(line.toString('utf8', start, end))}`);
    }
    const rawName = this.#text.decode(line, start, colon);
    const rawValue = this.#text.decode(line, colon + 1, end);
    if (this.#rejectRawColon && rawValue.includes(':')) {
      throw new StompProtocolError(`Raw ":" in the value of STOMP header ${preview(rawName)} (must be escaped as \\c)`);
    }
    const name = unescapeHeaderValue(rawName);
    if (!this.#headers.has(name)) this.#headers.set(name, unescapeHeaderValue(rawValue));
    // A repeated header's value is still checked for bad escapes, as VDSM decodes every line.
    else unescapeHeaderValue(rawValue);
  }

  /** End of headers: picks the body state; a declared body too large fails now, not after it arrives. */
  #startBody(): void {
    const declared = this.#headers.get(CONTENT_LENGTH);
    if (declared === undefined) {
      this.#state = BODY_TO_NUL;
      return;
    }
    if (!DECIMAL.test(declared)) {
      throw new StompProtocolError(`Invalid STOMP content-length ${preview(declared)}: not a non-negative decimal integer`);
    }
    const length = Number(declared);
    const max = this.#limits.maxFrameSize;
    if (this.#headBytes + length > max) {
      throw new FrameTooLargeError(
        `STOMP frame too large: content-length ${preview(declared)} plus ${this.#headBytes} bytes of command and headers exceeds maxFrameSize (${max} bytes)`,
      );
    }
    this.#contentLength = length;
    this.#state = BODY_BY_LENGTH;
  }

  /** BODY_BY_LENGTH: waits for `content-length` bytes plus the NUL, then emits. */
  #bodyByLength(buf: Buffer, pos: number): number {
    const length = this.#contentLength;
    const missing = length + 1 - this.#pendingLength;
    if (buf.length - pos < missing) {
      this.#stash(buf, pos, buf.length);
      return buf.length;
    }
    const end = pos + missing;
    let body: Buffer;
    let terminator: number;
    if (this.#pendingLength === 0) {
      // The whole body is in this chunk: hand out a view, copy nothing.
      body = length === 0 ? EMPTY_BODY : buf.subarray(pos, end - 1);
      terminator = buf[end - 1] as number;
    } else {
      this.#stash(buf, pos, end, false);
      const joined = this.#takePending();
      body = joined.subarray(0, length);
      terminator = joined[length] as number;
    }
    if (terminator !== NUL) {
      throw new StompProtocolError(
        `STOMP frame doesn't end with a NUL byte: byte ${length} of the body (content-length ${length}) is 0x${hex(terminator)}`,
      );
    }
    this.#emit(body);
    return end;
  }

  /** BODY_TO_NUL: scans new bytes only for the NUL; an unterminated body is bounded by `maxFrameSize`. */
  #bodyToNul(buf: Buffer, pos: number): number {
    const maxBody = this.#limits.maxFrameSize - this.#headBytes;
    const nul = buf.indexOf(NUL, pos);
    const end = nul === -1 ? buf.length : nul;
    if (this.#pendingLength + (end - pos) > maxBody) {
      throw new FrameTooLargeError(
        `STOMP frame too large: a body without content-length grew past maxFrameSize (${this.#limits.maxFrameSize} bytes)`,
      );
    }
    if (nul === -1) {
      this.#stash(buf, pos, end);
      return end;
    }
    let body: Buffer;
    if (this.#pendingLength === 0) body = nul === pos ? EMPTY_BODY : buf.subarray(pos, nul);
    else {
      this.#stash(buf, pos, nul, false);
      body = this.#takePending();
    }
    this.#emit(body);
    return nul + 1;
  }

  /** Hands out the finished frame; the next byte belongs to the after-frame state. */
  #emit(body: Buffer): void {
    this.#state = AFTER_FRAME;
    this.#onFrame({ command: this.#command, headers: this.#headers, body });
  }

  /**
   * Finds the line starting at `pos` (its start may be in `#pending`). On
   * success sets `#line/#lineStart/#lineEnd` (CR stripped) and returns the
   * position after its `\n`; otherwise keeps the bytes and returns -1. The
   * length limit is checked on every chunk, so an endless line fails early.
   */
  #readLine(buf: Buffer, pos: number, kind: 'command' | 'header'): number {
    const max = this.#limits.maxHeaderLength;
    const lf = buf.indexOf(LF, pos);
    if (lf === -1) {
      this.#stash(buf, pos, buf.length);
      // Everything so far is line content, except a final CR that may be half of the CRLF.
      const sure = this.#pendingLength - (buf[buf.length - 1] === CR ? 1 : 0);
      if (sure > max) throw lineTooLong(kind, max);
      return -1;
    }
    let line = buf;
    let start = pos;
    let end = lf;
    if (this.#pendingLength > 0) {
      this.#stash(buf, pos, lf, false);
      line = this.#takePending();
      start = 0;
      end = line.length;
    }
    this.#headBytes += end - start + 1;
    if (end > start && line[end - 1] === CR) end--;
    if (end - start > max) throw lineTooLong(kind, max);
    this.#line = line;
    this.#lineStart = start;
    this.#lineEnd = end;
    return lf + 1;
  }

  /**
   * Keeps `buf[from, to)` (a view, not a copy) for a later join. `held`
   * false: the join follows at once (the piece completes a line or body), so
   * it takes nothing of the budget.
   */
  #stash(buf: Buffer, from: number, to: number, held = true): void {
    if (to <= from) return;
    if (held && this.#budget !== undefined) {
      if (!this.#budget.reserve(to - from)) {
        throw new FrameBudgetError(
          `STOMP frame refused: unfinished frames of all connections would exceed their budget (${this.#budget.maxBytes} bytes)`,
        );
      }
      this.#reserved += to - from;
    }
    this.#pending.push(buf.subarray(from, to));
    this.#pendingLength += to - from;
  }

  /** Joins the kept pieces once and forgets them. */
  #takePending(): Buffer {
    const pieces = this.#pending;
    const joined = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, this.#pendingLength);
    this.#dropPending();
    return joined;
  }

  #dropPending(): void {
    this.#budget?.release(this.#reserved);
    this.#reserved = 0;
    this.#pending = [];
    this.#pendingLength = 0;
  }
}

/** Fills in defaults; a limit must be a positive number (`Infinity` turns it off). */
function resolveLimits(limits: Partial<FrameLimits> | undefined): FrameLimits {
  const resolved: FrameLimits = {
    maxFrameSize: limits?.maxFrameSize ?? DEFAULT_FRAME_LIMITS.maxFrameSize,
    maxHeaders: limits?.maxHeaders ?? DEFAULT_FRAME_LIMITS.maxHeaders,
    maxHeaderLength: limits?.maxHeaderLength ?? DEFAULT_FRAME_LIMITS.maxHeaderLength,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`FrameParser limit ${name} must be a positive number, got ${String(value)}`);
  }
  return resolved;
}

function lineTooLong(kind: 'command' | 'header', max: number): HeaderTooLongError {
  return new HeaderTooLongError(`STOMP ${kind} line longer than maxHeaderLength (${max} bytes)`);
}

function strayCr(next: number): StompProtocolError {
  return new StompProtocolError(`Stray CR between STOMP frames: expected LF after CR, got 0x${hex(next)}`);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** A short, quoted, control-character-safe rendering of untrusted text for error messages. */
function preview(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}
