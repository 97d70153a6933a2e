/**
 * How host jobs run, against a real fake over real sockets: each host has
 * its own 10 workers (one host's queue never holds up another's), a pending
 * job aborted never runs, the carrying sdm task shows only on its host.
 */
import { randomUUID } from 'node:crypto';
import { onJobStatus, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { JobStatusEvent } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { DEFAULT_IDS } from '../index.js';
import { SdmHosts } from '../test-support/sdm-hosts.js';

const { blockDomain, image, volume } = DEFAULT_IDS;

describe('jobs/host-jobs: running SDM jobs', function () {
  this.timeout(60_000);
  let hosts: SdmHosts;

  beforeEach(async () => {
    hosts = await SdmHosts.start({ hosts: 2 });
    await hosts.createDestination();
  });
  afterEach(async () => {
    await hosts.close();
  });

  const update = async (via: number): Promise<string> => {
    const jobId = randomUUID();
    await hosts.client(via).SDM.update_volume({
      job_id: jobId,
      vol_info: { sd_id: blockDomain, img_id: image, vol_id: volume, generation: 0 },
      vol_attr: { description: `from host ${via}` },
    });
    return jobId;
  };

  it('runs 10 jobs at once per host, the 11th pending, while another host runs its own at once', async () => {
    // The first job of host 2 hangs holding the image lock and the lease; the next 9 wait for the lock, running.
    await hosts.vdsm.addFault({ match: { method: 'SDM.update_volume', host: 2 }, action: { hang: true }, times: 1 });
    const first = await update(2);
    while ((await hosts.destinationInfo(1)).lease?.owners?.[0] !== 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const ids = [first];
    for (let i = 0; i < 10; i++) ids.push(await update(2));
    const statuses = async () => (await hosts.vdsm.listJobs(2)).map((job) => job.status);
    while ((await statuses()).filter((status) => status === 'running').length < 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await statuses()).to.deep.equal([...Array<string>(10).fill('running'), 'pending']);
    // Host 1's sdm tasks are its own: only host 2's are listed on host 2.
    const tasks = Object.values(await hosts.client(2).Host.getAllTasks());
    expect(tasks.map((task) => `${task.tag}:${task.verb}:${task.state}`).sort()).to.deep.equal(
      [...Array<string>(10).fill('sdm:update_volume:running'), 'sdm:update_volume:queued'].sort(),
    );
    expect(await hosts.client(1).Host.getAllTasks()).to.deep.equal({});

    // Host 1 is not queued behind host 2: its job runs now and meets host 2's lease.
    const other = await update(1);
    const refused = await hosts.jobEnd(1, other);
    expect(refused?.error?.code).to.equal(VdsmErrorCode.AcquireLockFailure);

    // The pending one, aborted, ends at once with its event and never runs.
    const events: JobStatusEvent[] = [];
    const pending = ids[10] as string;
    onJobStatus(hosts.client(2), pending, (info) => events.push(info));
    await hosts.client(2).Host.ping2();
    expect((await hosts.vdsm.abortJob(2, pending)).status).to.equal('aborted');
    while (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events[0]).to.deep.include({ id: pending, status: 'aborted', description: 'update_volume' });

    // Aborting the hung one lets the others through, one at a time on the image lock.
    await hosts.vdsm.abortJob(2, first);
    const ends = await Promise.all(ids.map((id) => hosts.jobEnd(2, id)));
    expect(ends.map((end) => end?.status)).to.deep.equal(['aborted', 'done', ...Array<string>(8).fill('failed'), 'aborted']);
    // The first to get through set generation 1; the rest still expected 0.
    expect(ends[2]?.error?.code).to.equal(VdsmErrorCode.GenerationMismatch);
    expect(await hosts.destinationInfo(2)).to.deep.include({ generation: 1, description: 'from host 2' });
    expect(await hosts.client(2).Host.getAllTasks()).to.deep.equal({});
  });
});
