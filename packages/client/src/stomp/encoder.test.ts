import { expect } from 'chai';
import { encodeFrame } from './encoder.js';
import type { FrameInit, StompCommand } from './frame.js';

/** Wire bytes written as a string of single-byte characters (like ws's hex fixtures, but readable). */
const wire = (s: string): Buffer => Buffer.from(s, 'latin1');

const REPLY_TO = 'a3d0a9b2-5a8e-4f3b-9c61-2f5c4d1e7b90';
const SUB_ID = '0d1c2b3a-4f5e-4d6c-8b7a-998877665544';

describe('encodeFrame', () => {
  describe("reproduces VDSM's exact bytes (vdsm-wire.md 2.2-2.4)", () => {
    const cases: Array<[string, FrameInit, string]> = [
      [
        "vdsm's client CONNECT",
        { command: 'CONNECT', headers: { 'accept-version': '1.2', 'heart-beat': '0,24000' } },
        'CONNECT\naccept-version:1.2\nheart-beat:0,24000\n\n\0',
      ],
      [
        "the server's CONNECTED (no body, so no content-length)",
        { command: 'CONNECTED', headers: [['version', '1.2'], ['heart-beat', '24000,0']] },
        'CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0',
      ],
      [
        "vdsm's client SUBSCRIBE",
        { command: 'SUBSCRIBE', headers: { destination: REPLY_TO, ack: 'auto', id: SUB_ID } },
        `SUBSCRIBE\ndestination:${REPLY_TO}\nack:auto\nid:${SUB_ID}\n\n\0`,
      ],
      [
        'SEND with ovirtCorrelationId (content-length appended last)',
        {
          command: 'SEND',
          headers: {
            destination: 'jms.topic.vdsm_requests',
            'content-type': 'application/json',
            'reply-to': REPLY_TO,
            ovirtCorrelationId: 'flow-123',
          },
          body: `[{"jsonrpc": "2.0", "method": "Host.ping2", "params": {}, "id": "${REPLY_TO}"}]`,
        },
        'SEND\ndestination:jms.topic.vdsm_requests\ncontent-type:application/json\n' +
          `reply-to:${REPLY_TO}\novirtCorrelationId:flow-123\ncontent-length:104\n\n` +
          `[{"jsonrpc": "2.0", "method": "Host.ping2", "params": {}, "id": "${REPLY_TO}"}]\0`,
      ],
      [
        'MESSAGE reply: destination, content-type, subscription, content-length',
        {
          command: 'MESSAGE',
          headers: { destination: REPLY_TO, 'content-type': 'application/json', subscription: SUB_ID },
          body: `{"jsonrpc": "2.0", "id": "${REPLY_TO}", "result": true}`,
        },
        `MESSAGE\ndestination:${REPLY_TO}\ncontent-type:application/json\nsubscription:${SUB_ID}\n` +
          `content-length:80\n\n{"jsonrpc": "2.0", "id": "${REPLY_TO}", "result": true}\0`,
      ],
      [
        'ERROR Version unsupported (only content-length)',
        { command: 'ERROR', body: 'Version unsupported' },
        'ERROR\ncontent-length:19\n\nVersion unsupported\0',
      ],
      ['RECEIPT for DISCONNECT', { command: 'RECEIPT', headers: { 'receipt-id': 'r' } }, 'RECEIPT\nreceipt-id:r\n\n\0'],
    ];
    for (const [name, frame, bytes] of cases) {
      it(name, () => {
        expect(encodeFrame(frame).equals(wire(bytes))).to.equal(true, JSON.stringify(encodeFrame(frame).toString('latin1')));
      });
    }
  });

  it('writes the headers of each frame, whether they repeat the last frame\'s or differ, even after the caller changed its array', () => {
    const headers: [string, string][] = [
      ['destination', 'jms.topic.vdsm_requests'],
      ['reply-to', REPLY_TO],
    ];
    const send = (): string => encodeFrame({ command: 'SEND', headers, body: '{}' }).toString('latin1');
    const expected = (replyTo: string, extra = ''): string => `SEND\ndestination:jms.topic.vdsm_requests\nreply-to:${replyTo}\n${extra}content-length:2\n\n{}\0`;
    expect(send()).to.equal(expected(REPLY_TO));
    expect(send()).to.equal(expected(REPLY_TO));
    headers[1] = ['reply-to', 'a:b'];
    expect(send()).to.equal(expected('a\\cb'));
    (headers[1] as [string, string])[1] = SUB_ID;
    expect(send()).to.equal(expected(SUB_ID));
    headers.push(['ovirtCorrelationId', 'flow']);
    expect(send()).to.equal(expected(SUB_ID, 'ovirtCorrelationId:flow\n'));
    headers.pop();
    expect(send()).to.equal(expected(SUB_ID));
    // Another command with the same headers has its own head.
    expect(encodeFrame({ command: 'MESSAGE', headers, body: '{}' }).toString('latin1')).to.equal(expected(SUB_ID).replace('SEND', 'MESSAGE'));
  });

  it('accepts headers as a record, an array of entries or a Map, in their order', () => {
    const expected = wire('SEND\nb:2\na:1\n\n\0');
    const entries: Array<[string, string]> = [['b', '2'], ['a', '1']];
    for (const headers of [{ b: '2', a: '1' }, entries, new Map(entries)]) {
      expect(encodeFrame({ command: 'SEND', headers }).equals(expected)).to.equal(true);
    }
  });

  it('drops a caller-given content-length and appends the real one last', () => {
    const frame: FrameInit = { command: 'SEND', headers: [['content-length', '999'], ['destination', 'q']], body: 'abc' };
    expect(encodeFrame(frame).toString('latin1')).to.equal('SEND\ndestination:q\ncontent-length:3\n\nabc\0');
  });

  it('drops a caller-given content-length when there is no body', () => {
    const frame: FrameInit = { command: 'SEND', headers: { destination: 'q', 'content-length': '5' } };
    expect(encodeFrame(frame).toString('latin1')).to.equal('SEND\ndestination:q\n\n\0');
  });

  it('writes content-length:0 for an empty body, and none when the body is undefined', () => {
    expect(encodeFrame({ command: 'SEND', body: '' }).toString('latin1')).to.equal('SEND\ncontent-length:0\n\n\0');
    expect(encodeFrame({ command: 'SEND' }).toString('latin1')).to.equal('SEND\n\n\0');
  });

  it('escapes header names and values on every frame, CONNECT included', () => {
    const frame: FrameInit = { command: 'CONNECT', headers: [['a:b', 'c\\d\r\ne:f']] };
    expect(encodeFrame(frame).toString('latin1')).to.equal('CONNECT\na\\cb:c\\\\d\\r\\ne\\cf\n\n\0');
  });

  it('counts a string body in UTF-8 bytes and writes UTF-8 headers', () => {
    const out = encodeFrame({ command: 'MESSAGE', headers: { 'x-name': 'é' }, body: 'é€😀' });
    const expected = Buffer.concat([
      Buffer.from('MESSAGE\nx-name:é\ncontent-length:9\n\n', 'utf8'),
      Buffer.from([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0x00]),
    ]);
    expect(out.equals(expected)).to.equal(true);
  });

  it('copies a binary body verbatim, NUL bytes and views into larger buffers included', () => {
    const backing = new Uint8Array([9, 9, 0, 1, 0, 255, 9]);
    const body = backing.subarray(2, 6);
    const out = encodeFrame({ command: 'SEND', body });
    expect(out.equals(Buffer.concat([wire('SEND\ncontent-length:4\n\n'), Buffer.from([0, 1, 0, 255, 0])]))).to.equal(true);
  });

  it('rejects a command STOMP 1.2 does not define', () => {
    expect(() => encodeFrame({ command: 'PUBLISH' as StompCommand })).to.throw(TypeError, /unknown STOMP command "PUBLISH"/);
  });
});
