/**
 * MoveWorker in one process against a real fake VDSM (two hosts, real
 * sockets) and one real SQLite store file opened by each worker on its own:
 * two workers share the moves and the pool's one poller; a worker that stops
 * hands its moves and the pool over.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moveImage } from '@vdsm-kit/client';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { MoveOrchestrator } from '../move/orchestrator.js';
import { SqliteMoveStore } from '../store/sqlite-store.js';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool } from '../test-support/fake-pool.js';
import { MoveWorker } from './move-worker.js';
import type { WorkerLog } from './move-worker.js';

const LEASE_MS = 1500;
const INTERVAL_MS = 100;

describe('MoveWorker', function () {
  this.timeout(120_000);
  let pool: FakePool;
  let folder: string;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    pool = await startFakePool({ hosts: 2, smallDisks: 8 });
    folder = await mkdtemp(join(tmpdir(), 'engine-move-worker-'));
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await pool.close();
    await rm(folder, { recursive: true, force: true });
  });

  function open(): SqliteMoveStore {
    const store = SqliteMoveStore.open({ path: join(folder, 'moves.sqlite') });
    closers.push(() => store.close());
    return store;
  }

  function worker(name: string, lines: { name: string; message: string; fields: Record<string, unknown> }[], maxMoves = 4): MoveWorker {
    const log: WorkerLog = (_level, message, fields = {}) => lines.push({ name, message, fields });
    const w = new MoveWorker({ store: open(), hosts: pool.hosts, owner: name, leaseMs: LEASE_MS, pollIntervalMs: INTERVAL_MS, maxMoves, log });
    closers.push(() => w.stop());
    return w;
  }

  async function submitAll(): Promise<string[]> {
    const orchestrator = new MoveOrchestrator({ copyPath: 'spm', store: open(), hosts: pool.hosts });
    const ids: string[] = [];
    for (const disk of pool.disks) {
      ids.push((await orchestrator.submit({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain })).moveId);
    }
    orchestrator.close();
    return ids;
  }

  async function until(check: () => boolean | Promise<boolean>): Promise<void> {
    while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  async function allDone(store: SqliteMoveStore, ids: readonly string[]): Promise<void> {
    for (;;) {
      const moves = await Promise.all(ids.map((id) => store.getMove(id)));
      if (moves.every((m) => m?.state === 'done')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('two workers share the moves (at most max-moves each) and one of them polls the pool', async () => {
    const lines: { name: string; message: string; fields: Record<string, unknown> }[] = [];
    const a = worker('a', lines);
    const b = worker('b', lines);
    const ids = await submitAll();
    a.start();
    b.start();
    const store = open();
    await allDone(store, ids);
    // A worker says "move done" once the run's last Task.clear is through, a moment after the state reads done.
    await until(() => ids.every((id) => lines.some((l) => l.message === 'move done' && l.fields['move'] === id)));
    for (const id of ids) expect((await store.getMove(id))!.result, JSON.stringify(lines)).to.equal('moved');
    const ran = new Set(lines.filter((l) => l.message === 'move done').map((l) => l.name));
    expect([...ran].sort(), 'both workers ran moves').to.deep.equal(['a', 'b']);
    // One poller: only the holder of the pool lease called the SPM for statuses; every call was its.
    const polledBy = lines.filter((l) => l.message === 'polling the pool (pool lease taken)').map((l) => l.name);
    expect(polledBy).to.have.length(1);
    const polls = async (w: MoveWorker): Promise<number> => (await w.metrics.statusPolls.get()).values.reduce((sum, v) => sum + v.value, 0);
    const [pollsA, pollsB] = [await polls(a), await polls(b)];
    expect(polledBy[0] === 'a' ? [pollsA > 0, pollsB] : [pollsB > 0, pollsA]).to.deep.equal([true, 0]);
    expect(pollsA + pollsB).to.equal(pool.calls.get('Host.getAllTasksStatuses'));
    expect(pool.calls.get('Image.move')).to.equal(ids.length);
  });

  it("two workers on the SDM path: only the pool's poller asks the copy host for jobs, its own and the other's", async () => {
    const lines: { name: string; message: string; fields: Record<string, unknown> }[] = [];
    const a = worker('a', lines);
    const b = worker('b', lines);
    // Each copy lasts several poll intervals, so its job is polled and not only ended by its event.
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { phaseDelayMs: 8 * INTERVAL_MS } });
    const submitter = new MoveOrchestrator({ store: open(), hosts: pool.hosts });
    const ids: string[] = [];
    for (const disk of pool.disks) {
      ids.push((await submitter.submit({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain, copyPath: 'sdm' })).moveId);
    }
    submitter.close();
    a.start();
    b.start();
    const store = open();
    await allDone(store, ids);
    await until(() => ids.every((id) => lines.some((l) => l.message === 'move done' && l.fields['move'] === id)));
    for (const id of ids) expect((await store.getMove(id))!, JSON.stringify(lines)).to.deep.include({ result: 'moved', path: 'sdm' });
    expect([...new Set(lines.filter((l) => l.message === 'move done').map((l) => l.name))].sort(), 'both workers ran moves').to.deep.equal(['a', 'b']);
    const polledBy = lines.filter((l) => l.message === 'polling the pool (pool lease taken)').map((l) => l.name);
    expect(polledBy).to.have.length(1);
    const jobPolls = async (w: MoveWorker): Promise<number> => (await w.metrics.jobPolls.get()).values.reduce((sum, v) => sum + v.value, 0);
    const [pollsA, pollsB] = [await jobPolls(a), await jobPolls(b)];
    // The poller asked, for both workers' jobs; the other never called Host.getJobs. Every such call on the wire was the poller's.
    expect(polledBy[0] === 'a' ? [pollsA > 0, pollsB] : [pollsB > 0, pollsA]).to.deep.equal([true, 0]);
    expect(pollsA + pollsB).to.equal(pool.calls.get('Host.getJobs'));
    expect(pool.calls.get('SDM.copy_data')).to.equal(ids.length);
    // The follower's jobs were among those the poller asked for.
    const followerJobs = new Set((await store.listSdmJobs({})).filter((job) => lines.some((l) => l.name !== polledBy[0] && l.message === 'move done' && l.fields['move'] === job.moveId)).map((job) => job.jobId));
    const asked = new Set((await pool.fake.listCalls({ method: 'Host.getJobs' })).calls.flatMap((call) => ((call.params as { job_ids?: string[] }).job_ids ?? [])));
    expect(followerJobs.size).to.be.greaterThan(0);
    expect([...followerJobs].filter((id) => !asked.has(id))).to.deep.equal([]);
  });

  it("a worker that loses a move while its copy verb is on the wire records the answer, and the next owner follows that task", async () => {
    const lines: { name: string; message: string; fields: Record<string, unknown> }[] = [];
    const [disk, decoy] = pool.disks;
    // The copy's task exists at once; its answer comes long after the lease is taken away.
    await pool.fake.addFault({ match: { method: 'Image.move' }, action: { answerAfterMs: 8000 }, times: 1 });
    const orchestrator = new MoveOrchestrator({ copyPath: 'spm', store: open(), hosts: pool.hosts });
    const { moveId } = await orchestrator.submit({ poolId: IDS.pool, diskId: disk!.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain });
    orchestrator.close();
    const a = worker('a', lines);
    a.start();
    await until(() => pool.calls.get('Image.move') === 1);

    // Another instance takes the move over (as if a's lease had lapsed) while the verb is on the wire.
    const store = open();
    const raw = new Database(join(folder, 'moves.sqlite'));
    closers.push(async () => {
      raw.close();
    });
    // (One statement, as a claim of a lapsed lease writes it, so a's own claimer cannot get in between.)
    raw.prepare("UPDATE moves SET owner = 'other', epoch = epoch + 1, lease_until = ? WHERE move_id = ?").run(Date.now() + 60_000, moveId);
    const taken = (await store.getLease(moveId))!;
    await until(() => lines.some((l) => l.name === 'a' && l.message === 'lease lost: doing nothing more to this move'));
    // The answer comes: a may not make the transition, but leaves the task id in its placeholder.
    await until(async () => (await store.listTasks({ moveId }))[0]?.vdsmTaskId != null);
    const [task] = await store.listTasks({ moveId });
    expect(task).to.include({ phase: 'copy', state: 'running' });
    expect(await store.getMove(moveId)).to.include({ state: 'copy-submitting', owner: 'other' });

    // A copy no move of ours knows, on the same SPM: without the recorded id the next owner could not tell the two apart.
    const decoyTask = await moveImage(pool.clients[0]!, {
      imageID: decoy!.image, storagepoolID: IDS.pool, srcDomainID: IDS.fileDomain, dstDomainID: IDS.blockDomain,
      operation: 'copy', postZero: false, discard: false, force: false,
    });
    await store.releaseLease(taken);
    const b = worker('b', lines);
    b.start();
    await allDone(store, [moveId]);
    const move = (await store.getMove(moveId))!;
    expect(move.result, JSON.stringify(move.error)).to.equal('moved');
    expect((await store.listTasks({ moveId })).find((t) => t.phase === 'copy')!.vdsmTaskId).to.equal(task!.vdsmTaskId);
    // (pool.calls counts the workers' calls; the decoy went by a client of its own.)
    expect(pool.calls.get('Image.move'), 'sent once, never again').to.equal(1);
    expect(Object.keys(await pool.clients[0]!.Host.getAllTasksStatuses())).to.deep.equal([decoyTask]);
  });

  it('a worker that stops hands its moves and the pool over: the other ends them, each copied once', async () => {
    const lines: { name: string; message: string; fields: Record<string, unknown> }[] = [];
    const a = worker('a', lines, 8);
    const ids = await submitAll();
    a.start();
    const store = open();
    // a holds every move and polls the pool; then it stops with its copies on the SPM.
    for (;;) {
      const moves = await Promise.all(ids.map((id) => store.getMove(id)));
      if (moves.some((m) => m?.state === 'copying') && lines.some((l) => l.message === 'polling the pool (pool lease taken)')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await a.stop();
    const handedBack = await Promise.all(ids.map((id) => store.getLease(id)));
    expect(handedBack.filter((lease) => lease !== undefined && lease.owner === 'a')).to.deep.equal([]);
    const b = worker('b', lines, 8);
    b.start();
    await allDone(store, ids);
    for (const id of ids) expect((await store.getMove(id))!.result).to.equal('moved');
    expect(lines.some((l) => l.name === 'b' && l.message === 'polling the pool (pool lease taken)')).to.equal(true);
    expect(lines.filter((l) => l.name === 'b' && l.message === 'took over move').length).to.be.greaterThan(0);
    // Taken over from the stored state: reattached to the running copies, never sent again.
    expect(pool.calls.get('Image.move')).to.equal(ids.length);
    expect(pool.calls.get('Image.delete')).to.equal(ids.length);
    expect(await pool.clients[0]!.Host.getAllTasksStatuses()).to.deep.equal({});
  });
});
