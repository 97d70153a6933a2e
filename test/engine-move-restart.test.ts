/**
 * Restart: the `engine-move` CLI SIGKILLed at each named kill point of a move
 * (ENGINE_MOVE_FAILPOINT), then `engine-move resume` on the same store. After
 * every one: the disk is moved (its data intact on the target), it was copied
 * once (the fake's call log shows one Image.move), no volume is left LOCKED,
 * and no task is left on the SPM. The SDM path's kill points (issue 12) run on
 * two hosts: between the job's placeholder and SDM.copy_data, mid-job, and
 * after the job's end was recorded; each resumes to one SDM.copy_data that
 * copied, never a copy sent again on a guess.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmClient } from '@vdsm-kit/client';
import { SqliteMoveStore } from '@vdsm-kit/engine-move';
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { runEngineMove } from './support/engine-move-process.js';
import { startFake } from './support/fake.js';
import type { FakeVdsm } from './support/fake.js';
import { TeardownHelper } from './support/teardown.js';

const { pool, fileDomain, blockDomain, image, volume } = DEFAULT_IDS;

/** The kill points the issue names: mid-copy, mid-delete, between placeholder and id, between end logic and clear. */
const KILL_POINTS = [
  'copy:before-submit',
  'copy:after-submit',
  'copy:submitted',
  'copy:before-end',
  'copy:before-clear',
  'delete-source:before-submit',
  'delete-source:after-submit',
  'delete-source:submitted',
  'delete-source:before-clear',
] as const;

/** `engine-move move` SIGKILLed at `point`, then `engine-move resume` on the same store: moved by `path`, nothing left over. */
async function killThenResume(td: TeardownHelper, connection: readonly string[], path: 'spm' | 'sdm', point: string): Promise<void> {
  const killed = await runEngineMove(
    td,
    ['move', ...connection, '--pool', pool, '--disk', image, '--from', fileDomain, '--to', blockDomain, '--path', path],
    { ENGINE_MOVE_FAILPOINT: point },
  );
  expect(killed.signal, killed.stderr).to.equal('SIGKILL');
  const resumed = await runEngineMove(td, ['resume', ...connection]);
  expect(resumed.code, resumed.stderr).to.equal(0);
  const outcome = resumed.events.at(-1)!;
  expect(outcome).to.include({ event: 'outcome', result: 'moved', failedPhase: null, diskId: image, path });
  expect(outcome['leftovers']).to.deep.equal([]);
}

/** A fake of `hosts` hosts and a store folder per test; `connection()` is the CLI's arguments for both. */
function restartBed(td: TeardownHelper, hosts: number): { fake: () => FakeVdsm; db: () => string; connection: () => string[] } {
  let fake: FakeVdsm;
  let db: string;
  afterEach(() => td.run());
  beforeEach(async function () {
    fake = await startFake(td, hosts > 1 ? { hosts } : {});
    const folder = await mkdtemp(join(tmpdir(), 'engine-move-restart-'));
    td.add(() => rm(folder, { recursive: true, force: true }));
    db = join(folder, 'moves.sqlite');
  });
  return {
    fake: () => fake,
    db: () => db,
    connection: () => ['--hosts', fake.hosts.map((h) => `${h.stomp.host}:${h.stomp.port}`).join(','), '--insecure', '--db', db, '--poll-interval', '0.05', '--json'],
  };
}

describe('engine-move restart: SIGKILL at each kill point, then resume', function () {
  this.timeout(120_000);
  const td = new TeardownHelper();
  const bed = restartBed(td, 1);
  const { connection } = bed;

  for (const point of KILL_POINTS) {
    it(`resumes a move killed at ${point}: moved, copied once, nothing locked, nothing left on the SPM`, async function () {
      const before = (await bed.fake().checksum(fileDomain, image, volume)).checksum;
      await killThenResume(td, connection(), 'spm', point);

      // Copied once: the call log holds exactly one Image.move, and one Image.delete.
      expect((await bed.fake().listCalls({ method: 'Image.move' })).calls).to.have.length(1);
      expect((await bed.fake().listCalls({ method: 'Image.delete' })).calls).to.have.length(1);
      // The data is on the target, intact; the source is gone.
      expect((await bed.fake().checksum(blockDomain, image, volume)).checksum).to.equal(before);
      expect((await bed.fake().listImages(fileDomain)).map((i) => i.id)).to.not.include(image);
      expect((await bed.fake().listImages(blockDomain)).map((i) => i.id)).to.include(image);
      // Nothing left behind: no task on the SPM, no volume LOCKED, every task cleared.
      const spm = td.track(new VdsmClient({ transport: 'tcp', host: bed.fake().stomp.host, port: bed.fake().stomp.port }), (c) => c.close());
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
      const store = SqliteMoveStore.open({ path: bed.db() });
      try {
        const disk = await store.getDisk(image);
        expect(disk!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[blockDomain, 'OK']]);
        const [move] = await store.listMoves();
        expect((await store.listTasks({ moveId: move!.moveId })).map((t) => t.state)).to.deep.equal(['cleared', 'cleared']);
      } finally {
        await store.close();
      }
      const report = await bed.fake().invariants();
      expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
    });
  }
});

describe('engine-move restart on the SDM path: SIGKILL at each SDM kill point, then resume', function () {
  this.timeout(120_000);
  const td = new TeardownHelper();
  const bed = restartBed(td, 2);
  const { connection } = bed;

  // copy:after-submit: the structure task started, its id not recorded (found again on the SPM as cloneImageStructure).
  for (const point of ['copy:after-submit', 'copy:before-job', 'copy:job-submitted', 'copy:job-ended'] as const) {
    it(`resumes an SDM move killed at ${point}: moved over SDM, one copy_data that copied, nothing locked or left`, async function () {
      const before = (await bed.fake().checksum(fileDomain, image, volume)).checksum;
      // Mid-job means mid-job: the copy's data phase outlasts the kill.
      await bed.fake().addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { phaseDelayMs: 300 }, times: 1 });
      await killThenResume(td, connection(), 'sdm', point);

      // One copy job reached a host (a placeholder killed before its call is fenced, then sent once); no Image.move.
      expect((await bed.fake().listCalls({ method: 'SDM.copy_data' })).calls, point).to.have.length(1);
      expect((await bed.fake().listCalls({ method: 'Image.move' })).calls).to.have.length(0);
      expect((await bed.fake().listCalls({ method: 'Image.cloneStructure' })).calls).to.have.length(1);
      expect((await bed.fake().listCalls({ method: 'Image.delete' })).calls).to.have.length(1);
      expect((await bed.fake().checksum(blockDomain, image, volume)).checksum).to.equal(before);
      expect((await bed.fake().listImages(fileDomain)).map((i) => i.id)).to.not.include(image);
      const spm = td.track(new VdsmClient({ transport: 'tcp', host: bed.fake().stomp.host, port: bed.fake().stomp.port }), (c) => c.close());
      expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
      const info = await spm.Volume.getInfo({ volumeID: volume, imageID: image, storagepoolID: pool, storagedomainID: blockDomain });
      expect(info.legality).to.equal('LEGAL');
      const store = SqliteMoveStore.open({ path: bed.db() });
      try {
        expect((await store.getDisk(image))!.volumes.map((v) => [v.domainId, v.status])).to.deep.equal([[blockDomain, 'OK']]);
        const [move] = await store.listMoves();
        const jobs = await store.listSdmJobs({ moveId: move!.moveId });
        expect(jobs.at(-1)).to.deep.include({ state: 'ended', endCode: 0 });
        if (point === 'copy:before-job') {
          // The call never went out: the placeholder was fenced (one SDM.update_volume), then a new job sent.
          expect(jobs.map((j) => j.endCode)).to.deep.equal([-1, 0]);
          expect((await bed.fake().listCalls({ method: 'SDM.update_volume' })).calls).to.have.length(1);
        } else {
          expect(jobs).to.have.length(1);
        }
        expect((await store.listTasks({ moveId: move!.moveId })).map((t) => t.state)).to.deep.equal(['cleared', 'cleared']);
      } finally {
        await store.close();
      }
      const report = await bed.fake().invariants();
      expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
    });
  }
});
