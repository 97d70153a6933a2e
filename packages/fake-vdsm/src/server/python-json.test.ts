import { expect } from 'chai';
import fc from 'fast-check';
import { TOKEN, pyFloat, pythonJsonDumps, widenOrEscape } from './python-json.js';

// Every expected string below was printed by CPython 3's json.dumps(...) for the same value.
describe('pythonJsonDumps', () => {
  it('widens separators outside strings only, as json.dumps does', () => {
    const value = { jsonrpc: '2.0', id: 'a,b:c', result: { k: [1, 2.5, true, null, 'x"y,z:w\\\\'], empty: {}, list: [] } };
    expect(pythonJsonDumps(value)).to.equal(
      '{"jsonrpc": "2.0", "id": "a,b:c", "result": {"k": [1, 2.5, true, null, "x\\"y,z:w\\\\\\\\"], "empty": {}, "list": []}}',
    );
  });

  it('escapes DEL and every non-ASCII character, astral ones as surrogate pairs (ensure_ascii)', () => {
    expect(pythonJsonDumps({ s: 'é€😀\n\t\u0001\u007f' })).to.equal('{"s": "\\u00e9\\u20ac\\ud83d\\ude00\\n\\t\\u0001\\u007f"}');
  });

  it('writes arrays, bare strings and key strings that hold separators', () => {
    expect(pythonJsonDumps([{ a: 1 }, { b: '2' }])).to.equal('[{"a": 1}, {"b": "2"}]');
    expect(pythonJsonDumps('plain')).to.equal('"plain"');
    expect(pythonJsonDumps({ 'k,:"': 'v' })).to.equal('{"k,:\\"": "v"}');
  });

  it('pads one-digit exponents as Python float repr does', () => {
    expect(pythonJsonDumps({ big: 1e21, small: 1e-7, neg: -0.5 })).to.equal('{"big": 1e+21, "small": 1e-07, "neg": -0.5}');
    expect(pythonJsonDumps([1.5e-10, 1e100])).to.equal('[1.5e-10, 1e+100]');
  });

  it('returns undefined for undefined, like JSON.stringify', () => {
    expect(pythonJsonDumps(undefined)).to.equal(undefined);
  });

  it('writes a pyFloat as Python writes a float: 100.0, 42.25, 1e-07; a string that looks like its mark stays a string', () => {
    expect(pythonJsonDumps({ progress: pyFloat(100), half: pyFloat(42.25), tiny: [pyFloat(1e-7)], nan: pyFloat(Number.NaN) })).to.equal(
      '{"progress": 100.0, "half": 42.25, "tiny": [1e-07], "nan": null}',
    );
    // A client's string can carry a NUL and any text: it stays a string, never becomes raw JSON.
    for (const text of ['\u0000pyfloat:1', '\u0000pyfloat:1}, "x": {']) expect(JSON.parse(pythonJsonDumps({ text }) as string)).to.deep.equal({ text });
  });

  it('writes any JSON value, floats and pyFloats included, exactly as the one-regex specification does', () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom(',', ':', '"', '\\', 'e', 'e-1', '\u0000', '\u007f', 'é', '😀'), fc.string({ minLength: 1, maxLength: 1 })) });
    const number = fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(1e-7, 1e21, -2.5e-9, 1e100), fc.integer());
    const leaf = fc.oneof(text, number, fc.boolean(), fc.constant(null), number.map(pyFloat));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(text, tie('node'))),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(pythonJsonDumps(v)).to.equal((JSON.stringify(v) as string).replace(TOKEN, widenOrEscape));
      }),
      { numRuns: 500 },
    );
  });
});

