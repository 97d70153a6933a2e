/**
 * Tests only: a fake with several hosts of the default pool and real
 * clients on their ports, for the SDM host-job tests: the destination of a
 * disk move made as the engine makes it (`Volume.create` on the SPM, same
 * ids), job polling with `Host.getJobs`, the volume as `Volume.getInfo`
 * shows it.
 */
import { randomUUID } from 'node:crypto';
import { HOST_JOB_ENDED_STATUSES, TaskState, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import type { DivEndpoint, HostJobInfo, VolumeInfo } from '@vdsm-kit/client/api';
import { VdsmClient } from '@vdsm-kit/client';
import { DEFAULT_IDS, startFakeVdsm } from '../index.js';
import type { FakeVdsm, FakeVdsmOptions } from '../index.js';

const { pool, fileDomain, blockDomain, image, volume } = DEFAULT_IDS;
const GiB = 1024 ** 3;

/** A fake of `hosts` hosts (host 1 the SPM) and one client per host. */
export class SdmHosts {
  readonly clients = new Map<number, VdsmClient>();

  private constructor(readonly vdsm: FakeVdsm) {}

  static async start(options: FakeVdsmOptions = {}): Promise<SdmHosts> {
    return new SdmHosts(await startFakeVdsm({ hosts: 2, ...options }));
  }

  /** The client of host `id` (made on first use; reconnects by itself after a restart). */
  client(id: number): VdsmClient {
    let client = this.clients.get(id);
    if (client === undefined) {
      const address = this.vdsm.hosts.find((host) => host.id === id);
      if (address === undefined) throw new Error(`no host ${id}`);
      client = new VdsmClient({ transport: 'tcp', host: address.stomp.host, port: address.stomp.port, timeoutMs: 20_000 });
      this.clients.set(id, client);
    }
    return client;
  }

  /** The default disk's volume on the NFS domain: the copy's source. */
  static readonly source: DivEndpoint = { endpoint_type: 'div', sd_id: fileDomain, img_id: image, vol_id: volume, prepared: false };

  /** The same volume ids on the iSCSI domain: the copy's destination (made by `createDestination`). */
  static destination(generation?: number): DivEndpoint {
    return { endpoint_type: 'div', sd_id: blockDomain, img_id: image, vol_id: volume, prepared: false, ...(generation === undefined ? {} : { generation }) };
  }

  /** `Volume.create` of the destination on the SPM (RAW preallocated, as a block move makes it), waited for. */
  async createDestination(): Promise<VolumeInfo> {
    const spm = this.client(1);
    const taskID = await spm.Volume.create({
      volumeID: volume,
      storagepoolID: pool,
      storagedomainID: blockDomain,
      imageID: image,
      size: GiB,
      volFormat: VolumeFormat.RAW,
      preallocate: VolumeAllocation.Preallocated,
      diskType: 'DATA',
      desc: 'copy_data destination',
      srcImgUUID: '00000000-0000-0000-0000-000000000000',
      srcVolUUID: '00000000-0000-0000-0000-000000000000',
    });
    for (;;) {
      const status = await spm.Task.getStatus({ taskID });
      if (status.taskState === TaskState.Finished) {
        if (status.code !== 0) throw new Error(`Volume.create failed: ${JSON.stringify(status)}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await spm.Task.clear({ taskID });
    return this.destinationInfo(1);
  }

  /** `Volume.getInfo` of the destination, asked of host `via`. */
  destinationInfo(via: number): Promise<VolumeInfo> {
    return this.client(via).Volume.getInfo({ volumeID: volume, storagepoolID: pool, storagedomainID: blockDomain, imageID: image });
  }

  /** `Host.getJobs` of one job on host `id`: its info, or undefined when not listed. */
  async job(id: number, jobId: string): Promise<HostJobInfo | undefined> {
    const jobs = await this.client(id).Host.getJobs({ job_type: 'storage', job_ids: [jobId] });
    return jobs[jobId];
  }

  /** Polls `Host.getJobs` on host `id` until job `jobId` has ended (or is gone, which resolves undefined). */
  async jobEnd(id: number, jobId: string): Promise<HostJobInfo | undefined> {
    for (;;) {
      const info = await this.job(id, jobId);
      if (info === undefined || HOST_JOB_ENDED_STATUSES.has(info.status)) return info;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Starts a copy of the default disk to the destination on host `id`; resolves with the job id. */
  async copy(id: number, generation?: number, jobId: string = randomUUID()): Promise<string> {
    await this.client(id).SDM.copy_data({ job_id: jobId, source: SdmHosts.source, destination: SdmHosts.destination(generation) });
    return jobId;
  }

  /** The block checksum of a volume (the control API's). */
  async checksum(sd: string): Promise<string> {
    return (await this.vdsm.checksum(sd, image, volume)).checksum;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close()));
    this.clients.clear();
    await this.vdsm.close();
  }
}
