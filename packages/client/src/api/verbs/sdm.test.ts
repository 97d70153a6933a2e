import { expect } from 'chai';
import { VERBS } from './index.js';

const JOB = '7d9a3c1e-2b4f-4a6d-8e0f-1a2b3c4d5e6f';
const SD = '5e5a6f0b-6c4e-4e3a-9b8e-2f1d7c3a4b21';
const DST_SD = 'aaaaaaaa-bbbb-4ccc-9ddd-eeeeeeeeeeee';
const IMG = '0f1e2d3c-4b5a-4697-8877-665544332211';
const VOL = '11111111-2222-4333-8444-555555555555';

const source = { endpoint_type: 'div', sd_id: SD, img_id: IMG, vol_id: VOL, prepared: false };
const destination = { endpoint_type: 'div', sd_id: DST_SD, img_id: IMG, vol_id: VOL, prepared: false, generation: 4 };

describe('SDM verbs', () => {
  it('sends copy_data with div endpoints as given and copy_bitmaps filled in', () => {
    const wire = VERBS['SDM.copy_data'].params.parse({ job_id: JOB, source, destination });
    expect(wire).to.deep.equal({ job_id: JOB, source, destination, copy_bitmaps: false });
    expect(VERBS['SDM.copy_data'].returnsTask).to.equal(false);
  });

  it("refuses what VDSM would fail with 100 at call time, and the engine's stray `legal`", () => {
    const copy = VERBS['SDM.copy_data'].params;
    const bad: unknown[] = [
      { job_id: JOB, source: { ...source, endpoint_type: 'external' }, destination },
      { job_id: JOB, source, destination: { ...destination, generation: 1000 } },
      { job_id: JOB, source, destination: { ...destination, generation: -1 } },
      { job_id: JOB, source, destination: { ...destination, generation: 1.5 } },
      { job_id: JOB, source, destination: { ...destination, vol_id: 'not-a-uuid' } },
      { job_id: JOB, source: { endpoint_type: 'div', sd_id: SD, img_id: IMG }, destination },
      { job_id: JOB, source, destination, legal: true },
    ];
    for (const params of bad) expect(copy.safeParse(params).success, JSON.stringify(params)).to.equal(false);
    expect(copy.safeParse({ job_id: JOB, source, destination: { ...destination, generation: 999 } }).success).to.equal(true);
  });

  it('requires the generation to fence with update_volume and at least one attribute', () => {
    const update = VERBS['SDM.update_volume'].params;
    const volInfo = { sd_id: DST_SD, img_id: IMG, vol_id: VOL, generation: 4 };
    expect(update.parse({ job_id: JOB, vol_info: volInfo, vol_attr: { generation: 7 } })).to.deep.equal({
      job_id: JOB,
      vol_info: volInfo,
      vol_attr: { generation: 7 },
    });
    const { generation: _omitted, ...withoutGeneration } = volInfo;
    expect(update.safeParse({ job_id: JOB, vol_info: withoutGeneration, vol_attr: { generation: 7 } }).success).to.equal(false);
    expect(update.safeParse({ job_id: JOB, vol_info: volInfo, vol_attr: {} }).success).to.equal(false);
    expect(update.safeParse({ job_id: JOB, vol_info: volInfo, vol_attr: { type: 'LEAF' } }).success).to.equal(false);
    expect(update.safeParse({ job_id: JOB, vol_info: volInfo, vol_attr: { legality: 'FAKE' } }).success).to.equal(false);
    expect(update.safeParse({ job_id: JOB, vol_info: volInfo, vol_attr: { legality: 'ILLEGAL' } }).success).to.equal(true);
  });

  it('asks Host.getJobs for every job by default, and for storage jobs by id', () => {
    const getJobs = VERBS['Host.getJobs'].params;
    expect(getJobs.parse({})).to.deep.equal({ job_type: null, job_ids: [] });
    expect(getJobs.parse({ job_type: 'storage', job_ids: [JOB] })).to.deep.equal({ job_type: 'storage', job_ids: [JOB] });
    expect(getJobs.safeParse({ job_type: 'virt' }).success).to.equal(false);
    expect(getJobs.safeParse({ job_ids: ['x'] }).success).to.equal(false);
  });
});
