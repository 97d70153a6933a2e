/**
 * The control subcommands of the `fake-vdsm` CLI against a spawned
 * `fake-vdsm serve --scenario` (TypeScript source through tsx, as cli.test.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { DEFAULT_IDS } from '../index.js';
import { fakeVdsm, spawnServe } from '../test-support/cli-process.js';

describe('fake-vdsm control subcommands (CLI against serve)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-cli-control-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('serve --scenario loads its faults and seed; fault/inspect/invariants work over --control and $FAKE_VDSM_CONTROL with --token; crash kills the process', async () => {
    const scenario = join(dir, 'scenario.json');
    await writeFile(scenario, JSON.stringify({ seed: 7, faults: [{ id: 'from-file', match: { method: 'Image.move' }, action: { error: 851 } }] }));
    const { child, ready, exited } = await spawnServe(['--port', '0', '--state', join(dir, 'state'), '--scenario', scenario, '--control-token', 'tok']);
    try {
      const control = ready.control;
      expect(control).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);

      const noToken = await fakeVdsm(['fault', 'list', '--control', control]);
      expect(noToken.code).to.equal(1);
      expect(noToken.stderr).to.match(/unauthorized/);

      const auth = ['--control', control, '--token', 'tok'];
      const listed = await fakeVdsm(['fault', 'list', ...auth]);
      expect(listed.code).to.equal(0);
      expect((JSON.parse(listed.stdout) as { id: string }[]).map((rule) => rule.id)).to.deep.equal(['from-file']);

      const added = await fakeVdsm(['fault', 'add', '{"match":{"method":"Image.delete"},"action":{"error":358}}'], { FAKE_VDSM_CONTROL: control, FAKE_VDSM_CONTROL_TOKEN: 'tok' });
      expect(added.code).to.equal(0);
      const id = (JSON.parse(added.stdout) as { id: string }).id;
      expect((await fakeVdsm(['fault', 'rm', id, ...auth])).code).to.equal(0);
      expect((await fakeVdsm(['fault', 'rm', id, ...auth])).code).to.equal(1);

      const volumes = await fakeVdsm(['inspect', 'volumes', '--domain', DEFAULT_IDS.fileDomain, ...auth]);
      expect((JSON.parse(volumes.stdout) as { id: string }[]).map((volume) => volume.id)).to.deep.equal([DEFAULT_IDS.volume]);
      const invariants = await fakeVdsm(['invariants', ...auth]);
      expect(invariants.code).to.equal(0);
      expect(JSON.parse(invariants.stdout)).to.deep.equal({ ok: true, violations: [] });
      const clock = await fakeVdsm(['clock', 'advance', '10', ...auth]);
      expect(clock.code).to.equal(1);
      expect(clock.stderr).to.match(/conflict/);

      await fakeVdsm(['crash', ...auth]);
      expect(await exited).to.equal('SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('inspect jobs lists the SDM jobs of a host, abort-job refuses an ended one; serve takes --job-autodelete', async () => {
    const { child, ready } = await spawnServe(['--port', '0', '--state', join(dir, 'state'), '--hosts', '2', '--job-autodelete', '-1']);
    const second = (ready.hosts as { stomp: { host: string; port: number } }[])[1];
    if (second === undefined) throw new Error('serve --hosts 2 listed one host');
    const client = new VdsmClient({ transport: 'tcp', ...second.stomp, timeoutMs: 20_000 });
    try {
      const jobId = randomUUID();
      const endpoint = (sd: string) => ({ endpoint_type: 'div' as const, sd_id: sd, img_id: DEFAULT_IDS.image, vol_id: DEFAULT_IDS.volume });
      // No destination volume: the job fails 201 at once.
      await client.SDM.copy_data({ job_id: jobId, source: endpoint(DEFAULT_IDS.fileDomain), destination: endpoint(DEFAULT_IDS.blockDomain) });
      const control = ['--control', ready.control];
      let jobs: { host: number; id: string; status: string; error?: { code: number } }[] = [];
      while (jobs[0]?.status !== 'failed') jobs = JSON.parse((await fakeVdsm(['inspect', 'jobs', '--host', '2', ...control])).stdout) as typeof jobs;
      expect(jobs).to.have.length(1);
      expect(jobs[0]).to.deep.include({ host: 2, id: jobId, status: 'failed' });
      expect(jobs[0]?.error?.code).to.equal(201);
      expect(JSON.parse((await fakeVdsm(['inspect', 'jobs', '--host', '1', ...control])).stdout)).to.deep.equal([]);
      const abort = await fakeVdsm(['abort-job', '2', jobId, ...control]);
      expect(abort.code).to.equal(1);
      expect(abort.stderr).to.match(/conflict/);
    } finally {
      await client.close();
      child.kill('SIGKILL');
    }
  });
});
