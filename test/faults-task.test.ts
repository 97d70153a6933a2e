/**
 * Every TASK-layer and DOMAIN fault of issue 4, end to end: rules go in
 * through the HTTP control plane (`ControlClient` at the fake's `control`
 * URL), a real `VdsmClient` over TCP starts the copy / move and watches it,
 * and the assertions are what a user sees: the task status words, the code
 * and message on the wire, the images and volumes the verbs list, plus the
 * control plane's own view (tasks, volumes, invariants, the firing log).
 *
 * The fake runs in-process on a ManualClock with two connected hosts (host 1
 * the SPM), so delays and hangs are clock time, moved by the test, not sleeps.
 * The small 64 MiB disk (1 MiB of data) is the one copied: each case is quick.
 */
import type { TaskStatus, VdsmClient } from '@vdsm-kit/client';
import { VdsmNetworkError } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { ControlClient } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { rejectionOf } from './support/outcome.js';
import { finishedOnClock, realDelay, startStorageFake, waitUntil } from './support/storage-fake.js';
import type { StorageBed } from './support/storage-fake.js';
import { IDS, copyParams, storageFixture } from './support/storage-fixture.js';
import { expectVdsmError, runningStatus, successStatus } from './support/storage-expect.js';
import {
  COPY_IMAGE_FAILED_MESSAGE,
  NOT_SPM_GET_ALL_MESSAGE,
  TaskWords,
  VdsmCode,
  domainDoesNotExistMessage,
  taskAbortedMessage,
} from './support/storage-oracle.js';
import { TeardownHelper } from './support/teardown.js';

/** Clock step while a test waits for a task to end (the fake paces its jobs on that clock). */
const STEP_MS = 50;

/** A copy (operation 1) of the small disk from nfs-data to nfs-data2; operation 2 moves it. */
function smallCopy(operation: 1 | 2 = 1): Parameters<VdsmClient['Image']['move']>[0] {
  return { ...copyParams(IDS.smallImage), operation };
}

/** The small disk's volume on `domain`, as Volume.getInfo's params. */
function smallVolume(domain: string): Parameters<VdsmClient['Volume']['getInfo']>[0] {
  return { volumeID: IDS.smallVolume, storagepoolID: IDS.pool, storagedomainID: domain, imageID: IDS.smallImage };
}

describe('faults (task and domain layers) from a real client, rules over the control plane', function () {
  this.timeout(30_000);
  const td = new TeardownHelper();
  let clock: ManualClock;
  let bed: StorageBed;
  let ctl: ControlClient;
  let spm: VdsmClient;
  let sourceSum: string;

  beforeEach(async () => {
    clock = new ManualClock();
    bed = await startStorageFake(td, { hosts: 2, clock, fixture: storageFixture({ unconnectedHost: false }) });
    ctl = new ControlClient(bed.fake.control);
    spm = bed.host(1);
    sourceSum = (await ctl.checksum(IDS.fileDomain, IDS.smallImage, IDS.smallVolume)).checksum;
  });
  afterEach(() => td.run());

  const finished = (taskId: string, client: VdsmClient = spm): Promise<TaskStatus> => finishedOnClock(clock, client, taskId, STEP_MS);

  /** Waits (real time) until the fault log holds `count` firings. */
  async function firings(count: number): Promise<Record<string, unknown>[]> {
    await waitUntil(async () => (await ctl.faultLog()).length >= count, `${count} firing(s) logged`);
    return ctl.faultLog();
  }

  /** VDSM's status of a task rolled back with `code` and `message`. */
  function rolledBack(taskId: string, code: number, message: string): TaskStatus {
    return { taskID: taskId, taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess, code, message };
  }

  /** The copy's target is gone from the destination, in the verbs' and the control plane's views. */
  async function expectTargetGone(client: VdsmClient = spm): Promise<void> {
    expect(await client.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.not.include(IDS.smallImage);
    expect(await ctl.listVolumes(IDS.fileDomain2, IDS.smallImage)).to.deep.equal([]);
  }

  /** The source is LEGAL, listed, and has the same bytes as before the test. */
  async function expectSourceIntact(client: VdsmClient = spm): Promise<void> {
    expect(await client.Volume.getInfo(smallVolume(IDS.fileDomain))).to.include({ legality: 'LEGAL' });
    expect(await client.StorageDomain.getImages({ storagedomainID: IDS.fileDomain })).to.include(IDS.smallImage);
    expect((await ctl.checksum(IDS.fileDomain, IDS.smallImage, IDS.smallVolume)).checksum).to.equal(sourceSum);
  }

  async function expectInvariantsOk(): Promise<void> {
    const report = await ctl.invariants();
    expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
    expect(report.ok).to.equal(true);
  }

  it('failAt 0.63 / 261 on a copy: finished cleanSuccess 261, target gone, source intact, the firing logged', async () => {
    const rule = await ctl.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { failAt: 0.63, error: 261 } });
    const taskId = await spm.Image.move(smallCopy());
    const status = await finished(taskId);
    expect(status).to.deep.equal(rolledBack(taskId, VdsmCode.CopyImageError, taskAbortedMessage(COPY_IMAGE_FAILED_MESSAGE, VdsmCode.CopyImageError)));
    expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({ [taskId]: status });
    // The control plane saw the job stop exactly at the fraction.
    expect((await ctl.listTasks()).find((task) => task.id === taskId)).to.include({ state: 'recovered', code: 261, progress: 0.63 });
    await expectTargetGone();
    await expectSourceIntact();
    await expectInvariantsOk();
    const log = await ctl.faultLog();
    expect(log).to.have.length(1);
    expect(log[0]).to.include({ ruleId: rule.id, layer: 'task', kind: 'failAt' });
    expect(log[0]?.['point']).to.include({ taskId, phase: 'copy', domain: IDS.fileDomain2 });
  });

  it('phaseDelayMs: the copy is still running just before the delay ends, and succeeds after it', async () => {
    await ctl.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { phaseDelayMs: 5_000 } });
    const taskId = await spm.Image.move(smallCopy());
    await firings(1);
    await realDelay(20);
    await clock.advanceAsync(4_900);
    await realDelay(20);
    expect(await spm.Task.getStatus({ taskID: taskId })).to.deep.equal(runningStatus(taskId));
    expect(await spm.Volume.getInfo(smallVolume(IDS.fileDomain2))).to.include({ legality: 'ILLEGAL' });
    expect(await finished(taskId)).to.deep.equal(successStatus(taskId));
    expect(await spm.Volume.getInfo(smallVolume(IDS.fileDomain2))).to.include({ legality: 'LEGAL' });
    expect((await ctl.checksum(IDS.fileDomain2, IDS.smallImage, IDS.smallVolume)).checksum).to.equal(sourceSum);
    await expectInvariantsOk();
  });

  it('hang: the copy runs through an hour of clock time until Task.stop, then ends with 411', async () => {
    await ctl.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { hang: true } });
    const taskId = await spm.Image.move(smallCopy());
    await firings(1);
    await clock.advanceAsync(3_600_000);
    await realDelay(20);
    expect(await spm.Task.getStatus({ taskID: taskId })).to.deep.equal(runningStatus(taskId));
    expect(await spm.Task.stop({ taskID: taskId })).to.equal(true);
    const status = await finished(taskId);
    // Stopped mid-job: the value is the task's own id (task.py `TaskAborted(str(self))`).
    expect(status).to.deep.equal(rolledBack(taskId, VdsmCode.TaskAborted, taskAbortedMessage(taskId, VdsmCode.TaskAborted)));
    await expectTargetGone();
    await expectSourceIntact();
    await expectInvariantsOk();
  });

  it('finish cleanSuccess: the task ends with the rule\'s code, the target rolled back', async () => {
    await ctl.addFault({ match: { task: { phase: 'copy' } }, action: { finish: 'cleanSuccess', error: 350 } });
    const taskId = await spm.Image.move(smallCopy());
    const status = await finished(taskId);
    expect(status).to.include({ taskID: taskId, taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess, code: 350 });
    expect(status.message).to.match(/^value=.*: \(\) abortedcode=350$/);
    await expectTargetGone();
    await expectSourceIntact();
    await expectInvariantsOk();
  });

  it('finish cleanFailure: the rollback fails, so the ILLEGAL target stays listed', async () => {
    await ctl.addFault({ match: { task: { phase: 'copy' } }, action: { finish: 'cleanFailure' } });
    const taskId = await spm.Image.move(smallCopy());
    const status = await finished(taskId);
    // No error in the rule: VDSM's catch-all, 100.
    expect(status).to.include({ taskID: taskId, taskState: TaskWords.finished, taskResult: TaskWords.cleanFailure, code: 100 });
    expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.include(IDS.smallImage);
    expect(await spm.Volume.getInfo(smallVolume(IDS.fileDomain2))).to.include({ legality: 'ILLEGAL' });
    await expectSourceIntact();
    // What VDSM leaves after a failed rollback is exactly what the invariant check is there to flag.
    const report = await ctl.invariants();
    expect(report.ok).to.equal(false);
    expect(report.violations.map((violation) => violation.kind)).to.deep.equal(['illegal-outside-task']);
  });

  it('failSourceDelete: an op-2 move reports success, the copy is LEGAL and the source is still listed', async () => {
    await ctl.addFault({ match: { image: IDS.smallImage }, action: { failSourceDelete: true } });
    const taskId = await spm.Image.move(smallCopy(2));
    expect(await finished(taskId)).to.deep.equal(successStatus(taskId));
    expect(await spm.Volume.getInfo(smallVolume(IDS.fileDomain2))).to.include({ legality: 'LEGAL' });
    expect((await ctl.checksum(IDS.fileDomain2, IDS.smallImage, IDS.smallVolume)).checksum).to.equal(sourceSum);
    await expectSourceIntact();
    expect((await ctl.faultLog()).map((firing) => firing['kind'])).to.deep.equal(['failSourceDelete']);
    await expectInvariantsOk();
  });

  it('loseSpm: host 2 becomes the SPM, host 1 answers 654, the task ends recovered', async () => {
    const host2 = bed.host(2);
    await ctl.addFault({ match: { task: { phase: 'copy' } }, action: { loseSpm: true, toHost: 2 } });
    const taskId = await spm.Image.move(smallCopy());
    await firings(1);
    expect((await ctl.listHosts()).map((host) => [host.id, host.spm])).to.deep.equal([
      [1, false],
      [2, true],
    ]);
    await expectVdsmError(spm.Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, NOT_SPM_GET_ALL_MESSAGE);
    const status = await finished(taskId, host2);
    // VDSM §7.3: a task recovered by a new SPM reports a loaded task's default result.
    expect(status).to.deep.equal({ taskID: taskId, taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess, code: 0, message: TaskWords.initializing });
    expect((await ctl.listTasks()).find((task) => task.id === taskId)).to.include({ state: 'recovered' });
    await expectTargetGone(host2);
    await expectSourceIntact(host2);
    await expectInvariantsOk();
  });

  it('domainFull: a copy onto the file domain fails with 261 and leaves nothing there', async () => {
    await ctl.addFault({ match: { domain: IDS.fileDomain2 }, action: { domainFull: true } });
    const taskId = await spm.Image.move(smallCopy());
    expect(await finished(taskId)).to.deep.equal(
      rolledBack(taskId, VdsmCode.CopyImageError, taskAbortedMessage(COPY_IMAGE_FAILED_MESSAGE, VdsmCode.CopyImageError)),
    );
    await expectTargetGone();
    await expectSourceIntact();
    expect((await ctl.faultLog()).map((firing) => firing['kind'])).to.include('domainFull');
    await expectInvariantsOk();
  });

  it('domainUnreachable: Image.move onto it is refused with 358, and no task exists', async () => {
    await ctl.addFault({ match: { domain: IDS.fileDomain2 }, action: { domainUnreachable: true } });
    await expectVdsmError(spm.Image.move(smallCopy()), VdsmCode.StorageDomainDoesNotExist, domainDoesNotExistMessage(IDS.fileDomain2));
    expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
    // Once the rule is gone the domain is back: the same copy runs through.
    expect(await ctl.clearFaults()).to.equal(1);
    const taskId = await spm.Image.move(smallCopy());
    expect(await finished(taskId)).to.deep.equal(successStatus(taskId));
  });

  it('crash mid-copy (in-process): the control plane answers 503 until restart, then the task is recovered', async () => {
    await ctl.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { crash: true }, times: 1 });
    const taskId = await spm.Image.move(smallCopy());
    // Crashed: the control API stays up, everything else answers 503 (ControlError 'unavailable').
    await waitUntil(async () => (await ctl.listTasks().then(() => 'up', (error: unknown) => String((error as { code?: unknown }).code))) === 'unavailable', 'the fake crashed');
    expect(await ctl.health()).to.deep.equal({ ok: true });
    expect((await ctl.faultLog()).map((firing) => firing['kind'])).to.deep.equal(['crash']);
    // The hosts' ports are closed: a call fails as a network error (5022), not as an answer.
    const refused = await rejectionOf(spm.Task.getStatus({ taskID: taskId }), 'a call to a crashed fake');
    expect(refused).to.be.instanceOf(VdsmNetworkError);

    await ctl.restart();
    const status = await finished(taskId);
    expect(status).to.include({ taskID: taskId, taskState: TaskWords.finished, taskResult: TaskWords.cleanSuccess });
    expect((await ctl.listTasks()).find((task) => task.id === taskId)).to.include({ state: 'recovered' });
    await expectTargetGone();
    await expectSourceIntact();
    await expectInvariantsOk();
  });
});
