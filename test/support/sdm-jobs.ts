/**
 * What the SDM suites do as the engine's cold move does it (vdsm-sdm.md
 * §5.1): the destination made on the SPM with `Volume.create` (same ids),
 * then `SDM.copy_data` on any pool host, polled there with `Host.getJobs`.
 */
import { randomUUID } from 'node:crypto';
import { BLANK_UUID, HOST_JOB_ENDED_STATUSES, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import type { HostJobInfo, VolumeInfo } from '@vdsm-kit/client/api';
import type { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import type { StorageBed } from './storage-fake.js';
import { realDelay } from './storage-fake.js';
import { IDS } from './storage-fixture.js';

/** One volume of a disk move: source and destination domain, the ids kept. */
export interface VolumeMove {
  readonly image: string;
  readonly volume: string;
  readonly from: string;
  readonly to: string;
}

/** Volume.create of the move's destination on the SPM (host 1), as CreateVolumeContainer does; waits for the task. */
export async function createDestination(bed: StorageBed, move: VolumeMove, capacity: number, format: VolumeFormat, allocation: VolumeAllocation): Promise<VolumeInfo> {
  const taskId = await bed.host(1).Volume.create({
    volumeID: move.volume,
    storagepoolID: IDS.pool,
    storagedomainID: move.to,
    imageID: move.image,
    size: capacity,
    volFormat: format,
    preallocate: allocation,
    diskType: 'DATA',
    desc: 'moved disk',
    srcImgUUID: BLANK_UUID,
    srcVolUUID: BLANK_UUID,
  });
  const outcome = await bed.wait(taskId);
  expect(outcome.kind, `Volume.create of ${move.volume}`).to.equal('success');
  return volumeAt(bed.host(1), move, move.to);
}

/** Volume.getInfo of the move's volume on `domain`, asked of `client`. */
export function volumeAt(client: VdsmClient, move: VolumeMove, domain: string): Promise<VolumeInfo> {
  return client.Volume.getInfo({ volumeID: move.volume, storagepoolID: IDS.pool, storagedomainID: domain, imageID: move.image });
}

/** SDM.copy_data of the move on `client` with the destination's generation; resolves with the job id. */
export async function copyData(client: VdsmClient, move: VolumeMove, generation: number, jobId: string = randomUUID()): Promise<string> {
  const endpoint = (sd: string) => ({ endpoint_type: 'div' as const, sd_id: sd, img_id: move.image, vol_id: move.volume, prepared: false });
  await client.SDM.copy_data({ job_id: jobId, source: endpoint(move.from), destination: { ...endpoint(move.to), generation } });
  return jobId;
}

/** `Host.getJobs(storage, [id])` on `client`: the job, or undefined when the host does not list it. */
export async function storageJob(client: VdsmClient, jobId: string): Promise<HostJobInfo | undefined> {
  return (await client.Host.getJobs({ job_type: 'storage', job_ids: [jobId] }))[jobId];
}

/** Polls the job every 10 ms (at most `timeoutMs`) until `until` holds; resolves with what was seen last. */
export async function pollJob(
  client: VdsmClient,
  jobId: string,
  until: (job: HostJobInfo | undefined) => boolean = (job) => job === undefined || HOST_JOB_ENDED_STATUSES.has(job.status),
  timeoutMs = 30_000,
): Promise<HostJobInfo | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const job = await storageJob(client, jobId);
    if (until(job)) return job;
    if (performance.now() > deadline) throw new Error(`job ${jobId} still ${JSON.stringify(job)} after ${timeoutMs} ms`);
    await realDelay(10);
  }
}
