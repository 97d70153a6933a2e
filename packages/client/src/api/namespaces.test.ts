import { expect } from 'chai';
import type { CallOptions, RpcCaller } from '../rpc/caller.js';
import { NotSpmError, vdsmErrorFromRpc } from './errors.js';
import { InvalidParamsError, parseVerbParams } from './invalid-params.js';
import { callVerb, createVdsmApi } from './namespaces.js';
import type { VdsmApi } from './namespaces.js';
import type { TaskId, TaskStatus } from './types.js';
import { VERBS } from './verbs/index.js';
import type { VdsmMethod } from './verbs/index.js';

interface Call {
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly options: CallOptions | undefined;
}

/** Records every call and answers from `answer` (the unit under test is the param mapping, not the wire). */
function recordingCaller(answer: (method: string) => unknown = () => true): RpcCaller & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    call(method, params, options) {
      calls.push({ method, params, options });
      try {
        return Promise.resolve(answer(method));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

const IMG = '0f1e2d3c-4b5a-4697-8877-665544332211';
const SP = '11111111-2222-4333-8444-555555555555';
const SD = '5e5a6f0b-6c4e-4e3a-9b8e-2f1d7c3a4b21';
const DST = 'aaaaaaaa-bbbb-4ccc-9ddd-eeeeeeeeeeee';
const TASK = '9d2c1b0a-8f7e-4d6c-9b5a-493827160504';

describe('createVdsmApi', () => {
  it('has one namespace per VDSM namespace, one function per verb of the table', () => {
    const api = createVdsmApi(recordingCaller());
    expect(Object.keys(api).sort()).to.deep.equal(['Host', 'Image', 'SDM', 'StorageDomain', 'StoragePool', 'Task', 'Volume']);
    const methods = Object.entries(api).flatMap(([ns, verbs]) => Object.keys(verbs).map((verb) => `${ns}.${verb}`));
    expect(methods.sort()).to.deep.equal(Object.keys(VERBS).sort());
    expect(Object.isFrozen(api) && Object.isFrozen(api.Image)).to.equal(true);
  });

  it('sends the parsed wire params (all of them, in schema order) and resolves with the result', async () => {
    const caller = recordingCaller(() => TASK);
    const api = createVdsmApi(caller);
    const taskId: TaskId = await api.Image.move(
      { imageID: IMG, storagepoolID: SP, storagedomainID: SD, dstSdUUID: DST, operation: 1, postZero: false, force: false },
      { flowId: 'flow-1', timeoutMs: 5000 },
    );
    expect(taskId).to.equal(TASK);
    expect(caller.calls).to.have.length(1);
    const [call] = caller.calls;
    expect(call?.method).to.equal('Image.move');
    expect(call?.params).to.deep.equal({
      imageID: IMG,
      storagepoolID: SP,
      storagedomainID: SD,
      dstSdUUID: DST,
      operation: 1,
      postZero: false,
      force: false,
      discard: false,
    });
    expect(Object.keys(call?.params ?? {})).to.deep.equal(['imageID', 'storagepoolID', 'storagedomainID', 'dstSdUUID', 'operation', 'postZero', 'force', 'discard']);
    expect(call?.options).to.deep.equal({ flowId: 'flow-1', timeoutMs: 5000 });
  });

  it('lets verbs without required params be called with no params object', async () => {
    const caller = recordingCaller((method) => (method === 'Host.getStorageDomains' ? [SD] : true));
    const api = createVdsmApi(caller);
    expect(await api.Host.ping2()).to.equal(true);
    expect(await api.Host.getStorageDomains()).to.deep.equal([SD]);
    await api.Host.getStorageDomains({ storagepoolID: SP }, { flowId: 'f' });
    expect(caller.calls.map((c) => [c.method, c.params])).to.deep.equal([
      ['Host.ping2', {}],
      ['Host.getStorageDomains', { storagepoolID: null, domainClass: null, storageType: null, remotePath: null }],
      ['Host.getStorageDomains', { storagepoolID: SP, domainClass: null, storageType: null, remotePath: null }],
    ]);
  });

  it('types results with the real wire types', async () => {
    const status: TaskStatus = { taskID: TASK, taskState: 'finished', taskResult: 'cleanSuccess', code: 268, message: 'value=... abortedcode=268' };
    const api = createVdsmApi(recordingCaller(() => status));
    const got = await api.Task.getStatus({ taskID: TASK });
    // Compile-time checks: these lines only type-check with the right result types.
    const state: 'unknown' | 'init' | 'running' | 'finished' | 'aborting' | 'cleaning' = got.taskState;
    const code: number = got.code;
    expect([state, code]).to.deep.equal(['finished', 268]);
  });

  it('fails bad params locally with every issue, sending nothing', async () => {
    const caller = recordingCaller();
    const api = createVdsmApi(caller);
    const bad = { imageID: 'not-a-uuid', storagepoolID: SP, storagedomainID: SD, dstSdUUID: DST, operation: 3, postZero: false, force: false, extra: 1 };
    const error: unknown = await api.Image.move(bad as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(InvalidParamsError);
    const invalid = error as InvalidParamsError;
    expect(invalid.code).to.equal('VDSM_ERR_INVALID_PARAMS');
    expect(invalid.method).to.equal('Image.move');
    expect(invalid.issues.map((issue) => issue.path.join('.')).sort()).to.deep.equal(['', 'imageID', 'operation']);
    expect(invalid.message).to.match(/^Invalid params for Image\.move: /).and.match(/imageID: /).and.match(/operation: /).and.match(/extra/);
    expect(caller.calls).to.have.length(0);
  });

  it("passes the caller's rejection through untouched", async () => {
    const caller = recordingCaller(() => {
      throw vdsmErrorFromRpc({ code: 654, message: 'Not SPM: ()' });
    });
    const api = createVdsmApi(caller);
    const error: unknown = await api.Host.getAllTasksStatuses().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NotSpmError);
    expect((error as NotSpmError).message).to.equal('Not SPM: ()');
  });
});

describe('callVerb and parseVerbParams', () => {
  it('calls one verb by name', async () => {
    const caller = recordingCaller(() => ({ id: TASK, verb: 'moveImage' }));
    const info = await callVerb(caller, 'Task.getInfo', { taskID: TASK });
    expect(info.verb).to.equal('moveImage');
    expect(caller.calls[0]?.params).to.deep.equal({ taskID: TASK });
  });

  it('refuses a method the typed API does not know', () => {
    expect(() => parseVerbParams('Host.nope' as VdsmMethod, {} as never)).to.throw(RangeError, /Host\.nope/);
    expect(() => parseVerbParams('constructor' as VdsmMethod, {} as never)).to.throw(RangeError);
  });
});

/**
 * Compile-time checks, never run: `tsc -p tsconfig.test.json` fails if any
 * line marked @ts-expect-error compiles, i.e. if the namespaces are not typed
 * from the verb table.
 */
export function typeChecks(api: VdsmApi): void {
  // @ts-expect-error a required param is missing
  void api.Task.clear({});
  // @ts-expect-error params are required for this verb
  void api.Image.delete();
  // @ts-expect-error operation is VDSM's int 1 | 2, not the schema's string
  void api.Image.move({ imageID: IMG, storagepoolID: SP, storagedomainID: SD, dstSdUUID: DST, operation: 'COPY', postZero: false, force: false });
  // @ts-expect-error misspelt param name
  void api.Task.stop({ taskId: TASK });
  // @ts-expect-error no such verb
  void api.Host.ping;
  // @ts-expect-error a task id is not a status
  const status: TaskStatus = await0(api.Image.delete({ imageID: IMG, storagepoolID: SP, storagedomainID: SD, postZero: false, force: false }));
  void status;
}

declare function await0<T>(promise: Promise<T>): T;
