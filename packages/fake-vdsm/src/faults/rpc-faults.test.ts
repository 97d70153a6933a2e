/**
 * RPC and task-status faults from a real client over a real socket: an
 * in-process fake (startFakeVdsm) and a VdsmClient over TCP on 127.0.0.1,
 * rules added to the process's fault engine (`fake.faults`).
 */
import { VdsmClient } from '@vdsm-kit/client';
import { ImageOperation, RpcTimeoutError, TaskState, VdsmError, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { TaskStatus } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { TaskStatusInvalidError, TaskWatcher } from '@vdsm-kit/client/tasks';
import { expect } from 'chai';
import { DEFAULT_IDS, startFakeVdsm } from '../index.js';
import type { FakeVdsm } from '../index.js';

const { pool, fileDomain, blockDomain, image } = DEFAULT_IDS;
const MOVE = {
  imageID: image,
  storagepoolID: pool,
  storagedomainID: fileDomain,
  dstSdUUID: blockDomain,
  operation: ImageOperation.Copy,
  postZero: false,
  force: false,
} as const;

const realPause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('faults/rpc-faults and status-faults: from a real client over TCP', function () {
  this.timeout(30_000);
  let vdsm: FakeVdsm | undefined;
  const clients: VdsmClient[] = [];

  const client = (timeoutMs = 10_000): VdsmClient => {
    const created = new VdsmClient({ transport: 'tcp', host: vdsm!.stomp.host, port: vdsm!.stomp.port, timeoutMs });
    clients.push(created);
    return created;
  };

  /** Polls Task.getStatus until the task is finished (real time: the copy runs on the system clock). */
  const taskDone = async (via: VdsmClient, taskID: string): Promise<TaskStatus> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = await via.Task.getStatus({ taskID });
      if (status.taskState === TaskState.Finished) return status;
      if (Date.now() > deadline) throw new Error(`task ${taskID} not done: ${JSON.stringify(status)}`);
      await realPause(20);
    }
  };

  /** The raw listing (no result validation: a malformed entry must reach the test as sent). */
  const listing = async (via: VdsmClient): Promise<Record<string, unknown>> =>
    (await via.call('Host.getAllTasksStatuses', {})) as Record<string, unknown>;

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await vdsm?.close();
    vdsm = undefined;
  });

  it("error: Image.move answers the code with VDSM's message, without running the verb", async () => {
    vdsm = await startFakeVdsm({ faults: [{ id: 'move-fails', match: { method: 'Image.move', image }, action: { error: 253 }, times: 1 }] });
    const vdsmClient = client();
    const failed = await rejection(vdsmClient.Image.move(MOVE));
    expect(failed).to.be.instanceOf(VdsmError);
    expect((failed as VdsmError).code).to.equal(253);
    expect(failed.message).to.equal('Error moving image: ()');
    expect(await listing(vdsmClient)).to.deep.equal({});
    expect(vdsm.faults.log()).to.have.length(1);
    expect(vdsm.faults.log()[0]).to.deep.include({ ruleId: 'move-fails', layer: 'rpc', kind: 'error' });
    expect(vdsm.faults.log()[0]?.point).to.deep.include({ layer: 'rpc', host: 1, method: 'Image.move' });

    // times: 1 is spent: the move runs now.
    const taskID = await vdsmClient.Image.move(MOVE);
    expect((await taskDone(vdsmClient, taskID)).code).to.equal(0);
  });

  it('error: an unknown code gets a generic VDSM-style message, a given message is sent as is', async () => {
    vdsm = await startFakeVdsm();
    vdsm.faults.add({ match: { method: 'Host.echo', params: { message: 'a' } }, action: { error: 4242 } });
    vdsm.faults.add({ match: { method: 'Host.echo', params: { message: 'b' } }, action: { error: 100, message: 'disk on fire' } });
    const vdsmClient = client();
    const unknown = await rejection(vdsmClient.Host.echo({ message: 'a' }));
    expect((unknown as VdsmError).code).to.equal(4242);
    expect(unknown.message).to.equal("General Exception: ('fault injected with error code 4242',)");
    const given = await rejection(vdsmClient.Host.echo({ message: 'b' }));
    expect(given.message).to.equal('disk on fire');
    expect(await vdsmClient.Host.echo({ message: 'c' })).to.equal('c');
  });

  it('delayMs: the answer leaves after the delay on the fake clock', async () => {
    const clock = new ManualClock();
    vdsm = await startFakeVdsm({ clock });
    vdsm.faults.add({ match: { method: 'Host.echo' }, action: { delayMs: 10_000 } });
    const vdsmClient = client(60_000);
    let answer: string | undefined;
    const call = vdsmClient.Host.echo({ message: 'late' }).then((value) => (answer = value));
    // Until the request has reached the fake, nothing is waiting on the clock.
    for (let i = 0; i < 200 && vdsm.faults.log().length === 0; i++) await realPause(5);
    await realPause(20);
    await clock.advanceAsync(9_999);
    await realPause(50);
    expect(answer).to.equal(undefined);
    await clock.advanceAsync(1);
    await call;
    expect(answer).to.equal('late');
  });

  it('noAnswer: the client times out with 5022 while the verb ran (its task exists)', async () => {
    vdsm = await startFakeVdsm();
    vdsm.faults.add({ match: { method: 'Image.move' }, action: { noAnswer: true }, times: 1 });
    const vdsmClient = client(300);
    const timedOut = await rejection(vdsmClient.Image.move(MOVE));
    expect(timedOut).to.be.instanceOf(RpcTimeoutError);
    expect((timedOut as RpcTimeoutError).code).to.equal(VdsmErrorCode.VDS_NETWORK_ERROR);
    const tasks = Object.keys(await listing(vdsmClient));
    expect(tasks).to.have.length(1);
    await taskDone(vdsmClient, tasks[0] as string);
  });

  it('answerAfterMs: the answer comes after the client gave up, the verb already ran', async () => {
    vdsm = await startFakeVdsm();
    vdsm.faults.add({ match: { method: 'Image.move' }, action: { answerAfterMs: 600 }, times: 1 });
    const vdsmClient = client(200);
    expect(await rejection(vdsmClient.Image.move(MOVE))).to.be.instanceOf(RpcTimeoutError);
    expect(Object.keys(await listing(vdsmClient))).to.have.length(1);
  });

  it('startAfterMs: the verb starts late, so its task appears only then, and the answer follows it', async () => {
    const clock = new ManualClock();
    vdsm = await startFakeVdsm({ clock });
    vdsm.faults.add({ match: { method: 'Image.move' }, action: { startAfterMs: 5_000 }, times: 1 });
    const vdsmClient = client(60_000);
    let answer: string | undefined;
    const call = vdsmClient.Image.move(MOVE).then((value) => (answer = value));
    for (let i = 0; i < 200 && vdsm.faults.log().length === 0; i++) await realPause(5);
    // The request is in, its verb has not run: no task yet, and a caller that gave up now would see none.
    expect(await listing(vdsmClient)).to.deep.equal({});
    await clock.advanceAsync(4_999);
    expect(await listing(vdsmClient)).to.deep.equal({});
    expect(answer).to.equal(undefined);
    await clock.advanceAsync(1);
    await call;
    expect(Object.keys(await listing(vdsmClient))).to.deep.equal([answer]);
  });

  it('hideForPolls K: the task is missing from K polls, then listed again', async () => {
    vdsm = await startFakeVdsm();
    const vdsmClient = client();
    const taskID = await vdsmClient.Image.move(MOVE);
    await taskDone(vdsmClient, taskID);
    vdsm.faults.add({ match: { task: { kind: 'moveImage' }, image }, action: { hideForPolls: 2 }, after: 1 });
    const seen: boolean[] = [];
    for (let poll = 0; poll < 5; poll++) seen.push(Object.hasOwn(await listing(vdsmClient), taskID));
    // after: 1 lets the first poll through, then 2 polls hide it.
    expect(seen).to.deep.equal([true, false, false, true, true]);
    expect(vdsm.faults.log().map((firing) => firing.taskIds)).to.deep.equal([[taskID], [taskID]]);
    // Task.getStatus is not a listing: it still answers.
    expect((await vdsmClient.Task.getStatus({ taskID })).taskID).to.equal(taskID);
  });

  it("malformedStatus: the client's TaskWatcher counts misses, then sees the task end", async () => {
    vdsm = await startFakeVdsm();
    const vdsmClient = client();
    vdsm.faults.add({ match: { method: 'Host.getAllTasksStatuses' }, action: { malformedStatus: true }, times: 2 });
    const taskID = await vdsmClient.Image.move(MOVE);
    const watcher = new TaskWatcher({ caller: vdsmClient, intervalMs: 10, missingPollsBeforeUnknown: 3 });
    const invalid: TaskStatusInvalidError[] = [];
    watcher.onPollError((error) => {
      if (error instanceof TaskStatusInvalidError) invalid.push(error);
    });
    try {
      const outcome = await watcher.wait(taskID, { timeoutMs: 15_000 });
      expect(outcome.kind).to.equal('success');
    } finally {
      watcher.close();
    }
    expect(invalid.map((error) => error.taskId)).to.deep.equal([taskID, taskID]);
    expect(vdsm.faults.log().map((firing) => firing.kind)).to.deep.equal(['malformedStatus', 'malformedStatus']);
  });

  it('Task.clear fails with 410 N times (times: N), then clears', async () => {
    vdsm = await startFakeVdsm();
    const vdsmClient = client();
    const taskID = await vdsmClient.Image.move(MOVE);
    await taskDone(vdsmClient, taskID);
    vdsm.faults.add({ match: { method: 'Task.clear', params: { taskID } }, action: { error: 410 }, times: 2 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await rejection(vdsmClient.Task.clear({ taskID }));
      expect((refused as VdsmError).code).to.equal(410);
      expect(refused.message).to.equal('Operation is not allowed in this task state: ()');
    }
    expect(Object.hasOwn(await listing(vdsmClient), taskID)).to.equal(true);
    await vdsmClient.Task.clear({ taskID });
    expect(Object.hasOwn(await listing(vdsmClient), taskID)).to.equal(false);
  });

  it('the same seed fires the same probabilistic faults over the wire', async () => {
    const run = async (seed: number): Promise<boolean[]> => {
      vdsm = await startFakeVdsm({ seed, faults: [{ match: { method: 'Host.echo' }, action: { error: 100 }, probability: 0.5 }] });
      const vdsmClient = client();
      const failed: boolean[] = [];
      for (let i = 0; i < 24; i++) failed.push(await vdsmClient.Host.echo({ message: 'x' }).then(() => false, () => true));
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await vdsm.close();
      vdsm = undefined;
      return failed;
    };
    const first = await run(99);
    expect(await run(99)).to.deep.equal(first);
    expect(first).to.include(true).and.to.include(false);
  });
});
