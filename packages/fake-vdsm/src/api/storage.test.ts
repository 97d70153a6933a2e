import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SCHEMA_METHODS, VERBS } from '@vdsm-kit/client/api';
import type { VdsmMethod } from '@vdsm-kit/client/api';
import { silentLogger } from '../logger.js';
import { RpcDispatcher } from '../server/rpc-dispatcher.js';
import { createStorageTestBed, storageTestFixture, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { hostApi } from './host.js';
import { ApiRegistry } from './registry.js';
import type { CallContext } from './registry.js';
import { storageApi, storageJobs } from './storage.js';

const { pool, fileDomain, blockDomain, image, volume, blockImage, chainImage, chainBase, chainLeaf } = TEST_IDS;
const CONTEXT: CallContext = { flowId: undefined, connection: { transport: 'tcp' } };

type Answer = { result: unknown; error?: undefined } | { error: { code: number; message: string }; result?: undefined };

describe('api/storage (the storage namespaces over JSON-RPC)', () => {
  let bed: StorageTestBed;
  let dispatchers: Map<number, RpcDispatcher>;

  beforeEach(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture({ hosts: 2 }), jobs: [storageJobs] });
    dispatchers = new Map(
      [1, 2].map((hostId) => [
        hostId,
        new RpcDispatcher({
          registry: new ApiRegistry([hostApi({ identity: { uuid: randomUUID() } }), ...storageApi(bed.contextFor(hostId))]),
          knownMethods: new Set(SCHEMA_METHODS),
          isReady: () => true,
          logger: silentLogger,
        }),
      ]),
    );
  });
  afterEach(async () => {
    await bed.close();
  });

  /** One JSON-RPC request to host `hostId`, as VDSM's client sends it (a one-element array). */
  async function call(hostId: number, method: string, params: Record<string, unknown> = {}): Promise<Answer> {
    const dispatcher = dispatchers.get(hostId) as RpcDispatcher;
    const answer = await dispatcher.prepare(JSON.stringify([{ jsonrpc: '2.0', method, params, id: 'r1' }])).run(CONTEXT);
    return JSON.parse(answer?.body ?? 'null') as Answer;
  }

  /** The result, checked against the client's result schema of the verb. */
  async function result(hostId: number, method: VdsmMethod, params: Record<string, unknown> = {}): Promise<unknown> {
    const answer = await call(hostId, method, params);
    expect(answer.error, `${method}: ${JSON.stringify(answer.error)}`).to.equal(undefined);
    return VERBS[method].result.parse(answer.result);
  }

  async function error(hostId: number, method: VdsmMethod, params: Record<string, unknown> = {}): Promise<{ code: number; message: string }> {
    const answer = await call(hostId, method, params);
    expect(answer.error, `${method} answered ${JSON.stringify(answer.result)}`).to.not.equal(undefined);
    return answer.error as { code: number; message: string };
  }

  const finished = (taskId: string) => () => bed.tasks.getStatus(taskId).taskState === 'finished';

  it('registers every storage verb of the verb table next to the Host verbs of host.ts', () => {
    const registry = new ApiRegistry([hostApi({ identity: { uuid: randomUUID() } }), ...storageApi(bed.ctx)]);
    expect(registry.methods).to.have.members(Object.keys(VERBS));
  });

  it("answers every getter with the client's result schema", async () => {
    await result(1, 'StoragePool.getInfo', { storagepoolID: pool });
    await result(2, 'StoragePool.getSpmStatus', { storagepoolID: pool });
    for (const sd of [fileDomain, blockDomain]) {
      await result(1, 'StorageDomain.getInfo', { storagedomainID: sd });
      await result(1, 'StorageDomain.getStats', { storagedomainID: sd });
      await result(1, 'StorageDomain.getImages', { storagedomainID: sd });
    }
    expect(await result(1, 'StorageDomain.getVolumes', { storagedomainID: fileDomain, storagepoolID: pool, imageID: chainImage })).to.have.members([chainBase, chainLeaf]);
    expect(await result(1, 'Image.getVolumes', { imageID: image, storagepoolID: pool, storagedomainID: fileDomain })).to.deep.equal([volume]);
    await result(1, 'Volume.getInfo', { volumeID: volume, storagepoolID: pool, storagedomainID: fileDomain, imageID: image });
    expect(await result(2, 'Host.getConnectedStoragePools')).to.deep.equal([pool]);
    expect(await result(2, 'Host.getStorageDomains', { storagepoolID: pool })).to.have.members([fileDomain, blockDomain]);
  });

  it('gives VDSM errors as {code, message}', async () => {
    const sd = randomUUID();
    expect(await error(1, 'StorageDomain.getInfo', { storagedomainID: sd })).to.deep.equal({ code: 358, message: `Storage domain does not exist: ('${sd}',)` });
    const img = randomUUID();
    expect(await error(1, 'Image.delete', { imageID: img, storagepoolID: pool, storagedomainID: fileDomain, postZero: false, force: false })).to.deep.equal({
      code: 268,
      message: `Image does not exist in domain: 'image=${img}, domain=${fileDomain}'`,
    });
    expect(await error(2, 'Image.delete', { imageID: image, storagepoolID: pool, storagedomainID: fileDomain, postZero: false, force: false })).to.deep.equal({
      code: 654,
      message: 'Not SPM',
    });
  });

  describe('Host task listings', () => {
    it('answers getAllTasksStatuses/Info only on the SPM: 654 `Not SPM: ()` elsewhere', async () => {
      const taskId = (await result(1, 'Image.delete', { imageID: image, storagepoolID: pool, storagedomainID: fileDomain, postZero: false, force: false })) as string;
      await bed.waitFor(finished(taskId));
      const statuses = (await result(1, 'Host.getAllTasksStatuses')) as Record<string, unknown>;
      expect(statuses[taskId]).to.deep.include({ taskID: taskId, taskState: 'finished', taskResult: 'success' });
      expect(await result(1, 'Host.getAllTasksInfo')).to.deep.equal({ [taskId]: { id: taskId, verb: 'deleteImage' } });
      for (const method of ['Host.getAllTasksStatuses', 'Host.getAllTasksInfo'] as const) {
        expect(await error(2, method)).to.deep.equal({ code: 654, message: 'Not SPM: ()' });
      }
      // The SPM lists its tasks with the internal state; another host holds none of them.
      const all = (await result(1, 'Host.getAllTasks')) as Record<string, unknown>;
      expect(all[taskId]).to.deep.equal({ id: taskId, verb: 'deleteImage', state: 'finished', code: 0, message: '1 jobs completed successfully', result: '', tag: 'spm' });
      expect(await result(2, 'Host.getAllTasks')).to.not.have.property(taskId);
    });

    it('answers 654 `Not SPM: ()` to a host connected to no pool', async () => {
      expect(await result(2, 'StoragePool.disconnect', { storagepoolID: pool, hostID: 2, scsiKey: pool })).to.equal(true);
      expect(await result(2, 'Host.getConnectedStoragePools')).to.deep.equal([]);
      expect(await error(2, 'Host.getAllTasksStatuses')).to.deep.equal({ code: 654, message: 'Not SPM: ()' });
    });
  });

  describe('Task verbs', () => {
    const zeroParams = { imageID: blockImage, storagepoolID: pool, storagedomainID: blockDomain, postZero: true, force: false };

    it('answers 401 for an unknown task, on any host', async () => {
      const id = randomUUID();
      for (const method of ['Task.getStatus', 'Task.getInfo', 'Task.clear', 'Task.stop', 'Task.revert'] as const) {
        expect(await error(2, method, { taskID: id })).to.deep.equal({ code: 401, message: `Task id unknown: ('${id}',)` });
      }
    });

    it('answers 401 for any unknown id, UUID or not, and 1000 only for an empty or dotted one, as VDSM', async () => {
      for (const method of ['Task.getStatus', 'Task.getInfo', 'Task.clear', 'Task.stop', 'Task.revert'] as const) {
        expect(await error(1, method, { taskID: 'no-such-task' })).to.deep.equal({ code: 401, message: "Task id unknown: ('no-such-task',)" });
        expect(await error(1, method, { taskID: '../a.b' })).to.deep.equal({ code: 1000, message: "Invalid parameter: 'taskID=../a.b'" });
        expect(await error(1, method, { taskID: '' })).to.deep.equal({ code: 1000, message: "Invalid parameter: 'taskID='" });
      }
    });

    it('refuses to clear (410) or revert (403) a running task, stops it (411), then clears it', async () => {
      const taskId = (await result(1, 'Image.delete', zeroParams)) as string;
      expect(await result(1, 'Task.getInfo', { taskID: taskId })).to.deep.equal({ id: taskId, verb: 'deleteImage' });
      expect((await error(2, 'Task.getInfo', { taskID: taskId })).code).to.equal(401);
      await bed.waitFor(() => bed.tasks.getStatus(taskId).message === 'running job 1 of 1');
      expect(await error(1, 'Task.clear', { taskID: taskId })).to.deep.equal({
        code: 410,
        message: `Operation is not allowed in this task state: ("can't clean in state running",)`,
      });
      expect((await error(1, 'Task.revert', { taskID: taskId })).code).to.equal(403);
      expect(await result(1, 'Task.stop', { taskID: taskId })).to.equal(true);
      await bed.waitFor(finished(taskId));
      expect(await result(1, 'Task.getStatus', { taskID: taskId })).to.deep.equal({
        taskID: taskId,
        taskState: 'finished',
        taskResult: 'cleanSuccess',
        code: 411,
        message: `value=${taskId} abortedcode=411`,
      });
      // Reverting a rolled-back task is a state error.
      expect(await error(1, 'Task.revert', { taskID: taskId })).to.deep.equal({
        code: 441,
        message: "cannot move task to requested state: ('from recovered to racquiring',)",
      });
      expect(await result(1, 'Task.clear', { taskID: taskId })).to.equal(true);
      expect((await error(1, 'Task.getStatus', { taskID: taskId })).code).to.equal(401);
    });
  });

  describe('StoragePool SPM verbs', () => {
    it('refuses spmStop while a task runs (653), then moves the role with spmStop/spmStart', async () => {
      const taskId = (await result(1, 'Image.delete', { imageID: blockImage, storagepoolID: pool, storagedomainID: blockDomain, postZero: true, force: false })) as string;
      expect(await error(1, 'StoragePool.spmStop', { storagepoolID: pool })).to.deep.equal({
        code: 653,
        message: `Error stopping SPM, SPM has unfinished task(s): 'spUUID=${pool}, task=None'`,
      });
      expect(await result(1, 'Task.stop', { taskID: taskId })).to.equal(true);
      await bed.waitFor(finished(taskId));
      expect(await result(1, 'StoragePool.spmStop', { storagepoolID: pool })).to.equal(true);
      const start = (await result(2, 'StoragePool.spmStart', { storagepoolID: pool, prevID: 1, prevLver: '0', enableScsiFencing: 'false' })) as string;
      await bed.waitFor(finished(start));
      expect(await result(2, 'StoragePool.getSpmStatus', { storagepoolID: pool })).to.deep.equal({ spmId: 2, spmStatus: 'SPM', spmLver: 1 });
      // The new SPM lists the old SPM's finished task; the old one no longer may.
      expect(await result(2, 'Host.getAllTasksStatuses')).to.have.property(taskId);
      expect(await error(1, 'Host.getAllTasksStatuses')).to.deep.equal({ code: 654, message: 'Not SPM: ()' });
    });
  });
});
