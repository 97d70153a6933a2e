import { expect } from 'chai';
import fc from 'fast-check';
import { StompProtocolError } from '../errors.js';
import { encodeFrame } from './encoder.js';
import { escapeHeaderValue, unescapeHeaderValue } from './escape.js';
import { STOMP_COMMANDS } from './frame.js';
import type { FrameLimits, StompCommand, StompFrame } from './frame.js';
import { FrameParser } from './parser.js';

/** Enough runs to reach the corners, few enough that the file runs in about a second. */
const RUNS = { numRuns: 300 };

/** One code point of any kind, with the four characters STOMP escapes made frequent. */
const headerChar = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(':', '\n', '\r', '\\') },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const headerText = fc.string({ unit: headerChar, maxLength: 12 });

/** Bytes with plenty of NULs, so most bodies need a content-length. */
const bodyBytes = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { maxLength: 80 })
  .map((bytes) => Buffer.from(bytes));

interface GeneratedFrame {
  command: StompCommand;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
  /** Send a NUL-free body without content-length (terminated by its NUL). */
  nulTerminated: boolean;
}

const generatedFrame: fc.Arbitrary<GeneratedFrame> = fc.record({
  command: fc.constantFrom(...STOMP_COMMANDS),
  // The encoder owns content-length, so a random header of that name would not round-trip.
  headers: fc.uniqueArray(fc.tuple(headerText, headerText), { selector: ([name]) => name, maxLength: 6 }).map((hs) =>
    hs.filter(([name]) => name !== 'content-length'),
  ),
  body: fc.option(bodyBytes, { nil: undefined }),
  nulTerminated: fc.boolean(),
});

/** The frame on the wire: `encodeFrame`, or for a NUL-free body the same head with the body before the NUL. */
function toWire(frame: GeneratedFrame): Buffer {
  const { command, headers, body } = frame;
  if (body !== undefined && frame.nulTerminated && !body.includes(0)) {
    const head = encodeFrame({ command, headers });
    return Buffer.concat([head.subarray(0, head.length - 1), body, Buffer.from([0])]);
  }
  return encodeFrame({ command, headers, body });
}

/** What the parser must give back for a generated frame. */
function expected(frame: GeneratedFrame): { command: string; headers: Array<[string, string]>; body: string } {
  const headers = [...frame.headers];
  const { body } = frame;
  if (body !== undefined && !(frame.nulTerminated && !body.includes(0))) headers.push(['content-length', String(body.length)]);
  return { command: frame.command, headers, body: (body ?? Buffer.alloc(0)).toString('hex') };
}

function comparable(frame: StompFrame): { command: string; headers: Array<[string, string]>; body: string } {
  return { command: frame.command, headers: [...frame.headers], body: frame.body.toString('hex') };
}

/** Cut points as fractions, so they fit whatever length the bytes turn out to have. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

function split(bytes: Buffer, fractions: number[]): Buffer[] {
  const points = fractions.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(from, point));
    from = point;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

type Event = ReturnType<typeof comparable> | 'heartbeat';

/** Feeds the pieces; returns the events and the error thrown (the parser must not be used after). */
function feed(pieces: Buffer[], limits: Partial<FrameLimits>, rawColonInValue: 'accept' | 'reject'): { events: Event[]; error: unknown } {
  const events: Event[] = [];
  const parser = new FrameParser({
    limits,
    rawColonInValue,
    onFrame: (frame) => events.push(comparable(frame)),
    onHeartbeat: () => events.push('heartbeat'),
  });
  try {
    for (const piece of pieces) parser.write(piece);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

describe('FrameParser properties', () => {
  it('parses back any encoded frames with heart-beats between them, split at any points', () => {
    const heartbeat = fc.constantFrom('', '\n', '\r\n', '\n\r\n');
    fc.assert(
      fc.property(fc.array(fc.tuple(heartbeat, generatedFrame), { minLength: 1, maxLength: 5 }), cuts, (items, fractions) => {
        const bytes = Buffer.concat(items.flatMap(([beats, frame]) => [Buffer.from(beats, 'latin1'), toWire(frame)]));
        const want: Event[] = items.flatMap(([beats, frame]): Event[] => [
          ...Array.from({ length: beats.split('\n').length - 1 }, (): Event => 'heartbeat'),
          expected(frame),
        ]);
        // VDSM's server mode must accept all of it too: the encoder never leaves a raw ':' in a value.
        for (const mode of ['accept', 'reject'] as const) {
          const { events, error } = feed(split(bytes, fractions), {}, mode);
          expect(error).to.equal(undefined);
          expect(events).to.deep.equal(want);
        }
      }),
      RUNS,
    );
  });

  it('throws nothing but StompProtocolErrors on garbage, and the same result however it is split', () => {
    // Pieces of real frames mixed with random bytes reach deeper states than random bytes alone.
    const token = fc.constantFrom(
      'SEND\n', 'MESSAGE\r\n', 'CONNECT\n', 'content-length:', 'content-length:3\n', 'a:b\n', ':', '\\c', '\\x', '\\',
      '\n', '\r\n', '\r', '\0', '7', '-1', 'é', '\xff',
    );
    const piece = fc.oneof(fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)), token.map((t) => Buffer.from(t, 'latin1')));
    const limits = fc.record({
      maxFrameSize: fc.integer({ min: 1, max: 200 }),
      maxHeaders: fc.integer({ min: 1, max: 4 }),
      maxHeaderLength: fc.integer({ min: 1, max: 40 }),
    });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), cuts, limits, fc.constantFrom('accept', 'reject'), (pieces, fractions, lim, mode) => {
        const bytes = Buffer.concat(pieces);
        const whole = feed([bytes], lim, mode);
        const splitUp = feed(split(bytes, fractions), lim, mode);
        if (whole.error !== undefined) expect(whole.error).to.be.instanceOf(StompProtocolError);
        if (splitUp.error !== undefined) expect(splitUp.error).to.be.instanceOf(StompProtocolError);
        expect(splitUp.events).to.deep.equal(whole.events);
        expect((splitUp.error as Error | undefined)?.message).to.equal((whole.error as Error | undefined)?.message);
        expect((splitUp.error as Error | undefined)?.constructor).to.equal((whole.error as Error | undefined)?.constructor);
      }),
      RUNS,
    );
  });
});

describe('header escaping properties', () => {
  it('unescape(escape(s)) === s for any string', () => {
    fc.assert(
      fc.property(headerText, (s) => {
        const escaped = escapeHeaderValue(s);
        expect(escaped).to.not.match(/[\r\n:]/);
        expect(unescapeHeaderValue(escaped)).to.equal(s);
      }),
      RUNS,
    );
  });

  it('unescape either succeeds or throws a StompProtocolError', () => {
    fc.assert(
      fc.property(headerText, (s) => {
        try {
          unescapeHeaderValue(s);
        } catch (error) {
          expect(error).to.be.instanceOf(StompProtocolError);
        }
      }),
      RUNS,
    );
  });
});
