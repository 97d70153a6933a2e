import { expect } from 'chai';
import fc from 'fast-check';
import { requestText } from './request-text.js';

describe('requestText', () => {
  it('is JSON.stringify of {jsonrpc, method, params, id}, for any method and params', () => {
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string(), fc.jsonValue()), fc.uuid(), (method, params, id) => {
        expect(requestText(method, params, id)).to.equal(JSON.stringify({ jsonrpc: '2.0', method, params, id }));
      }),
      { numRuns: 500 },
    );
  });

  it('leaves out params that give no JSON, as JSON.stringify does', () => {
    const params = { toJSON: () => undefined };
    expect(requestText('Host.ping2', params, 'x')).to.equal('{"jsonrpc":"2.0","method":"Host.ping2","id":"x"}');
  });

  it('throws what JSON.stringify throws for params it cannot write', () => {
    expect(() => requestText('Host.echo', { n: 1n }, 'x')).to.throw(TypeError);
  });
});
