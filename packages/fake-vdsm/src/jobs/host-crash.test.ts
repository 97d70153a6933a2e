/**
 * One host of the pool dying alone (ControlApi.crashHost, and a `crash`
 * fault on an SDM job of a host that is not the SPM), against a real fake
 * of two hosts over real sockets: that host's port refuses, its jobs are
 * lost as VDSM loses them (not persisted), the SPM and the storage live on,
 * and the host comes back on its port with an empty job table.
 */
import { connect } from 'node:net';
import { expect } from 'chai';
import { SdmHosts } from '../test-support/sdm-hosts.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the error code of a plain TCP connect to `port` (undefined when it connects). */
function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

describe('jobs: a host crashing alone', function () {
  this.timeout(60_000);
  let hosts: SdmHosts;

  beforeEach(async () => {
    hosts = await SdmHosts.start();
    await hosts.createDestination();
  });
  afterEach(async () => {
    await hosts.close();
  });

  const up = async (id: number) => (await hosts.vdsm.listHosts()).find((host) => host.id === id)?.up;

  it("a crash fault on host 2's copy takes host 2 alone: its port refuses, the SPM answers, the destination stays ILLEGAL at G and its lease is freed", async () => {
    await hosts.vdsm.addFault({ match: { method: 'SDM.copy_data', host: 2 }, action: { crash: true }, times: 1 });
    const jobId = await hosts.copy(2, 0);
    for (let round = 0; (await up(2)) !== false; round += 1) {
      if (round > 2000) throw new Error('host 2 never went down');
      await pause(10);
    }
    const port2 = hosts.vdsm.hosts.find((host) => host.id === 2)!.stomp.port;
    expect(await connectError(port2)).to.equal('ECONNREFUSED');
    expect(await up(1)).to.equal(true);
    // The SPM still answers; the job was lost with its host, not ended.
    expect(await hosts.vdsm.listJobs()).to.deep.equal([]);
    for (let round = 0; ; round += 1) {
      const info = await hosts.destinationInfo(1);
      expect(info).to.deep.include({ legality: 'ILLEGAL', generation: 0 });
      if (info.lease?.owners?.length === 0) break;
      if (round > 2000) throw new Error(`the dead host's lease is never freed: ${JSON.stringify(info.lease)}`);
      await pause(10);
    }
    expect((await hosts.vdsm.faultLog()).map((firing) => firing['kind'])).to.deep.equal(['crash']);

    await hosts.vdsm.restartHost(2);
    expect(await up(2)).to.equal(true);
    // Back on its port with no job: the lost one is not listed, and a new copy at the same generation runs to its end.
    expect(await hosts.job(2, jobId)).to.equal(undefined);
    const again = await hosts.copy(2, 0);
    expect((await hosts.jobEnd(2, again))?.status).to.equal('done');
    expect(await hosts.destinationInfo(1)).to.deep.include({ legality: 'LEGAL', generation: 1 });
    expect(await hosts.checksum(SdmHosts.destination().sd_id)).to.equal(await hosts.checksum(SdmHosts.source.sd_id));
  });

  it("a crash fault on the SPM's own copy crashes the whole fake, as before: every host is down until restart()", async () => {
    await hosts.vdsm.addFault({ match: { method: 'SDM.copy_data', host: 1 }, action: { crash: true }, times: 1 });
    await hosts.copy(1, 0);
    for (let round = 0; ; round += 1) {
      const listed = await hosts.vdsm.listHosts().then(
        () => undefined,
        (error: unknown) => error,
      );
      if (listed !== undefined) {
        expect(listed).to.have.property('code', 'unavailable');
        break;
      }
      if (round > 2000) throw new Error('the fake never crashed');
      await pause(10);
    }
    await hosts.vdsm.restart();
    expect((await hosts.vdsm.listHosts()).map((host) => host.up)).to.deep.equal([true, true]);
  });
});
