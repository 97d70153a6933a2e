/**
 * Hostile clients against a real fake VDSM in a process of its own
 * (support/fake-child.ts), over real sockets: connections that never speak,
 * malformed and oversized frames, a slow-loris, a client that pipelines and
 * never reads. Each gets an ERROR frame or a closed connection; the fake
 * never dies, its heap (after a full GC, read in its own process) stays
 * bounded and comes back, and a well-behaved VdsmClient is served all the
 * while. Every wait is on an event (a close, a frame, a log line of the
 * fake); no bound is on wall-clock time.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { VdsmClient } from '@vdsm-kit/client';
import { Destination } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { startFakeChild } from './support/fake-child.js';
import type { FakeChild, FakeMemory } from './support/fake-child.js';
import { TeardownHelper } from './support/teardown.js';

const MiB = 1024 * 1024;
/** Short, so the test waits little: the fake's default is VDSM's 10 s. */
const DETECT_TIMEOUT_MS = 1000;
const FRAME_TIMEOUT_MS = 2000;
const SILENT_CONNECTIONS = 1000;
const CONNECT = 'CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\0';

function send(body: string, replyTo: string): string {
  return `SEND\ndestination:${Destination.Requests}\nreply-to:${replyTo}\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`;
}

function ping(id: string, replyTo: string): string {
  return send(JSON.stringify({ jsonrpc: '2.0', method: 'Host.ping2', params: {}, id }), replyTo);
}

/** The fd limit of this process (`ulimit -n`), from /proc on Linux; Infinity where unknown. */
function openFileLimit(): number {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** A raw socket that keeps every byte it gets and knows who closed it. */
class Raw {
  readonly socket: Socket;
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  received = Buffer.alloc(0);
  /** When connecting began: the fake accepts after it. */
  readonly startedAt: number;
  closedAt = 0;
  #waiters: (() => void)[] = [];

  constructor(port: number) {
    this.startedAt = performance.now();
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.opened = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closedAt = performance.now();
        this.#wake();
        resolve();
      }),
    );
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.#wake();
    });
  }

  static async open(port: number): Promise<Raw> {
    const raw = new Raw(port);
    await raw.opened;
    return raw;
  }

  /** The body of the first ERROR frame received, once there is one; undefined if the connection closes without one. */
  async error(): Promise<string | undefined> {
    for (;;) {
      const text = this.received.toString('latin1');
      const at = text.indexOf('ERROR\n');
      const end = at < 0 ? -1 : text.indexOf('\0', at);
      if (end >= 0) return text.slice(text.indexOf('\n\n', at) + 2, end);
      if (this.socket.destroyed) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resolves once `count` NUL-terminated frames arrived (heart-beat newlines are no frames here). */
  async frames(count: number): Promise<string[]> {
    for (;;) {
      const frames = this.received.toString('utf8').split('\0').slice(0, -1);
      if (frames.length >= count) return frames;
      if (this.socket.destroyed) throw new Error(`closed after ${frames.length} of ${count} frames`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Writes `bytes` and resolves when they left (or the connection died trying). */
  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) resolve();
      else this.socket.write(bytes, () => resolve());
    });
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** A VdsmClient calling Host.ping2 one at a time until stopped; any failure fails the test. */
class PoliteClient {
  readonly client: VdsmClient;
  answered = 0;
  #running: Promise<void> | undefined;
  #stopped = false;
  #failure: unknown;
  #waiters: (() => void)[] = [];

  constructor(fake: FakeChild) {
    // A generous call timeout: the point is being served, not how fast on a busy machine.
    this.client = new VdsmClient({ transport: 'tcp', host: fake.ready.stomp.host, port: fake.ready.stomp.port, timeoutMs: 60_000 });
  }

  start(): void {
    this.#stopped = false;
    this.#failure = undefined;
    this.#running = (async () => {
      try {
        while (!this.#stopped) {
          expect(await this.client.Host.ping2()).to.equal(true);
          this.answered++;
          for (const wake of this.#waiters.splice(0)) wake();
        }
      } catch (error) {
        this.#failure = error;
        for (const wake of this.#waiters.splice(0)) wake();
        throw error;
      }
    })();
  }

  /** Resolves after `count` more answers. */
  async served(count = 1): Promise<void> {
    const target = this.answered + count;
    while (this.answered < target) {
      if (this.#failure !== undefined) throw this.#failure;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Stops the loop and rethrows whatever failed in it. */
  async stop(): Promise<number> {
    this.#stopped = true;
    await this.#running;
    return this.answered;
  }
}

describe('hostile clients against a fake VDSM in its own process', function () {
  this.timeout(300_000);
  const td = new TeardownHelper();
  let fake: FakeChild;
  let polite: PoliteClient;
  let baseline: FakeMemory;

  before(async function () {
    // The frame timeout stays at its default (60 s) here: a short one would cut off a client
    // this busy machine holds up. The slow-loris test has a fake of its own.
    fake = await startFakeChild(td, { detectTimeoutMs: DETECT_TIMEOUT_MS });
    polite = new PoliteClient(fake);
    td.track(polite.client, (client) => client.close());
    await polite.client.Host.ping2();
    baseline = await fake.memory();
  });
  after(() => td.run());

  beforeEach(() => polite.start());
  afterEach(async function () {
    // Served after each attack too, by the same connection.
    await polite.served(3);
    await polite.stop();
    expect(fake.alive, `the fake died; stderr:\n${fake.stderr().slice(-4000)}`).to.equal(true);
  });

  /** Heap plus Buffers of the fake over its baseline, after a full GC. */
  async function retainedOverBaseline(): Promise<number> {
    const now = await fake.memory();
    return now.heapUsed + now.external - (baseline.heapUsed + baseline.external);
  }

  it(`closes ${SILENT_CONNECTIONS} connections that never send CONNECT after detectTimeoutMs, serving a polite client all the while`, async function () {
    // Ours and the fake's end of each: both processes need the descriptors.
    expect(openFileLimit(), 'ulimit -n: this test opens 1,000 sockets (raise it with `ulimit -n 4096`)').to.be.at.least(SILENT_CONNECTIONS + 200);
    const port = fake.ready.stomp.port;
    const answeredBefore = polite.answered;
    const silent: Raw[] = [];
    // In batches below the listen backlog (511), so no SYN waits for a retransmit.
    for (let i = 0; i < SILENT_CONNECTIONS; i += 250) {
      const batch = Array.from({ length: Math.min(250, SILENT_CONNECTIONS - i) }, () => new Raw(port));
      await Promise.all(batch.map((raw) => raw.opened));
      silent.push(...batch);
    }
    // A tenth say a little, fewer bytes than the protocol detection needs (11): still no CONNECT.
    await Promise.all(silent.filter((_, index) => index % 10 === 0).map((raw) => raw.write('CONNE')));
    const servedMeanwhile = polite.served(5);
    await Promise.all(silent.map((raw) => raw.closed));
    await servedMeanwhile;
    for (const raw of silent) {
      expect(raw.received.length, 'not a byte is sent to a connection whose protocol is unknown').to.equal(0);
      // Closed by the fake, not before the timeout: the fake's timer starts at its accept, after our connect began.
      expect(raw.closedAt - raw.startedAt).to.be.at.least(DETECT_TIMEOUT_MS);
    }
    expect(polite.answered - answeredBefore).to.be.at.least(5);
    expect(await retainedOverBaseline()).to.be.below(8 * MiB);
  });

  it('answers a flood of malformed frames on 200 connections with an ERROR each and a close', async function () {
    const port = fake.ready.stomp.port;
    const malformed = [
      'SEND\ndestination:jms:topic\n\nx\0', // a raw colon in a value
      'HELLO\n\n\0',
      'SEND\ndestination:a\\tb\n\nx\0', // an undefined escape
      'SEND\ndestination:d\ncontent-length:1\n\nxyz\0', // a body longer than its content-length
      'SEND\ndestination:d\ncontent-length:-5\n\n\0',
      'SEND\ndestination:d\ncontent-length:12abc\n\n\0',
      'SEND\nno colon here\n\n\0',
    ];
    const victims = await Promise.all(Array.from({ length: 200 }, () => Raw.open(port)));
    await Promise.all(
      victims.map((raw, index) => {
        // Each connection floods: a good CONNECT, then the same bad frame over and over.
        const bad = malformed[index % malformed.length]!;
        return raw.write(CONNECT + bad.repeat(50));
      }),
    );
    const errors = await Promise.all(victims.map((raw) => raw.error()));
    await Promise.all(victims.map((raw) => raw.closed));
    for (const [index, error] of errors.entries()) {
      expect(error, `frame ${JSON.stringify(malformed[index % malformed.length])}`).to.be.a('string').and.not.equal('');
    }
    expect(await retainedOverBaseline()).to.be.below(8 * MiB);
  });

  it('refuses a 64 MiB frame: at once when its content-length says so, at the limit when it has none; the memory comes back', async function () {
    const port = fake.ready.stomp.port;
    const declared = await Raw.open(port);
    // The head alone is refused: not a byte of the body is waited for.
    await declared.write(`${CONNECT}SEND\ndestination:${Destination.Requests}\nreply-to:r\ncontent-length:${64 * MiB}\n\n`);
    const refusal = await declared.error();
    expect(refusal).to.match(/^STOMP frame too large: content-length "67108864" plus \d+ bytes of command and headers exceeds maxFrameSize/);
    await declared.closed;

    const undeclared = await Raw.open(port);
    await undeclared.write(`${CONNECT}SEND\ndestination:${Destination.Requests}\nreply-to:r\n\n`);
    const chunk = Buffer.alloc(MiB, 0x20);
    // 64 MiB without a NUL, until the fake refuses it (it may close before the last chunk).
    for (let sent = 0; sent < 65 && !undeclared.socket.destroyed; sent++) await undeclared.write(chunk);
    expect(await undeclared.error()).to.match(/^STOMP frame too large: a body without content-length grew past maxFrameSize/);
    await undeclared.closed;
    const after = await fake.memory();
    // It held at most one frame's worth while reading it (64 MiB and the chunks in flight)...
    expect(after.peakRss - baseline.rss).to.be.below(256 * MiB);
    // ...and let go of it.
    expect(await retainedOverBaseline()).to.be.below(8 * MiB);
  });

  it('refuses a header line with no end, and 10,000 headers, as soon as a bound is passed', async function () {
    const port = fake.ready.stomp.port;
    const endless = await Raw.open(port);
    await endless.write(`${CONNECT}SEND\ndestination:`);
    const line = Buffer.alloc(64 * 1024, 0x78);
    // Up to 16 MiB of one line; the fake stops it at 16 KiB (maxHeaderLength).
    for (let sent = 0; sent < 256 && !endless.socket.destroyed; sent++) await endless.write(line);
    expect(await endless.error()).to.match(/longer than maxHeaderLength \(16384 bytes\)/);
    await endless.closed;

    const many = await Raw.open(port);
    const headers = Array.from({ length: 10_000 }, (_, index) => `h${index}:v\n`).join('');
    await many.write(`${CONNECT}SEND\ndestination:${Destination.Requests}\nreply-to:r\n${headers}\n{}\0`);
    expect(await many.error()).to.match(/more than maxHeaders \(128\) headers/);
    await many.closed;
    expect(await retainedOverBaseline()).to.be.below(8 * MiB);
  });

  it('answers JSON nested 100,000 deep with a short -32700 and goes on serving the same connection', async function () {
    const raw = await Raw.open(fake.ready.stomp.port);
    // An answer with id null goes to jms.topic.vdsm_responses, as VDSM sends it.
    await raw.write(`${CONNECT}SUBSCRIBE\ndestination:deep\nid:s\n\n\0SUBSCRIBE\ndestination:${Destination.Responses}\nid:r\n\n\0`);
    await raw.write(send('['.repeat(100_000) + ']'.repeat(100_000), 'deep'));
    await raw.write(send(`{"jsonrpc": "2.0", "method": "Host.ping2", "params": {"x": ${'{"a": '.repeat(50_000)}1${'}'.repeat(50_000)}}, "id": "nested"}`, 'deep'));
    await raw.write(ping('after', 'deep'));
    const [connected, arrays, objects, after] = await raw.frames(4);
    expect(connected).to.match(/^CONNECTED\n/);
    for (const answer of [arrays, objects]) {
      const body = answer!.slice(answer!.indexOf('\n\n') + 2);
      expect(body.length).to.be.below(200);
      expect(JSON.parse(body)).to.deep.include({ id: null }).and.have.nested.property('error.code', -32700);
    }
    expect(after).to.contain('"id": "after", "result": true');
    raw.socket.destroy();
  });

  it('gives a slow-loris CONNECT an ERROR after frameTimeoutMs, however steadily its bytes come', async function () {
    const strict = await startFakeChild(td, { connectionLimits: { frameTimeoutMs: FRAME_TIMEOUT_MS } });
    const raw = await Raw.open(strict.ready.stomp.port);
    // Long enough that at one byte per 20 ms it would take 40 s, 20 x the timeout.
    const frame = `CONNECT\naccept-version:1.2\nhost:${'h'.repeat(2000)}\n\n\0`;
    let at = 0;
    while (!raw.socket.destroyed && at < frame.length) {
      await raw.write(frame[at++]!);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await raw.error()).to.equal(`STOMP frame not finished within frameTimeoutMs (${FRAME_TIMEOUT_MS} ms)`);
    await raw.closed;
    expect(at, 'the frame was cut off before its end').to.be.below(frame.length);
    expect(await strict.close()).to.equal(0);
  });

  it('stops reading a client that pipelines thousands of calls and reads nothing, serves others meanwhile, and answers every call once it reads', async function () {
    const PAUSED = 'Replies not read: stopped reading the connection';
    const greedy = await Raw.open(fake.ready.stomp.port);
    greedy.socket.pause();
    const paused = fake.waitForLog(PAUSED, fake.logCount(PAUSED));
    let stopped = false;
    void paused.then(() => (stopped = true));
    greedy.socket.write(`${CONNECT}SUBSCRIBE\ndestination:greedy\nid:g\n\n\0`);
    // Until the fake stops reading it: the kernel's buffers take megabytes of replies first.
    let sent = 0;
    while (!stopped) {
      if (greedy.socket.destroyed) expect.fail(`the fake closed the pipelining client after ${sent} calls; stderr:\n${fake.stderr().slice(-2000)}`);
      const batch = Array.from({ length: 500 }, (_, index) => ping(`g-${sent + index}`, 'greedy')).join('');
      sent += 500;
      if (greedy.socket.write(batch)) await new Promise((resolve) => setImmediate(resolve));
      else await Promise.race([paused, new Promise((resolve) => greedy.socket.once('drain', resolve))]);
    }
    const { queuedBytes } = await paused;
    // Stopped once past maxQueuedReplyBytes (1 MiB); what one read of requests answers may come on top.
    expect(queuedBytes).to.be.above(MiB).and.below(MiB + 512 * 1024);
    const servedMeanwhile = polite.answered;
    await polite.served(20);
    expect(polite.answered - servedMeanwhile).to.be.at.least(20);
    expect(await retainedOverBaseline()).to.be.below(16 * MiB);

    greedy.socket.resume();
    const frames = await greedy.frames(sent + 1);
    const ids = frames.slice(1).map((frame) => (JSON.parse(frame.slice(frame.indexOf('\n\n') + 2)) as { id: string }).id);
    expect(sent).to.be.above(5000);
    expect(new Set(ids).size).to.equal(sent);
    expect(ids[0]).to.equal('g-0');
    expect(ids.at(-1)).to.equal(`g-${sent - 1}`);
    greedy.socket.destroy();
    await greedy.closed;
  });
});
