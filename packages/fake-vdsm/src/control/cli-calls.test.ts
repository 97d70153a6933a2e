/**
 * `fake-vdsm calls` and `fake-vdsm metrics` as processes against a spawned
 * `fake-vdsm serve --call-log 3` (TypeScript source through tsx, as
 * cli-control.test.ts), after a real client's calls over TCP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { fakeVdsm, spawnServe } from '../test-support/cli-process.js';
import type { CallPage } from './control-api.js';

describe('fake-vdsm calls / metrics (CLI against serve)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-cli-calls-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('lists the calls as lines or JSON, filters by method, pages with --since, keeps --call-log of them, clears them; prints the metrics', async () => {
    const serve = await spawnServe(['--port', '0', '--state', join(dir, 'state'), '--call-log', '3', '--control-token', 'tok']);
    const { ready } = serve;
    let client: VdsmClient | undefined;
    try {
      const auth = ['--control', ready.control, '--token', 'tok'];

      client = new VdsmClient({ transport: 'tcp', host: ready.stomp.host, port: ready.stomp.port });
      await client.Host.ping2({});
      await client.Host.echo({ message: 'one' });
      await client.Host.ping2({});
      await client.Host.echo({ message: 'two' });

      const json = await fakeVdsm(['calls', '--json', ...auth]);
      expect(json.code, json.stderr).to.equal(0);
      const page = JSON.parse(json.stdout) as CallPage;
      // --call-log 3: the first ping is gone.
      expect(page.calls.map((call) => [call.seq, call.method, call.code])).to.deep.equal([
        [2, 'Host.echo', 0],
        [3, 'Host.ping2', 0],
        [4, 'Host.echo', 0],
      ]);
      expect(page).to.include({ next: 4, dropped: 1 });

      const echoes = JSON.parse((await fakeVdsm(['calls', '--json', '--method', 'Host.echo', '--since', '2', ...auth])).stdout) as CallPage;
      expect(echoes.calls.map((call) => call.params)).to.deep.equal([{ message: 'two' }]);

      const lines = await fakeVdsm(['calls', '--method', 'Host.echo', ...auth]);
      expect(lines.code).to.equal(0);
      const rows = lines.stdout.trimEnd().split('\n');
      expect(rows.slice(0, 2).map((row) => row.split('\t').filter((_, index) => index !== 1 && index !== 3))).to.deep.equal([
        ['2', 'host 1', 'Host.echo', 'code 0', '{"message":"one"}'],
        ['4', 'host 1', 'Host.echo', 'code 0', '{"message":"two"}'],
      ]);
      expect(rows.slice(2)).to.deep.equal(['# dropped 1 (no longer held: the log is a ring, or was cleared)', '# next 4']);

      const badSince = await fakeVdsm(['calls', '--since', 'x', ...auth]);
      expect(badSince.code).to.equal(1);
      expect(badSince.stderr).to.match(/--since/);

      const metrics = await fakeVdsm(['metrics', ...auth]);
      expect(metrics.code).to.equal(0);
      expect(metrics.stdout).to.include('fake_vdsm_rpc_calls_total{host="1",method="Host.ping2",code="0"} 2\n');
      expect(metrics.stdout).to.include('fake_vdsm_rpc_calls_total{host="1",method="Host.echo",code="0"} 2\n');
      expect(metrics.stdout).to.include('fake_vdsm_connections_open{host="1"} 1\n');

      const cleared = await fakeVdsm(['calls', '--clear', ...auth]);
      expect(JSON.parse(cleared.stdout)).to.deep.equal({ removed: 3 });
      expect(JSON.parse((await fakeVdsm(['calls', '--json', ...auth])).stdout)).to.deep.equal({ calls: [], next: 4, dropped: 4 });

      const noToken = await fakeVdsm(['calls', '--control', ready.control]);
      expect(noToken.code).to.equal(1);
      expect(noToken.stderr).to.match(/unauthorized/);
    } finally {
      await client?.close();
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});
