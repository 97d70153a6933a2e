/**
 * The fault table of docs/faults.md ("What a rule can match"), one test per
 * row, each named by the row's id: a rule goes in through the HTTP control
 * plane (`ControlClient`), a real `VdsmClient` over TCP drives the fake,
 * and the test checks that the rule FIRED where the row says (what the
 * client sees, plus the firing log), or that `POST /faults` refused it with
 * 400 naming the field. Rows that pair a rule that must not fire with one
 * that must are evidence of matching: the one that fires proves the point
 * was reached, the other that the field told them apart.
 *
 * In-process fake on a ManualClock, two connected hosts (host 1 the SPM);
 * the copied disk is the small 64 MiB one (1 MiB of data).
 */
import type { TaskStatus, VdsmClient } from '@vdsm-kit/client';
import { randomUUID } from 'node:crypto';
import { BLANK_UUID, VdsmNetworkError, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { ControlClient, ControlError } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { rejectionOf } from './support/outcome.js';
import { driveClockUntil, finishedOnClock, realDelay, startStorageFake, waitUntil } from './support/storage-fake.js';
import type { StorageBed } from './support/storage-fake.js';
import { IDS, copyParams, storageFixture } from './support/storage-fixture.js';
import { expectVdsmError, runningStatus, successStatus } from './support/storage-expect.js';
import { TaskWords, VdsmCode } from './support/storage-oracle.js';
import { TeardownHelper } from './support/teardown.js';
import { copyData, pollJob, storageJob, volumeAt } from './support/sdm-jobs.js';
import type { VolumeMove } from './support/sdm-jobs.js';

const STEP_MS = 50;

/** An Image.move of the small disk from nfs-data to nfs-data2 (operation 1 copies, 2 moves). */
function smallMove(operation: 1 | 2 = 1): Parameters<VdsmClient['Image']['move']>[0] {
  return { ...copyParams(IDS.smallImage), operation };
}

describe('fault table (docs/faults.md): every row fires from a real client, or is refused with 400', function () {
  this.timeout(30_000);
  const td = new TeardownHelper();
  let clock: ManualClock;
  let bed: StorageBed;
  let ctl: ControlClient;
  let spm: VdsmClient;

  beforeEach(async () => {
    clock = new ManualClock();
    bed = await startStorageFake(td, { hosts: 2, clock, seed: 11, fixture: storageFixture({ unconnectedHost: false }) });
    ctl = new ControlClient(bed.fake.control);
    spm = bed.host(1);
  });
  afterEach(() => td.run());

  const finished = (taskId: string, client: VdsmClient = spm): Promise<TaskStatus> => finishedOnClock(clock, client, taskId, STEP_MS);

  /** The firing log as [ruleId, kind] pairs. */
  async function fired(): Promise<[unknown, unknown][]> {
    return (await ctl.faultLog()).map((firing) => [firing['ruleId'], firing['kind']]);
  }

  async function firings(count: number): Promise<void> {
    await waitUntil(async () => (await ctl.faultLog()).length >= count, `${count} firing(s) logged`);
  }

  /** POST /faults answers 400 with a message naming `field`; nothing is added. */
  async function refused(rule: Record<string, unknown>, field: string, why: RegExp): Promise<void> {
    const error = await rejectionOf(ctl.addFault(rule), 'POST /faults of a rule that cannot fire');
    expect(error).to.be.instanceOf(ControlError);
    expect((error as ControlError).status).to.equal(400);
    expect((error as ControlError).code).to.equal('bad_request');
    const message = (error as ControlError).message;
    expect(message).to.include(`${field}: `);
    expect(message).to.match(why);
    expect(await ctl.listFaults()).to.deep.equal([]);
  }

  /** VDSM's status of a move rolled back after a 261 fault. */
  const copyFailed = (taskId: string): TaskStatus => ({
    taskID: taskId,
    taskState: TaskWords.finished,
    taskResult: TaskWords.cleanSuccess,
    code: 261,
    message: 'value=low level Image copy failed: () abortedcode=261',
  });

  describe('task layer', () => {
    it('T1 method × failAt: {method: Image.move} fails the move at the fraction', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move', task: { phase: 'copy' } }, action: { failAt: 0.5, error: 261 }, times: 1 });
      const taskId = await spm.Image.move(smallMove());
      expect(await finished(taskId)).to.deep.equal(copyFailed(taskId));
      expect((await ctl.listTasks()).find((task) => task.id === taskId)).to.include({ progress: 0.5 });
      expect(await fired()).to.deep.equal([['r', 'failAt']]);
    });

    it('T2 method × phaseDelayMs: {method: Image.move} holds the first phase for the delay, once per task', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move' }, action: { phaseDelayMs: 5_000 } });
      const taskId = await spm.Image.move(smallMove());
      await firings(1);
      await realDelay(20);
      await clock.advanceAsync(4_900);
      await realDelay(20);
      expect(await spm.Task.getStatus({ taskID: taskId })).to.deep.equal(runningStatus(taskId));
      expect(await finished(taskId)).to.deep.equal(successStatus(taskId));
      // Without a phase the rule decides once per task (at its first phase), not at each phase.
      expect(await fired()).to.deep.equal([['r', 'phaseDelayMs']]);
    });

    it('T3 method × hang: {method: Image.move} holds the move until Task.stop (411)', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move' }, action: { hang: true } });
      const taskId = await spm.Image.move(smallMove());
      await firings(1);
      await clock.advanceAsync(3_600_000);
      await realDelay(20);
      expect(await spm.Task.getStatus({ taskID: taskId })).to.deep.equal(runningStatus(taskId));
      await spm.Task.stop({ taskID: taskId });
      expect(await finished(taskId)).to.include({ code: VdsmCode.TaskAborted, taskResult: TaskWords.cleanSuccess });
    });

    it('T4 method × finish: {method: Image.move} ends the move with the rule\'s code', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move' }, action: { finish: 'cleanSuccess', error: 261 } });
      const taskId = await spm.Image.move(smallMove());
      expect(await finished(taskId)).to.deep.equal(copyFailed(taskId));
      expect(await fired()).to.deep.equal([['r', 'finish']]);
    });

    it('T5 method × failSourceDelete: {method: Image.move, params: {operation: 2}} keeps the source, the move succeeds', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move', params: { operation: 2 } }, action: { failSourceDelete: true } });
      const taskId = await spm.Image.move(smallMove(2));
      expect(await finished(taskId)).to.deep.equal(successStatus(taskId));
      // VDSM only logs a failed source delete: the source is still listed next to the LEGAL copy.
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain })).to.include(IDS.smallImage);
      expect(await spm.StorageDomain.getImages({ storagedomainID: IDS.fileDomain2 })).to.include(IDS.smallImage);
      expect(await fired()).to.deep.equal([['r', 'failSourceDelete']]);
    });

    it('T6 method × loseSpm: {method: Image.move} moves the SPM role to host 2', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move' }, action: { loseSpm: true, toHost: 2 } });
      const taskId = await spm.Image.move(smallMove());
      await firings(1);
      await waitUntil(async () => (await ctl.listHosts()).find((host) => host.id === 2)?.spm === true, 'host 2 is the SPM');
      await expectVdsmError(spm.Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, 'Not SPM: ()');
      expect(await finished(taskId, bed.host(2))).to.include({ taskResult: TaskWords.cleanSuccess });
    });

    it('T7 method × crash: {method: Image.move} crashes the fake mid-task', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move' }, action: { crash: true }, times: 1 });
      const taskId = await spm.Image.move(smallMove());
      const state = (): Promise<string> => ctl.listTasks().then(() => 'up', (error: unknown) => String((error as { code?: unknown }).code));
      await waitUntil(async () => (await state()) === 'unavailable', 'the fake crashed');
      expect(await fired()).to.deep.equal([['r', 'crash']]);
      expect(await rejectionOf(spm.Task.getStatus({ taskID: taskId }), 'a call to a crashed fake')).to.be.instanceOf(VdsmNetworkError);
      await ctl.restart();
      expect(await finished(taskId)).to.include({ taskResult: TaskWords.cleanSuccess });
    });

    it('T8 host × failAt: match.host is the host the task runs on (the SPM, host 1)', async () => {
      await ctl.addFault({ id: 'host2', match: { host: 2, task: { phase: 'copy' } }, action: { failAt: 0.5, error: 262 } });
      await ctl.addFault({ id: 'host1', match: { host: 1, task: { phase: 'copy' } }, action: { failAt: 0.5, error: 261 } });
      const taskId = await spm.Image.move(smallMove());
      expect(await finished(taskId)).to.deep.equal(copyFailed(taskId));
      expect(await fired()).to.deep.equal([['host1', 'failAt']]);
    });

    it("T9 params × failAt: match.params are the call's params (a move's source domain, storagedomainID, included)", async () => {
      await ctl.addFault({ id: 'other', match: { params: { storagedomainID: IDS.blockDomain } }, action: { failAt: 0.5, error: 262 } });
      await ctl.addFault({ id: 'source', match: { method: 'Image.move', params: { storagedomainID: IDS.fileDomain } }, action: { failAt: 0.5, error: 261 } });
      const taskId = await spm.Image.move(smallMove());
      expect(await finished(taskId)).to.deep.equal(copyFailed(taskId));
      expect(await fired()).to.deep.equal([['source', 'failAt']]);
    });

    it('T10 domain × failAt: match.domain is the domain the phase works on, or one the call names', async () => {
      await ctl.addFault({ id: 'other', match: { domain: IDS.blockDomain }, action: { failAt: 0.5, error: 262 } });
      await ctl.addFault({ id: 'target', match: { domain: IDS.fileDomain2, task: { phase: 'copy' } }, action: { failAt: 0.5, error: 261 } });
      const taskId = await spm.Image.move(smallMove());
      expect(await finished(taskId)).to.deep.equal(copyFailed(taskId));
      expect(await fired()).to.deep.equal([['target', 'failAt']]);
    });

    it('T11 image × failAt: match.image is the image the task works on', async () => {
      await ctl.addFault({ id: 'other', match: { image: IDS.dataImage }, action: { failAt: 0.5, error: 262 } });
      await ctl.addFault({ id: 'small', match: { image: IDS.smallImage, task: { phase: 'copy' } }, action: { failAt: 0.5, error: 261 } });
      const taskId = await spm.Image.move(smallMove());
      expect(await finished(taskId)).to.deep.equal(copyFailed(taskId));
      expect(await fired()).to.deep.equal([['small', 'failAt']]);
    });

    it('T12 task.kind and task.phase × failAt: the job kind (moveImage) and the phase it enters', async () => {
      await ctl.addFault({ id: 'purge', match: { task: { kind: 'purgeImage' } }, action: { failAt: 0.5, error: 262 } });
      await ctl.addFault({ id: 'move', match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { failAt: 0.5, error: 261 } });
      const taskId = await spm.Image.move(smallMove());
      expect(await finished(taskId)).to.deep.equal(copyFailed(taskId));
      expect(await fired()).to.deep.equal([['move', 'failAt']]);
    });

    it('T13 after and times count tasks: {after: 1, times: 1} spares the first move and fails the second only', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move' }, action: { finish: 'cleanSuccess', error: 261 }, after: 1, times: 1 });
      const first = await spm.Image.move(smallMove());
      expect(await finished(first)).to.deep.equal(successStatus(first));
      await spm.Task.clear({ taskID: first });
      const second = await spm.Image.move({ ...smallMove(), force: true });
      expect(await finished(second)).to.deep.equal(copyFailed(second));
      expect(await fired()).to.deep.equal([['r', 'finish']]);
    });

    it("R1 method = a task's internal verb (moveImage): 400 naming match.method and the JSON-RPC method", async () => {
      await refused({ match: { method: 'moveImage' }, action: { failAt: 0.5, error: 253 }, times: 1 }, 'match.method', /internal verb.*'Image\.move'/);
    });

    it('R2 method that starts no task (Host.ping2) × a task action: 400', async () => {
      await refused({ match: { method: 'Host.ping2' }, action: { hang: true } }, 'match.method', /starts no task/);
    });

    it('R3 method whose task enters no phase (StoragePool.spmStart) × a task action: 400', async () => {
      await refused({ match: { method: 'StoragePool.spmStart' }, action: { hang: true } }, 'match.method', /enters no phase/);
    });

    it('R4 task.phase the job kind never enters (moveImage, zero): 400', async () => {
      await refused({ match: { task: { kind: 'moveImage', phase: 'zero' } }, action: { hang: true } }, 'match.task.phase', /never enters phase 'zero'/);
    });

    it("R5 task.phase 'delete' of a move with operation 1 (a copy has no delete): 400", async () => {
      await refused({ match: { method: 'Image.move', params: { operation: 1 }, task: { phase: 'delete' } }, action: { hang: true } }, 'match.task.phase', /unless operation is 2/);
    });

    it("R6 failAt at a phase that reports no progress (a move's delete): 400", async () => {
      await refused({ match: { method: 'Image.move', task: { phase: 'delete' } }, action: { failAt: 0, error: 256 } }, 'match.task.phase', /reports no progress/);
    });

    it('R7 failSourceDelete on a task that never deletes its source (Volume.copy, or a move with operation 1): 400', async () => {
      await refused({ match: { method: 'Volume.copy' }, action: { failSourceDelete: true } }, 'match.method', /operation 2/);
      await refused({ match: { method: 'Image.move', params: { operation: 1 } }, action: { failSourceDelete: true } }, 'match.method', /operation 2/);
    });

    it('R8 task.kind that the method never starts, or that does not exist: 400', async () => {
      await refused({ match: { method: 'Image.move', task: { kind: 'purgeImage' } }, action: { hang: true } }, 'match.task.kind', /never starts a purgeImage task/);
      await refused({ match: { task: { kind: 'moveimage' } }, action: { hang: true } }, 'match.task.kind', /unknown job kind/);
    });

    it("R9 params the starting call does not have: 400", async () => {
      await refused({ match: { method: 'Image.move', params: { srcSdUUID: IDS.fileDomain } }, action: { hang: true } }, 'match.params', /no param srcSdUUID/);
    });
  });

  describe('rpc layer', () => {
    it('P1 method × error: the call answers the code with VDSM\'s message and no task starts', async () => {
      await ctl.addFault({ id: 'r', match: { method: 'Image.move' }, action: { error: 851 }, times: 1 });
      await expectVdsmError(spm.Image.move(smallMove()), 851, 'Resource timeout: ()');
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
      expect(await fired()).to.deep.equal([['r', 'error']]);
    });

    it('P2 params, domain and image × error: they pick the call by what it names', async () => {
      await ctl.addFault({ id: 'other', match: { method: 'Image.move', image: IDS.dataImage }, action: { error: 262 } });
      await ctl.addFault({ id: 'r', match: { method: 'Image.move', domain: IDS.fileDomain2, params: { operation: 1 } }, action: { error: 851 } });
      await expectVdsmError(spm.Image.move(smallMove()), 851, 'Resource timeout: ()');
      expect(await fired()).to.deep.equal([['r', 'error']]);
    });

    it('P3 host × error: only the named host answers with the fault', async () => {
      await ctl.addFault({ id: 'r', match: { host: 2, method: 'Host.getAllTasksStatuses' }, action: { error: 100, message: 'General Exception: ()' } });
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
      await expectVdsmError(bed.host(2).Host.getAllTasksStatuses(), 100, 'General Exception: ()');
      expect(await fired()).to.deep.equal([['r', 'error']]);
    });

    it('R10 task × an rpc action: 400 (a call has no task kind or phase)', async () => {
      await refused({ match: { method: 'Image.move', task: { phase: 'copy' } }, action: { error: 261 } }, 'match.task', /JSON-RPC call/);
    });

    it('R11 method that VDSM does not have, or an internal verb: 400', async () => {
      await refused({ match: { method: 'Image.nope' }, action: { error: 100 } }, 'match.method', /not a JSON-RPC method/);
      await refused({ match: { method: 'deleteImage' }, action: { error: 100 } }, 'match.method', /'Image\.delete'/);
    });

    it('R12 domain or params a method does not have (Host.ping2): 400', async () => {
      await refused({ match: { method: 'Host.ping2', domain: IDS.fileDomain }, action: { error: 100 } }, 'match.domain', /names no storage domain/);
      await refused({ match: { method: 'Host.ping2', params: { imageID: IDS.smallImage } }, action: { error: 100 } }, 'match.params', /no param imageID/);
    });
  });

  describe('status layer', () => {
    it('S1 task.kind and image × hideForPolls: the running move is left out of K polls, then listed again', async () => {
      await ctl.addFault({ match: { method: 'Image.move' }, action: { hang: true } });
      const taskId = await spm.Image.move(smallMove());
      await firings(1);
      await ctl.addFault({ id: 'r', match: { task: { kind: 'moveImage' }, image: IDS.smallImage }, action: { hideForPolls: 2 } });
      const seen: boolean[] = [];
      for (let poll = 0; poll < 3; poll++) seen.push(Object.hasOwn(await spm.Host.getAllTasksStatuses(), taskId));
      expect(seen).to.deep.equal([false, false, true]);
      expect((await fired()).filter(([id]) => id === 'r')).to.have.length(2);
      await spm.Task.stop({ taskID: taskId });
    });

    it('S2 host and method × malformedStatus: the SPM\'s answer carries a garbled entry', async () => {
      await ctl.addFault({ match: { method: 'Image.move' }, action: { hang: true } });
      const taskId = await spm.Image.move(smallMove());
      await firings(1);
      await ctl.addFault({ id: 'r', match: { host: 1, method: 'Host.getAllTasksStatuses' }, action: { malformedStatus: true }, times: 1 });
      // The typed client passes the listing through; the entry is what the engine's malformed-entry case sees.
      const garbled: Record<string, unknown> = { ...(await spm.Host.getAllTasksStatuses())[taskId] };
      expect(garbled).to.include({ taskID: taskId, taskState: 'preparing', code: 'x' });
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({ [taskId]: runningStatus(taskId) });
      expect((await fired()).filter(([id]) => id === 'r')).to.deep.equal([['r', 'malformedStatus']]);
      await spm.Task.stop({ taskID: taskId });
    });

    it('R13 method other than Host.getAllTasksStatuses × a status action: 400', async () => {
      await refused({ match: { method: 'Image.move' }, action: { hideForPolls: 1 } }, 'match.method', /Host\.getAllTasksStatuses/);
    });

    it('R14 task.phase or params × a status action: 400', async () => {
      await refused({ match: { task: { phase: 'copy' } }, action: { hideForPolls: 1 } }, 'match.task.phase', /in no phase/);
      await refused({ match: { params: { imgUUID: IDS.smallImage } }, action: { malformedStatus: true } }, 'match.params', /has no params/);
    });
  });

  describe('domain conditions', () => {
    it('D1 domain × domainUnreachable: Image.move onto it is refused with 358', async () => {
      await ctl.addFault({ id: 'r', match: { domain: IDS.fileDomain2 }, action: { domainUnreachable: true } });
      await expectVdsmError(spm.Image.move(smallMove()), 358, `Storage domain does not exist: ('${IDS.fileDomain2}',)`);
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
    });

    it('D2 domain × domainFull with after and times: they count operations (getStats calls), not checks', async () => {
      await ctl.addFault({ id: 'r', match: { domain: IDS.fileDomain2 }, action: { domainFull: true }, after: 1, times: 1 });
      const free = async (): Promise<string> => String((await spm.StorageDomain.getStats({ storagedomainID: IDS.fileDomain2 })).diskfree);
      const first = await free();
      expect(Number(first)).to.be.above(0);
      expect(await free()).to.equal('0');
      expect(await free()).to.equal(first);
      expect(await fired()).to.deep.equal([['r', 'domainFull']]);
    });

    it('D3 domain × domainFull with after: one task is one operation, however often its copier checks the free space', async () => {
      await ctl.addFault({ id: 'r', match: { domain: IDS.fileDomain2 }, action: { domainFull: true }, after: 1, times: 1 });
      // The data disk's copy checks the free space at every piece: all of it is the first operation, spared.
      const spared = await spm.Image.move({ ...copyParams(IDS.dataImage), operation: 1 });
      expect(await finished(spared)).to.deep.equal(successStatus(spared));
      expect(await fired()).to.deep.equal([]);
      // The second operation that looks at the domain gets the condition.
      expect(String((await spm.StorageDomain.getStats({ storagedomainID: IDS.fileDomain2 })).diskfree)).to.equal('0');
      expect(await fired()).to.deep.equal([['r', 'domainFull']]);
    });

    it('D4 host × domainUnreachable: only the named host loses the domain (getInfo 379 there)', async () => {
      await ctl.addFault({ id: 'r', match: { host: 2, domain: IDS.fileDomain2 }, action: { domainUnreachable: true } });
      expect(await spm.StorageDomain.getInfo({ storagedomainID: IDS.fileDomain2 })).to.be.an('object');
      await expectVdsmError(
        bed.host(2).StorageDomain.getInfo({ storagedomainID: IDS.fileDomain2 }),
        379,
        `Domain is either partially accessible or entirely inaccessible: ('${IDS.fileDomain2}',)`,
      );
      expect(await fired()).to.deep.equal([['r', 'domainUnreachable']]);
    });

    it('D5 domain × domainFull with probability: the seeded draw decides per operation, and each full answer is one firing', async () => {
      await ctl.addFault({ id: 'r', match: { domain: IDS.fileDomain2 }, action: { domainFull: true }, probability: 0.5 });
      const answers: boolean[] = [];
      for (let call = 0; call < 16; call++) answers.push(String((await spm.StorageDomain.getStats({ storagedomainID: IDS.fileDomain2 })).diskfree) === '0');
      expect(answers).to.include(true).and.to.include(false);
      expect((await ctl.faultLog()).length).to.equal(answers.filter(Boolean).length);
    });

    it('R15 method, params, image or task × a domain condition: 400', async () => {
      await refused({ match: { method: 'Image.move', domain: IDS.fileDomain2 }, action: { domainFull: true } }, 'match.method', /holds for a domain/);
      await refused({ match: { task: { kind: 'moveImage' } }, action: { domainUnreachable: true } }, 'match.task', /holds for a domain/);
    });
  });

  describe('wire layer', () => {
    it('W1 host and method × closeConnection: the named call on the named host loses its connection', async () => {
      await ctl.addFault({ id: 'r', match: { host: 1, method: 'Host.getAllTasksStatuses' }, action: { closeConnection: true }, times: 1 });
      // Host 2 (not the SPM) keeps its connection: it answers VDSM's refusal.
      await expectVdsmError(bed.host(2).Host.getAllTasksStatuses(), VdsmCode.SpmStatusError, 'Not SPM: ()');
      const lost = await rejectionOf(spm.Host.getAllTasksStatuses(), 'a call whose connection the fault closed');
      expect(lost).to.be.instanceOf(VdsmNetworkError);
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
      expect(await fired()).to.deep.equal([['r', 'closeConnection']]);
    });

    it('R16 task × a wire action: 400', async () => {
      await refused({ match: { task: { phase: 'copy' } }, action: { closeConnection: true } }, 'match.task', /no task kind or phase/);
    });
  });

  describe('SDM host jobs (a copy_data of the small disk onto nfs-data2, on host 2)', () => {
    const SMALL: VolumeMove = { image: IDS.smallImage, volume: IDS.smallVolume, from: IDS.fileDomain, to: IDS.fileDomain2 };

    /** The destination made on the SPM (the task finished on the clock); resolves with its generation. */
    async function destination(): Promise<number> {
      const create = bed.host(1).Volume.create({
        volumeID: SMALL.volume, storagepoolID: IDS.pool, storagedomainID: SMALL.to, imageID: SMALL.image, size: 64 * 1024 * 1024,
        volFormat: VolumeFormat.RAW, preallocate: VolumeAllocation.Sparse, diskType: 'DATA', desc: '',
        srcImgUUID: BLANK_UUID, srcVolUUID: BLANK_UUID,
      });
      expect((await finished(await create)).code).to.equal(0);
      return (await volumeAt(spm, SMALL, SMALL.to)).generation;
    }

    it('J1 method × failAt with a code: the job fails with it (358, 201, 227, 651, 2009, 100), the destination left ILLEGAL at G', async () => {
      const generation = await destination();
      const codes = [358, 201, 227, 651, 2009, 100];
      for (const code of codes) {
        await ctl.addFault({ match: { method: 'SDM.copy_data' }, action: { failAt: 0, error: code }, times: 1 });
        const end = await pollJob(bed.host(2), await copyData(bed.host(2), SMALL, generation));
        expect(end?.status, String(code)).to.equal('failed');
        expect(end?.error?.code, String(code)).to.equal(code);
      }
      expect((await pollJob(bed.host(2), await copyData(bed.host(2), SMALL, generation), (job) => job?.status === 'done'))?.status).to.equal('done');
      expect((await ctl.faultLog()).length).to.equal(codes.length);
    });

    it('J2 method × hang: the copy runs until the control API aborts it, then ends aborted with the destination ILLEGAL at G', async () => {
      const generation = await destination();
      await ctl.addFault({ match: { method: 'SDM.copy_data' }, action: { hang: true } });
      const jobId = await copyData(bed.host(2), SMALL, generation);
      await waitUntil(async () => (await volumeAt(spm, SMALL, SMALL.to)).legality === 'ILLEGAL', 'the copy began');
      expect((await storageJob(bed.host(2), jobId))?.status).to.equal('running');
      await ctl.abortJob(2, jobId);
      expect((await pollJob(bed.host(2), jobId))?.status).to.equal('aborted');
      expect(await volumeAt(spm, SMALL, SMALL.to)).to.deep.include({ legality: 'ILLEGAL', generation });
    });

    it('J3 host × phaseDelayMs: the data phase of a host 2 copy waits on the clock; a host 1 copy is not delayed', async () => {
      const generation = await destination();
      await ctl.addFault({ match: { method: 'SDM.copy_data', host: 2 }, action: { phaseDelayMs: 30_000 } });
      const delayed = await copyData(bed.host(2), SMALL, generation);
      await waitUntil(async () => (await volumeAt(spm, SMALL, SMALL.to)).legality === 'ILLEGAL', 'the copy began');
      await clock.advanceAsync(29_000);
      expect((await storageJob(bed.host(2), delayed))?.status).to.equal('running');
      await driveClockUntil(clock, { stepMs: 500, maxMs: 5_000, until: async () => (await storageJob(bed.host(2), delayed))?.status === 'done' });
      const fresh = await copyData(bed.host(1), SMALL, generation + 1);
      expect((await pollJob(bed.host(1), fresh))?.status).to.equal('done');
      expect((await ctl.faultLog()).length).to.equal(1);
    });

    it('J4 method × crash: host 2, running the copy, crashes alone (the SPM answers on); after its restart the job is gone, the destination ILLEGAL at G', async () => {
      const generation = await destination();
      await ctl.addFault({ match: { method: 'SDM.copy_data' }, action: { crash: true }, times: 1 });
      const jobId = await copyData(bed.host(2), SMALL, generation);
      await waitUntil(async () => (await ctl.listHosts()).find((host) => host.id === 2)?.up === false, 'host 2 crashed');
      expect((await ctl.listHosts()).find((host) => host.id === 1)?.up).to.equal(true);
      expect(await volumeAt(spm, SMALL, SMALL.to)).to.deep.include({ legality: 'ILLEGAL', generation });
      await ctl.restartHost(2);
      expect(await storageJob(bed.host(2), jobId)).to.equal(undefined);
      const after = await volumeAt(spm, SMALL, SMALL.to);
      expect(after).to.deep.include({ legality: 'ILLEGAL', generation });
      expect(after.lease?.owners).to.deep.equal([]);
    });

    it('J5 task.kind × dropJob: the running copy leaves Host.getJobs, its lease still held, and the copy completes', async () => {
      const generation = await destination();
      await ctl.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { phaseDelayMs: 10_000 } });
      await ctl.addFault({ match: { task: { kind: 'copy_data' } }, action: { dropJob: true } });
      const jobId = await copyData(bed.host(2), SMALL, generation);
      await waitUntil(async () => (await storageJob(bed.host(2), jobId)) === undefined, 'the job dropped');
      const during = await volumeAt(spm, SMALL, SMALL.to);
      expect(during.lease?.owners).to.deep.equal([2]);
      await driveClockUntil(clock, { stepMs: 500, maxMs: 15_000, until: async () => (await volumeAt(spm, SMALL, SMALL.to)).generation === generation + 1 });
      expect(await volumeAt(spm, SMALL, SMALL.to)).to.deep.include({ legality: 'LEGAL' });
      expect(await storageJob(bed.host(2), jobId)).to.equal(undefined);
    });

    it('J6 method × dropJobAtEnd: the copy is listed while it runs and never once it ended', async () => {
      const generation = await destination();
      await ctl.addFault({ match: { method: 'SDM.copy_data' }, action: { phaseDelayMs: 10_000 } });
      await ctl.addFault({ match: { method: 'SDM.copy_data' }, action: { dropJobAtEnd: true } });
      const jobId = await copyData(bed.host(2), SMALL, generation);
      await waitUntil(async () => (await volumeAt(spm, SMALL, SMALL.to)).legality === 'ILLEGAL', 'the copy began');
      expect((await storageJob(bed.host(2), jobId))?.status).to.equal('running');
      await driveClockUntil(clock, { stepMs: 500, maxMs: 15_000, until: async () => (await volumeAt(spm, SMALL, SMALL.to)).generation === generation + 1 });
      expect(await storageJob(bed.host(2), jobId)).to.equal(undefined);
    });

    it("J7 method × finish: an update_volume (the engine's fence) fails with the rule's code and writes nothing", async () => {
      const generation = await destination();
      await ctl.addFault({ match: { method: 'SDM.update_volume' }, action: { finish: 'cleanFailure', error: 651 } });
      const jobId = randomUUID();
      const volInfo = { sd_id: SMALL.to, img_id: SMALL.image, vol_id: SMALL.volume, generation };
      await bed.host(2).SDM.update_volume({ job_id: jobId, vol_info: volInfo, vol_attr: { generation: generation + 3 } });
      expect((await pollJob(bed.host(2), jobId))?.error?.code).to.equal(651);
      expect((await volumeAt(spm, SMALL, SMALL.to)).generation).to.equal(generation);
    });

    it('R17 dropJob off a copy_data, failAt on update_volume (no progress), a status action on an SDM job: 400', async () => {
      await refused({ match: { method: 'Image.move' }, action: { dropJob: true } }, 'match.method', /SDM\.copy_data job/);
      await refused({ match: { method: 'SDM.update_volume' }, action: { failAt: 0.5, error: 100 } }, 'match.task', /reports no progress/);
      await refused({ match: { task: { kind: 'copy_data' } }, action: { hideForPolls: 1 } }, 'match.task.kind', /SDM host job/);
    });
  });
});
