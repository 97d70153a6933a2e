/**
 * The single verb's end, as the state machine decides it from where the
 * runner found the image (move-runner.ts looks at both domains after a
 * legacy task): a failure reported after VDSM's copy ended must not point the
 * disk back at a source that no longer holds it, nor forget the copy on the
 * target. Pure: the table's cells for legacy-moving, event by event. The
 * copy-left-on-target cell also runs end to end in failure-modes.test.ts
 * (row 15, single verb); the source-gone cell needs a crash inside the
 * source delete, which test/chaos.test.ts produces (seed 10 found it).
 */
import { expect } from 'chai';
import type { MoveRecord } from '../store/records.js';
import { transitionFor } from './transitions.js';

const legacyMoving: MoveRecord = {
  moveId: 'a0000000-0000-4000-8000-000000000001',
  poolId: 'a0000000-0000-4000-8000-000000000002',
  diskId: 'a0000000-0000-4000-8000-000000000003',
  srcDomainId: 'a0000000-0000-4000-8000-000000000004',
  dstDomainId: 'a0000000-0000-4000-8000-000000000005',
  wipeAfterDelete: true,
  discard: false,
  mode: 'legacy',
  state: 'legacy-moving',
  result: null,
  failedPhase: null,
  error: null,
  cancelRequested: false,
  createdAt: 1,
  availableAt: null,
  doneAt: null,
  version: 3,
  owner: null,
  epoch: 0,
  leaseUntil: null,
  copyPath: 'spm',
  excludeHosts: [],
  copyRetries: 0,
  path: 'spm',
};
const failed = { type: 'task-ended', ok: false, code: 100, message: 'recovered' } as const;

describe('transitions: the single verb failed', function () {
  it('with the source gone and the target holding the image: moved, the disk mapped to the target, nothing restored', function () {
    const t = transitionFor(legacyMoving, { ...failed, sourceLeft: false, targetHolds: true }, 10);
    expect(t.to).to.equal('done');
    expect(t.switchDisk).to.deep.equal({ domainId: legacyMoving.dstDomainId, status: 'OK' });
    expect(t.restoreDisk).to.equal(undefined);
    expect(t.move).to.include({ result: 'moved', failedPhase: 'legacy-move', availableAt: 10, doneAt: 10 });
  });

  it('with the copy on the target and the source whole: the source restored and the target cleaned up as a failed copy is', function () {
    const t = transitionFor(legacyMoving, { ...failed, sourceLeft: true, targetHolds: true }, 10);
    expect(t.to).to.equal('target-delete-submitting');
    expect(t.restoreDisk).to.equal(true);
    expect(t.switchDisk).to.equal(undefined);
    expect(t.taskPlaceholder).to.include({ phase: 'delete-target', verb: 'Image.delete', domainId: legacyMoving.dstDomainId });
    expect(t.move).to.include({ failedPhase: 'legacy-move' });
  });

  it('with nothing on the target: failed, the source restored', function () {
    const t = transitionFor(legacyMoving, { ...failed, sourceLeft: true, targetHolds: false }, 10);
    expect(t.to).to.equal('done');
    expect(t.restoreDisk).to.equal(true);
    expect(t.move).to.include({ result: 'failed', failedPhase: 'legacy-move' });
  });
});

describe('transitions: the SDM path', function () {
  const queued: MoveRecord = { ...legacyMoving, mode: 'copy-delete', state: 'queued', copyPath: 'auto', path: null };
  const copying: MoveRecord = { ...queued, state: 'copying', path: 'sdm' };

  it('starts with the structure task as the copy placeholder, and records the path taken', function () {
    const t = transitionFor(queued, { type: 'start', path: 'sdm' }, 5);
    expect(t.to).to.equal('copy-submitting');
    expect(t.move).to.deep.equal({ path: 'sdm' });
    expect(t.taskPlaceholder).to.include({ phase: 'copy', verb: 'Image.cloneStructure', domainId: queued.dstDomainId });
    expect(transitionFor(queued, { type: 'start' }, 5).taskPlaceholder).to.include({ verb: 'Image.move' });
  });

  it('a structure task that ended ok keeps the move copying: nothing is available yet', function () {
    const t = transitionFor(copying, { type: 'task-ended', ok: true, code: 0, message: '' }, 6);
    expect(t).to.deep.include({ to: 'copying', taskEnded: { phase: 'copy', code: 0, message: '' } });
    expect(t.switchDisk).to.equal(undefined);
    expect(t.move).to.equal(undefined);
  });

  it('every volume copied: available on the target and the source delete placeholder, with no task to end', function () {
    const t = transitionFor(copying, { type: 'sdm-copied' }, 7);
    expect(t.to).to.equal('source-delete-submitting');
    expect(t.switchDisk).to.deep.equal({ domainId: copying.dstDomainId, status: 'OK' });
    expect(t.move).to.deep.equal({ availableAt: 7 });
    expect(t.taskEnded).to.equal(undefined);
    expect(t.taskPlaceholder).to.include({ phase: 'delete-source', verb: 'Image.delete' });
  });

  it('a volume that could not be copied: the source restored, the target cleaned, the job error kept', function () {
    const t = transitionFor(copying, { type: 'sdm-failed', code: 651, message: 'lease busy' }, 7);
    expect(t.to).to.equal('target-delete-submitting');
    expect(t.restoreDisk).to.equal(true);
    expect(t.taskEnded).to.equal(undefined);
    expect(t.move).to.deep.equal({ failedPhase: 'copy', error: { code: 651, message: 'lease busy' } });
  });

  it('job steps stay in copying; on the SPM path they have no cell', function () {
    const job = { jobId: 'j', volumeId: 'v', position: 0, host: 'h', generation: 4, attempt: 0 };
    expect(transitionFor(copying, { type: 'job-placeholder', job }, 8)).to.deep.include({ to: 'copying', sdmJobPlaceholder: job });
    expect(transitionFor(copying, { type: 'job-ended', jobId: 'j', code: 0, message: 'ok' }, 8)).to.deep.include({ to: 'copying', sdmJobEnded: { jobId: 'j', code: 0, message: 'ok' } });
    expect(() => transitionFor({ ...copying, path: 'spm' }, { type: 'job-placeholder', job }, 8)).to.throw(/no transition/);
  });
});
