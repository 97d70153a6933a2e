import { NotSpmError, SCHEMA_METHODS, pyTuple, vdsmMessage } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { hostApi } from '../api/host.js';
import { ApiRegistry, emulate } from '../api/registry.js';
import type { CallContext } from '../api/registry.js';
import { silentLogger } from '../logger.js';
import { MAX_JSON_DEPTH } from './json-body.js';
import { RpcDispatcher } from './rpc-dispatcher.js';
import type { RpcDispatcherOptions } from './rpc-dispatcher.js';

const context: CallContext = { flowId: 'flow-1', connection: { transport: 'memory' } };
const identity = { uuid: '2d1f2a4e-8a52-4bd4-9d38-1c8f7e6a0b11' };

/** Host verbs plus test verbs that fail in the ways handlers can. */
function registry(): ApiRegistry {
  return new ApiRegistry([
    hostApi({ identity }),
    {
      namespace: 'Task',
      verbs: [
        emulate('Task.clear', () => {
          throw new NotSpmError(vdsmMessage(654, pyTuple()));
        }),
        emulate('Task.stop', () => {
          throw new Error('disk on fire');
        }),
        emulate('Task.getInfo', () => ({ id: 'x', verb: 'moveImage', bad: 10n }) as never),
      ],
    },
  ]);
}

function dispatcher(options: Partial<RpcDispatcherOptions> = {}): RpcDispatcher {
  return new RpcDispatcher({ registry: registry(), knownMethods: new Set(SCHEMA_METHODS), isReady: () => true, logger: silentLogger, ...options });
}

/** Runs one body and returns the answer's body (undefined when nothing is sent). */
async function answer(body: string, options: Partial<RpcDispatcherOptions> = {}): Promise<string | undefined> {
  return (await dispatcher(options).prepare(body).run(context))?.body;
}

describe('RpcDispatcher', () => {
  it('answers a request object with a single object in VDSM key order and json.dumps spacing', async () => {
    expect(await answer('{"jsonrpc": "2.0", "method": "Host.ping2", "params": {}, "id": "a"}')).to.equal('{"jsonrpc": "2.0", "id": "a", "result": true}');
  });

  it('answers a one-element array (what vdsm\'s client sends) with a single object', async () => {
    expect(await answer('[{"jsonrpc": "2.0", "method": "Host.echo", "params": {"message": "hé"}, "id": 7}]')).to.equal(
      '{"jsonrpc": "2.0", "id": 7, "result": "h\\u00e9"}',
    );
  });

  it('reports the ids of well-formed requests before running them', () => {
    const prepared = dispatcher().prepare('[{"jsonrpc": "2.0", "method": "Host.ping2", "id": "a"}, {"jsonrpc": "2.0", "method": "Host.ping2"}, {"jsonrpc": "1.0", "id": "c"}, {"jsonrpc": "2.0", "method": "Host.ping2", "id": 4}]');
    expect(prepared.ids).to.deep.equal(['a', 4]);
  });

  it('answers invalid JSON with -32700 and id null', async () => {
    expect(await answer('{"jsonrpc": ')).to.equal(
      '{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Invalid JSON was received by the server. An error occurred on the server while parsing the JSON text."}}',
    );
  });

  it('answers a wrong jsonrpc version with -32600, the request as Python repr and id null', async () => {
    expect(await answer('{"jsonrpc": "1.0", "method": "Host.ping2", "params": {"a": [true, null, 1.5]}, "id": "x"}')).to.equal(
      '{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Invalid request: {\'request\': {\'jsonrpc\': \'1.0\', \'method\': \'Host.ping2\', \'params\': {\'a\': [True, None, 1.5]}, \'id\': \'x\'}, \'reason\': \'Wrong protocol version\'}"}}',
    );
  });

  it('answers the other malformed requests as VDSM words them', async () => {
    const error = async (body: string): Promise<unknown> => JSON.parse((await answer(body)) as string).error;
    expect(await error('[]')).to.deep.equal({ code: -32600, message: "Invalid request: {'request': [], 'reason': 'request batch is empty'}" });
    expect(await error('{"jsonrpc": "2.0", "id": 1}')).to.deep.equal({
      code: -32600,
      message: "Invalid request: {'request': {'jsonrpc': '2.0', 'id': 1}, 'reason': 'missing method header in method'}",
    });
    expect(await error('{"jsonrpc": "2.0", "method": "Host.ping2", "params": 5, "id": 1}')).to.deep.equal({
      code: -32600,
      message: "Invalid request: {'request': {'jsonrpc': '2.0', 'method': 'Host.ping2', 'params': 5, 'id': 1}, 'reason': 'wrong params type'}",
    });
    expect(await error('42')).to.deep.equal({ code: -32603, message: 'Internal JSON-RPC error' });
    expect(await error('{"jsonrpc": "2.0", "method": "Host.ping2", "id": true}')).to.have.property('code', -32600);
    expect(await error('{"jsonrpc": "2.0", "method": 5, "id": 1}')).to.have.property('code', -32600);
  });

  it('answers an unknown method with -32601 naming it', async () => {
    expect(await answer('{"jsonrpc": "2.0", "method": "No.such", "params": {}, "id": "u"}')).to.equal(
      '{"jsonrpc": "2.0", "id": "u", "error": {"code": -32601, "message": "The method does not exist or is not available: {\'method\': \'No.such\'}"}}',
    );
  });

  it('answers a method VDSM has but the fake does not emulate with 44 Not implemented', async () => {
    const body = await answer('{"jsonrpc": "2.0", "method": "VM.create", "params": {}, "id": "v"}');
    expect(JSON.parse(body as string).error).to.deep.equal({
      code: 44,
      message: "Not implemented: {'method': 'VM.create', 'reason': 'fake-vdsm does not emulate this verb yet'}",
    });
  });

  it('answers bad params with -32602 and a reason naming the param', async () => {
    const error = JSON.parse((await answer('{"jsonrpc": "2.0", "method": "Host.echo", "params": {"message": 5}, "id": 1}')) as string).error;
    expect(error.code).to.equal(-32602);
    expect(error.message).to.match(/^Invalid method parameter\(s\): \{'reason': 'message: .*string.*'\}$/);
  });

  it('ignores unknown params like VDSM, unless strictParams', async () => {
    const body = '{"jsonrpc": "2.0", "method": "Host.echo", "params": {"message": "m", "extra": 1}, "id": 1}';
    expect(await answer(body)).to.equal('{"jsonrpc": "2.0", "id": 1, "result": "m"}');
    expect(JSON.parse((await answer(body, { strictParams: true })) as string).error.code).to.equal(-32602);
  });

  it('maps positional params to names in schema order', async () => {
    expect(await answer('{"jsonrpc": "2.0", "method": "Host.echo", "params": ["pos"], "id": 1}')).to.equal('{"jsonrpc": "2.0", "id": 1, "result": "pos"}');
    expect(JSON.parse((await answer('{"jsonrpc": "2.0", "method": "Host.echo", "params": ["a", "b"], "id": 1}')) as string).error.code).to.equal(-32602);
  });

  it('passes a VdsmError through as its code and message', async () => {
    expect(await answer('{"jsonrpc": "2.0", "method": "Task.clear", "params": {"taskID": "2d1f2a4e-8a52-4bd4-9d38-1c8f7e6a0b11"}, "id": 1}')).to.equal(
      '{"jsonrpc": "2.0", "id": 1, "error": {"code": 654, "message": "Not SPM: ()"}}',
    );
  });

  it('turns any other exception into -32603 with its text', async () => {
    expect(await answer('{"jsonrpc": "2.0", "method": "Task.stop", "params": {"taskID": "2d1f2a4e-8a52-4bd4-9d38-1c8f7e6a0b11"}, "id": 1}')).to.equal(
      '{"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "Internal JSON-RPC error: {\'reason\': \'disk on fire\'}"}}',
    );
  });

  it('turns a result JSON cannot carry into -32603 for that response', async () => {
    const error = JSON.parse((await answer('{"jsonrpc": "2.0", "method": "Task.getInfo", "params": {"taskID": "2d1f2a4e-8a52-4bd4-9d38-1c8f7e6a0b11"}, "id": 1}')) as string).error;
    expect(error.code).to.equal(-32603);
    expect(error.message).to.match(/BigInt/);
  });

  it('answers 99 to everything while not ready, then serves', async () => {
    let ready = false;
    const instance = dispatcher({ isReady: () => ready });
    const ping = '{"jsonrpc": "2.0", "method": "Host.ping2", "id": 1}';
    expect((await instance.prepare(ping).run(context))?.body).to.equal(
      '{"jsonrpc": "2.0", "id": 1, "error": {"code": 99, "message": "Recovering from crash or Initializing"}}',
    );
    expect(JSON.parse((await instance.prepare('{"jsonrpc": "2.0", "method": "No.such", "id": 2}').run(context))?.body as string).error.code).to.equal(99);
    ready = true;
    expect((await instance.prepare(ping).run(context))?.body).to.equal('{"jsonrpc": "2.0", "id": 1, "result": true}');
  });

  it('answers a batch of several with an array in request order (VDSM sends nothing)', async () => {
    const answered = await dispatcher()
      .prepare('[{"jsonrpc": "2.0", "method": "Host.ping2", "id": "a"}, {"jsonrpc": "2.0", "method": "Host.echo", "params": {"message": "b"}, "id": "b"}, {"jsonrpc": "2.0", "method": "Host.ping2"}, {"jsonrpc": "9"}]')
      .run(context);
    expect(answered?.body).to.equal(
      '[{"jsonrpc": "2.0", "id": "a", "result": true},{"jsonrpc": "2.0", "id": "b", "result": "b"},' +
        '{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Invalid request: {\'request\': {\'jsonrpc\': \'9\'}, \'reason\': \'Wrong protocol version\'}"}}]',
    );
    expect(answered?.ids).to.deep.equal(['a', 'b', null]);
  });

  it('runs a notification and answers nothing, even when it fails', async () => {
    let calls = 0;
    const counting = new ApiRegistry([{ namespace: 'Host', verbs: [emulate('Host.ping2', () => (calls++, true))] }]);
    const instance = dispatcher({ registry: counting });
    expect(await instance.prepare('{"jsonrpc": "2.0", "method": "Host.ping2"}').run(context)).to.equal(undefined);
    expect(calls).to.equal(1);
    expect(await instance.prepare('{"jsonrpc": "2.0", "method": "No.such", "id": null}').run(context)).to.equal(undefined);
    expect(await instance.prepare('[{"jsonrpc": "2.0", "method": "Host.ping2"}, {"jsonrpc": "2.0", "method": "Host.ping2"}]').run(context)).to.equal(undefined);
  });

  it('answers JSON nested deeper than Python\'s json.loads can read with -32700, as VDSM, and renders none of it', async () => {
    const error = async (body: string): Promise<{ code: number; message: string }> => JSON.parse((await answer(body)) as string).error;
    const parseError = vdsmMessage(-32700);
    for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
      const deep = '['.repeat(depth) + ']'.repeat(depth);
      expect(await error(deep), `${depth} deep`).to.deep.equal({ code: -32700, message: parseError });
      const inParams = `{"jsonrpc": "1.0", "method": "Host.ping2", "params": ${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}, "id": 1}`;
      expect(await error(inParams), `${depth} deep in params`).to.deep.equal({ code: -32700, message: parseError });
    }
    // Up to the bound a body is read, and an invalid request is worded in full.
    const nested = '['.repeat(MAX_JSON_DEPTH - 1) + ']'.repeat(MAX_JSON_DEPTH - 1);
    const invalid = await error(`{"jsonrpc": "1.0", "method": "Host.ping2", "params": ${nested}, "id": 1}`);
    expect(invalid.code).to.equal(-32600);
    const inParam = '['.repeat(MAX_JSON_DEPTH - 2) + ']'.repeat(MAX_JSON_DEPTH - 2);
    expect(await answer(`{"jsonrpc": "2.0", "method": "Host.ping2", "params": {"x": ${inParam}}, "id": 2}`)).to.equal('{"jsonrpc": "2.0", "id": 2, "result": true}');
  });

  it('echoes an integer id beyond 2^53 exactly as sent, alone and in a batch, as Python\'s exact ints do', async () => {
    const big = '18446744073709551617';
    expect(await answer(`{"jsonrpc": "2.0", "method": "Host.ping2", "id": ${big}}`)).to.equal(`{"jsonrpc": "2.0", "id": ${big}, "result": true}`);
    const prepared = dispatcher().prepare(`[{"jsonrpc": "2.0", "method": "Host.ping2", "id": ${big}}, {"jsonrpc": "2.0", "method": "No.such", "id": -${big}0}]`);
    expect(prepared.ids).to.deep.equal([18446744073709551617n, -184467440737095516170n]);
    expect((await prepared.run(context))?.body).to.equal(
      `[{"jsonrpc": "2.0", "id": ${big}, "result": true},{"jsonrpc": "2.0", "id": -${big}0, "error": {"code": -32601, "message": "${vdsmMessage(-32601, { method: 'No.such' }).replace(/"/g, '\\"')}"}}]`,
    );
    // A safe integer stays a number.
    expect(dispatcher().prepare('{"jsonrpc": "2.0", "method": "Host.ping2", "id": 9007199254740991}').ids).to.deep.equal([9007199254740991]);
  });

  it('gives handlers the call context', async () => {
    let seen: CallContext | undefined;
    const spying = new ApiRegistry([{ namespace: 'Host', verbs: [emulate('Host.ping2', (_params, ctx) => ((seen = ctx), true))] }]);
    await dispatcher({ registry: spying }).prepare('{"jsonrpc": "2.0", "method": "Host.ping2", "id": 1}').run(context);
    expect(seen).to.equal(context);
  });
});
