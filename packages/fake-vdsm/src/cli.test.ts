/**
 * The `fake-vdsm serve` process: one ready line on stdout, logs on stderr,
 * a clean exit on SIGTERM/SIGINT. Runs the TypeScript source through tsx,
 * as the tests do.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tlsClientOptions } from '@vdsm-kit/client/transport';
import { expect } from 'chai';
import { createTempTestPki } from '../../client/src/test-support/pki.js';
import { RawConnection, VDSM_CLIENT_CONNECT } from './test-support/raw-connection.js';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

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
        expect(Object.keys(ready)).to.deep.equal(['event', 'stomp', 'ws', 'control', 'state']);
        expect(ready).to.deep.equal({ event: 'ready', stomp: { host: '127.0.0.1', port }, ws: `ws://127.0.0.1:${port}/`, control: null, state });

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
