/**
 * Crash safety with a real process: `fake-vdsm serve` killed with SIGKILL
 * mid-copy and mid-wipe, then started again on the same state folder. Each
 * time the fake must come back consistent (issue 3, vdsm-wire.md §7.3):
 * tasks recovered (finished ones keep their result, the interrupted one
 * rolled back and ended), the source's data intact, the partial target gone,
 * no volume file without its row and no row without its file, no lock left,
 * and the same operation possible again.
 *
 * The kill points are chosen, not hoped for: mid-copy, the fake's
 * `qemu-img convert` child is frozen with SIGSTOP once the task has recorded
 * progress, so the copy is provably unfinished when the fake dies
 * (support/storage-qemu-freeze.ts); mid-wipe, the wipe is paced by the
 * fake's clock (`--wipe-rate 1` MiB/s, `--time-scale 0.01`), so it is
 * killed after its first 32 MiB step and long before its end.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { findInconsistencies, liveVolumeDigests, lockRows, taskRow, volumeRows } from './support/storage-db.js';
import { connectStorageClients, pollTaskStatus, waitUntil } from './support/storage-fake.js';
import type { StorageClients } from './support/storage-fake.js';
import { checksumFile } from '@vdsm-kit/fake-vdsm/data';
import { listVolumeFiles, volumeFile } from './support/storage-files.js';
import { CRASH_DATA_DISK, IDS, copyParams, storageFixture } from './support/storage-fixture.js';
import { expectRolledBack, expectSucceeded, successStatus } from './support/storage-expect.js';
import { BLANK_UUID, TaskWords, VdsmCode, imageNotInDomainMessage, taskAbortedMessage } from './support/storage-oracle.js';
import { startFakeProcess } from './support/storage-process.js';
import type { FakeProcess } from './support/storage-process.js';
import { canFreezeCopies, freezeNextCopy, isMidway } from './support/storage-qemu-freeze.js';
import { TeardownHelper } from './support/teardown.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

/** 100x faster storage time: progress is recorded every 10 ms of real time, a 256 s wipe takes 2.56 s. */
const TIME_SCALE = 0.01;
/** 1 MiB/s: the 256 MiB block disk's wipe lasts 256 s of the fake's clock. */
const WIPE_RATE_MIBPS = 1;

describe('storage crash: SIGKILL mid-copy and mid-wipe, restart on the same state folder', function () {
  this.timeout(60_000);
  const td = new TeardownHelper();
  let dir: string;
  let state: string;
  let fixtureFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vdsm-kit-crash-'));
    fixtureFile = join(dir, 'fixture.json');
    await writeFile(fixtureFile, JSON.stringify(storageFixture({ dataDisk: CRASH_DATA_DISK })));
  });
  // Each test seeds its own state folder.
  beforeEach(async () => {
    state = await mkdtemp(join(dir, 'state-'));
  });
  afterEach(() => td.run());
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** A running fake and clients to its hosts; the previous fake must be gone. */
  interface Running {
    readonly fake: FakeProcess;
    readonly vdsm: StorageClients;
  }

  async function start(): Promise<Running> {
    const fake = await startFakeProcess(td, { state, fixtureFile, timeScale: TIME_SCALE, wipeRateMiBps: WIPE_RATE_MIBPS });
    expect(fake.ready.state).to.equal(state);
    return { fake, vdsm: connectStorageClients(td, fake.ready.hosts) };
  }

  /** SIGKILL, as a crash: no handler runs, nothing is flushed but what SQLite already committed. */
  async function crash(running: Running): Promise<void> {
    expect(await running.fake.stop('SIGKILL')).to.equal('SIGKILL');
  }

  /**
   * The state folder after a restart: files and rows agree (removed rows
   * included), no lock is held, and VDSM's listings show exactly the live rows.
   */
  async function expectConsistent(running: Running): Promise<void> {
    expect(await findInconsistencies(state)).to.deep.equal({ filesWithoutRow: [], rowsWithoutFile: [] });
    expect(await lockRows(state)).to.deep.equal([]);
    const live = (await volumeRows(state)).filter((row) => row.removed === 0);
    for (const sdUUID of [IDS.fileDomain, IDS.fileDomain2, IDS.blockDomain, IDS.smallFileDomain, IDS.smallBlockDomain]) {
      const rows = live.filter((row) => row.domain_id === sdUUID);
      const images = await running.vdsm.host(1).StorageDomain.getImages({ storagedomainID: sdUUID });
      expect([...images].sort(), `images of ${sdUUID}`).to.deep.equal([...new Set(rows.map((row) => row.image_id))].sort());
      const volumes = await running.vdsm.host(1).StorageDomain.getVolumes({ storagedomainID: sdUUID, storagepoolID: IDS.pool, imageID: BLANK_UUID });
      expect([...volumes].sort(), `volumes of ${sdUUID}`).to.deep.equal(rows.map((row) => row.id).sort());
    }
  }

  it('mid-copy: the copy is rolled back (partial target removed), finished tasks keep their result, the source is intact', async function () {
    // The kill point is a frozen qemu-img; CI installs qemu-utils.
    skipUnless(this, canFreezeCopies(), 'copies cannot be frozen here: needs Linux /proc and qemu-img (Debian: qemu-utils)');
    let running = await start();
    const spm = (): VdsmClient => running.vdsm.host(1);

    // Before the crash: a task that finished, one that failed, neither cleared.
    const finished = await spm().Image.move(copyParams(IDS.smallImage));
    expectSucceeded(await running.vdsm.wait(finished));
    const failed = await spm().Image.move(copyParams(IDS.missingImage));
    const notThere = taskAbortedMessage(imageNotInDomainMessage(IDS.missingImage, IDS.fileDomain), VdsmCode.ImageDoesNotExistInSD);
    expectRolledBack(await running.vdsm.wait(failed), VdsmCode.ImageDoesNotExistInSD, notThere);
    const digests = await liveVolumeDigests(state);

    // The copy, frozen once it has recorded progress.
    let copy = '';
    const freezing = freezeNextCopy(running.fake.pid, { ready: async () => copy !== '' && isMidway((await taskRow(state, copy))?.progress) });
    copy = await spm().Image.move(copyParams(IDS.dataImage));
    const frozen = await freezing;
    td.add(() => frozen.kill());
    const status = await spm().Task.getStatus({ taskID: copy });
    expect(status).to.include({ taskState: TaskWords.running, message: TaskWords.runningJob });
    // Progress recorded, the job not over: a frozen qemu-img cannot exit, so the copy cannot complete.
    expect((await taskRow(state, copy))?.progress ?? 0).to.be.above(0);
    expect(await spm().Volume.getInfo({ volumeID: IDS.dataVolume, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain2, imageID: IDS.dataImage })).to.include({ legality: 'ILLEGAL' });

    await crash(running);
    // The orphaned qemu-img would otherwise go on writing into the (soon removed) target.
    frozen.kill();

    running = await start();
    const statuses = await spm().Host.getAllTasksStatuses();
    expect(Object.keys(statuses).sort()).to.deep.equal([finished, failed, copy].sort());
    // Finished: its result survives the crash, word for word.
    expect(statuses[finished]).to.deep.equal(successStatus(finished));
    // Done and rolled back before the crash: still done.
    expect(statuses[failed]).to.include({ taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess });
    // Interrupted: rolled back and ended, never resumed.
    expect(statuses[copy]).to.include({ taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess });
    expect(await spm().Task.getStatus({ taskID: copy })).to.deep.equal(statuses[copy]);

    // The partial target is gone; everything else is as it was, byte for byte.
    expect(await spm().StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.deep.equal([IDS.smallImage]);
    expect((await listVolumeFiles(state)).filter((file) => file.domainId === IDS.fileDomain2).map((file) => file.imageId)).to.deep.equal([IDS.smallImage]);
    expect(await liveVolumeDigests(state)).to.deep.equal(digests);
    await expectConsistent(running);

    // No lock, no leftover: the same copy now runs through.
    const again = await spm().Image.move(copyParams(IDS.dataImage));
    expectSucceeded(await running.vdsm.wait(again));
    expect(await checksumFile(volumeFile(state, IDS.fileDomain2, IDS.dataImage, IDS.dataVolume))).to.equal(digests.get(`${IDS.fileDomain}/${IDS.dataImage}/${IDS.dataVolume}`));
    for (const taskId of [finished, failed, copy, again]) expect(await spm().Task.clear({ taskID: taskId })).to.equal(true);
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});
    await running.fake.stop('SIGTERM');
  });

  it('mid-wipe: the zeroing task is ended, the deleted image stays deleted, every other disk is intact', async () => {
    let running = await start();
    const spm = (): VdsmClient => running.vdsm.host(1);
    const before = await liveVolumeDigests(state);
    const wiped = `${IDS.blockDomain}/${IDS.blockImageA}/${IDS.blockVolumeA}`;
    expect(before.has(wiped)).to.equal(true);

    const wipe = await spm().Image.delete({ imageID: IDS.blockImageA, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain, postZero: true, force: false });
    // After its first 32 MiB step (32 s of the fake's clock, 0.32 s of real time) and far from its end (2.56 s).
    await waitUntil(async () => ((await taskRow(state, wipe))?.progress ?? 0) > 0, 'the wipe records progress');
    const status = await spm().Task.getStatus({ taskID: wipe });
    expect(status).to.include({ taskState: TaskWords.running, message: TaskWords.runningJob });
    expect((await taskRow(state, wipe))?.progress).to.be.below(1);
    await crash(running);

    running = await start();
    const after = await pollTaskStatus(spm(), wipe, (s) => s.taskState === TaskWords.finished, 10_000);
    // Rolled back and ended: a delete is never undone (the image stays out of every listing).
    expect(after).to.include({ taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess });
    expect(await spm().StorageDomain.getImages({ storagedomainID: IDS.blockDomain })).to.not.include(IDS.blockImageA);
    // Every other volume holds exactly what it held.
    const expected = new Map(before);
    expected.delete(wiped);
    expect(await liveVolumeDigests(state)).to.deep.equal(expected);
    await expectConsistent(running);

    expect(await spm().Task.clear({ taskID: wipe })).to.equal(true);
    expect(await running.fake.stop('SIGTERM')).to.equal(0);
  });
});
