import { expect } from 'chai';
import type { CallOptions, RpcCaller } from '../rpc/caller.js';
import { copyImage, deleteImage, moveImage } from './helpers.js';
import { InvalidParamsError } from './invalid-params.js';

interface Call {
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly options: CallOptions | undefined;
}

/** Records every call and answers a fixed task id (the unit under test is the param mapping). */
function recordingCaller(taskId: string): RpcCaller & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    call(method, params, options) {
      calls.push({ method, params, options });
      return Promise.resolve(taskId);
    },
  };
}

const IMG = '0f1e2d3c-4b5a-4697-8877-665544332211';
const SP = '11111111-2222-4333-8444-555555555555';
const SRC = '5e5a6f0b-6c4e-4e3a-9b8e-2f1d7c3a4b21';
const DST = 'aaaaaaaa-bbbb-4ccc-9ddd-eeeeeeeeeeee';
const TASK = '9d2c1b0a-8f7e-4d6c-9b5a-493827160504';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('moveImage', () => {
  it("sends Image.move with operation 1 for 'copy' and every param, false flags included", async () => {
    const caller = recordingCaller(TASK);
    const taskId = await moveImage(caller, { imageID: IMG, storagepoolID: SP, srcDomainID: SRC, dstDomainID: DST, operation: 'copy' }, { flowId: 'move-1' });
    expect(taskId).to.equal(TASK);
    expect(caller.calls).to.have.length(1);
    const call = caller.calls[0];
    expect(call?.method).to.equal('Image.move');
    expect(call?.params).to.deep.equal({
      imageID: IMG,
      storagepoolID: SP,
      storagedomainID: SRC,
      dstSdUUID: DST,
      operation: 1,
      postZero: false,
      force: false,
      discard: false,
    });
    expect(Object.keys(call?.params ?? {})).to.deep.equal(['imageID', 'storagepoolID', 'storagedomainID', 'dstSdUUID', 'operation', 'postZero', 'force', 'discard']);
    expect(call?.options).to.deep.equal({ flowId: 'move-1' });
  });

  it("sends operation 2 for 'move' and passes postZero, force and discard through", async () => {
    const caller = recordingCaller(TASK);
    await moveImage(caller, { imageID: IMG, storagepoolID: SP, srcDomainID: SRC, dstDomainID: DST, operation: 'move', postZero: true, force: true, discard: true });
    expect(caller.calls[0]?.params).to.include({ operation: 2, postZero: true, force: true, discard: true });
  });

  it('refuses a missing or unknown operation and bad ids in its own vocabulary, sending nothing', async () => {
    const caller = recordingCaller(TASK);
    const noOperation = await rejection(moveImage(caller, { imageID: IMG, storagepoolID: SP, srcDomainID: SRC, dstDomainID: DST } as never));
    expect((noOperation as InvalidParamsError).issues[0]?.path).to.deep.equal(['operation']);
    const swap = await rejection(moveImage(caller, { imageID: IMG, storagepoolID: SP, srcDomainID: SRC, dstDomainID: DST, operation: 'swap' } as never));
    expect((swap as InvalidParamsError).issues[0]?.path).to.deep.equal(['operation']);
    const badId = await rejection(moveImage(caller, { imageID: IMG, storagepoolID: SP, srcDomainID: 'nope', dstDomainID: DST, operation: 'copy' }));
    expect(badId).to.be.instanceOf(InvalidParamsError);
    expect((badId as InvalidParamsError).method).to.equal('moveImage');
    expect((badId as InvalidParamsError).issues.map((i) => i.path.join('.'))).to.deep.equal(['srcDomainID']);
    // VDSM's own name is not accepted in place of the helper's.
    const misspelt = { imageID: IMG, storagepoolID: SP, storagedomainID: SRC, dstDomainID: DST, operation: 'copy' };
    expect(await rejection(moveImage(caller, misspelt as never))).to.be.instanceOf(InvalidParamsError);
    expect(caller.calls).to.have.length(0);
  });
});

describe('copyImage', () => {
  const VOL = '22222222-3333-4444-8555-666666666666';
  const NEW_IMG = '33333333-4444-4555-8666-777777777777';
  const NEW_VOL = '44444444-5555-4666-8777-888888888888';

  it("sends Volume.copy (VDSM's copyImage, collapsing the chain) with VDSM's names, leaf and false flags by default", async () => {
    const caller = recordingCaller(TASK);
    const params = { storagepoolID: SP, srcDomainID: SRC, srcImageID: IMG, srcVolumeID: VOL, dstDomainID: DST, dstImageID: NEW_IMG, dstVolumeID: NEW_VOL } as const;
    expect(await copyImage(caller, { ...params, volFormat: 5, preallocate: 2 })).to.equal(TASK);
    expect(caller.calls[0]?.method).to.equal('Volume.copy');
    expect(caller.calls[0]?.params).to.deep.equal({
      volumeID: VOL,
      storagepoolID: SP,
      storagedomainID: SRC,
      imageID: IMG,
      dstSdUUID: DST,
      dstImgUUID: NEW_IMG,
      dstVolUUID: NEW_VOL,
      desc: '',
      volType: 8,
      volFormat: 5,
      preallocate: 2,
      postZero: false,
      force: false,
      discard: false,
    });
  });

  it('refuses a format or allocation VDSM does not know, sending nothing', async () => {
    const caller = recordingCaller(TASK);
    const params = { storagepoolID: SP, srcDomainID: SRC, srcImageID: IMG, srcVolumeID: VOL, dstDomainID: DST, dstImageID: NEW_IMG, dstVolumeID: NEW_VOL };
    const error = await rejection(copyImage(caller, { ...params, volFormat: 3, preallocate: 2 } as never));
    expect((error as InvalidParamsError).method).to.equal('copyImage');
    expect((error as InvalidParamsError).issues.map((i) => i.path.join('.'))).to.deep.equal(['volFormat']);
    expect(caller.calls).to.have.length(0);
  });
});

describe('deleteImage', () => {
  it('sends Image.delete with every param, force false', async () => {
    const caller = recordingCaller(TASK);
    const taskId = await deleteImage(caller, { imageID: IMG, storagepoolID: SP, storagedomainID: SRC, postZero: true }, { timeoutMs: 1000 });
    expect(taskId).to.equal(TASK);
    expect(caller.calls[0]?.method).to.equal('Image.delete');
    expect(caller.calls[0]?.params).to.deep.equal({
      imageID: IMG,
      storagepoolID: SP,
      storagedomainID: SRC,
      postZero: true,
      force: false,
      discard: false,
    });
    expect(Object.keys(caller.calls[0]?.params ?? {})).to.deep.equal(['imageID', 'storagepoolID', 'storagedomainID', 'postZero', 'force', 'discard']);
    expect(caller.calls[0]?.options).to.deep.equal({ timeoutMs: 1000 });
  });

  it('refuses a missing image id, sending nothing', async () => {
    const caller = recordingCaller(TASK);
    const error = await rejection(deleteImage(caller, { storagepoolID: SP, storagedomainID: SRC } as never));
    expect(error).to.be.instanceOf(InvalidParamsError);
    expect((error as InvalidParamsError).method).to.equal('deleteImage');
    expect(caller.calls).to.have.length(0);
  });
});
