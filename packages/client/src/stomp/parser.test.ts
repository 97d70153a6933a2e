import { expect } from 'chai';
import { FrameTooLargeError, HeaderTooLongError, StompProtocolError, TooManyHeadersError } from '../errors.js';
import type { FrameLimits, StompFrame } from './frame.js';
import { FrameParser } from './parser.js';
import type { FrameParserOptions } from './parser.js';

/** Wire bytes written as a string of single-byte characters (like ws's hex fixtures, but readable). */
const wire = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A frame as plain data: header order and body bytes become comparable with deep equality. */
interface PlainFrame {
  command: string;
  headers: Array<[string, string]>;
  body: string;
}
type Event = PlainFrame | 'heartbeat';

function plain(frame: StompFrame): PlainFrame {
  return { command: frame.command, headers: [...frame.headers], body: frame.body.toString('latin1') };
}

type Options = Omit<FrameParserOptions, 'onFrame' | 'onHeartbeat'>;

/** A parser that records frames and heart-beats in arrival order. */
function recorder(options: Options = {}): { parser: FrameParser; events: Event[] } {
  const events: Event[] = [];
  const parser = new FrameParser({
    ...options,
    onFrame: (frame) => events.push(plain(frame)),
    onHeartbeat: () => events.push('heartbeat'),
  });
  return { parser, events };
}

/** Feeds `chunks` in order; returns the events and the error thrown, if any. */
function run(chunks: Buffer[], options: Options = {}): { events: Event[]; error: unknown } {
  const { parser, events } = recorder(options);
  try {
    for (const chunk of chunks) parser.write(chunk);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

/** Parses bytes that must be valid; returns the events. */
function parse(bytes: Buffer, options: Options = {}): Event[] {
  const { events, error } = run([bytes], options);
  if (error !== undefined) throw error;
  return events;
}

/** Cuts `bytes` at the given offsets. */
function splitAt(bytes: Buffer, ...cuts: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

/** Cuts `bytes` into pieces of `size` bytes. */
function chunked(bytes: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return pieces;
}

const REPLY_TO = 'a3d0a9b2-5a8e-4f3b-9c61-2f5c4d1e7b90';
const SUB_ID = '0d1c2b3a-4f5e-4d6c-8b7a-998877665544';
const PING = `[{"jsonrpc": "2.0", "method": "Host.ping2", "params": {}, "id": "${REPLY_TO}"}]`;
const PONG = `{"jsonrpc": "2.0", "id": "${REPLY_TO}", "result": true}`;

/** Frames seen on VDSM's wire (vdsm-wire.md 2.2-2.4, 3.1), byte for byte, with what they parse to. */
const VDSM_FRAMES: Array<[string, string, PlainFrame]> = [
  [
    "CONNECT from vdsm's client",
    'CONNECT\naccept-version:1.2\nheart-beat:0,24000\n\n\0',
    { command: 'CONNECT', headers: [['accept-version', '1.2'], ['heart-beat', '0,24000']], body: '' },
  ],
  [
    'SEND with ovirtCorrelationId and content-length',
    'SEND\ndestination:jms.topic.vdsm_requests\ncontent-type:application/json\n' +
      `reply-to:${REPLY_TO}\novirtCorrelationId:flow-123\ncontent-length:104\n\n${PING}\0`,
    {
      command: 'SEND',
      headers: [
        ['destination', 'jms.topic.vdsm_requests'],
        ['content-type', 'application/json'],
        ['reply-to', REPLY_TO],
        ['ovirtCorrelationId', 'flow-123'],
        ['content-length', '104'],
      ],
      body: PING,
    },
  ],
  [
    'MESSAGE reply',
    `MESSAGE\ndestination:${REPLY_TO}\ncontent-type:application/json\nsubscription:${SUB_ID}\ncontent-length:80\n\n${PONG}\0`,
    {
      command: 'MESSAGE',
      headers: [
        ['destination', REPLY_TO],
        ['content-type', 'application/json'],
        ['subscription', SUB_ID],
        ['content-length', '80'],
      ],
      body: PONG,
    },
  ],
  [
    'ERROR Version unsupported',
    'ERROR\ncontent-length:19\n\nVersion unsupported\0',
    { command: 'ERROR', headers: [['content-length', '19']], body: 'Version unsupported' },
  ],
  [
    'SEND without content-length (body runs to the NUL)',
    `SEND\ndestination:jms.topic.vdsm_requests\nreply-to:${REPLY_TO}\n\n${PING}\0`,
    {
      command: 'SEND',
      headers: [
        ['destination', 'jms.topic.vdsm_requests'],
        ['reply-to', REPLY_TO],
      ],
      body: PING,
    },
  ],
  ['CONNECTED', 'CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0', { command: 'CONNECTED', headers: [['version', '1.2'], ['heart-beat', '24000,0']], body: '' }],
];

/** All of VDSM_FRAMES in one stream, with heart-beats before, between and after. */
const STREAM = wire('\n' + VDSM_FRAMES.map(([, bytes]) => bytes).join('\n') + '\r\n\n');
const STREAM_EVENTS: Event[] = ['heartbeat', ...VDSM_FRAMES.flatMap(([, , frame], i): Event[] => (i === 0 ? [frame] : ['heartbeat', frame])), 'heartbeat', 'heartbeat'];

describe('FrameParser', () => {
  describe("VDSM's observed frames", () => {
    for (const [name, bytes, frame] of VDSM_FRAMES) {
      it(`parses ${name}`, () => {
        expect(parse(wire(bytes))).to.deep.equal([frame]);
      });
    }

    it('parses them all from one chunk, heart-beats included', () => {
      expect(parse(STREAM)).to.deep.equal(STREAM_EVENTS);
    });

    it('gives the same events for every split point of the stream', () => {
      for (let cut = 1; cut < STREAM.length; cut++) {
        const { events, error } = run(splitAt(STREAM, cut));
        expect(error, `cut at ${cut}`).to.equal(undefined);
        expect(events, `cut at ${cut}`).to.deep.equal(STREAM_EVENTS);
      }
    });

    it('gives the same events for every pair of split points around a content-length body', () => {
      // A frame whose body, NUL and following heart-beat are all cut inside: cuts on both sides of each boundary.
      const bytes = wire(`ERROR\ncontent-length:19\n\nVersion unsupported\0\r\nRECEIPT\nreceipt-id:r\n\n\0`);
      const expected = parse(bytes);
      for (let a = 1; a < bytes.length; a++) {
        for (let b = a + 1; b < bytes.length; b++) {
          expect(run(splitAt(bytes, a, b)).events, `cuts at ${a}, ${b}`).to.deep.equal(expected);
        }
      }
    });

    it('gives the same events for every fixed chunk size, down to one byte at a time', () => {
      for (let size = 1; size <= 64; size++) {
        const { events, error } = run(chunked(STREAM, size));
        expect(error, `size ${size}`).to.equal(undefined);
        expect(events, `size ${size}`).to.deep.equal(STREAM_EVENTS);
      }
    });

    it('hands bodies out as views of the chunk, without copying', () => {
      const chunk = wire(VDSM_FRAMES[2]?.[1] as string);
      const frames: StompFrame[] = [];
      new FrameParser({ onFrame: (f) => frames.push(f) }).write(chunk);
      expect(frames[0]?.body.buffer).to.equal(chunk.buffer);
    });

    it('accepts a plain Uint8Array as well as a Buffer', () => {
      const bytes = wire('RECEIPT\nreceipt-id:r\n\n\0');
      const { parser, events } = recorder();
      parser.write(new Uint8Array(bytes));
      expect(events).to.deep.equal([{ command: 'RECEIPT', headers: [['receipt-id', 'r']], body: '' }]);
    });
  });

  describe('line ends and heart-beats', () => {
    it('accepts CRLF line ends on the command, header and blank lines', () => {
      expect(parse(wire('SEND\r\ndestination:q\r\ncontent-length:2\r\n\r\nhi\0'))).to.deep.equal([
        { command: 'SEND', headers: [['destination', 'q'], ['content-length', '2']], body: 'hi' },
      ]);
    });

    it('accepts CRLF and LF mixed within a frame', () => {
      expect(parse(wire('SEND\r\na:1\nb:2\r\n\n\0'))).to.deep.equal([{ command: 'SEND', headers: [['a', '1'], ['b', '2']], body: '' }]);
    });

    it('reports each EOL before, between and after frames as a heart-beat', () => {
      expect(parse(wire('\n\r\n\nRECEIPT\nreceipt-id:1\n\n\0\r\n\nRECEIPT\nreceipt-id:2\n\n\0\n'))).to.deep.equal([
        'heartbeat',
        'heartbeat',
        'heartbeat',
        { command: 'RECEIPT', headers: [['receipt-id', '1']], body: '' },
        'heartbeat',
        'heartbeat',
        { command: 'RECEIPT', headers: [['receipt-id', '2']], body: '' },
        'heartbeat',
      ]);
    });

    it('reports a CRLF heart-beat split between chunks once', () => {
      expect(run([wire('\r'), wire('\n\r'), wire('\n')]).events).to.deep.equal(['heartbeat', 'heartbeat']);
    });

    it('works without an onHeartbeat callback', () => {
      const frames: StompFrame[] = [];
      const parser = new FrameParser({ onFrame: (f) => frames.push(f) });
      parser.write(wire('\n\r\nRECEIPT\nreceipt-id:1\n\n\0\n'));
      expect(frames).to.have.length(1);
    });

    it('rejects a CR between frames that no LF follows', () => {
      const { error } = run([wire('\r')], {});
      expect(error).to.equal(undefined);
      expect(run([wire('\rSEND\n\n\0')]).error).to.be.instanceOf(StompProtocolError).with.property('message').match(/expected LF after CR, got 0x53/);
      expect(run([wire('\r'), wire('SEND\n\n\0')]).error).to.be.instanceOf(StompProtocolError).with.property('message').match(/expected LF after CR, got 0x53/);
    });

    it('keeps a CR that does not end the line as part of the value (no trimming)', () => {
      expect(parse(wire('SEND\na:b\rc\r\r\n\n\0'))).to.deep.equal([{ command: 'SEND', headers: [['a', 'b\rc\r']], body: '' }]);
    });
  });

  describe('commands', () => {
    it('accepts every STOMP 1.2 command', () => {
      for (const command of ['CONNECT', 'STOMP', 'CONNECTED', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT', 'MESSAGE', 'RECEIPT', 'ERROR']) {
        expect(parse(wire(`${command}\n\n\0`))).to.deep.equal([{ command, headers: [], body: '' }]);
      }
    });

    it('rejects unknown, lower-case or padded commands', () => {
      for (const line of ['PUBLISH', 'send', 'SEND ', ' SEND', 'GET / HTTP/1.1', 'SEND\\c']) {
        const { error } = run([wire(`${line}\n\n\0`)]);
        expect(error, line).to.be.instanceOf(StompProtocolError).with.property('message', `Unknown STOMP command ${JSON.stringify(line)}`);
      }
    });
  });

  describe('headers', () => {
    it('keeps the first of repeated headers, in order of first appearance', () => {
      expect(parse(wire('MESSAGE\nb:1\na:2\nb:3\na:4\n\n\0'))).to.deep.equal([{ command: 'MESSAGE', headers: [['b', '1'], ['a', '2']], body: '' }]);
    });

    it('trims nothing', () => {
      expect(parse(wire('SEND\n name : value \n\n\0'))).to.deep.equal([{ command: 'SEND', headers: [[' name ', ' value ']], body: '' }]);
    });

    it('accepts empty names and values', () => {
      expect(parse(wire('SEND\n:v\nk:\n\n\0'))).to.deep.equal([{ command: 'SEND', headers: [['', 'v'], ['k', '']], body: '' }]);
    });

    it('unescapes names and values', () => {
      const frames = parse(wire('SEND\na\\cb\\n:c\\\\d\\r\\ne\\cf\n\n\0'));
      expect(frames).to.deep.equal([{ command: 'SEND', headers: [['a:b\n', 'c\\d\r\ne:f']], body: '' }]);
    });

    it('unescapes an escape split across chunks', () => {
      const bytes = wire('SEND\nk:a\\cb\\\\c\n\n\0');
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(run(splitAt(bytes, cut)).events, `cut at ${cut}`).to.deep.equal([{ command: 'SEND', headers: [['k', 'a:b\\c']], body: '' }]);
      }
    });

    it('decodes UTF-8 names and values split inside a multi-byte character', () => {
      const bytes = Buffer.from('MESSAGE\nnäme:é€😀\n\n\0', 'utf8');
      for (let cut = 1; cut < bytes.length; cut++) {
        const frames: StompFrame[] = [];
        const parser = new FrameParser({ onFrame: (f) => frames.push(f) });
        for (const piece of splitAt(bytes, cut)) parser.write(piece);
        expect([...(frames[0]?.headers ?? [])], `cut at ${cut}`).to.deep.equal([['näme', 'é€😀']]);
      }
    });

    it('rejects an undefined escape', () => {
      expect(run([wire('SEND\nk:a\\tb\n\n\0')]).error).to.be.instanceOf(StompProtocolError).with.property('message').match(/Invalid escape sequence.*\\\\t/);
      expect(run([wire('SEND\nk\\x:v\n\n\0')]).error).to.be.instanceOf(StompProtocolError);
      expect(run([wire('SEND\nk:v\\\n\n\0')]).error).to.be.instanceOf(StompProtocolError).with.property('message').match(/lone/);
    });

    it('rejects a bad escape in a repeated header too', () => {
      expect(run([wire('SEND\nk:v\nk:\\x\n\n\0')]).error).to.be.instanceOf(StompProtocolError);
    });

    it('rejects a header line without a colon', () => {
      expect(run([wire('SEND\ndestination\n\n\0')]).error)
        .to.be.instanceOf(StompProtocolError)
        .with.property('message', 'STOMP header line without ":": "destination"');
    });

    it('splits a raw colon in a value at the first colon by default', () => {
      expect(parse(wire('SEND\nurl:tcp://h:54321\n\n\0'))).to.deep.equal([{ command: 'SEND', headers: [['url', 'tcp://h:54321']], body: '' }]);
    });

    it("rejects a raw colon in a value with rawColonInValue 'reject' (VDSM's server)", () => {
      const { error } = run([wire('SEND\nurl:tcp://h\n\n\0')], { rawColonInValue: 'reject' });
      expect(error).to.be.instanceOf(StompProtocolError).with.property('message').match(/Raw ":" in the value of STOMP header "url"/);
      expect(parse(wire('SEND\nurl:tcp\\c//h\n\n\0'), { rawColonInValue: 'reject' })).to.deep.equal([
        { command: 'SEND', headers: [['url', 'tcp://h']], body: '' },
      ]);
    });
  });

  describe('bodies', () => {
    it('reads a content-length body that contains NUL bytes', () => {
      expect(parse(wire('MESSAGE\ncontent-length:5\n\na\0b\0c\0'))).to.deep.equal([
        { command: 'MESSAGE', headers: [['content-length', '5']], body: 'a\0b\0c' },
      ]);
    });

    it('reads a NUL-terminated body up to the first NUL', () => {
      expect(parse(wire('SEND\n\nabc\0\0'))).to.deep.equal([{ command: 'SEND', headers: [], body: 'abc' }, ]);
    });

    it('gives empty bodies for content-length:0 and for no body', () => {
      expect(parse(wire('SEND\ncontent-length:0\n\n\0SEND\n\n\0'))).to.deep.equal([
        { command: 'SEND', headers: [['content-length', '0']], body: '' },
        { command: 'SEND', headers: [], body: '' },
      ]);
    });

    it('reads a large content-length body arriving in many chunks', () => {
      const body = Buffer.alloc(100_000, 0x61);
      body[500] = 0;
      const bytes = Buffer.concat([wire(`MESSAGE\ncontent-length:${body.length}\n\n`), body, wire('\0')]);
      const frames: StompFrame[] = [];
      const parser = new FrameParser({ onFrame: (f) => frames.push(f) });
      for (const piece of chunked(bytes, 1000)) parser.write(piece);
      expect(frames).to.have.length(1);
      expect(frames[0]?.body.equals(body)).to.equal(true);
    });

    it('uses the first content-length when it repeats', () => {
      expect(parse(wire('SEND\ncontent-length:1\ncontent-length:3\n\na\0'))).to.deep.equal([
        { command: 'SEND', headers: [['content-length', '1']], body: 'a' },
      ]);
    });

    it('rejects a content-length body not followed by NUL, in one chunk or split', () => {
      const bytes = wire('SEND\ncontent-length:2\n\nabc\0');
      for (const chunks of [[bytes], splitAt(bytes, 23), splitAt(bytes, 24), splitAt(bytes, 25), splitAt(bytes, 26)]) {
        expect(run(chunks).error)
          .to.be.instanceOf(StompProtocolError)
          .with.property('message', "STOMP frame doesn't end with a NUL byte: byte 2 of the body (content-length 2) is 0x63");
      }
    });

    it('rejects a content-length that is not a non-negative decimal integer', () => {
      for (const bad of ['-1', '1.5', ' 5', '5 ', '', 'abc', '0x10', '+3', '1e3']) {
        expect(run([wire(`SEND\ncontent-length:${bad}\n\n\0`)]).error, bad)
          .to.be.instanceOf(StompProtocolError)
          .with.property('message', `Invalid STOMP content-length ${JSON.stringify(bad)}: not a non-negative decimal integer`);
      }
    });
  });

  describe('limits', () => {
    const limits = (l: Partial<FrameLimits>): Options => ({ limits: l });

    it('fails on a declared body over maxFrameSize as soon as the headers end, before any body byte', () => {
      const { parser } = recorder(limits({ maxFrameSize: 1000 }));
      expect(() => parser.write(wire('SEND\ncontent-length:990\n\n'))).to.throw(
        FrameTooLargeError,
        'STOMP frame too large: content-length "990" plus 25 bytes of command and headers exceeds maxFrameSize (1000 bytes)',
      );
    });

    it('fails on an absurd content-length without overflowing', () => {
      const { error } = run([wire(`SEND\ncontent-length:${'9'.repeat(400)}\n\n`)]);
      expect(error).to.be.instanceOf(FrameTooLargeError).with.property('message').match(/maxFrameSize \(67108864 bytes\)/);
    });

    it('accepts a frame of exactly maxFrameSize bytes (command, headers and body)', () => {
      const head = 'SEND\ncontent-length:5\n\n';
      expect(parse(wire(`${head}12345\0`), limits({ maxFrameSize: head.length + 5 }))).to.have.length(1);
      expect(run([wire(`${head}12345\0`)], limits({ maxFrameSize: head.length + 4 })).error).to.be.instanceOf(FrameTooLargeError);
    });

    it('fails on a NUL-terminated body growing past maxFrameSize without waiting for the NUL', () => {
      const { parser } = recorder(limits({ maxFrameSize: 100 }));
      parser.write(wire('SEND\n\n'));
      parser.write(Buffer.alloc(60, 0x61));
      expect(() => parser.write(Buffer.alloc(60, 0x61))).to.throw(
        FrameTooLargeError,
        'STOMP frame too large: a body without content-length grew past maxFrameSize (100 bytes)',
      );
    });

    it('accepts a NUL-terminated frame of exactly maxFrameSize bytes', () => {
      const bytes = wire(`SEND\n\n${'a'.repeat(94)}\0`);
      expect(parse(bytes, limits({ maxFrameSize: 100 }))).to.have.length(1);
      expect(run([bytes], limits({ maxFrameSize: 99 })).error).to.be.instanceOf(FrameTooLargeError);
      expect(run(chunked(bytes, 7), limits({ maxFrameSize: 99 })).error).to.be.instanceOf(FrameTooLargeError);
    });

    it('counts header lines toward maxFrameSize', () => {
      const { error } = run([wire(`SEND\nk:${'v'.repeat(50)}\n`)], limits({ maxFrameSize: 40 }));
      expect(error).to.be.instanceOf(FrameTooLargeError).with.property('message').match(/command and header lines exceed maxFrameSize \(40 bytes\)/);
    });

    it('fails on more than maxHeaders headers, repeated names included', () => {
      expect(parse(wire('SEND\na:1\nb:2\nc:3\n\n\0'), limits({ maxHeaders: 3 }))).to.have.length(1);
      expect(run([wire('SEND\na:1\nb:2\na:3\nd:4\n\n\0')], limits({ maxHeaders: 3 })).error)
        .to.be.instanceOf(TooManyHeadersError)
        .with.property('message', 'STOMP frame has more than maxHeaders (3) headers');
    });

    it('fails on a header line over maxHeaderLength; the EOL does not count', () => {
      const ok = `k:${'v'.repeat(8)}`;
      expect(parse(wire(`SEND\n${ok}\r\n\n\0`), limits({ maxHeaderLength: 10 }))).to.have.length(1);
      expect(run(splitAt(wire(`SEND\n${ok}\r\n\n\0`), 16), limits({ maxHeaderLength: 10 })).error).to.equal(undefined);
      expect(run([wire(`SEND\n${ok}v\n\n\0`)], limits({ maxHeaderLength: 10 })).error)
        .to.be.instanceOf(HeaderTooLongError)
        .with.property('message', 'STOMP header line longer than maxHeaderLength (10 bytes)');
    });

    it('fails on an endless header line before its newline arrives', () => {
      const { parser } = recorder(limits({ maxHeaderLength: 100 }));
      parser.write(wire('SEND\nk:'));
      parser.write(Buffer.alloc(98, 0x61));
      expect(() => parser.write(wire('a'))).to.throw(HeaderTooLongError, /header line longer than maxHeaderLength \(100 bytes\)/);
    });

    it('waits for the LF when a line of exactly maxHeaderLength bytes ends in CR', () => {
      const { parser } = recorder(limits({ maxHeaderLength: 4 }));
      parser.write(wire('SEND\nk:vv\r'));
      expect(() => parser.write(wire('x'))).to.throw(HeaderTooLongError);
    });

    it('fails on an endless command line before its newline arrives', () => {
      const { parser } = recorder(limits({ maxHeaderLength: 32 }));
      expect(() => parser.write(Buffer.alloc(33, 0x41))).to.throw(HeaderTooLongError, 'STOMP command line longer than maxHeaderLength (32 bytes)');
    });

    it('rejects limits that are not positive numbers', () => {
      for (const bad of [0, -1, Number.NaN]) {
        expect(() => new FrameParser({ onFrame() {}, limits: { maxHeaders: bad } })).to.throw(RangeError, /maxHeaders must be a positive number/);
      }
    });
  });

  describe('after an error', () => {
    it('throws the same error on every later write and emits nothing more', () => {
      const { parser, events } = recorder();
      let first: unknown;
      try {
        parser.write(wire('RECEIPT\nreceipt-id:1\n\n\0BOGUS\n\n\0'));
      } catch (error) {
        first = error;
      }
      expect(first).to.be.instanceOf(StompProtocolError);
      expect(events).to.deep.equal([{ command: 'RECEIPT', headers: [['receipt-id', '1']], body: '' }]);
      for (const bytes of ['RECEIPT\nreceipt-id:2\n\n\0', '\n', '']) {
        let again: unknown;
        try {
          parser.write(wire(bytes));
        } catch (error) {
          again = error;
        }
        expect(again).to.equal(first);
      }
      expect(events).to.have.length(1);
    });

    it('fails the parser when onFrame throws, rethrowing that error', () => {
      const boom = new Error('handler failed');
      const parser = new FrameParser({
        onFrame: () => {
          throw boom;
        },
      });
      expect(() => parser.write(wire('RECEIPT\nreceipt-id:1\n\n\0RECEIPT\nreceipt-id:2\n\n\0'))).to.throw(boom);
      expect(() => parser.write(wire('\n'))).to.throw(boom);
    });
  });
});
