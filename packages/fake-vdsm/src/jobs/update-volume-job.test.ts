/**
 * SDM.update_volume against a real fake of two hosts over real sockets:
 * the engine's fence (generation G+3) and VDSM's refusals.
 */
import { randomUUID } from 'node:crypto';
import { VdsmErrorCode } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { DEFAULT_IDS } from '../index.js';
import { SdmHosts } from '../test-support/sdm-hosts.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const { blockDomain, image, volume } = DEFAULT_IDS;
const volInfo = (generation?: number) => ({ sd_id: blockDomain, img_id: image, vol_id: volume, ...(generation === undefined ? {} : { generation }) });

describe('jobs/update-volume-job (SDM.update_volume)', function () {
  this.timeout(60_000);
  let hosts: SdmHosts;

  beforeEach(async () => {
    hosts = await SdmHosts.start();
    await hosts.createDestination();
  });
  afterEach(async () => {
    await hosts.close();
  });

  /** Runs an update on host `via` and resolves with its ended job. */
  const update = async (via: number, attributes: Record<string, unknown>, generation?: number) => {
    const jobId = randomUUID();
    await hosts.client(via).call('SDM.update_volume', { job_id: jobId, vol_info: volInfo(generation), vol_attr: attributes });
    return hosts.jobEnd(via, jobId);
  };

  it("fences: generation G+3 in one write, so a copy still expecting G fails 911 and writes nothing", async () => {
    const fence = await update(2, { generation: 3 }, 0);
    // No progress for a job without one.
    expect(fence).to.deep.equal({ id: fence?.id, status: 'done', description: 'update_volume', job_type: 'storage' });
    expect(await hosts.destinationInfo(1)).to.deep.include({ generation: 3, legality: 'LEGAL' });

    const late = await hosts.copy(1, 0);
    expect((await hosts.jobEnd(1, late))?.error?.code).to.equal(VdsmErrorCode.GenerationMismatch);
    expect(await hosts.destinationInfo(1)).to.deep.include({ generation: 3, legality: 'LEGAL' });
  });

  it('adds one to the generation when none is given, and sets legality and a description cut to 210 bytes', async () => {
    expect((await update(1, { legality: 'ILLEGAL', description: 'é'.repeat(200) }, 0))?.status).to.equal('done');
    const info = await hosts.destinationInfo(2);
    expect(info).to.deep.include({ generation: 1, legality: 'ILLEGAL' });
    expect(info.description).to.equal('é'.repeat(105));
  });

  it('fails 911 for a wrong or missing generation, 235 for the same legality twice or a type change of a non-leaf', async () => {
    const wrong = await update(2, { generation: 9 }, 4);
    expect(wrong?.error).to.deep.equal({ code: 911, message: "The provided generation does not match the actual generation: 'requested=4, actual=0'" });
    const missing = await update(2, { generation: 9 });
    expect(missing?.error?.message).to.equal("The provided generation does not match the actual generation: 'requested=None, actual=0'");
    const same = await update(2, { legality: 'LEGAL' }, 0);
    expect(same?.error).to.deep.equal({ code: 235, message: `Cannot update volume attributes: 'vol_id=${volume}, reason=LEGAL Volume cannot be updated to LEGAL'` });
    // A leaf without parent may become SHARED.
    expect((await update(2, { type: 'SHARED' }, 0))?.status).to.equal('done');
    const shared = await update(2, { type: 'SHARED' }, 1);
    expect(shared?.error?.message).to.equal(`Cannot update volume attributes: 'vol_id=${volume}, reason=SHARED Volume cannot be updated to SHARED'`);
    expect(await hosts.destinationInfo(1)).to.deep.include({ voltype: 'SHARED', generation: 1 });
  });

  it("refuses bad attributes at call time with 100 and VDSM's words", async () => {
    const call = (attributes: unknown) =>
      vdsmRejection(hosts.client(2).call('SDM.update_volume', { job_id: randomUUID(), vol_info: volInfo(0), vol_attr: attributes }));
    expect(await call({})).to.include({ code: 100, message: 'No attributes to update' });
    expect((await call({ type: 'LEAF' })).message).to.equal('Volume type not supported LEAF');
    expect((await call({ legality: 'FAKE' })).message).to.equal('Legality not supported FAKE');
    expect((await call({ generation: 1000 })).message).to.equal('Invalid value 1000 > 999 for property generation');
    expect((await call({ description: 5 })).message).to.equal('Invalid value 5 for string property description');
    expect(await hosts.vdsm.listJobs()).to.deep.equal([]);
  });
});
