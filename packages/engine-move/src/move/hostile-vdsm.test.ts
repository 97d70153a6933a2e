/**
 * A hostile VDSM under the orchestrator (issue 11, "the orchestrator side"):
 * a real fake whose fault rules garble status entries, drop connections
 * again and again, or stall answers past the call timeout, at random (a
 * seeded engine) for the whole of several moves at once. Each move still
 * ends with a true outcome: "moved" only if the data got there, checked
 * against the fake's own state and the block checksum of the disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SqliteMoveStore } from '../store/sqlite-store.js';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool, SmallDisk } from '../test-support/fake-pool.js';
import { MoveOrchestrator } from './orchestrator.js';
import type { MoveOrchestratorOptions } from './orchestrator.js';

const CALL_TIMEOUT_MS = 1000;

describe('moves against a hostile VDSM end with a true outcome', function () {
  this.timeout(300_000);
  let pool: FakePool;
  let folder: string;
  let store: SqliteMoveStore;
  let orchestrator: MoveOrchestrator;

  afterEach(async function () {
    orchestrator?.close();
    await store?.close();
    await pool?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  async function start(tuning: Omit<MoveOrchestratorOptions, 'store' | 'hosts'> = {}): Promise<void> {
    folder = mkdtempSync(join(tmpdir(), 'engine-move-hostile-'));
    // A fixed seed: the same faults fire on every run.
    pool = await startFakePool({ hosts: 2, seed: 11, clientOptions: { reconnect: { retries: 5, minTimeoutMs: 20, maxTimeoutMs: 100 } } });
    store = SqliteMoveStore.open({ path: join(folder, 'moves.sqlite') });
    orchestrator = new MoveOrchestrator({ copyPath: 'spm', store, hosts: pool.hosts, pollIntervalMs: 50, ...tuning, tracker: { firstEarlyPollMs: 10, ...tuning.tracker } });
    // Every copy lasts a while, so the hostility meets many polls of each.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { phaseDelayMs: 1500 } });
  }

  /** Moves every small disk at once and checks each outcome against what the fake holds. */
  async function moveAllAndCheck(): Promise<void> {
    const disks = pool.disks;
    const before = new Map<string, string>();
    for (const disk of disks) before.set(disk.image, (await pool.fake.checksum(IDS.fileDomain, disk.image, disk.volume)).checksum);
    const handles = await Promise.all(
      disks.map((disk) => orchestrator.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain, wipeAfterDelete: true })),
    );
    const outcomes = await Promise.all(handles.map((handle) => handle.outcome));
    // The hostility ends; what storage holds is read plainly.
    await pool.fake.clearFaults();
    for (const [index, outcome] of outcomes.entries()) {
      const disk = disks[index] as SmallDisk;
      const onTarget = (await pool.fake.listImages(IDS.blockDomain)).some((image) => image.id === disk.image);
      const onSource = (await pool.fake.listImages(IDS.fileDomain)).some((image) => image.id === disk.image);
      expect(outcome.result, `disk ${index}: ${JSON.stringify(outcome.error)}`).to.be.oneOf(['moved', 'failed']);
      if (outcome.result === 'moved') {
        expect(onTarget, `disk ${index} moved: on the target`).to.equal(true);
        expect((await pool.fake.checksum(IDS.blockDomain, disk.image, disk.volume)).checksum, `disk ${index} data on the target`).to.equal(before.get(disk.image));
        // The source is gone, or recorded as a leftover.
        if (onSource) expect(outcome.leftovers.map((leftover) => leftover.domainId)).to.include(IDS.fileDomain);
      } else {
        // Failed: the disk is whole where the store says it is.
        expect(onSource, `disk ${index} failed: still on the source`).to.equal(true);
        expect((await pool.fake.checksum(IDS.fileDomain, disk.image, disk.volume)).checksum).to.equal(before.get(disk.image));
      }
      const mapped = (await store.getDisk(disk.image))!.volumes.map((volume) => volume.domainId);
      expect(mapped, `disk ${index}: the store maps it where the data is`).to.deep.equal(disk.volumes.map(() => (outcome.result === 'moved' ? IDS.blockDomain : IDS.fileDomain)));
    }
    const report = await pool.fake.invariants();
    expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
    expect(await pool.clients[0]!.Host.getAllTasksStatuses()).to.deep.equal({});
    // No move gave up telling its lost task from another's (a dropped connection losing two answers of one verb).
    expect(outcomes.filter((outcome) => outcome.error?.message.includes('cannot be told')).map((outcome) => outcome.error)).to.deep.equal([]);
    // The faults fired and the moves went through them, not around.
    expect(outcomes.filter((outcome) => outcome.result === 'moved').length, 'most moves get through').to.be.at.least(disks.length - 1);
  }

  it('garbage status entries, one listed copy in two, for the whole of the moves', async function () {
    await start();
    // A status rule fires per listed task of its kind: the copies' entries.
    await pool.fake.addFault({ match: { task: { kind: 'moveImage' } }, action: { malformedStatus: true }, probability: 0.5 });
    await moveAllAndCheck();
    expect((await pool.fake.faultLog()).filter((firing) => firing['kind'] === 'malformedStatus').length).to.be.at.least(3);
  });

  it('connections dropped again and again: one status poll in four, and a Task.clear in three, closes its connection', async function () {
    await start();
    await pool.fake.addFault({ match: { method: 'Host.getAllTasksStatuses' }, action: { closeConnection: true }, probability: 0.25 });
    await pool.fake.addFault({ match: { method: 'Task.clear' }, action: { closeConnection: true }, probability: 0.33 });
    await moveAllAndCheck();
    expect((await pool.fake.faultLog()).filter((firing) => firing['kind'] === 'closeConnection').length).to.be.at.least(3);
  });

  it(`answers stalled past the call timeout (${CALL_TIMEOUT_MS} ms): one status poll in four, and the first copy and delete`, async function () {
    await start({ tracker: { callTimeoutMs: CALL_TIMEOUT_MS } });
    await pool.fake.addFault({ match: { method: 'Host.getAllTasksStatuses' }, action: { delayMs: 3 * CALL_TIMEOUT_MS }, probability: 0.25 });
    await pool.fake.addFault({ match: { method: 'Image.move' }, action: { answerAfterMs: 3 * CALL_TIMEOUT_MS }, times: 1 });
    await pool.fake.addFault({ match: { method: 'Image.delete' }, action: { answerAfterMs: 3 * CALL_TIMEOUT_MS }, times: 1 });
    await moveAllAndCheck();
    expect((await pool.fake.faultLog()).filter((firing) => firing['kind'] === 'delayMs').length).to.be.at.least(1);
  });
});
