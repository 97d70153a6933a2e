import { expect } from 'chai';
import fc from 'fast-check';
import { pyRepr, pyTuple, reprString, reprTuple, vdsmMessage } from './python-repr.js';

/** Reads back a Python str literal as repr() writes it (test oracle). */
function readPythonStr(literal: string): string {
  const quote = literal[0];
  expect(quote === "'" || quote === '"', literal).to.equal(true);
  expect(literal.at(-1)).to.equal(quote);
  const body = literal.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === quote) throw new Error(`unescaped quote in ${literal}`);
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const kind = body[++i];
    const hex = (n: number): string => {
      const digits = body.slice(i + 1, i + 1 + n);
      i += n;
      return String.fromCodePoint(parseInt(digits, 16));
    };
    if (kind === 'x') out += hex(2);
    else if (kind === 'u') out += hex(4);
    else if (kind === 'U') out += hex(8);
    else if (kind === 't') out += '\t';
    else if (kind === 'n') out += '\n';
    else if (kind === 'r') out += '\r';
    else if (kind === '\\' || kind === "'" || kind === '"') out += kind;
    else throw new Error(`bad escape \\${kind} in ${literal}`);
  }
  return out;
}

describe('reprString', () => {
  it('quotes like Python', () => {
    expect(reprString('abc')).to.equal("'abc'");
    expect(reprString('')).to.equal("''");
    expect(reprString("can't clean")).to.equal(`"can't clean"`);
    expect(reprString('say "hi"')).to.equal(`'say "hi"'`);
    // Both quotes: single quotes, the single one escaped.
    expect(reprString(`it's "x"`)).to.equal(`'it\\'s "x"'`);
  });

  it('escapes backslashes, controls and non-printable characters', () => {
    expect(reprString('a\\b')).to.equal("'a\\\\b'");
    expect(reprString('\t\n\r')).to.equal("'\\t\\n\\r'");
    expect(reprString('\x00\x1f\x7f')).to.equal("'\\x00\\x1f\\x7f'");
    expect(reprString('\xa0')).to.equal("'\\xa0'"); // no-break space (Zs)
    expect(reprString('\u200b\u2028')).to.equal("'\\u200b\\u2028'"); // Cf, Zl
    expect(reprString('\ud800')).to.equal("'\\ud800'"); // lone surrogate
    expect(reprString('\u{e0001}')).to.equal("'\\U000e0001'"); // Cf outside the BMP
  });

  it('keeps printable non-ASCII as is', () => {
    expect(reprString('é 中 😀')).to.equal("'é 中 😀'");
  });

  it('round-trips any string through a Python literal reader', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        expect(readPythonStr(reprString(s))).to.equal(s);
      }),
      { numRuns: 200 },
    );
  });
});

describe('pyRepr and reprTuple', () => {
  it('writes tuples with the one-element comma', () => {
    expect(reprTuple()).to.equal('()');
    expect(reprTuple('abc')).to.equal("('abc',)");
    expect(reprTuple('a', 'b')).to.equal("('a', 'b')");
    expect(reprTuple(1, null, true, false)).to.equal('(1, None, True, False)');
    expect(pyRepr(pyTuple(pyTuple()))).to.equal('((),)');
  });

  it('writes lists, dicts and numbers', () => {
    expect(pyRepr(['a', 1])).to.equal("['a', 1]");
    expect(pyRepr([])).to.equal('[]');
    expect(pyRepr({ method: 'X.y' })).to.equal("{'method': 'X.y'}");
    expect(pyRepr({ a: [1, { b: undefined }] })).to.equal("{'a': [1, {'b': None}]}");
    expect(pyRepr({})).to.equal('{}');
    expect(pyRepr(-3)).to.equal('-3');
    expect(pyRepr(2n ** 70n)).to.equal('1180591620717411303424');
    expect(pyRepr(0.5)).to.equal('0.5');
    expect(pyRepr(1.5e-5)).to.equal('1.5e-05');
    expect(pyRepr(0.0001)).to.equal('0.0001');
    expect(pyRepr(Number.NaN)).to.equal('nan');
    expect(pyRepr(-Infinity)).to.equal('-inf');
  });
});

describe('vdsmMessage', () => {
  const sd = '5e5a6f0b-6c4e-4e3a-9b8e-2f1d7c3a4b21';
  const sp = 'c0ffee00-1234-4321-abcd-0123456789ab';

  it('formats the storage errors of the reference', () => {
    expect(vdsmMessage(401, pyTuple('abc'))).to.equal("Task id unknown: ('abc',)");
    expect(vdsmMessage(654, pyTuple())).to.equal('Not SPM: ()');
    expect(vdsmMessage(654)).to.equal('Not SPM');
    expect(vdsmMessage(358, pyTuple(sd))).to.equal(`Storage domain does not exist: ('${sd}',)`);
    expect(vdsmMessage(309, pyTuple(sp))).to.equal(`Unknown pool id, pool not connected: ('${sp}',)`);
    expect(vdsmMessage(268, 'image=I, domain=S')).to.equal("Image does not exist in domain: 'image=I, domain=S'");
    expect(vdsmMessage(1000, 'taskID=a.b')).to.equal("Invalid parameter: 'taskID=a.b'");
    expect(vdsmMessage(851, pyTuple())).to.equal('Resource timeout: ()');
    expect(vdsmMessage(410, pyTuple("can't clean in state running"))).to.equal(
      `Operation is not allowed in this task state: ("can't clean in state running",)`,
    );
    expect(vdsmMessage(441, pyTuple('from recovered to racquiring'))).to.equal(
      "cannot move task to requested state: ('from recovered to racquiring',)",
    );
    expect(vdsmMessage(349, `sdUUID=${sd}, reason=file storage domain`)).to.equal(
      `Discard is not supported by storage domain: 'sdUUID=${sd}, reason=file storage domain'`,
    );
  });

  it('formats the JSON-RPC errors with their context dict', () => {
    expect(vdsmMessage(-32601, { method: 'Ns.verb' })).to.equal(
      "The method does not exist or is not available: {'method': 'Ns.verb'}",
    );
    expect(vdsmMessage(-32600, { request: { jsonrpc: '1.0', method: 'Host.ping2', id: 1 }, reason: 'Wrong protocol version' })).to.equal(
      "Invalid request: {'request': {'jsonrpc': '1.0', 'method': 'Host.ping2', 'id': 1}, 'reason': 'Wrong protocol version'}",
    );
    expect(vdsmMessage(99)).to.equal('Recovering from crash or Initializing');
  });

  it('refuses a code outside the table', () => {
    expect(() => vdsmMessage(12345)).to.throw(RangeError, /12345/);
  });
});
