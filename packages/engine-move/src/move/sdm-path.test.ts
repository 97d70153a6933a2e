/**
 * The SDM copy path (issue 12) end to end against a real fake VDSM with three
 * hosts (host 1 the SPM): the structure made by an SPM task, one
 * SDM.copy_data per volume on a pool host, followed by Host.getJobs on that
 * host, the volume itself when the host cannot tell, a fence when the volume
 * cannot either; every outcome, and each failure, with the data checked on the
 * target and nothing left on the SPM. Waits are on outcomes, never on sleeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SqliteMoveStore } from '../store/sqlite-store.js';
import { poolHost } from '../tasks/pool-host.js';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool, FakePoolOptions } from '../test-support/fake-pool.js';
import { MoveOrchestrator } from './orchestrator.js';
import type { MoveDiskRequest, MoveOrchestratorOptions } from './orchestrator.js';
import type { MoveOutcome } from './outcome.js';

describe('the SDM copy path against a real fake VDSM with three hosts', function () {
  this.timeout(90_000);
  let pool: FakePool;
  let folder: string;
  let store: SqliteMoveStore;
  let orchestrator: MoveOrchestrator;

  /** `polledOnly`: the hosts without their events, so a job's end is learnt from Host.getJobs (or the volume) alone. */
  async function setUp(poolOptions: FakePoolOptions = {}, tuning: Partial<MoveOrchestratorOptions> = {}, polledOnly = false): Promise<void> {
    pool = await startFakePool({ hosts: 3, chainDisks: 1, ...poolOptions });
    folder = mkdtempSync(join(tmpdir(), 'engine-move-sdm-'));
    store = SqliteMoveStore.open({ path: join(folder, 'moves.sqlite') });
    const hosts = polledOnly ? pool.hosts.map((host) => poolHost(host.name, host.caller)) : pool.hosts;
    orchestrator = new MoveOrchestrator({ store, hosts, pollIntervalMs: 50, tracker: { firstEarlyPollMs: 10 }, hostJobs: { firstEarlyPollMs: 10 }, ...tuning });
  }
  afterEach(async function () {
    orchestrator?.close();
    await store?.close();
    await pool?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  const spm = () => pool.clients[0]!;
  const imagesOn = (domain: string) => spm().StorageDomain.getImages({ storagedomainID: domain });
  const checksum = async (domain: string, image: string, volume: string) => (await pool.fake.checksum(domain, image, volume)).checksum;
  const hostName = (index: number) => pool.hosts[index]!.name;
  const callsOn = (index: number, method: string) => pool.callsByHost.get(hostName(index))?.get(method) ?? 0;

  function move(index: number, extra: Partial<MoveDiskRequest> = {}) {
    const disk = pool.disks[index]!;
    return orchestrator.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain, ...extra });
  }

  async function expectClean(): Promise<void> {
    expect(await spm().Host.getAllTasksStatuses()).to.deep.equal({});
    const report = await pool.fake.invariants();
    expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
  }

  async function expectMovedIntact(outcome: MoveOutcome, image: string, volumes: readonly string[], before: readonly string[]): Promise<void> {
    expect(outcome, JSON.stringify(outcome)).to.include({ result: 'moved', failedPhase: null, error: null, path: 'sdm' });
    expect(outcome.leftovers).to.deep.equal([]);
    for (const [i, volume] of volumes.entries()) expect(await checksum(IDS.blockDomain, image, volume), `volume ${i}`).to.equal(before[i]);
    expect(await imagesOn(IDS.fileDomain)).to.not.include(image);
    for (const volume of volumes) {
      const info = await spm().Volume.getInfo({ volumeID: volume, imageID: image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain });
      expect(info.legality, volume).to.equal('LEGAL');
    }
  }

  it('moves a disk by auto: the structure by one SPM task, the data by SDM.copy_data on a host other than the SPM, followed by Host.getJobs there', async function () {
    await setUp();
    const disk = pool.disks[0]!;
    const before = [await checksum(IDS.fileDomain, disk.image, disk.volume)];
    const handle = await move(0);
    const states: string[] = [];
    handle.on('state', (m: { state: string }) => states.push(m.state));
    const outcome = await handle.outcome;

    await expectMovedIntact(outcome, disk.image, [disk.volume], before);
    expect(outcome.copyHost).to.be.oneOf([hostName(1), hostName(2)]);
    expect(outcome.availableAt).to.be.a('number');
    expect(outcome.phases.map((p) => [p.phase, p.outcome])).to.deep.equal([
      ['copy', 'succeeded'],
      ['delete-source', 'succeeded'],
    ]);
    expect(states[0]).to.equal('copy-submitting');
    expect(states.at(-1)).to.equal('done');
    // No Image.move: one structure task and one host job.
    expect(pool.calls.get('Image.move') ?? 0).to.equal(0);
    expect(pool.calls.get('Image.cloneStructure')).to.equal(1);
    expect(pool.calls.get('SDM.copy_data')).to.equal(1);
    const copier = pool.hosts.findIndex((h) => h.name === outcome.copyHost);
    expect(callsOn(copier, 'SDM.copy_data')).to.equal(1);
    expect(callsOn(copier, 'Host.getJobs')).to.be.at.least(1);
    expect(callsOn(0, 'SDM.copy_data')).to.equal(0);
    const jobs = await store.listSdmJobs({ moveId: handle.moveId });
    expect(jobs.map((j) => [j.state, j.endCode, j.host])).to.deep.equal([['ended', 0, outcome.copyHost]]);
    expect((await store.getDisk(disk.image))!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.blockDomain, 'OK']]);
    await expectClean();
  });

  it('copies a chain base first, one job per volume, each onto the generation it read, every volume intact', async function () {
    await setUp();
    const disk = pool.chainDisks[0]!;
    const before = await Promise.all(disk.volumes.map((v) => checksum(IDS.fileDomain, disk.image, v)));
    const sizes = await Promise.all(
      disk.volumes.map(async (v) => Number((await spm().Volume.getInfo({ volumeID: v, imageID: disk.image, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain })).truesize)),
    );
    const handle = await orchestrator.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain });
    const fractions: number[] = [];
    handle.on('progress', (p: { phase: string; fraction: number | null }) => {
      if (p.phase === 'copy' && p.fraction !== null) fractions.push(p.fraction);
    });
    const outcome = await handle.outcome;
    await expectMovedIntact(outcome, disk.image, disk.volumes, before);
    const jobs = await store.listSdmJobs({ moveId: handle.moveId });
    expect(jobs.map((j) => [j.volumeId, j.state, j.endCode])).to.deep.equal(disk.volumes.map((v) => [v, 'ended', 0]));
    // Serially, base first: each job was written after the one before it ended.
    for (let i = 1; i < jobs.length; i++) expect(jobs[i]!.createdAt).to.be.at.least(jobs[i - 1]!.endedAt!);
    expect(pool.calls.get('SDM.copy_data')).to.equal(disk.volumes.length);
    // The progress is the jobs' own, over the chain: it only grows.
    expect(fractions.length).to.be.greaterThan(0);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]!).to.be.at.least(fractions[i - 1]!);
    // Each volume counts for its share of the data (its allocation on the source): at each job's end the bar shows the share copied so far.
    const total = sizes.reduce((sum, size) => sum + size, 0);
    const atEnds = sizes.map((_, i) => sizes.slice(0, i + 1).reduce((sum, size) => sum + size, 0) / total);
    for (const share of atEnds) expect(fractions.some((f) => Math.abs(f - share) < 1e-9), `${share} among ${fractions.join(', ')}`).to.equal(true);
    await expectClean();
  });

  async function expectFailedOnSource(outcome: MoveOutcome, image: string, volume: string, before: string): Promise<void> {
    expect(outcome, JSON.stringify(outcome)).to.include({ result: 'failed', failedPhase: 'copy', availableAt: null, path: 'sdm' });
    expect(outcome.leftovers).to.deep.equal([]);
    expect(outcome.phases.map((p) => [p.phase, p.outcome])).to.deep.equal([
      ['copy', 'failed'],
      ['delete-target', 'succeeded'],
    ]);
    // The target's leftovers deleted by Image.delete on the SPM; the source whole and OK.
    expect(await imagesOn(IDS.blockDomain)).to.not.include(image);
    expect(await checksum(IDS.fileDomain, image, volume)).to.equal(before);
    expect((await store.getDisk(image))!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.fileDomain, 'OK']]);
    expect(callsOn(0, 'Image.delete')).to.equal(1);
  }

  for (const [code, what] of [
    [651, 'the target lease held elsewhere'],
    [227, 'an illegal source'],
    [100, 'qemu-img failing (General Exception)'],
  ] as const) {
    it(`a job that fails (${code}, ${what}): copy failed with the job's code, the target cleaned, the disk OK on the source, no second copy`, async function () {
      await setUp();
      const disk = pool.disks[1]!;
      const before = await checksum(IDS.fileDomain, disk.image, disk.volume);
      await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { failAt: 0.5, error: code }, times: 1 });
      const outcome = await (await move(1)).outcome;
      await expectFailedOnSource(outcome, disk.image, disk.volume, before);
      expect(outcome.error?.code).to.equal(code);
      expect(pool.calls.get('SDM.copy_data')).to.equal(1);
      await expectClean();
    });
  }

  it('a failed job with --copy-retries 1: tried again with a new job id and a fresh generation on another host, then moved', async function () {
    await setUp();
    const disk = pool.disks[1]!;
    const before = await checksum(IDS.fileDomain, disk.image, disk.volume);
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { failAt: 0.5, error: 100 }, times: 1 });
    const handle = await move(1, { copyRetries: 1 });
    const outcome = await handle.outcome;
    await expectMovedIntact(outcome, disk.image, [disk.volume], [before]);
    const jobs = await store.listSdmJobs({ moveId: handle.moveId });
    expect(jobs.map((j) => [j.attempt, j.endCode])).to.deep.equal([
      [0, 100],
      [1, 0],
    ]);
    expect(jobs[1]!.jobId).to.not.equal(jobs[0]!.jobId);
    expect(jobs[1]!.host).to.not.equal(jobs[0]!.host);
    expect(outcome.copyHost).to.equal(jobs[1]!.host);
    await expectClean();
  });

  it('a job that vanishes from Host.getJobs while copying: the held lease says running, the generation G+1 says done; copied once', async function () {
    await setUp({}, {}, true);
    const disk = pool.disks[2]!;
    const before = await checksum(IDS.fileDomain, disk.image, disk.volume);
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { dropJob: true }, times: 1 });
    const handle = await move(2);
    const outcome = await handle.outcome;
    await expectMovedIntact(outcome, disk.image, [disk.volume], [before]);
    expect(pool.calls.get('SDM.copy_data')).to.equal(1);
    const [job] = await store.listSdmJobs({ moveId: handle.moveId });
    expect(job!.endMessage).to.match(/generation/);
    // Known from the volume. A fence tried while the copy held its lease cannot take (651 from another
    // host): the volume ends at G+1, written by the one copy. (On a loaded machine the first read of the
    // volume sometimes gets no answer and a fence is tried; issue 12 notes it.)
    expect((await pool.clients[0]!.Volume.getInfo({ volumeID: disk.volume, imageID: disk.image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain })).generation).to.equal(1);
    await expectClean();
  });

  it('a job that vanishes as it ends: the volume at G+1 says done, without a fence or a second copy', async function () {
    await setUp({}, {}, true);
    const disk = pool.disks[2]!;
    const before = await checksum(IDS.fileDomain, disk.image, disk.volume);
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { dropJobAtEnd: true }, times: 1 });
    const outcome = await (await move(2)).outcome;
    await expectMovedIntact(outcome, disk.image, [disk.volume], [before]);
    expect(pool.calls.get('SDM.copy_data')).to.equal(1);
    expect(pool.calls.get('SDM.update_volume') ?? 0).to.equal(0);
    await expectClean();
  });

  it('a job that vanishes and then fails: the volume at G without a lease, so it is fenced at G+3 and counts as failed; cleaned up', async function () {
    await setUp({}, {}, true);
    const disk = pool.disks[3]!;
    const before = await checksum(IDS.fileDomain, disk.image, disk.volume);
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { failAt: 0.5, error: 100 }, times: 1 });
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { dropJob: true }, times: 1 });
    const handle = await move(3);
    const outcome = await handle.outcome;
    await expectFailedOnSource(outcome, disk.image, disk.volume, before);
    expect(outcome.error?.message, JSON.stringify(outcome.error)).to.match(/fenced at generation/);
    expect(pool.calls.get('SDM.update_volume')).to.equal(1);
    expect(pool.calls.get('SDM.copy_data')).to.equal(1);
    await expectClean();
  });

  it('--exclude-host: an excluded host never gets a job; all but the SPM excluded, the SPM copies', async function () {
    await setUp();
    const disk = pool.disks[0]!;
    const before = await checksum(IDS.fileDomain, disk.image, disk.volume);
    const outcome = await (await move(0, { excludeHosts: [hostName(1), hostName(2)] })).outcome;
    await expectMovedIntact(outcome, disk.image, [disk.volume], [before]);
    expect(outcome.copyHost).to.equal(hostName(0));
    expect(callsOn(1, 'SDM.copy_data') + callsOn(2, 'SDM.copy_data')).to.equal(0);
    await expectClean();
  });

  it('auto takes the SPM path when every host is excluded, and sdm then refuses to start, with nothing locked', async function () {
    await setUp();
    const all = pool.hosts.map((h) => h.name);
    const auto = await (await move(0, { excludeHosts: all })).outcome;
    expect(auto).to.include({ result: 'moved', path: 'spm', copyHost: null });
    expect(pool.calls.get('Image.move')).to.equal(1);
    expect(pool.calls.get('SDM.copy_data') ?? 0).to.equal(0);
    const refused = await (await move(1, { excludeHosts: all, copyPath: 'sdm' })).outcome;
    expect(refused).to.include({ result: 'failed', failedPhase: 'copy', path: null });
    expect(refused.error?.message).to.match(/SDM copy path cannot be taken: no host connected/);
    expect(refused.phases).to.deep.equal([]);
    expect((await store.getDisk(pool.disks[1]!.image))!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[IDS.fileDomain, 'OK']]);
    expect(pool.calls.get('Image.cloneStructure') ?? 0).to.equal(0);
    await expectClean();
  });

  it('auto takes the SPM path when a domain is older than V3, and --path spm always does', async function () {
    await setUp({ domainVersions: { [IDS.blockDomain]: 2 } });
    const auto = await (await move(0)).outcome;
    expect(auto).to.include({ result: 'moved', path: 'spm' });
    const refused = await (await move(1, { copyPath: 'sdm' })).outcome;
    expect(refused.error?.message).to.match(/domain versions 5 and 2/);
    expect(pool.calls.get('SDM.copy_data') ?? 0).to.equal(0);
    expect(pool.calls.get('Image.move')).to.equal(1);
    await expectClean();
  });

  /**
   * A copy job lost mid-copy. `fake`: VDSM dies on every host (the job held
   * by a hang, then the whole fake crashed and restarted, so every host
   * comes back knowing no job). `host`: the host running the job dies alone
   * (a crash fault on its copy) and stays down, the SPM alive.
   */
  async function crashMidJob(
    extra: Partial<MoveDiskRequest>,
    dies: 'fake' | 'host',
  ): Promise<{ outcome: MoveOutcome; moveId: string; before: string; image: string; volume: string }> {
    // Clients wait out a restart of the fake; a host that stays down is given up on after a few tries, as by default.
    await setUp({ clientOptions: { reconnect: { retries: dies === 'fake' ? 50 : 3, minTimeoutMs: 20, maxTimeoutMs: 100 } } });
    const disk = pool.disks[1]!;
    const before = await checksum(IDS.fileDomain, disk.image, disk.volume);
    const [kind, action] = dies === 'host' ? (['crash', { crash: true as const }] as const) : (['hang', { hang: true as const }] as const);
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action, times: 1 });
    const handle = await move(1, extra);
    const lost = (async () => {
      // Once the fault fired (the job is copying): the host is down by itself, or the whole fake is crashed and started again.
      while (!pool.fake.faults.log().some((f) => f.kind === kind)) await new Promise((resolve) => setTimeout(resolve, 20));
      if (dies === 'fake') {
        await pool.fake.crash();
        await pool.fake.restart();
      }
    })();
    const outcome = await handle.outcome;
    await lost;
    return { outcome, moveId: handle.moveId, before, image: disk.image, volume: disk.volume };
  }

  for (const dies of ['fake', 'host'] as const) {
    const what = dies === 'fake' ? 'VDSM dying mid-job on every host (each restarts knowing no job)' : 'the copy host dying alone mid-job (it stays down, the SPM lives)';

    it(`${what}: the volume at G without a lease is fenced, the copy failed, the target cleaned, copied once`, async function () {
      const { outcome, moveId, before, image, volume } = await crashMidJob({}, dies);
      await expectFailedOnSource(outcome, image, volume, before);
      // Told by the volume and the fence, not by the host (a restarted VDSM knows no job; a dead one cannot be asked).
      expect(outcome.error?.message, JSON.stringify(outcome.error)).to.match(dies === 'fake' ? /fenced at generation/ : /cannot be asked \(host unreachable\).*fenced at generation/);
      expect(pool.calls.get('SDM.update_volume')).to.equal(1);
      expect(pool.calls.get('SDM.copy_data')).to.equal(1);
      if (dies === 'host') {
        const [job] = await store.listSdmJobs({ moveId });
        // The host that ran it is the one down.
        expect((await pool.fake.listHosts()).filter((host) => !host.up).map((host) => host.id)).to.deep.equal([Number(/^host-(\d+)@/.exec(job!.host)![1])]);
      }
      await expectClean();
    });

    it(`${what}, with --copy-retries 1: a new job id with a fresh generation on another host, then moved`, async function () {
      const { outcome, moveId, before, image, volume } = await crashMidJob({ copyRetries: 1 }, dies);
      await expectMovedIntact(outcome, image, [volume], [before]);
      const jobs = await store.listSdmJobs({ moveId });
      expect(jobs).to.have.length(2);
      // The lost job ended by its fence (911, what a late copy of it gets), the retry done.
      expect(jobs.map((j) => j.endCode)).to.deep.equal([911, 0]);
      expect(jobs[1]!.generation).to.equal((jobs[0]!.generation + 3) % 1000);
      expect(jobs[1]!.host).to.not.equal(jobs[0]!.host);
      expect(jobs[1]!.jobId).to.not.equal(jobs[0]!.jobId);
      expect(outcome.copyHost).to.equal(jobs[1]!.host);
      expect(pool.calls.get('SDM.copy_data')).to.equal(2);
      await expectClean();
    });
  }

  it('cancel mid-job: no abort exists, so the running job is fenced (refused while it holds the lease) and waited for; no next volume; cancelled and cleaned', async function () {
    await setUp();
    const disk = pool.chainDisks[0]!;
    const before = await checksum(IDS.fileDomain, disk.image, disk.volumes[0]!);
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { phaseDelayMs: 400 }, times: 1 });
    const handle = await orchestrator.moveDisk({ poolId: IDS.pool, diskId: disk.image, srcDomainId: IDS.fileDomain, dstDomainId: IDS.blockDomain });
    const cancelled = new Promise<void>((resolve) =>
      handle.on('state', () => {
        void store.listSdmJobs({ moveId: handle.moveId }).then(async (jobs) => {
          if (jobs[0]?.state === 'running' && !handle.record.cancelRequested) {
            await handle.cancel();
            resolve();
          }
        });
      }),
    );
    const outcome = await handle.outcome;
    await cancelled;
    expect(outcome).to.include({ result: 'cancelled', failedPhase: null, path: 'sdm', availableAt: null });
    expect(outcome.phases.map((p) => [p.phase, p.outcome])).to.deep.equal([
      ['copy', 'cancelled'],
      ['delete-target', 'succeeded'],
    ]);
    expect(pool.calls.get('SDM.copy_data')).to.equal(1);
    expect(pool.calls.get('SDM.update_volume')).to.equal(1);
    expect(await imagesOn(IDS.blockDomain)).to.not.include(disk.image);
    expect(await checksum(IDS.fileDomain, disk.image, disk.volumes[0]!)).to.equal(before);
    expect((await store.getDisk(disk.image))!.volumes.every((v) => v.domainId === IDS.fileDomain && v.status === 'OK')).to.equal(true);
    await expectClean();
  });
});
