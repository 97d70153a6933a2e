/**
 * End to end: the `vdsm-client` command as a real child process against a
 * fake VDSM started in this process, over real TCP on 127.0.0.1.
 *
 * The fake comes from @vdsm-kit/fake-vdsm, which itself depends on this
 * package: that direction is for tests only (the built client never imports
 * it). A spy subscribed to VDSM's request queue sees every SEND the CLI
 * makes, as any STOMP subscriber of that destination would on real VDSM.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsm } from '@vdsm-kit/fake-vdsm';
import { Destination } from '../api/constants.js';
import { headerEntries } from '../stomp/frame.js';
import { createTempTestPki } from '@vdsm-kit/test-support/pki';
import type { TempTestPki } from '@vdsm-kit/test-support/pki';
import type { FrameInit } from '../stomp/frame.js';
import { formatResult } from './output.js';

/** The client package: the CLI runs from its source, as in the brief's command. */
const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
const CLI = 'src/cli/vdsm-client.ts';

/** A run of the CLI: what it printed, how it ended, how long it took. */
interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs the CLI with `args`; kills it (and fails) if it has not exited after `limitMs`. */
function runCli(args: readonly string[], options: { stdin?: string; limitMs?: number } = {}): Promise<Run> {
  const limitMs = options.limitMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', CLI, ...args], {
      cwd: PACKAGE_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vdsm-client ${args.join(' ')} did not exit within ${limitMs} ms; stderr: ${stderr}`));
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** The one JSON error line the CLI prints on stderr. */
function errorLine(run: Run): { code: unknown; message: string } {
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).to.have.length(1);
  return JSON.parse(lines[0]!) as { code: unknown; message: string };
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const IMG = '5d1c2a8e-0b1f-4a52-9a6e-1f0c6c2b8f11';

describe('vdsm-client (child process against fake-vdsm)', function () {
  this.timeout(30_000);

  let vdsm: FakeVdsm;
  let target: string[];
  /** SEND frames to the request queue, as the spy subscription saw them. */
  let sends: FrameInit[];

  before(async () => {
    vdsm = await startFakeVdsm();
    target = ['--insecure', '-a', '127.0.0.1', '-p', String(vdsm.stomp.port)];
    vdsm.broker.subscribe({
      id: 'cli-test-spy',
      destination: Destination.Requests,
      sink: { closed: false, send: (frame: FrameInit) => sends.push(frame) },
    });
  });

  after(async () => {
    await vdsm?.close();
  });

  beforeEach(() => {
    sends = [];
  });

  /** The JSON-RPC request of the only SEND seen since the test began. */
  function onlyRequest(): { method: string; params: Record<string, unknown> } {
    expect(sends).to.have.length(1);
    const body = JSON.parse(Buffer.from(sends[0]!.body ?? '').toString('utf8')) as unknown;
    // vdsm's client sends a one-element array; a single object is fine too.
    return (Array.isArray(body) ? body[0] : body) as { method: string; params: Record<string, unknown> };
  }

  function headerOf(frame: FrameInit, name: string): string | undefined {
    for (const [key, value] of headerEntries(frame.headers)) if (key === name) return value;
    return undefined;
  }

  it('prints the result as JSON and exits 0, promptly', async () => {
    const run = await runCli([...target, 'Host', 'echo', 'message=hi']);
    expect(run).to.include({ stdout: '"hi"\n', stderr: '', code: 0 });
    expect(onlyRequest()).to.deep.include({ method: 'Host.echo', params: { message: 'hi' } });
    // A connection left open would keep the process alive until runCli's limit kills it (and fails the test).

    const ping = await runCli([...target, 'Host', 'ping2']);
    expect(ping).to.include({ stdout: 'true\n', stderr: '', code: 0 });
  });

  it('prints an object result with a 4-space indent and sorted keys', async () => {
    const run = await runCli([...target, 'Host', 'getCapabilities']);
    expect(run.code, run.stderr).to.equal(0);
    const caps = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(caps).to.have.property('software_version');
    // Top-level keys sit at 4 spaces, in sorted order, and nothing else is there.
    const topKeys = [...run.stdout.matchAll(/^ {4}"([^"]+)":/gm)].map((m) => m[1]);
    expect(topKeys).to.deep.equal(Object.keys(caps).sort());
    expect(run.stdout).to.equal(`${formatResult(caps)}\n`);
  });

  it('sends name=value params as JSON when they parse, else as strings, with the flow id', async () => {
    const run = await runCli([
      ...target,
      '--flow-id',
      'flow-42',
      'Host',
      'notAVerb',
      `imageID=${IMG}`,
      'operation=1',
      'postZero=false',
      'volumeList=["a","b"]',
      'desc=plain words',
      'nothing=null',
    ]);
    expect(run.code).to.equal(1);
    const request = onlyRequest();
    expect(request.method).to.equal('Host.notAVerb');
    expect(request.params).to.deep.equal({
      imageID: IMG,
      operation: 1,
      postZero: false,
      volumeList: ['a', 'b'],
      desc: 'plain words',
      nothing: null,
    });
    expect(headerOf(sends[0]!, 'ovirtCorrelationId')).to.equal('flow-42');
  });

  it('calls over STOMP on WebSocket with --ws', async () => {
    const run = await runCli(['--ws', vdsm.ws, 'Host', 'echo', 'message=over ws']);
    expect(run).to.include({ stdout: '"over ws"\n', stderr: '', code: 0 });
    expect(onlyRequest().params).to.deep.equal({ message: 'over ws' });
  });

  it("sends a known verb's text when its schema wants a string (message=123)", async () => {
    const run = await runCli([...target, 'Host', 'echo', 'message=123']);
    expect(run).to.include({ stdout: '"123"\n', code: 0 });
    expect(onlyRequest().params).to.deep.equal({ message: '123' });
  });

  it('reads params from -f FILE and from stdin (-f -), name=value winning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vdsm-client-test-'));
    try {
      const file = join(dir, 'params.json');
      await writeFile(file, JSON.stringify({ message: 'from file' }));
      expect(await runCli([...target, '-f', file, 'Host', 'echo'])).to.include({ stdout: '"from file"\n', code: 0 });
      expect(await runCli([...target, '-f', file, 'Host', 'echo', 'message=from cli'])).to.include({ stdout: '"from cli"\n', code: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const piped = await runCli([...target, '-f', '-', 'Host', 'echo'], { stdin: '{"message": "from stdin"}' });
    expect(piped).to.include({ stdout: '"from stdin"\n', code: 0 });
  });

  it("reports VDSM's -32601 for an unknown method on stderr and exits 1", async () => {
    const run = await runCli([...target, 'Host', 'nope']);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    expect(errorLine(run)).to.deep.equal({
      code: -32601,
      message: "The method does not exist or is not available: {'method': 'Host.nope'}",
    });
    expect(run.stderr).to.match(/^\{"code": -32601, "message": "/);
  });

  it('refuses bad params of a known verb locally with a clear message, sending nothing', async () => {
    const missing = await runCli([...target, 'Host', 'echo']);
    expect(missing.code).to.equal(2);
    expect(missing.stdout).to.equal('');
    expect(missing.stderr).to.include('invalid params for Host.echo:\n  message: missing\n');
    expect(missing.stderr).to.include('params of Host.echo: message');

    const wrong = await runCli([...target, 'Image', 'move', 'imageID=not-a-uuid', 'operation=7', 'postZero=maybe', 'bogus=1']);
    expect(wrong.code).to.equal(2);
    for (const name of ['imageID', 'operation', 'postZero', 'storagepoolID', 'bogus']) expect(wrong.stderr).to.include(name);
    expect(sends).to.have.length(0);
  });

  it('exits 2 with the usage for a bad command line', async () => {
    const run = await runCli([...target, 'Host']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include("missing required argument 'verb'").and.include('Usage: vdsm-client');
  });

  it('reports a refused connection as the 5022 network error and exits 1 at once', async () => {
    const port = await freePort();
    const run = await runCli(['--insecure', '-a', '127.0.0.1', '-p', String(port), 'Host', 'ping2']);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    const error = errorLine(run);
    expect(error.code).to.equal(5022);
    expect(error.message).to.include(`tcp://127.0.0.1:${port}`).and.include('ECONNREFUSED');
  });

  it('gives up after --timeout on a peer that never answers', async () => {
    // Accepts the connection and never says a word (no CONNECTED).
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const run = await runCli(['--insecure', '-a', '127.0.0.1', '-p', String(port), '--timeout', '0.5', 'Host', 'ping2']);
      expect(run.code).to.equal(1);
      const error = errorLine(run);
      expect(error.code).to.equal(5022);
      expect(error.message).to.match(/500 ms/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  describe('over mutual TLS (the default)', () => {
    let pki: TempTestPki;
    let secure: FakeVdsm;

    before(async () => {
      pki = await createTempTestPki();
      secure = await startFakeVdsm({ pkiDir: pki.server.dir, tlsOnly: true });
    });

    after(async () => {
      await secure?.close();
      await pki?.remove();
    });

    it('calls with the PKI of --pki-dir', async () => {
      const run = await runCli(['-a', '127.0.0.1', '-p', String(secure.stomp.port), '--pki-dir', pki.client.dir, 'Host', 'echo', 'message=tls']);
      expect(run).to.include({ stdout: '"tls"\n', stderr: '', code: 0 });
    });

    it('fails with exit 1 when the server refuses our certificate', async () => {
      const run = await runCli(['-a', '127.0.0.1', '-p', String(secure.stomp.port), '--pki-dir', pki.rogue.dir, 'Host', 'ping2']);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(errorLine(run).code).to.equal(5022);
    });

    it('fails with exit 1 when --insecure meets a TLS-only host', async () => {
      const run = await runCli(['--insecure', '-a', '127.0.0.1', '-p', String(secure.stomp.port), 'Host', 'ping2']);
      expect(run.code).to.equal(1);
      expect(errorLine(run).code).to.equal(5022);
    });
  });

  it('uses mutual TLS by default and names a missing PKI file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vdsm-client-nopki-'));
    try {
      const run = await runCli(['-a', '127.0.0.1', '-p', String(vdsm.stomp.port), '--pki-dir', dir, 'Host', 'ping2']);
      expect(run.code).to.equal(1);
      const error = errorLine(run);
      expect(error.code).to.equal('VDSM_ERR_PKI');
      // The three files are read at once: whichever is found missing first is named.
      expect(error.message).to.match(new RegExp(`${dir}/(keys/vdsmkey|certs/vdsmcert|certs/cacert)\\.pem is missing`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
