/**
 * Interceptors around a real RpcDispatcher: they compose in order, see
 * each call and its response, and a broken one costs the call an error
 * answer, never the dispatcher's promise.
 */
import { SCHEMA_METHODS } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { hostApi } from '../api/host.js';
import { ApiRegistry } from '../api/registry.js';
import type { CallContext } from '../api/registry.js';
import { silentLogger } from '../logger.js';
import { RpcDispatcher } from './rpc-dispatcher.js';
import { answeredCode } from './rpc-interceptor.js';
import type { RpcInterceptor } from './rpc-interceptor.js';

const context: CallContext = { flowId: undefined, connection: { transport: 'tcp' } };

function dispatcher(interceptors: readonly RpcInterceptor[]): RpcDispatcher {
  return new RpcDispatcher({
    registry: new ApiRegistry([hostApi({ identity: { uuid: '2d1f2a4e-8a52-4bd4-9d38-1c8f7e6a0b11' } })]),
    knownMethods: new Set(SCHEMA_METHODS),
    isReady: () => true,
    logger: silentLogger,
    interceptors,
  });
}

describe('RPC interceptors', () => {
  it('wrap each call, the first outermost, seeing the call as sent and the code it got', async () => {
    const seen: string[] = [];
    const tracer =
      (name: string): RpcInterceptor =>
      (next) =>
      async (call, ctx) => {
        seen.push(`${name} in ${call.method} ${JSON.stringify(call.params)}`);
        const response = await next(call, ctx);
        seen.push(`${name} out ${answeredCode(call, response)}`);
        return response;
      };
    const answer = await dispatcher([tracer('a'), tracer('b')])
      .prepare('{"jsonrpc": "2.0", "method": "Host.echo", "params": ["hi"], "id": 1}')
      .run(context);
    expect(answer?.body).to.equal('{"jsonrpc": "2.0", "id": 1, "result": "hi"}');
    expect(seen).to.deep.equal(['a in Host.echo ["hi"]', 'b in Host.echo ["hi"]', 'b out 0', 'a out 0']);
  });

  it('may answer in place of the verb', async () => {
    const refuse: RpcInterceptor = () => async (call) => ({ jsonrpc: '2.0', id: call.id ?? null, error: { code: 100, message: 'refused' } });
    const answer = await dispatcher([refuse]).prepare('{"jsonrpc": "2.0", "method": "Host.ping2", "id": "x"}').run(context);
    expect(answer?.body).to.equal('{"jsonrpc": "2.0", "id": "x", "error": {"code": 100, "message": "refused"}}');
  });

  it('a throwing interceptor gets the call -32603, and the dispatcher keeps answering', async () => {
    const broken: RpcInterceptor = () => async () => {
      throw new Error('interceptor bug');
    };
    const answer = await dispatcher([broken]).prepare('{"jsonrpc": "2.0", "method": "Host.ping2", "id": 9}').run(context);
    expect(JSON.parse(answer?.body ?? '')).to.deep.include({ id: 9, error: { code: -32603, message: "Internal JSON-RPC error: {'reason': 'interceptor bug'}" } });
  });
});
