/**
 * SDM.copy_data against a real fake of two hosts (host 1 the SPM) over
 * real sockets: the default disk (NFS) copied into its destination on the
 * iSCSI domain, made first by Volume.create on the SPM, as a disk move does.
 */
import { randomUUID } from 'node:crypto';
import { onJobStatus, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { JobStatusEvent } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { DEFAULT_IDS } from '../index.js';
import { defaultFixture } from '../model/default-fixture.js';
import { SdmHosts } from '../test-support/sdm-hosts.js';
import { vdsmRejection } from '../test-support/vdsm-rejection.js';

const { fileDomain, blockDomain, image, volume } = DEFAULT_IDS;

describe('jobs/copy-data-job (SDM.copy_data)', function () {
  this.timeout(60_000);
  let hosts: SdmHosts;

  beforeEach(async () => {
    hosts = await SdmHosts.start();
  });
  afterEach(async () => {
    await hosts.close();
  });

  it('copies the bytes on a host that is not the SPM: done, LEGAL at G+1, lease free, the end sent as an event', async () => {
    const before = await hosts.createDestination();
    expect(before).to.deep.include({ legality: 'LEGAL', generation: 0 });
    const events: JobStatusEvent[] = [];
    const jobId = randomUUID();
    onJobStatus(hosts.client(2), jobId, (info) => events.push(info));
    await hosts.client(2).Host.ping2(); // subscribed before the copy starts

    await hosts.copy(2, before.generation, jobId);
    const end = await hosts.jobEnd(2, jobId);
    expect(end).to.deep.equal({ id: jobId, status: 'done', description: 'copy_data', job_type: 'storage', progress: 100 });
    expect(await hosts.checksum(blockDomain)).to.equal(await hosts.checksum(fileDomain));
    const after = await hosts.destinationInfo(1);
    expect(after).to.deep.include({ legality: 'LEGAL', status: 'OK', generation: 1 });
    expect(after.lease?.owners).to.deep.equal([]);
    // The job is host 2's: host 1 does not list it.
    expect(await hosts.job(1, jobId)).to.equal(undefined);
    while (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events[0]).to.deep.include({ id: jobId, status: 'done', description: 'copy_data', job_type: 'storage', progress: 100 });
    expect(events[0]?.notify_time).to.be.a('number');
  });

  it("fails 911 without touching the destination when the generation is not the destination's", async () => {
    await hosts.createDestination();
    const jobId = await hosts.copy(2, 7);
    const end = await hosts.jobEnd(2, jobId);
    expect(end?.status).to.equal('failed');
    expect(end?.error).to.deep.equal({
      code: VdsmErrorCode.GenerationMismatch,
      message: "The provided generation does not match the actual generation: 'requested=7, actual=0'",
    });
    expect(await hosts.destinationInfo(2)).to.deep.include({ legality: 'LEGAL', generation: 0 });
  });

  it('answers true and fails the job for what the call does not check: a missing destination 201, an ILLEGAL source 227', async () => {
    // No Volume.create: the destination does not exist.
    const missing = await hosts.copy(2, 0);
    expect((await hosts.jobEnd(2, missing))?.error?.code).to.equal(VdsmErrorCode.VolumeDoesNotExist);

    await hosts.createDestination();
    hosts.vdsm.storage.store.updateVolume(fileDomain, volume, { legality: 'ILLEGAL' });
    const illegal = await hosts.copy(2, 0);
    expect((await hosts.jobEnd(2, illegal))?.error).to.deep.equal({ code: 227, message: `Cannot prepare illegal volume: ('${volume}',)` });
  });

  it('refuses at call time only a bad endpoint (100, Python words) and a listed job id (100); ignores unknown params', async () => {
    const client = hosts.client(2);
    const jobId = randomUUID();
    const call = (source: unknown, destination: unknown) =>
      vdsmRejection(client.call('SDM.copy_data', { job_id: jobId, source, destination, copy_bitmaps: false }));
    const src = SdmHosts.source;
    expect((await call(src, { sd_id: blockDomain })).message).to.equal("'endpoint_type'");
    expect((await call(src, { endpoint_type: 'div', sd_id: blockDomain, img_id: image })).message).to.equal('Property vol_id is required');
    expect((await call(src, { ...SdmHosts.destination(), vol_id: 'nope' })).message).to.equal('badly formed hexadecimal UUID string');
    expect((await call(src, SdmHosts.destination(1000))).message).to.equal('Invalid value 1000 > 999 for property generation');
    expect((await call(src, SdmHosts.destination(-1))).message).to.equal('Invalid value -1 < 0 for property generation');
    expect((await call(src, { ...SdmHosts.destination(), endpoint_type: 'nbd' })).message).to.match(/^Invalid or unsupported endpoint \{'sd_id': /);
    // The destination is read first.
    expect((await call({}, { sd_id: blockDomain })).message).to.equal("'endpoint_type'");
    for (const error of [await call(src, { sd_id: blockDomain })]) expect(error.code).to.equal(VdsmErrorCode.GeneralException);
    expect(await hosts.job(2, jobId)).to.equal(undefined);

    // The engine's extra `legal` is dropped (VDSM's default, not strict mode).
    expect(await client.call('SDM.copy_data', { job_id: jobId, source: src, destination: SdmHosts.destination(), legal: true })).to.equal(true);
    await hosts.jobEnd(2, jobId);
    const again = await vdsmRejection(hosts.copy(2, undefined, jobId));
    expect(again).to.include({ code: VdsmErrorCode.GeneralException, message: `Job '${jobId}' exists` });
  });

  it('holds the destination lease while copying: lease.owners on every host, 651 at once for another host, aborted by the control API', async () => {
    await hosts.createDestination();
    await hosts.vdsm.addFault({ match: { method: 'SDM.copy_data', host: 2 }, action: { hang: true }, times: 1 });
    const events: JobStatusEvent[] = [];
    onJobStatus(hosts.client(2), '*', (info) => events.push(info));
    const first = await hosts.copy(2, 0);
    for (;;) {
      const info = await hosts.destinationInfo(1);
      // The lease is taken first (the volume still LEGAL while the job prepares), then the volume goes ILLEGAL.
      if (info.legality === 'ILLEGAL') {
        expect(info).to.deep.include({ status: 'ILLEGAL', generation: 0 });
        expect(info.lease?.owners).to.deep.equal([2]);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await hosts.job(2, first))?.status).to.equal('running');

    const second = await hosts.copy(1, 0);
    const refused = await hosts.jobEnd(1, second);
    expect(refused?.status).to.equal('failed');
    expect(refused?.error?.code).to.equal(VdsmErrorCode.AcquireLockFailure);
    expect(refused?.error?.message).to.match(/^Cannot obtain lock: "id=33333333-.*rc=-243, out=Cannot acquire Lease\(name='55555555-/);

    const aborted = await hosts.vdsm.abortJob(2, first);
    expect(aborted.host).to.equal(2);
    expect((await hosts.jobEnd(2, first))?.status).to.equal('aborted');
    const after = await hosts.destinationInfo(2);
    expect(after).to.deep.include({ legality: 'ILLEGAL', generation: 0 });
    expect(after.lease?.owners).to.deep.equal([]);
    while (!events.some((event) => event.id === first)) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events.find((event) => event.id === first)?.status).to.equal('aborted');
    // An ended job cannot be aborted again; an unknown one is not found.
    await expectControlError(hosts.vdsm.abortJob(2, first), 'conflict');
    await expectControlError(hosts.vdsm.abortJob(2, randomUUID()), 'not_found');
  });

  it('answers 313 on a host not connected to the pool, and -32601 for an abort verb VDSM does not have', async () => {
    const fixture = defaultFixture();
    const lonely = await SdmHosts.start({ hosts: 2, fixture: { ...fixture, hosts: [...(fixture.hosts ?? []), { id: 2, name: 'host-2', uuid: randomUUID(), pool: null }] } });
    try {
      const error = await vdsmRejection(lonely.copy(2, 0));
      expect(error).to.include({ code: VdsmErrorCode.StoragePoolNotConnected, message: 'Storage pool not connected: ()' });
      expect((await vdsmRejection(lonely.client(2).call('Host.abort_job', { job_id: randomUUID() }))).code).to.equal(VdsmErrorCode.JsonRpcMethodNotFoundError);
    } finally {
      await lonely.close();
    }
  });
});

async function expectControlError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).to.have.property('code', code);
}
