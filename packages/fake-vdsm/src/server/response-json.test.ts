import { expect } from 'chai';
import fc from 'fast-check';
import { pyFloat, pythonJsonDumps } from './python-json.js';
import { responseJson } from './response-json.js';
import type { RpcResponse } from './rpc-interceptor.js';

describe('responseJson', () => {
  const id = fc.oneof(fc.uuid(), fc.integer(), fc.double(), fc.constant(null), fc.string());
  const result = fc.oneof(fc.jsonValue(), fc.double().map(pyFloat), fc.string({ unit: 'binary' }), fc.constant(undefined));

  it('writes what pythonJsonDumps writes for a result response, any id, any result', () => {
    fc.assert(
      fc.property(id, result, (anyId, anyResult) => {
        const response = { jsonrpc: '2.0', id: anyId, result: anyResult } as RpcResponse;
        expect(responseJson(response)).to.equal(pythonJsonDumps(response));
      }),
      { numRuns: 1000 },
    );
  });

  it('writes error responses and responses of another key order as pythonJsonDumps does', () => {
    const shapes: RpcResponse[] = [
      { jsonrpc: '2.0', id: 'x', error: { code: 100, message: 'Général' } },
      { id: 1, jsonrpc: '2.0', result: true } as RpcResponse,
      { jsonrpc: '2.0', result: true, id: 1 } as RpcResponse,
      { jsonrpc: '2.0', id: 1, result: true, extra: 1 } as RpcResponse,
      { jsonrpc: '1.0', id: 1, result: true } as unknown as RpcResponse,
    ];
    for (const response of shapes) expect(responseJson(response)).to.equal(pythonJsonDumps(response));
  });

  it('throws where pythonJsonDumps throws', () => {
    expect(() => responseJson({ jsonrpc: '2.0', id: 1, result: { n: 1n } })).to.throw(TypeError);
  });
});
