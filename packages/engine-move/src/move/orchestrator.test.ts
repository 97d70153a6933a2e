/**
 * The orchestrator end to end against a real fake VDSM (real sockets, real
 * files, a real SQLite store): every outcome of every phase, each fault
 * injected through the fake's fault rules. Polls are short (real time), and
 * every wait is on an outcome or an event, never on a sleep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskWatcher, moveImage } from '@vdsm-kit/client';
import { expect } from 'chai';
import { MoveStoreError } from '../store/move-store.js';
import { SqliteMoveStore } from '../store/sqlite-store.js';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool } from '../test-support/fake-pool.js';
import { MoveOrchestrator } from './orchestrator.js';

describe('MoveOrchestrator against a real fake VDSM', function () {
  this.timeout(60_000);
  let pool: FakePool;
  let folder: string;
  let store: SqliteMoveStore;
  let orchestrator: MoveOrchestrator;

  beforeEach(async function () {
    pool = await startFakePool({ hosts: 2 });
    folder = mkdtempSync(join(tmpdir(), 'engine-move-orch-'));
    store = SqliteMoveStore.open({ path: join(folder, 'moves.sqlite') });
    orchestrator = new MoveOrchestrator({ copyPath: 'spm', store, hosts: pool.hosts, pollIntervalMs: 50, tracker: { firstEarlyPollMs: 10 } });
  });
  afterEach(async function () {
    orchestrator?.close();
    await store?.close();
    await pool?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const spm = () => pool.clients[0]!;
  const imagesOn = (domain: string) => spm().StorageDomain.getImages({ storagedomainID: domain });
  const checksum = (domain: string, image: string, volume: string) => pool.fake.checksum(domain, image, volume);

  function moveSmall(index = 0, extra: { wipeAfterDelete?: boolean; legacy?: boolean } = {}) {
    const disk = pool.disks[index]!;
    return orchestrator.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain, ...extra });
  }

  async function expectNothingLeftOnSpm(): Promise<void> {
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});
    const report = await pool.fake.invariants();
    expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
  }

  it('moves a disk: copy, available on the target, source deleted, every task cleared', async function () {
    const disk = pool.disks[0]!;
    const before = (await checksum(IDS.fileDomain, disk.image, disk.volume)).checksum;
    const handle = await moveSmall(0);
    const states: string[] = [];
    handle.on('state', (move: { state: string }) => states.push(move.state));
    let availableAt: number | undefined;
    handle.on('available', (at: number) => (availableAt = at));
    const outcome = await handle.outcome;

    expect(outcome).to.include({ result: 'moved', failedPhase: null, error: null, mode: 'copy-delete' });
    expect(outcome.leftovers).to.deep.equal([]);
    expect(outcome.availableAt).to.be.a('number');
    expect(availableAt).to.equal(outcome.availableAt);
    expect(outcome.availableAt!).to.be.at.most(outcome.doneAt);
    expect(outcome.phases.map((p) => [p.phase, p.outcome])).to.deep.equal([
      ['copy', 'succeeded'],
      ['delete-source', 'succeeded'],
    ]);
    expect(states).to.deep.equal(['copy-submitting', 'copying', 'source-delete-submitting', 'deleting-source', 'done']);
    expect(await imagesOn(IDS.blockDomain)).to.include(disk.image);
    expect(await imagesOn(IDS.fileDomain)).to.not.include(disk.image);
    expect((await checksum(IDS.blockDomain, disk.image, disk.volume)).checksum).to.equal(before);
    const stored = await store.getDisk(disk.image);
    expect(stored!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.blockDomain, 'OK']]);
    expect((await store.listTasks({ moveId: handle.moveId })).map((t) => t.state)).to.deep.equal(['cleared', 'cleared']);
    expect((await orchestrator.audit({ moveId: handle.moveId })).map((a) => a.type)).to.deep.equal([2008, 2010]);
    await expectNothingLeftOnSpm();
    // Image.move was sent once, as operation copy.
    expect(pool.calls.get('Image.move')).to.equal(1);
  });

  it('moves a disk to the block domain and back to the file domain, with wipe: the same checksum at each end', async function () {
    // The 8 MiB disk sits in a 128 MiB LV on the block domain; only its 8 MiB come back.
    const disk = pool.disks[0]!;
    const before = (await checksum(IDS.fileDomain, disk.image, disk.volume)).checksum;
    for (const [from, to] of [
      [IDS.fileDomain, IDS.blockDomain],
      [IDS.blockDomain, IDS.fileDomain],
    ] as const) {
      const handle = await orchestrator.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: from, dstDomainId: to, wipeAfterDelete: true });
      const outcome = await handle.outcome;
      expect(outcome, `${from} to ${to}`).to.include({ result: 'moved', failedPhase: null, error: null });
      expect(outcome.leftovers).to.deep.equal([]);
      expect((await checksum(to, disk.image, disk.volume)).checksum, `checksum on ${to}`).to.equal(before);
      expect(await imagesOn(from)).to.not.include(disk.image);
    }
    expect((await store.getDisk(disk.image))!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.fileDomain, 'OK']]);
    await expectNothingLeftOnSpm();
  });

  it('refuses a second move of a disk that is moving, and changes nothing', async function () {
    const first = await moveSmall(1);
    try {
      await moveSmall(1);
      expect.fail('a second move was accepted');
    } catch (error) {
      expect(error).to.be.instanceOf(MoveStoreError);
      expect((error as MoveStoreError).code).to.equal('DISK_ALREADY_MOVING');
    }
    expect((await first.outcome).result).to.equal('moved');
    expect(pool.calls.get('Image.move')).to.equal(1);
  });

  it('a failed copy: the target leftovers deleted, the disk stays OK on the source', async function () {
    const disk = pool.disks[2]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { failAt: 0.5, error: 261 }, times: 1 });
    const outcome = await (await moveSmall(2)).outcome;
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy', availableAt: null });
    expect(outcome.error?.code).to.equal(261);
    expect(outcome.leftovers).to.deep.equal([]);
    expect(outcome.phases.map((p) => [p.phase, p.outcome])).to.deep.equal([
      ['copy', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
    expect(await imagesOn(IDS.fileDomain)).to.include(disk.image);
    const stored = await store.getDisk(disk.image);
    expect(stored!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.fileDomain, 'OK']]);
    await expectNothingLeftOnSpm();
  });

  it('a failed source delete: moved, the source recorded as a leftover (2053), the disk OK on the target, never ILLEGAL', async function () {
    const disk = pool.disks[3]!;
    await pool.fake.addFault({ match: { task: { kind: 'purgeImage', phase: 'delete' } }, action: { failAt: 0, error: 256 }, times: 1 });
    const outcome = await (await moveSmall(3)).outcome;
    expect(outcome).to.include({ result: 'moved', failedPhase: 'delete-source' });
    expect(outcome.availableAt).to.be.a('number');
    expect(outcome.leftovers).to.have.length(1);
    expect(outcome.leftovers[0]).to.include({ domainId: IDS.fileDomain, imageId: disk.image });
    const stored = await store.getDisk(disk.image);
    expect(stored!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.blockDomain, 'OK']]);
    const audit = await orchestrator.audit({ moveId: outcome.moveId });
    expect(audit.map((a) => a.type)).to.deep.equal([2008, 2053, 2010]);
    await expectNothingLeftOnSpm();
  });

  it('legacy single verb: moves, and reports the source delete VDSM swallowed (s5 row 1)', async function () {
    const disk = pool.disks[0]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'delete' } }, action: { failSourceDelete: true }, times: 1 });
    const outcome = await (await moveSmall(0, { legacy: true })).outcome;
    expect(outcome).to.include({ result: 'moved', mode: 'legacy', failedPhase: 'legacy-move' });
    expect(outcome.availableAt).to.equal(outcome.doneAt);
    expect(outcome.leftovers.map((l) => [l.domainId, l.imageId])).to.deep.equal([[IDS.fileDomain, disk.image]]);
    expect(await imagesOn(IDS.fileDomain)).to.include(disk.image);
    expect(await imagesOn(IDS.blockDomain)).to.include(disk.image);
    expect(pool.calls.get('Image.delete') ?? 0).to.equal(0);
  });

  it('discovers a disk the store does not know from VDSM, chain and all', async function () {
    const disk = pool.disks[1]!;
    expect(await store.getDisk(disk.image)).to.equal(undefined);
    const handle = await moveSmall(1);
    const known = await store.getDisk(disk.image);
    expect(known!.volumes.map((v) => v.volumeId)).to.deep.equal([disk.volume]);
    expect((await handle.outcome).result).to.equal('moved');
  });

  it('refuses to overwrite an image the target already holds (s5 row 21), and locks nothing', async function () {
    const disk = pool.disks[2]!;
    // Someone else copied the image to the target already.
    const copy = await moveImage(spm(), {
      imageID: disk.image,
      storagepoolID: IDS.pool,
      srcDomainID: IDS.fileDomain,
      dstDomainID: IDS.blockDomain,
      operation: 'copy',
    });
    const watcher = new TaskWatcher({ caller: spm(), intervalMs: 20 });
    expect((await watcher.wait(copy, { clear: true })).kind).to.equal('success');
    watcher.close();
    const outcome = await (await moveSmall(2)).outcome;
    expect(outcome).to.include({ result: 'failed', failedPhase: 'copy' });
    expect(outcome.error?.message).to.contain('already holds image');
    expect(outcome.phases).to.deep.equal([]);
    const stored = await store.getDisk(disk.image);
    expect(stored!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.fileDomain, 'OK']]);
    // The orchestrator sent nothing that changes storage (the copy above went around it).
    expect(pool.calls.get('Image.move') ?? 0).to.equal(0);
    expect(pool.calls.get('Image.delete') ?? 0).to.equal(0);
    expect(await imagesOn(IDS.blockDomain)).to.include(disk.image);
  });

  it('cancels a copy: Task.stop, the target cleaned, the disk OK on the source', async function () {
    const disk = pool.disks[3]!;
    await pool.fake.addFault({ match: { task: { kind: 'moveImage', phase: 'copy' } }, action: { hang: true }, times: 1 });
    const handle = await moveSmall(3);
    await new Promise<void>((resolve) => handle.on('state', (move: { state: string }) => move.state === 'copying' && resolve()));
    await orchestrator.cancel(handle.moveId);
    const outcome = await handle.outcome;
    expect(outcome).to.include({ result: 'cancelled', failedPhase: null, availableAt: null });
    expect(pool.calls.get('Task.stop')).to.be.at.least(1);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
    const stored = await store.getDisk(disk.image);
    expect(stored!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.fileDomain, 'OK']]);
    await expectNothingLeftOnSpm();
  });
});
