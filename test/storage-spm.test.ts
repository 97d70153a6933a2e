/**
 * The SPM role changing hands while tasks exist, from real clients to two
 * hosts of one fake. Tasks live with the pool (issue 3): whichever host is
 * SPM answers `Host.getAllTasksStatuses` for all of them, finished ones
 * keep their result, unfinished ones are rolled back (partial target
 * removed); the old SPM answers 654.
 *
 * What the fake allows, and therefore what is tested: `spmStop` is refused
 * (653) while the pool has unfinished tasks and `spmStart` on another host
 * fails while the role is held (651, sanlock's lease), so the role moves
 * either after the running task ends (in-process, the copy held mid-way by
 * freezing its qemu-img) or after the whole process was killed with the task
 * running (child process: the restart rolls it back, then the role moves).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { lockRows, taskRow } from './support/storage-db.js';
import { connectStorageClients, pollTaskStatus, startStorageFake } from './support/storage-fake.js';
import type { StorageClients } from './support/storage-fake.js';
import { listVolumeFiles } from './support/storage-files.js';
import { CRASH_DATA_DISK, IDS, copyParams, storageFixture } from './support/storage-fixture.js';
import { expectSucceeded, expectVdsmError, runningStatus, successStatus } from './support/storage-expect.js';
import {
  ClassMessage,
  NOT_SPM_GET_ALL_MESSAGE,
  SpmWords,
  TaskWords,
  VdsmCode,
  notSpmScheduleMessage,
  spmStopRefusedMessage,
  taskAbortedPrefix,
} from './support/storage-oracle.js';
import { startFakeProcess } from './support/storage-process.js';
import { canFreezeCopies, freezeNextCopy, isMidway } from './support/storage-qemu-freeze.js';
import { TeardownHelper } from './support/teardown.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

/** `StoragePool.spmStart` as the engine sends it after the previous SPM let go. */
async function spmStart(host: VdsmClient, prevLver: number): Promise<string> {
  return host.StoragePool.spmStart({ storagepoolID: IDS.pool, prevID: SpmWords.freeId, prevLver: String(prevLver), enableScsiFencing: 'false' });
}

/**
 * Asserts every host's `StoragePool.getSpmStatus`: `spmId` and `spmLver` are
 * the pool's (read from its metadata), `spmStatus` the asking host's own role
 * (sp.py `spmRole`): SPM on the SPM, Free on every other host.
 */
async function expectSpmStatus(hosts: readonly VdsmClient[], spmId: number, spmLver: number): Promise<void> {
  for (const [index, host] of hosts.entries()) {
    const spmStatus = index + 1 === spmId ? SpmWords.spm : SpmWords.free;
    expect(await host.StoragePool.getSpmStatus({ storagepoolID: IDS.pool }), `host ${index + 1}`).to.deep.equal({ spmId, spmStatus, spmLver });
  }
}

describe('storage SPM: the role moves to another host while tasks exist', function () {
  this.timeout(60_000);
  const td = new TeardownHelper();
  afterEach(() => td.run());

  before(function () {
    // The running task is a copy held mid-way by freezing its qemu-img; CI installs qemu-utils.
    skipUnless(this, canFreezeCopies(), 'copies cannot be frozen here: needs Linux /proc and qemu-img (Debian: qemu-utils)');
  });

  it('in-process: spmStop refused while a copy runs; the role moves once it ends; host 2 then knows every task, host 1 answers 654', async () => {
    const bed = await startStorageFake(td);
    const [host1, host2] = [bed.host(1), bed.host(2)];
    await expectSpmStatus([host1, host2], 1, 0);

    const finished = await host1.Image.move(copyParams(IDS.smallImage));
    expectSucceeded(await bed.wait(finished));
    const freezing = freezeNextCopy(process.pid);
    const running = await host1.Image.move(copyParams(IDS.dataImage));
    const frozen = await freezing;
    td.add(() => frozen.thaw());
    expect(await host1.Task.getStatus({ taskID: running })).to.deep.equal(runningStatus(running));

    // Refused while the copy runs; nothing changes.
    await expectVdsmError(host1.StoragePool.spmStop({ storagepoolID: IDS.pool }), VdsmCode.SpmStopError, spmStopRefusedMessage(IDS.pool));
    // Host 2 cannot take the role either: host 1 holds the lease.
    const contend = await spmStart(host2, 0);
    const refused = await pollTaskStatus(host2, contend, (status) => status.taskState === TaskWords.finished, 10_000);
    expect(refused).to.include({ taskResult: TaskWords.cleanSuccess, code: VdsmCode.AcquireLockFailure });
    expect(refused.message.startsWith(taskAbortedPrefix(ClassMessage.acquireLock)), refused.message).to.equal(true);
    await expectSpmStatus([host1, host2], 1, 0);
    await expectVdsmError(host2.Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, NOT_SPM_GET_ALL_MESSAGE);
    expect(await host1.Host.getAllTasksStatuses()).to.deep.equal({ [finished]: successStatus(finished), [running]: runningStatus(running) });

    // The copy ends; with no unfinished task left the SPM may stop.
    frozen.thaw();
    expectSucceeded(await bed.wait(running));
    expect(await host1.StoragePool.spmStop({ storagepoolID: IDS.pool })).to.equal(true);
    await expectSpmStatus([host1, host2], SpmWords.freeId, 0);
    await expectVdsmError(host1.Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, NOT_SPM_GET_ALL_MESSAGE);

    const start = await spmStart(host2, 0);
    const started = await pollTaskStatus(host2, start, (status) => status.taskState === TaskWords.finished, 10_000);
    expect(started).to.deep.equal(successStatus(start));
    // The lease version went up by one with the new SPM.
    await expectSpmStatus([host1, host2], 2, 1);

    // The new SPM knows the pool's tasks, with their results; the old one answers 654 everywhere.
    expect(await host2.Host.getAllTasksStatuses()).to.deep.equal({ [finished]: successStatus(finished), [running]: successStatus(running) });
    await expectVdsmError(host1.Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, NOT_SPM_GET_ALL_MESSAGE);
    await expectVdsmError(host1.Image.move(copyParams(IDS.smallImage)), VdsmCode.SpmStatusError, notSpmScheduleMessage(IDS.pool));
    // And it works: it clears them and runs new tasks.
    for (const taskId of [finished, running]) expect(await host2.Task.clear({ taskID: taskId })).to.equal(true);
    const removal = await host2.Image.delete({ imageID: IDS.smallImage, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain2, postZero: false, force: false });
    expectSucceeded(await bed.wait(removal, { spmId: 2 }));
    expect(await host2.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.deep.equal([IDS.dataImage]);
  });

  describe('across a crash of the process', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vdsm-kit-spm-'));
    });
    after(async () => {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('killed with a copy running: the copy is rolled back, then host 2 takes the role and knows both tasks; host 1 answers 654', async () => {
      const state = join(dir, 'state');
      const fixtureFile = join(dir, 'fixture.json');
      await writeFile(fixtureFile, JSON.stringify(storageFixture({ dataDisk: CRASH_DATA_DISK })));
      const options = { state, fixtureFile, timeScale: 0.01 };

      const first = await startFakeProcess(td, options);
      let vdsm: StorageClients = connectStorageClients(td, first.ready.hosts);
      const finished = await vdsm.host(1).Image.move(copyParams(IDS.smallImage));
      expectSucceeded(await vdsm.wait(finished));
      let running = '';
      const freezing = freezeNextCopy(first.pid, { ready: async () => running !== '' && isMidway((await taskRow(state, running))?.progress) });
      running = await vdsm.host(1).Image.move(copyParams(IDS.dataImage));
      const frozen = await freezing;
      td.add(() => frozen.kill());
      await expectVdsmError(vdsm.host(1).StoragePool.spmStop({ storagepoolID: IDS.pool }), VdsmCode.SpmStopError, spmStopRefusedMessage(IDS.pool));
      expect(await first.stop('SIGKILL')).to.equal('SIGKILL');
      frozen.kill();

      const second = await startFakeProcess(td, options);
      vdsm = connectStorageClients(td, second.ready.hosts);
      const [host1, host2] = [vdsm.host(1), vdsm.host(2)];
      // Host 1 came back as the SPM and recovered the pool's tasks: the copy was rolled back, its partial target removed.
      await expectSpmStatus([host1, host2], 1, 0);
      const recovered = await host1.Task.getStatus({ taskID: running });
      expect(recovered).to.include({ taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess });
      expect((await listVolumeFiles(state)).filter((file) => file.domainId === IDS.fileDomain2).map((file) => file.imageId)).to.deep.equal([IDS.smallImage]);
      expect(await lockRows(state)).to.deep.equal([]);

      // Nothing unfinished: the role moves to host 2.
      expect(await host1.StoragePool.spmStop({ storagepoolID: IDS.pool })).to.equal(true);
      const start = await spmStart(host2, 0);
      expect(await pollTaskStatus(host2, start, (status) => status.taskState === TaskWords.finished, 10_000)).to.deep.equal(successStatus(start));
      await expectSpmStatus([host1, host2], 2, 1);
      expect(await host2.Host.getAllTasksStatuses()).to.deep.equal({ [finished]: successStatus(finished), [running]: recovered });
      await expectVdsmError(host1.Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, NOT_SPM_GET_ALL_MESSAGE);
      expect(await host2.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.deep.equal([IDS.smallImage]);

      // The new SPM runs the copy again, to the end.
      const again = await host2.Image.move(copyParams(IDS.dataImage));
      expectSucceeded(await vdsm.wait(again, { spmId: 2 }));
      expect(await second.stop('SIGTERM')).to.equal(0);
    });
  });
});
