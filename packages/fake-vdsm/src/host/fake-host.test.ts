/**
 * Several hosts in one fake process, through a real client on real sockets:
 * each answers on its own port as itself, all share the pool's storage, and
 * the SPM role decides which of them runs SPM verbs.
 */
import { createServer } from 'node:net';
import { NotSpmError, TaskResult, TaskState, VdsmErrorCode } from '@vdsm-kit/client/api';
import { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { DEFAULT_IDS, startFakeVdsm } from '../index.js';
import type { FakeVdsm, HostAddress } from '../index.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const { pool, fileDomain, image } = DEFAULT_IDS;

/** A port that was free a moment ago, with the next one free too. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listenOnce(0);
    if (port < 65535 && (await listenOnce(port + 1).then(() => true, () => false))) return port;
  }
  throw new Error('no two consecutive free ports found');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

describe('host/fake-host: several hosts in one fake', function () {
  this.timeout(30_000);
  let vdsm: FakeVdsm;
  const clients: VdsmClient[] = [];

  /** A client of host `id`. */
  const client = (id: number): VdsmClient => {
    const address = vdsm.hosts.find((host) => host.id === id) as HostAddress;
    const created = new VdsmClient({ transport: 'tcp', host: address.stomp.host, port: address.stomp.port, timeoutMs: 10_000 });
    clients.push(created);
    return created;
  };

  /** Polls Task.getStatus on `via` until the task is done. */
  const taskDone = async (via: VdsmClient, taskID: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = await via.Task.getStatus({ taskID });
      if (status.taskState === TaskState.Finished) return status;
      if (Date.now() > deadline) throw new Error(`task ${taskID} not done: ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  beforeEach(async () => {
    vdsm = await startFakeVdsm({ hosts: 3 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await vdsm.close();
  });

  it('answers on one port per host, each host as itself, and lists every host in the ready line', async () => {
    const ports = vdsm.hosts.map((host) => host.stomp.port);
    expect(vdsm.hosts.map((host) => host.id)).to.deep.equal([1, 2, 3]);
    expect(new Set(ports).size).to.equal(3);
    expect(vdsm.ready.hosts).to.deep.equal(vdsm.hosts);
    expect(vdsm.hosts[0]).to.deep.include({ stomp: vdsm.stomp, ws: vdsm.ws });

    const uuids: string[] = [];
    for (const id of [1, 2, 3]) {
      const caps = await client(id).Host.getCapabilities();
      expect(caps.uuid).to.equal(vdsm.storage.store.getHost(id)?.uuid);
      uuids.push(caps.uuid);
    }
    expect(uuids[0]).to.equal(DEFAULT_IDS.host);
    expect(new Set(uuids).size).to.equal(3);
  });

  it('shares the pool: every host is connected and sees the same SPM and the same images', async () => {
    for (const id of [1, 2, 3]) {
      const status = await client(id).StoragePool.getSpmStatus({ storagepoolID: pool });
      expect(status).to.include({ spmId: 1, spmLver: 0 });
      expect(await client(id).StorageDomain.getImages({ storagedomainID: fileDomain })).to.deep.equal([image]);
    }
    expect((await client(1).StoragePool.getSpmStatus({ storagepoolID: pool })).spmStatus).to.equal('SPM');
    expect((await client(2).StoragePool.getSpmStatus({ storagepoolID: pool })).spmStatus).to.not.equal('SPM');
  });

  it('runs SPM verbs on the SPM only, and spmStart on another host moves the role with the pool\'s tasks', async () => {
    const [one, two] = [client(1), client(2)];
    expect(await one.Host.getAllTasksStatuses()).to.deep.equal({});
    const notSpm = await vdsmRejection(two.Host.getAllTasksStatuses());
    expect(notSpm).to.be.instanceOf(NotSpmError);
    expect(notSpm).to.include({ code: VdsmErrorCode.SpmStatusError, message: 'Not SPM: ()' });
    const refused = await vdsmRejection(
      two.Image.delete({ imageID: image, storagepoolID: pool, storagedomainID: fileDomain, postZero: true, force: false }),
    );
    expect(refused.code).to.equal(VdsmErrorCode.SpmStatusError);

    // A task on the SPM, finished; it lives with the pool.
    const deleted = await one.Image.delete({ imageID: image, storagepoolID: pool, storagedomainID: fileDomain, postZero: false, force: false });
    expect(await taskDone(one, deleted)).to.include({ taskResult: TaskResult.Success });
    // Only the SPM holds SPM tasks: another host has never heard of it (401), as in VDSM.
    expect(await vdsmRejection(two.Task.getStatus({ taskID: deleted }))).to.include({ code: VdsmErrorCode.UnknownTask });

    // The role moves: stop on host 1, start on host 2 (an HSM task that recovers the pool's tasks).
    expect(await one.StoragePool.spmStop({ storagepoolID: pool })).to.equal(true);
    const start = await two.StoragePool.spmStart({ storagepoolID: pool, prevID: 1, prevLver: 0, enableScsiFencing: false });
    expect(await taskDone(two, start)).to.include({ taskResult: TaskResult.Success });
    expect(await two.StoragePool.getSpmStatus({ storagepoolID: pool })).to.include({ spmId: 2, spmStatus: 'SPM', spmLver: 1 });
    expect(await one.StoragePool.getSpmStatus({ storagepoolID: pool })).to.include({ spmId: 2, spmLver: 1 });

    // The new SPM knows the finished task, with its result; the old one no longer answers.
    const statuses = await two.Host.getAllTasksStatuses();
    expect(statuses[deleted]).to.include({ taskState: TaskState.Finished, taskResult: TaskResult.Success });
    expect((await vdsmRejection(one.Host.getAllTasksStatuses())).message).to.equal('Not SPM: ()');
  });
});

describe('host/fake-host: ports', function () {
  this.timeout(30_000);

  it('gives host i port + i when a port is given', async () => {
    const base = await freePortPair();
    const vdsm = await startFakeVdsm({ port: base, hosts: 2 });
    try {
      expect(vdsm.hosts.map((host) => host.stomp.port)).to.deep.equal([base, base + 1]);
      expect(vdsm.hosts[1]?.ws).to.equal(`ws://127.0.0.1:${base + 1}/`);
    } finally {
      await vdsm.close();
    }
  });
});
