import { expect } from 'chai';
import { StompProtocolError } from '../errors.js';
import { escapeHeaderValue, unescapeHeaderValue } from './escape.js';

describe('escapeHeaderValue', () => {
  it('escapes the four STOMP 1.2 characters', () => {
    expect(escapeHeaderValue(':')).to.equal('\\c');
    expect(escapeHeaderValue('\\')).to.equal('\\\\');
    expect(escapeHeaderValue('\r')).to.equal('\\r');
    expect(escapeHeaderValue('\n')).to.equal('\\n');
    expect(escapeHeaderValue('a:b\\c\r\nd')).to.equal('a\\cb\\\\c\\r\\nd');
  });

  it('leaves everything else alone, including non-ASCII and other controls', () => {
    for (const s of ['', 'jms.topic.vdsm_requests', '0,24000', 'é€😀', '\t\0\x7f', ' padded ']) {
      expect(escapeHeaderValue(s)).to.equal(s);
    }
  });
});

describe('unescapeHeaderValue', () => {
  it('decodes the four escapes', () => {
    expect(unescapeHeaderValue('\\c')).to.equal(':');
    expect(unescapeHeaderValue('\\\\')).to.equal('\\');
    expect(unescapeHeaderValue('\\r')).to.equal('\r');
    expect(unescapeHeaderValue('\\n')).to.equal('\n');
    expect(unescapeHeaderValue('a\\cb\\\\c\\r\\nd')).to.equal('a:b\\c\r\nd');
  });

  it('reads an escaped backslash before a letter as a backslash, not as a new escape', () => {
    // "\\\\c" on the wire is "\\" then "c": a literal backslash and the letter c.
    expect(unescapeHeaderValue('\\\\c')).to.equal('\\c');
    expect(unescapeHeaderValue('\\\\\\c')).to.equal('\\:');
  });

  it('returns strings without a backslash as they are', () => {
    expect(unescapeHeaderValue('plain:colon is not an escape')).to.equal('plain:colon is not an escape');
  });

  it('rejects undefined escapes with a StompProtocolError', () => {
    for (const bad of ['\\t', '\\C', '\\x41', 'ok\\0', '\\ ']) {
      expect(() => unescapeHeaderValue(bad), bad).to.throw(StompProtocolError, /Invalid escape sequence/);
    }
  });

  it('rejects a lone backslash at the end', () => {
    expect(() => unescapeHeaderValue('abc\\')).to.throw(StompProtocolError, /lone "\\" at the end/);
  });
});
