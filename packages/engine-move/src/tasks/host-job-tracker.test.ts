/**
 * HostJobTracker against a real fake VDSM (two hosts, real sockets): SDM
 * copy jobs started on host 2 by hand, after their structure was made on the
 * target by Image.cloneStructure on the SPM, followed as a move follows them.
 */
import { randomUUID } from 'node:crypto';
import { TaskWatcher, systemClock } from '@vdsm-kit/client';
import { expect } from 'chai';
import { IDS, startFakePool } from '../test-support/fake-pool.js';
import type { FakePool } from '../test-support/fake-pool.js';
import { HostJobTracker } from './host-job-tracker.js';

describe('HostJobTracker against a real fake VDSM', function () {
  this.timeout(60_000);
  let pool: FakePool;
  let tracker: HostJobTracker | undefined;

  beforeEach(async function () {
    pool = await startFakePool({ hosts: 2, clientOptions: { reconnect: { retries: 0 } } });
  });
  afterEach(async function () {
    tracker?.close();
    await pool?.close();
  });

  const host2 = () => pool.hosts[1]!;

  /** The disk's structure on the block domain (one SPM task), then SDM.copy_data on host 2: the job id. */
  async function startCopy(index: number): Promise<string> {
    const disk = pool.disks[index]!;
    const spm = pool.clients[0]!;
    const task = await spm.Image.cloneStructure({ imageID: disk.image, storagepoolID: IDS.pool, storagedomainID: IDS.fileDomain, dstSdUUID: IDS.blockDomain });
    const watcher = new TaskWatcher({ caller: spm, intervalMs: 20 });
    expect((await watcher.wait(task, { clear: true })).kind).to.equal('success');
    watcher.close();
    const key = { volumeID: disk.volume, imageID: disk.image, storagepoolID: IDS.pool, storagedomainID: IDS.blockDomain };
    const { generation } = await spm.Volume.getInfo(key);
    const jobId = randomUUID();
    const endpoint = (sd: string) => ({ endpoint_type: 'div' as const, sd_id: sd, img_id: disk.image, vol_id: disk.volume, prepared: false });
    await host2().api.SDM.copy_data({ job_id: jobId, source: endpoint(IDS.fileDomain), destination: { ...endpoint(IDS.blockDomain), generation } });
    return jobId;
  }

  const getJobsCalls = () => pool.callsByHost.get(host2().name)?.get('Host.getJobs') ?? 0;

  it('follows every job of the host with one Host.getJobs per poll, and ends each as the host reports it', async function () {
    // Without events: the polls alone must tell.
    tracker = new HostJobTracker({ host: { ...host2(), events: undefined }, clock: systemClock, intervalMs: 30, firstEarlyPollMs: 5 });
    const [a, b] = [await startCopy(0), await startCopy(1)];
    const ends = await Promise.all([tracker.watch(a), tracker.watch(b)]);
    expect(ends).to.deep.equal([{ kind: 'done' }, { kind: 'done' }]);
    expect(tracker.polls).to.be.greaterThan(0);
    expect(getJobsCalls()).to.equal(tracker.polls);
    // While both were in flight, each poll asked for both: one call per host, not per job.
    const asked = (await pool.fake.listCalls({ method: 'Host.getJobs' })).calls.map((c) => (c.params as { job_ids: string[] }).job_ids);
    expect(asked[0]).to.have.members([a, b]);
    expect(asked.every((ids) => ids.length >= 1)).to.equal(true);
  });

  it('reports a failed job with VDSM\'s code and message', async function () {
    tracker = new HostJobTracker({ host: { ...host2(), events: undefined }, clock: systemClock, intervalMs: 30, firstEarlyPollMs: 5 });
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { failAt: 0.5, error: 651 }, times: 1 });
    const end = await tracker.watch(await startCopy(0));
    expect(end).to.include({ kind: 'failed', code: 651 });
  });

  it('ends a job its host does not list as missing, at the first poll that answers', async function () {
    tracker = new HostJobTracker({ host: host2(), clock: systemClock, intervalMs: 30, firstEarlyPollMs: 5 });
    expect(await tracker.watch(randomUUID())).to.deep.equal({ kind: 'missing' });
    expect(tracker.polls).to.equal(1);
  });

  it("ends the wait on the job's |jobs|status| event, before any poll is due", async function () {
    // Polls an hour apart: only the event can end this wait (mocha's timeout fails it otherwise).
    tracker = new HostJobTracker({ host: host2(), clock: systemClock, intervalMs: 3_600_000, firstEarlyPollMs: 3_600_000 });
    const end = await tracker.watch(await startCopy(0));
    expect(end).to.deep.equal({ kind: 'done' });
    expect(tracker.polls).to.equal(0);
  });

  it('ends its jobs as unreachable once the host cannot be asked the given number of polls in a row', async function () {
    tracker = new HostJobTracker({ host: host2(), clock: systemClock, intervalMs: 20, firstEarlyPollMs: 5, missesBeforeUnreachable: 3, callTimeoutMs: 2_000 });
    await pool.fake.addFault({ match: { task: { kind: 'copy_data', phase: 'copy' } }, action: { hang: true }, times: 1 });
    const jobId = await startCopy(0);
    await pool.fake.crash();
    const end = await tracker.watch(jobId);
    expect(end).to.include({ kind: 'unreachable', misses: 3 });
  });
});
