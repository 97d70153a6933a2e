/**
 * The conformance suite's SDM part (migration 0003): what the user asked for
 * the copy is kept with the move, the path taken is set once at the start, and
 * each SDM job is written as a placeholder before its call, then submitted and
 * ended, each step refused when it does not follow from the stored one.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { MoveStoreError } from '../store/move-store.js';
import type { MoveStore, Transition } from '../store/move-store.js';
import type { DiskRecord, MoveRequest } from '../store/records.js';

export function describeSdmJobConformance(
  store: () => MoveStore,
  diskOf: (count: number) => DiskRecord,
  requestFor: (disk: DiskRecord, overrides?: Partial<MoveRequest>) => MoveRequest,
): void {
  describe('the SDM path', function () {
    async function copyingOnSdm(overrides: Partial<MoveRequest> = {}) {
      const disk = diskOf(2);
      const request = requestFor(disk, overrides);
      await store().createMove({ request, at: 1, disk });
      await store().apply({
        moveId: request.moveId,
        from: 'queued',
        to: 'copy-submitting',
        at: 2,
        lockDisk: true,
        move: { path: 'sdm' },
        phaseStarted: { phase: 'copy' },
        taskPlaceholder: { phase: 'copy', verb: 'Image.cloneStructure', domainId: request.dstDomainId, imageId: disk.diskId },
      });
      await store().apply({ moveId: request.moveId, from: 'copy-submitting', to: 'copying', at: 3, taskSubmitted: { phase: 'copy', vdsmTaskId: randomUUID() } });
      return { disk, request };
    }
    const step = (moveId: string, at: number, t: Omit<Transition, 'moveId' | 'from' | 'to' | 'at'>): Transition => ({ moveId, from: 'copying', to: 'copying', at, ...t });

    it('keeps the copy options asked for, and the path taken once the move starts', async function () {
      const disk = diskOf(1);
      const plain = requestFor(disk);
      expect(await store().createMove({ request: plain, at: 1, disk })).to.deep.include({ copyPath: 'auto', excludeHosts: [], copyRetries: 0, path: null });
      const other = diskOf(1);
      const asked = requestFor(other, { copyPath: 'sdm', excludeHosts: ['h1:54321', 'h2:54321'], copyRetries: 2 });
      await store().createMove({ request: asked, at: 1, disk: other });
      const { request } = await copyingOnSdm({ copyPath: 'auto' });
      expect(await store().getMove(asked.moveId)).to.deep.include({ copyPath: 'sdm', excludeHosts: ['h1:54321', 'h2:54321'], copyRetries: 2, path: null });
      expect((await store().getMove(request.moveId))!.path).to.equal('sdm');
    });

    it('refuses copy options that make no sense, writing nothing', async function () {
      for (const overrides of [{ copyPath: 'fast' as never }, { copyRetries: -1 }, { copyRetries: 1.5 }, { mode: 'legacy' as const, copyPath: 'sdm' as const }]) {
        const disk = diskOf(1);
        const request = requestFor(disk, overrides);
        const refused = await store().createMove({ request, at: 1, disk }).then(() => undefined, (error: unknown) => error);
        expect(refused, JSON.stringify(overrides)).to.be.instanceOf(MoveStoreError);
        expect((refused as MoveStoreError).code).to.equal('BAD_REQUEST');
        expect(await store().getMove(request.moveId)).to.equal(undefined);
      }
    });

    it('writes a job placeholder {job id, host, G} before the call, then submitted, then ended; lists them by move and by state', async function () {
      const { disk, request } = await copyingOnSdm();
      const base = disk.volumes[0]!;
      const jobId = randomUUID();
      await store().apply(step(request.moveId, 4, { sdmJobPlaceholder: { jobId, volumeId: base.volumeId, position: 0, host: 'h2:54321', generation: 7, attempt: 0 } }));
      expect(await store().listSdmJobs({ moveId: request.moveId })).to.deep.equal([
        { jobId, moveId: request.moveId, volumeId: base.volumeId, position: 0, host: 'h2:54321', generation: 7, attempt: 0, state: 'placeholder', createdAt: 4, endedAt: null, endCode: null, endMessage: null },
      ]);
      expect((await store().listSdmJobs({ states: ['placeholder', 'running'] })).map((j) => j.jobId)).to.include(jobId);
      await store().apply(step(request.moveId, 5, { sdmJobSubmitted: { jobId } }));
      await store().apply(step(request.moveId, 6, { sdmJobEnded: { jobId, code: 0, message: 'copied' } }));
      const [ended] = await store().listSdmJobs({ moveId: request.moveId });
      expect(ended).to.deep.include({ state: 'ended', endedAt: 6, endCode: 0, endMessage: 'copied' });
      expect((await store().listSdmJobs({ states: ['placeholder', 'running'] })).map((j) => j.jobId)).to.not.include(jobId);
    });

    it('refuses a job step that does not follow (a reused id or attempt, submitting an ended job), writing nothing of the transition', async function () {
      const { disk, request } = await copyingOnSdm();
      const jobId = randomUUID();
      const placeholder = { jobId, volumeId: disk.volumes[0]!.volumeId, position: 0, host: 'h2:54321', generation: 7, attempt: 0 };
      await store().apply(step(request.moveId, 4, { sdmJobPlaceholder: placeholder }));
      const refusals: Transition[] = [
        step(request.moveId, 5, { sdmJobPlaceholder: placeholder }),
        step(request.moveId, 5, { sdmJobPlaceholder: { ...placeholder, jobId: randomUUID() } }),
        step(request.moveId, 5, { sdmJobSubmitted: { jobId: randomUUID() } }),
      ];
      for (const t of refusals) {
        const error = await store().apply(t).then(() => undefined, (e: unknown) => e);
        expect((error as MoveStoreError).code, JSON.stringify(t)).to.equal('BAD_TRANSITION');
      }
      await store().apply(step(request.moveId, 6, { sdmJobEnded: { jobId, code: 651, message: 'lease busy' } }));
      const late = await store().apply(step(request.moveId, 7, { sdmJobSubmitted: { jobId } })).then(() => undefined, (e: unknown) => e);
      expect((late as MoveStoreError).code).to.equal('BAD_TRANSITION');
      const version = (await store().getMove(request.moveId))!.version;
      expect(await store().listSdmJobs({ moveId: request.moveId })).to.have.length(1);
      expect((await store().getMove(request.moveId))!.version).to.equal(version);
    });
  });
}
