import { expect } from 'chai';
import fc from 'fast-check';
import { HeaderTextCache } from './header-text-cache.js';

describe('HeaderTextCache', () => {
  it('decodes every byte range exactly as toString("utf8") does, over many texts sharing its few slots', () => {
    // Short texts of few distinct bytes, so slots collide and texts repeat.
    const text = fc.array(fc.constantFrom(0x61, 0x62, 0x3a, 0x5c, 0xc3, 0xa9, 0xff, 0x80), { maxLength: 8 }).map((bytes) => Buffer.from(bytes));
    const long = fc.uint8Array({ minLength: 120, maxLength: 140 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(fc.array(fc.oneof(text, long), { minLength: 1, maxLength: 300 }), fc.nat(4), (pieces, pad) => {
        const cache = new HeaderTextCache();
        for (const piece of pieces) {
          // The range inside a larger chunk, as the parser passes it.
          const chunk = Buffer.concat([Buffer.alloc(pad, 0x20), piece, Buffer.from('\n')]);
          expect(cache.decode(chunk, pad, pad + piece.length)).to.equal(piece.toString('utf8'));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a copy of the bytes: a chunk reused after parsing never changes a later answer', () => {
    const cache = new HeaderTextCache();
    const chunk = Buffer.from('destination:abc\n');
    expect(cache.decode(chunk, 12, 15)).to.equal('abc');
    chunk.write('xyz', 12, 'latin1');
    expect(cache.decode(chunk, 12, 15)).to.equal('xyz');
    expect(cache.decode(Buffer.from('abc'), 0, 3)).to.equal('abc');
  });

  it('keeps any two texts at once, however they hash (a reply-to and a subscription id on every frame)', () => {
    const uuid = fc.uuid().map((text) => Buffer.from(text));
    fc.assert(
      fc.property(uuid, uuid, (a, b) => {
        const cache = new HeaderTextCache();
        cache.decode(a, 0, a.length);
        cache.decode(b, 0, b.length);
        for (const text of [a, b, a, b]) {
          // A hit never decodes the bytes again.
          const chunk = Buffer.from(text);
          chunk.toString = () => expect.fail(`decoded ${text.toString()} again`);
          expect(cache.decode(chunk, 0, chunk.length)).to.equal(text.toString());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every text that one direction of a VDSM connection repeats: commands, header names, fixed values', () => {
    const toVdsm = ['CONNECT', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'DISCONNECT', 'accept-version', 'heart-beat', 'destination', 'content-type', 'content-length', 'reply-to', 'id', 'ack', 'receipt', 'ovirtCorrelationId', '1.2', 'auto', 'application/json', 'jms.topic.vdsm_requests', 'jms.queue.events'];
    const fromVdsm = ['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR', 'version', 'heart-beat', 'destination', 'content-type', 'subscription', 'content-length', 'receipt-id', '1.2', 'application/json', 'jms.queue.events'];
    for (const direction of [toVdsm, fromVdsm]) {
      const texts = direction.map((text) => Buffer.from(text));
      const cache = new HeaderTextCache();
      for (const text of texts) cache.decode(text, 0, text.length);
      for (const text of texts) {
        const chunk = Buffer.from(text);
        chunk.toString = () => expect.fail(`decoded ${text.toString()} again`);
        expect(cache.decode(chunk, 0, chunk.length)).to.equal(text.toString());
      }
    }
  });
});
