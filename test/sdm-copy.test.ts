/**
 * A disk's data moved with SDM host jobs, as the engine's cold move does it
 * (vdsm-sdm.md §5.1): the destination made by Volume.create on the SPM, then
 * SDM.copy_data on a host that is NOT the SPM, polled with Host.getJobs on
 * that host. Real clients over TCP, an in-process fake of three pool hosts
 * (host 1 the SPM), real files: the bytes are checked by checksum.
 */
import { randomUUID } from 'node:crypto';
import { onJobStatus, VdsmErrorCode, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import { ControlClient } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { copyData, createDestination, pollJob, storageJob, volumeAt } from './support/sdm-jobs.js';
import type { VolumeMove } from './support/sdm-jobs.js';
import { startStorageFake, waitUntil } from './support/storage-fake.js';
import type { StorageBed } from './support/storage-fake.js';
import { DATA_DISK_BYTES, IDS, storageFixture } from './support/storage-fixture.js';
import { TeardownHelper } from './support/teardown.js';

const MiB = 1024 * 1024;
/** The 1 GiB data disk, nfs-data -> nfs-data2. */
const DATA_MOVE: VolumeMove = { image: IDS.dataImage, volume: IDS.dataVolume, from: IDS.fileDomain, to: IDS.fileDomain2 };
/** The 64 MiB small disk, nfs-data -> iscsi-data. */
const SMALL_MOVE: VolumeMove = { image: IDS.smallImage, volume: IDS.smallVolume, from: IDS.fileDomain, to: IDS.blockDomain };

describe('SDM copy: a disk moved with copy_data on a pool host that is not the SPM', function () {
  this.timeout(120_000);
  const td = new TeardownHelper();
  let bed: StorageBed;
  let ctl: ControlClient;

  beforeEach(async () => {
    bed = await startStorageFake(td, { hosts: 3, fixture: storageFixture({ connectedHosts: 3, unconnectedHost: false }) });
    ctl = new ControlClient(bed.fake.control);
  });
  afterEach(() => td.run());

  const checksum = async (move: VolumeMove, domain: string) => (await ctl.checksum(domain, move.image, move.volume)).checksum;
  const createData = () => createDestination(bed, DATA_MOVE, DATA_DISK_BYTES, VolumeFormat.RAW, VolumeAllocation.Sparse);

  it('copies the bytes: the job ends done at 100.0, the destination is LEGAL at G+1 with the same checksum as the source', async () => {
    const before = await createData();
    expect(before).to.deep.include({ legality: 'LEGAL', generation: 0 });
    const jobId = await copyData(bed.host(2), DATA_MOVE, before.generation);
    const end = await pollJob(bed.host(2), jobId);
    expect(end).to.deep.equal({ id: jobId, status: 'done', description: 'copy_data', job_type: 'storage', progress: 100 });
    expect(await checksum(DATA_MOVE, DATA_MOVE.to)).to.equal(await checksum(DATA_MOVE, DATA_MOVE.from));
    // Any host reads the same metadata.
    expect(await volumeAt(bed.host(3), DATA_MOVE, DATA_MOVE.to)).to.deep.include({ legality: 'LEGAL', status: 'OK', generation: before.generation + 1 });
    expect((await ctl.listJobs()).map((job) => [job.host, job.id, job.status])).to.deep.equal([[2, jobId, 'done']]);
  });

  it('loses the job when its host crashes mid-copy (the others live on): after its restart it is not listed and the destination stays ILLEGAL at G, its lease free', async () => {
    const before = await createData();
    await ctl.addFault({ match: { method: 'SDM.copy_data', task: { kind: 'copy_data', phase: 'copy' } }, action: { crash: true }, times: 1 });
    const events: string[] = [];
    onJobStatus(bed.host(2), '*', (info) => events.push(`${info.id} ${info.status}`));
    await bed.host(2).Host.ping2();
    const jobId = await copyData(bed.host(2), DATA_MOVE, before.generation);
    await waitUntil(async () => (await ctl.listHosts()).find((host) => host.id === 2)?.up === false, 'host 2 crashed');
    await ctl.restartHost(2);
    expect(await storageJob(bed.host(2), jobId)).to.equal(undefined);
    // A crashed VDSM sends nothing: whatever was sent before the drop arrived before it.
    expect(events).to.deep.equal([]);
    const after = await volumeAt(bed.host(1), DATA_MOVE, DATA_MOVE.to);
    expect(after).to.deep.include({ legality: 'ILLEGAL', status: 'ILLEGAL', generation: before.generation });
    expect(after.lease?.owners).to.deep.equal([]);
    // The source is untouched and a new job id copies it over the ILLEGAL destination.
    const retry = await copyData(bed.host(3), DATA_MOVE, after.generation);
    expect((await pollJob(bed.host(3), retry))?.status).to.equal('done');
    expect(await checksum(DATA_MOVE, DATA_MOVE.to)).to.equal(await checksum(DATA_MOVE, DATA_MOVE.from));
  });

  it('fences: update_volume to G+3 before a queued copy makes that copy fail 911, writing no data', async () => {
    const before = await createData();
    const G = before.generation;
    const empty = await checksum(DATA_MOVE, DATA_MOVE.to);
    // Something holds the destination's image lock on host 2 (a hung update): what comes next queues behind it.
    await ctl.addFault({ match: { method: 'SDM.update_volume', host: 2 }, action: { hang: true }, times: 1 });
    const holder = randomUUID();
    const volInfo = { sd_id: DATA_MOVE.to, img_id: DATA_MOVE.image, vol_id: DATA_MOVE.volume, generation: G };
    await bed.host(2).SDM.update_volume({ job_id: holder, vol_info: volInfo, vol_attr: { description: 'holder' } });
    await waitUntil(async () => (await volumeAt(bed.host(1), DATA_MOVE, DATA_MOVE.to)).lease?.owners?.[0] === 2, 'the holder took the lease');
    const fence = randomUUID();
    await bed.host(2).SDM.update_volume({ job_id: fence, vol_info: volInfo, vol_attr: { generation: G + 3 } });
    const late = await copyData(bed.host(2), DATA_MOVE, G);
    await ctl.abortJob(2, holder);

    expect((await pollJob(bed.host(2), fence))?.status).to.equal('done');
    const copy = await pollJob(bed.host(2), late);
    expect(copy?.error).to.deep.equal({
      code: VdsmErrorCode.GenerationMismatch,
      message: `The provided generation does not match the actual generation: 'requested=${G}, actual=${G + 3}'`,
    });
    expect(await volumeAt(bed.host(3), DATA_MOVE, DATA_MOVE.to)).to.deep.include({ legality: 'LEGAL', generation: G + 3 });
    expect(await checksum(DATA_MOVE, DATA_MOVE.to)).to.equal(empty);
  });

  it('copies on two hosts at once: a copy held on host 2 does not hold up host 3, and each ends with its own bytes', async () => {
    const data = await createData();
    const small = await createDestination(bed, SMALL_MOVE, 64 * MiB, VolumeFormat.RAW, VolumeAllocation.Preallocated);
    await ctl.addFault({ match: { method: 'SDM.copy_data', host: 2 }, action: { hang: true }, times: 1 });
    const held = await copyData(bed.host(2), DATA_MOVE, data.generation);
    await waitUntil(async () => (await volumeAt(bed.host(1), DATA_MOVE, DATA_MOVE.to)).lease?.owners?.[0] === 2, 'host 2 copying');

    const other = await copyData(bed.host(3), SMALL_MOVE, small.generation);
    expect((await pollJob(bed.host(3), other))?.status).to.equal('done');
    expect(await checksum(SMALL_MOVE, SMALL_MOVE.to)).to.equal(await checksum(SMALL_MOVE, SMALL_MOVE.from));
    expect((await storageJob(bed.host(2), held))?.status).to.equal('running');
    expect((await volumeAt(bed.host(3), DATA_MOVE, DATA_MOVE.to)).lease?.owners).to.deep.equal([2]);

    // Aborted, host 2's copy leaves ILLEGAL at G; a new job id on the same host then copies it.
    expect((await ctl.abortJob(2, held)).host).to.equal(2);
    expect((await pollJob(bed.host(2), held))?.status).to.equal('aborted');
    expect(await volumeAt(bed.host(2), DATA_MOVE, DATA_MOVE.to)).to.deep.include({ legality: 'ILLEGAL', generation: data.generation });
    const again = await copyData(bed.host(2), DATA_MOVE, data.generation);
    expect((await pollJob(bed.host(2), again))?.status).to.equal('done');
    expect(await checksum(DATA_MOVE, DATA_MOVE.to)).to.equal(await checksum(DATA_MOVE, DATA_MOVE.from));
  });
});
