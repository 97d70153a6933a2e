/**
 * The `fake-vdsm serve` process: one ready line on stdout, logs on stderr,
 * a clean exit on SIGTERM/SIGINT. Runs the TypeScript source through tsx,
 * as the tests do.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tlsClientOptions } from '@vdsm-kit/client/transport';
import { TaskResult, TaskState } from '@vdsm-kit/client/api';
import { VdsmClient } from '@vdsm-kit/client';
import { expect } from 'chai';
import { DEFAULT_IDS, defaultFixture } from './index.js';
import type { FixtureInput } from './index.js';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import { RawConnection, VDSM_CLIENT_CONNECT } from './test-support/raw-connection.js';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** A 1 GiB COW disk on the default fixture's block domain (a small file, but 8 extents to wipe). */
const BLOCK_IMAGE = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';

function fixtureWithBlockDisk(): FixtureInput {
  const fixture = defaultFixture();
  return {
    ...fixture,
    disks: [
      ...(fixture.disks ?? []),
      { id: BLOCK_IMAGE, domain: DEFAULT_IDS.blockDomain, capacity: '1 GiB', volumes: [{ id: 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', format: 'COW', allocation: 'SPARSE' }] },
    ],
  };
}

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal that killed it). */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', 'src/cli.ts', ...args], { cwd: PACKAGE_DIR });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function readyLine(run: Run, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (!run.stdout().includes('\n')) {
    if (Date.now() > deadline) throw new Error(`no ready line; stderr: ${run.stderr()}`);
    if (run.child.exitCode !== null) throw new Error(`exited ${run.child.exitCode} before ready; stderr: ${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return JSON.parse(run.stdout().split('\n')[0] as string);
}

describe('fake-vdsm serve (CLI)', function () {
  this.timeout(30_000);
  let state: string;
  beforeEach(async () => {
    state = await mkdtemp(join(tmpdir(), 'fake-vdsm-cli-'));
  });
  afterEach(() => rm(state, { recursive: true, force: true }));

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`prints exactly one ready line, serves STOMP, and exits 0 on ${signal}`, async () => {
      const run = runCli(['serve', '--port', '0', '--state', state, '--log-level', 'debug']);
      try {
        const ready = await readyLine(run);
        const port = (ready.stomp as { port: number }).port;
        expect(Object.keys(ready)).to.deep.equal(['event', 'stomp', 'ws', 'control', 'state', 'hosts']);
        const stomp = { host: '127.0.0.1', port };
        const ws = `ws://127.0.0.1:${port}/`;
        expect(ready.control).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(ready).to.deep.equal({ event: 'ready', stomp, ws, control: ready.control, state, hosts: [{ id: 1, stomp, ws }] });

        const connection = await RawConnection.open(port);
        connection.write(VDSM_CLIENT_CONNECT);
        expect(await connection.frame()).to.equal('CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0');

        run.child.kill(signal);
        expect(await run.exited).to.equal(0);
        await connection.waitClosed();
        expect(run.stdout().split('\n')).to.deep.equal([run.stdout().split('\n')[0], '']);
        // Logs are JSON lines on stderr.
        const logs = run.stderr().trim().split('\n').map((line) => JSON.parse(line) as { msg: string });
        expect(logs.map((line) => line.msg)).to.include.members(['Listening', 'Stopping', 'Closed']);
      } finally {
        run.child.kill('SIGKILL');
      }
    });
  }

  it('serves --hosts N from a --fixture, paces a wipe at --wipe-rate on --time-scale time', async () => {
    const fixtureFile = join(state, 'fixture.json');
    await writeFile(fixtureFile, JSON.stringify(fixtureWithBlockDisk()));
    const run = runCli(['serve', '--port', '0', '--state', join(state, 'dir'), '--hosts', '2', '--fixture', fixtureFile, '--time-scale', '0.001', '--wipe-rate', '1', '--log-level', 'silent']);
    const clients: VdsmClient[] = [];
    try {
      const ready = await readyLine(run);
      const hosts = ready.hosts as { id: number; stomp: { host: string; port: number }; ws: string }[];
      expect(hosts.map((host) => host.id)).to.deep.equal([1, 2]);
      expect(hosts[0]).to.deep.equal({ id: 1, stomp: ready.stomp, ws: ready.ws });
      const [one, two] = hosts.map((host) => {
        const client = new VdsmClient({ transport: 'tcp', host: host.stomp.host, port: host.stomp.port });
        clients.push(client);
        return client;
      }) as [VdsmClient, VdsmClient];
      // Host 2 shares the pool the fixture seeded.
      expect(await two.StorageDomain.getImages({ storagedomainID: DEFAULT_IDS.blockDomain })).to.deep.equal([BLOCK_IMAGE]);

      // 1 GiB (8 extents) zeroed at 1 MiB/s: 1024 s of storage time, about 1 s of real time at 0.001.
      const started = Date.now();
      const taskID = await one.Image.delete({ imageID: BLOCK_IMAGE, storagepoolID: DEFAULT_IDS.pool, storagedomainID: DEFAULT_IDS.blockDomain, postZero: true, force: false });
      let status = await one.Task.getStatus({ taskID });
      while (status.taskState !== TaskState.Finished) {
        if (Date.now() - started > 15_000) throw new Error(`wipe not done: ${JSON.stringify(status)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        status = await one.Task.getStatus({ taskID });
      }
      const elapsed = Date.now() - started;
      expect(status.taskResult).to.equal(TaskResult.Success);
      // Never faster than its scaled time; unscaled (1024 s) the loop above would give up at 15 s.
      expect(elapsed).to.be.at.least(900);

      run.child.kill('SIGTERM');
      expect(await run.exited).to.equal(0);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      run.child.kill('SIGKILL');
    }
  });

  it('on SIGTERM lets go of a running wipe without changing its state; a restart on the same --state recovers it', async () => {
    const fixtureFile = join(state, 'fixture.json');
    await writeFile(fixtureFile, JSON.stringify(fixtureWithBlockDisk()));
    const stateDir = join(state, 'dir');
    const args = ['serve', '--port', '0', '--state', stateDir, '--fixture', fixtureFile, '--wipe-rate', '1', '--log-level', 'info'];
    let taskID: string;
    const first = runCli(args);
    try {
      const ready = await readyLine(first);
      const client = new VdsmClient({ transport: 'tcp', host: '127.0.0.1', port: (ready.stomp as { port: number }).port });
      try {
        taskID = await client.Image.delete({ imageID: BLOCK_IMAGE, storagepoolID: DEFAULT_IDS.pool, storagedomainID: DEFAULT_IDS.blockDomain, postZero: true, force: false });
        // 1024 s of wipe: running (and so still running when the signal comes).
        let status = await client.Task.getStatus({ taskID });
        for (const deadline = Date.now() + 15_000; status.taskState !== TaskState.Running && Date.now() < deadline; ) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          status = await client.Task.getStatus({ taskID });
        }
        expect(status).to.include({ taskState: TaskState.Running });
      } finally {
        await client.close();
      }
      first.child.kill('SIGTERM');
      expect(await first.exited).to.equal(0);
    } finally {
      first.child.kill('SIGKILL');
    }

    const second = runCli(args);
    try {
      const ready = await readyLine(second);
      const client = new VdsmClient({ transport: 'tcp', host: '127.0.0.1', port: (ready.stomp as { port: number }).port });
      try {
        expect(await client.Task.getStatus({ taskID })).to.include({ taskState: TaskState.Finished, taskResult: TaskResult.CleanSuccess });
        expect(Object.keys(await client.Host.getAllTasksStatuses())).to.deep.equal([taskID]);
        // The image stays deleted (renamed for zeroing before the wipe began).
        expect(await client.StorageDomain.getImages({ storagedomainID: DEFAULT_IDS.blockDomain })).to.deep.equal([]);
      } finally {
        await client.close();
      }
      // The second start kept the state: it did not seed again.
      expect(second.stderr()).to.not.include('seeded from the fixture');
      second.child.kill('SIGTERM');
      expect(await second.exited).to.equal(0);
    } finally {
      second.child.kill('SIGKILL');
    }
  });

  it('refuses bad --hosts, --time-scale, --wipe-rate, --max-tasks and connection bound values', async function () {
    // Nine process starts one after another: a loaded machine needs more than one start's share.
    this.timeout(180_000);
    for (const [flag, value] of [
      ['--hosts', '0'],
      ['--hosts', 'two'],
      ['--time-scale', '0'],
      ['--time-scale', 'fast'],
      ['--wipe-rate', '-5'],
      ['--max-tasks', '0'],
      ['--max-tasks', '2.5'],
      ['--frame-timeout', '0'],
      ['--max-queued-replies', 'lots'],
    ]) {
      const run = runCli(['serve', '--port', '0', flag as string, value as string]);
      expect(await run.exited).to.not.equal(0);
      expect(run.stdout()).to.equal('');
      expect(run.stderr()).to.include(flag as string);
    }
  });

  it('exits 1 naming every problem of an invalid --fixture', async () => {
    const fixtureFile = join(state, 'bad.json');
    await writeFile(fixtureFile, JSON.stringify({ domains: [{ id: DEFAULT_IDS.fileDomain, kind: 'disk' }] }));
    const run = runCli(['serve', '--port', '0', '--state', state, '--fixture', fixtureFile]);
    expect(await run.exited).to.equal(1);
    expect(run.stdout()).to.equal('');
    expect(run.stderr()).to.match(/failed to start/).and.include('domains[0].kind');
  });

  it('serves mutual TLS only with --pki-dir and --tls-only', async () => {
    const pki = await createTempTestPki();
    const run = runCli(['serve', '--port', '0', '--state', state, '--pki-dir', pki.server.dir, '--tls-only']);
    try {
      const ready = await readyLine(run);
      const port = (ready.stomp as { port: number }).port;
      expect(ready.ws).to.equal(`wss://127.0.0.1:${port}/`);
      const connection = await RawConnection.openTls(port, tlsClientOptions(pki.client.credentials));
      connection.write(VDSM_CLIENT_CONNECT);
      expect(await connection.frame()).to.equal('CONNECTED\nversion:1.2\nheart-beat:24000,0\n\n\0');
      connection.destroy();
      run.child.kill('SIGTERM');
      expect(await run.exited).to.equal(0);
    } finally {
      run.child.kill('SIGKILL');
      await pki.remove();
    }
  });

  it('removes its temporary state directory on exit when --state is not given', async () => {
    const run = runCli(['serve', '--port', '0', '--log-level', 'silent']);
    try {
      const ready = await readyLine(run);
      await access(ready.state as string);
      run.child.kill('SIGTERM');
      expect(await run.exited).to.equal(0);
      expect(await access(ready.state as string).then(() => 'exists', () => 'gone')).to.equal('gone');
      expect(run.stderr()).to.equal('');
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('exits 1 with the reason on stderr and nothing on stdout when it cannot start', async () => {
    const run = runCli(['serve', '--port', '0', '--state', state, '--pki-dir', join(state, 'no-pki')]);
    expect(await run.exited).to.equal(1);
    expect(run.stdout()).to.equal('');
    expect(run.stderr()).to.match(/failed to start/).and.match(/VDSM PKI .* is missing/);
  });

  it('refuses --pki-dir together with --tls-cert', async () => {
    const run = runCli(['serve', '--pki-dir', state, '--tls-cert', 'x.pem']);
    expect(await run.exited).to.not.equal(0);
    expect(run.stdout()).to.equal('');
    expect(run.stderr()).to.match(/cannot be used with/);
  });
});
