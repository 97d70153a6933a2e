/**
 * The SDM copy's next step from the stored jobs (nextSdmStep, pure): base
 * first, one volume at a time; a job in flight is followed, never replaced;
 * a failure is retried only within copyRetries, on another host, and a job
 * that never ran costs no retry; a cancel starts nothing new. The end-to-end
 * behaviour is in sdm-path.test.ts.
 */
import { expect } from 'chai';
import type { SdmJobRecord, VolumeRecord } from '../store/records.js';
import { JOB_NEVER_RAN, copyFraction, nextSdmStep } from './sdm-copy.js';

const volumes: VolumeRecord[] = [1, 0].map((position) => ({
  volumeId: `v${position}`,
  diskId: 'd',
  domainId: 's',
  status: 'LOCKED',
  parentId: position === 0 ? null : 'v0',
  position,
}));
let next = 0;
function job(position: number, attempt: number, state: SdmJobRecord['state'], endCode: number | null = null, host = 'h2'): SdmJobRecord {
  next += 1;
  return { jobId: `j${next}`, moveId: 'm', volumeId: `v${position}`, position, host, generation: 0, attempt, state, createdAt: next, endedAt: null, endCode, endMessage: endCode === null ? null : `code ${endCode}` };
}

describe('nextSdmStep', function () {
  it('starts with the base volume, then the next once the base is copied, then says copied', function () {
    expect(nextSdmStep(volumes, [], 0, false)).to.deep.include({ kind: 'start', attempt: 0, avoid: [] });
    expect((nextSdmStep(volumes, [], 0, false) as { volume: VolumeRecord }).volume.position).to.equal(0);
    const baseDone = [job(0, 0, 'ended', 0)];
    expect((nextSdmStep(volumes, baseDone, 0, false) as { volume: VolumeRecord }).volume.position).to.equal(1);
    expect(nextSdmStep(volumes, [...baseDone, job(1, 0, 'ended', 0)], 0, false)).to.deep.equal({ kind: 'copied' });
  });

  it('follows a job in flight (placeholder or running) instead of sending another', function () {
    for (const state of ['placeholder', 'running'] as const) {
      const inFlight = job(0, 0, state);
      expect(nextSdmStep(volumes, [inFlight], 3, false)).to.deep.equal({ kind: 'follow', job: inFlight });
    }
  });

  it('fails the copy at the first failed job without retries, with its code and message', function () {
    expect(nextSdmStep(volumes, [job(0, 0, 'ended', 651)], 0, false)).to.deep.equal({ kind: 'failed', code: 651, message: 'volume v0: code 651' });
  });

  it('retries a failed volume within copyRetries, avoiding the hosts that failed it, then gives up', function () {
    const first = job(0, 0, 'ended', 911, 'h2');
    expect(nextSdmStep(volumes, [first], 2, false)).to.deep.include({ kind: 'start', attempt: 1, avoid: ['h2'] });
    const second = job(0, 1, 'ended', 100, 'h3');
    expect(nextSdmStep(volumes, [first, second], 2, false)).to.deep.include({ kind: 'start', attempt: 2, avoid: ['h2', 'h3'] });
    expect(nextSdmStep(volumes, [first, second, job(0, 2, 'ended', 100, 'h2')], 2, false)).to.include({ kind: 'failed', code: 100 });
  });

  it('sends again, at no retry cost, a job that never ran (its placeholder fenced before the host took it)', function () {
    expect(nextSdmStep(volumes, [job(0, 0, 'ended', JOB_NEVER_RAN)], 0, false)).to.deep.include({ kind: 'start', attempt: 1, avoid: [] });
  });

  it('starts nothing new once cancelled, but still follows a job in flight', function () {
    expect(nextSdmStep(volumes, [], 0, true)).to.deep.equal({ kind: 'failed', code: 0, message: 'cancelled' });
    expect(nextSdmStep(volumes, [job(0, 0, 'ended', 0)], 0, true)).to.deep.equal({ kind: 'failed', code: 0, message: 'cancelled' });
    const inFlight = job(0, 0, 'running');
    expect(nextSdmStep(volumes, [inFlight], 0, true)).to.deep.equal({ kind: 'follow', job: inFlight });
  });
});

describe('copyFraction', function () {
  it("weights each volume by its data: a 3 GiB base half done is 3/8 of a chain with a 1 GiB layer on top", function () {
    const GiB = 1024 ** 3;
    expect(copyFraction([6 * GiB, 2 * GiB], 0, 50)).to.equal(3 / 8);
    expect(copyFraction([6 * GiB, 2 * GiB], 0, 100)).to.equal(6 / 8);
    expect(copyFraction([6 * GiB, 2 * GiB], 1, 50)).to.equal(7 / 8);
    expect(copyFraction([6 * GiB, 2 * GiB], 1, 100)).to.equal(1);
  });

  it('counts volumes equally when no size is known, and keeps within 0..1 for a percent out of range', function () {
    expect(copyFraction([0, 0, 0, 0], 1, 50)).to.equal(3 / 8);
    expect(copyFraction([1, 1], 1, 250)).to.equal(1);
    expect(copyFraction([1, 1], 0, -5)).to.equal(0);
  });
});
