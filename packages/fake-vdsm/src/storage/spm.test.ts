import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SpmStatusSchema, StoragePoolFullInfoSchema } from '@vdsm-kit/client/api';
import { deleteImage, deleteImageJobs } from './delete-image.js';
import { connectPool, connectedPools, disconnectPool } from './pool-connection.js';
import { poolInfo, spmStatus } from './pool-info.js';
import { spmJobs, spmStart, spmStop } from './spm.js';
import { createStorageTestBed, storageTestFixture, TEST_IDS } from '../test-support/storage-test-bed.js';
import type { StorageTestBed } from '../test-support/storage-test-bed.js';
import { vdsmRejection, vdsmThrown } from '../test-support/vdsm-rejection.js';

const { pool, fileDomain, blockDomain, blockImage, image } = TEST_IDS;
const GiB = 1024 ** 3;

const startParams = { storagepoolID: pool, prevID: -1, prevLver: '-1', enableScsiFencing: 'false' as const, maxHostID: null, domVersion: null };
const connectParams = { storagepoolID: pool, hostID: 2, scsiKey: pool, masterSdUUID: fileDomain, masterVersion: 1, domainDict: null };

describe('storage/spm, pool-info, pool-connection (StoragePool.*)', () => {
  let bed: StorageTestBed;

  beforeEach(async () => {
    bed = await createStorageTestBed({ fixture: storageTestFixture({ hosts: 2 }), jobs: [deleteImageJobs, spmJobs] });
  });
  afterEach(async () => {
    await bed.close();
  });

  const finished = (taskId: string) => () => bed.tasks.getStatus(taskId).taskState === 'finished';
  /** A postZero delete of the block disk: a task that runs until the clock is driven. */
  const longTask = () => deleteImage(bed.ctx, { imageID: blockImage, storagepoolID: pool, storagedomainID: blockDomain, postZero: true, force: false, discard: false });

  describe('StoragePool.getInfo', () => {
    it('gives info and dominfo with VDSM types (file sizes strings, block ints)', async () => {
      const full = StoragePoolFullInfoSchema.parse(await poolInfo(bed.contextFor(2), pool));
      expect(full.info).to.deep.equal({
        name: 'Default',
        isoprefix: '',
        pool_status: 'connected',
        lver: 0,
        domains: `${fileDomain}:Active,${blockDomain}:Active`,
        master_uuid: fileDomain,
        version: '5',
        spm_id: 1,
        type: 'NFS',
        master_ver: 1,
      });
      expect(full.dominfo[fileDomain]).to.deep.include({ status: 'Active', alerts: [], isoprefix: '', version: 5, disktotal: String(100 * GiB) });
      expect(full.dominfo[fileDomain]?.diskfree).to.be.a('string');
      expect(full.dominfo[blockDomain]).to.deep.include({ status: 'Active', version: 5, disktotal: 100 * GiB });
      expect(full.dominfo[blockDomain]?.diskfree).to.be.a('number');
    });

    it('answers 309 to a host not connected to the pool', async () => {
      disconnectPool(bed.contextFor(2), pool);
      const error = await vdsmRejection(poolInfo(bed.contextFor(2), pool));
      expect(error.message).to.equal(`Unknown pool id, pool not connected: ('${pool}',)`);
    });
  });

  describe('StoragePool.getSpmStatus', () => {
    it('tells the SPM it is SPM and every other host who is', () => {
      expect(SpmStatusSchema.parse(spmStatus(bed.ctx, pool))).to.deep.equal({ spmId: 1, spmStatus: 'SPM', spmLver: 0 });
      expect(spmStatus(bed.contextFor(2), pool)).to.deep.equal({ spmId: 1, spmStatus: 'Free', spmLver: 0 });
    });

    it('answers 309 for a pool not connected', () => {
      const other = randomUUID();
      expect(vdsmThrown(() => spmStatus(bed.ctx, other)).message).to.equal(`Unknown pool id, pool not connected: ('${other}',)`);
    });
  });

  describe('spmStart / spmStop', () => {
    it('refuses spmStart on the SPM with 656', async () => {
      const error = await vdsmRejection(spmStart(bed.ctx, startParams));
      expect(error.code).to.equal(656);
      expect(error.message).to.equal(`Operation not allowed while SPM is active: ('${pool}',)`);
    });

    it('fails the spmStart task with 651 while another host holds the role', async () => {
      const taskId = await spmStart(bed.contextFor(2), startParams);
      expect(bed.tasks.getInfo(taskId)).to.deep.equal({ id: taskId, verb: 'spmStart' });
      await bed.waitFor(finished(taskId));
      const lock = `id=${fileDomain}, rc=-243, out=Cannot acquire cluster lock, err=(-243, 'Sanlock resource not acquired', 'Lease is held by another host')`;
      expect(bed.tasks.getStatus(taskId)).to.deep.include({ code: 651, taskResult: 'cleanSuccess', message: `value=Cannot obtain lock: "${lock}" abortedcode=651` });
      // An HSM task: not among the pool's SPM tasks.
      expect(bed.tasks.getAllStatuses(pool)).to.not.have.property(taskId);
      expect(spmStatus(bed.ctx, pool).spmId).to.equal(1);
    });

    it('moves the role: stop on host 1, start on host 2 with lver + 1', async () => {
      await spmStop(bed.contextFor(2), pool); // not the SPM: nothing to do
      expect(spmStatus(bed.ctx, pool).spmStatus).to.equal('SPM');
      await spmStop(bed.ctx, pool);
      expect(spmStatus(bed.ctx, pool)).to.deep.equal({ spmId: -1, spmStatus: 'Free', spmLver: 0 });
      const taskId = await spmStart(bed.contextFor(2), { ...startParams, prevID: 1, prevLver: '0' });
      await bed.waitFor(finished(taskId));
      expect(bed.tasks.getStatus(taskId)).to.deep.include({ taskResult: 'success', code: 0 });
      expect(spmStatus(bed.contextFor(2), pool)).to.deep.equal({ spmId: 2, spmStatus: 'SPM', spmLver: 1 });
      expect(spmStatus(bed.ctx, pool)).to.deep.equal({ spmId: 2, spmStatus: 'Free', spmLver: 1 });
    });

    it('refuses spmStop with 653 while an SPM task is unfinished, then stops once it is done', async () => {
      const taskId = await longTask();
      const error = await vdsmRejection(spmStop(bed.ctx, pool));
      expect(error.code).to.equal(653);
      expect(error.message).to.equal(`Error stopping SPM, SPM has unfinished task(s): 'spUUID=${pool}, task=None'`);
      expect(spmStatus(bed.ctx, pool).spmStatus).to.equal('SPM');
      await bed.driveClock(2560);
      await bed.waitFor(finished(taskId));
      await spmStop(bed.ctx, pool);
      expect(spmStatus(bed.ctx, pool).spmId).to.equal(-1);
    });

    it('keeps finished tasks with their result across an SPM change', async () => {
      const taskId = await deleteImage(bed.ctx, { imageID: image, storagepoolID: pool, storagedomainID: fileDomain, postZero: false, force: false, discard: false });
      await bed.waitFor(finished(taskId));
      await spmStop(bed.ctx, pool);
      const start = await spmStart(bed.contextFor(2), startParams);
      await bed.waitFor(finished(start));
      expect(bed.tasks.getAllStatuses(pool)[taskId]).to.deep.include({ taskState: 'finished', taskResult: 'success', message: '1 jobs completed successfully' });
    });

    it("rolls the pool's unfinished tasks back when a new SPM starts (the old one fenced)", async () => {
      const taskId = await longTask();
      await bed.driveClock(500);
      // Host 1 is gone (fenced): its lease is free, its task still marked running.
      bed.store.setSpm(pool, null, 0);
      const start = await spmStart(bed.contextFor(2), startParams);
      await bed.waitFor(finished(start));
      await bed.waitFor(finished(taskId));
      expect(bed.tasks.getStatus(taskId)).to.deep.include({ taskState: 'finished', taskResult: 'cleanSuccess' });
      expect(spmStatus(bed.contextFor(2), pool)).to.deep.equal({ spmId: 2, spmStatus: 'SPM', spmLver: 1 });
    });
  });

  describe('connect / disconnect', () => {
    it('disconnects and connects a host again; the SPM may not disconnect (656)', () => {
      const host2 = bed.contextFor(2);
      disconnectPool(host2, pool);
      expect(connectedPools(host2)).to.deep.equal([]);
      disconnectPool(host2, pool); // already disconnected: no-op
      connectPool(host2, { ...connectParams, domainDict: { [fileDomain]: 'active', [blockDomain]: 'attached' } });
      expect(connectedPools(host2)).to.deep.equal([pool]);
      expect(bed.store.getDomain(blockDomain)?.status).to.equal('Attached');
      const error = vdsmThrown(() => disconnectPool(bed.ctx, pool));
      expect(error.message).to.equal(`Operation not allowed while SPM is active: ('${pool}',)`);
    });

    it('checks the master domain: unknown 304, not master or wrong version 324', () => {
      const host2 = bed.contextFor(2);
      disconnectPool(host2, pool);
      const sd = randomUUID();
      expect(vdsmThrown(() => connectPool(host2, { ...connectParams, masterSdUUID: sd })).message).to.equal(
        `Cannot find master domain: 'spUUID=${pool}, msdUUID=${sd}'`,
      );
      const wrong = vdsmThrown(() => connectPool(host2, { ...connectParams, masterSdUUID: blockDomain }));
      expect(wrong.code).to.equal(324);
      expect(wrong.message).to.equal(`Wrong Master domain or its version: 'SD=${blockDomain}, pool=${pool}'`);
      expect(vdsmThrown(() => connectPool(host2, { ...connectParams, masterVersion: 7 })).code).to.equal(324);
      expect(connectedPools(host2)).to.deep.equal([]);
    });

    it('refuses a second pool with 323', () => {
      const other = randomUUID();
      const error = vdsmThrown(() => connectPool(bed.ctx, { ...connectParams, storagepoolID: other }));
      expect(error.message).to.equal(`Cannot connect pool, already connected to another pool: ('${pool}',)`);
    });
  });
});
