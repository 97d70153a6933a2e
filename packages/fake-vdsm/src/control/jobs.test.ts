/**
 * The control API's SDM jobs over HTTP (`ControlClient` against a real fake):
 * `GET /jobs[?host=N]` and `POST /jobs/:host/:id/abort`.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SdmHosts } from '../test-support/sdm-hosts.js';
import { ControlClient } from './control-client.js';
import { ControlError } from './control-api.js';

async function controlError(promise: Promise<unknown>): Promise<ControlError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).to.be.instanceOf(ControlError);
  return error as ControlError;
}

describe('control/jobs: SDM host jobs over HTTP', function () {
  this.timeout(60_000);
  let hosts: SdmHosts;
  let http: ControlClient;

  beforeEach(async () => {
    hosts = await SdmHosts.start();
    http = new ControlClient(hosts.vdsm.control);
    await hosts.createDestination();
  });
  afterEach(async () => {
    await hosts.close();
  });

  it("lists each host's jobs with the host, and aborts a running copy (aborted, destination ILLEGAL at G)", async () => {
    await http.addFault({ match: { method: 'SDM.copy_data', host: 2 }, action: { hang: true }, times: 1 });
    const running = await hosts.copy(2, 0);
    const done = await hosts.copy(1, 0, randomUUID()).then(async (id) => (await hosts.jobEnd(1, id))?.id as string);
    while ((await hosts.destinationInfo(1)).legality !== 'ILLEGAL') await new Promise((resolve) => setTimeout(resolve, 10));

    const all = await http.listJobs();
    expect(all.map((job) => [job.host, job.id, job.status])).to.deep.include.members([[2, running, 'running']]);
    expect(all.find((job) => job.id === done)?.host).to.equal(1);
    expect((await http.listJobs(2)).map((job) => job.id)).to.deep.equal([running]);

    const aborted = await http.abortJob(2, running);
    expect(aborted).to.deep.include({ host: 2, id: running, description: 'copy_data' });
    expect((await hosts.jobEnd(2, running))?.status).to.equal('aborted');
    expect(await hosts.destinationInfo(2)).to.deep.include({ legality: 'ILLEGAL', generation: 0 });
    expect((await controlError(http.abortJob(2, running))).status).to.equal(409);
  });

  it('answers 400 for a bad host or job id, 404 for a host not served or a job not listed', async () => {
    expect((await controlError(http.abortJob(2, 'not-a-uuid'))).status).to.equal(400);
    expect((await controlError(http.abortJob(0, randomUUID()))).status).to.equal(400);
    expect((await controlError(http.abortJob(9, randomUUID()))).status).to.equal(404);
    expect((await controlError(http.abortJob(2, randomUUID()))).status).to.equal(404);
    expect((await controlError(http.listJobs(9))).status).to.equal(404);
    expect(await http.listJobs()).to.deep.equal([]);
  });

  it('POST /hosts/:host/crash and /restart: one host down and up again; the SPM, an unknown host and a host in the wrong state are refused', async () => {
    expect((await controlError(http.crashHost(1))).code).to.equal('conflict');
    expect((await controlError(http.crashHost(9))).code).to.equal('not_found');
    expect((await controlError(http.restartHost(2))).code).to.equal('conflict');
    await http.crashHost(2);
    // Again for a host already down: nothing more happens.
    await http.crashHost(2);
    expect((await http.listHosts()).map((host) => [host.id, host.up])).to.deep.equal([
      [1, true],
      [2, false],
    ]);
    await http.restartHost(2);
    expect((await http.listHosts()).map((host) => [host.id, host.up])).to.deep.equal([
      [1, true],
      [2, true],
    ]);
    expect(await hosts.client(2).Host.ping2()).to.not.equal(undefined);
  });
});
