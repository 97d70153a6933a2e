/**
 * The server's bounds against hostile clients (connection-limits.ts), over
 * real sockets with bounds made small so that no test moves much data: an
 * unfinished frame times out on the fake's clock, replies a client does not
 * read stop the reading of its requests, and unfinished frames of all
 * connections share one budget. Meanwhile a well-behaved client is served.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { Destination } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { startFakeVdsm } from '../index.js';
import type { FakeVdsm, FakeVdsmOptions } from '../index.js';
import type { Logger } from '../logger.js';
import { RawConnection, rawFrame } from '../test-support/raw-connection.js';
import { resolveConnectionLimits } from './connection-limits.js';

const REPLY_TO = 'reply-queue';
const NO_BEATS_CONNECT = 'CONNECT\naccept-version:1.2\n\n\0';

function ping(id: string, replyTo = REPLY_TO): string {
  const body = JSON.stringify({ jsonrpc: '2.0', method: 'Host.ping2', params: {}, id });
  return `SEND\ndestination:${Destination.Requests}\nreply-to:${replyTo}\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`;
}

function pong(id: string, replyTo = REPLY_TO): string {
  const body = `{"jsonrpc": "2.0", "id": "${id}", "result": true}`;
  return `MESSAGE\ndestination:${replyTo}\ncontent-type:application/json\nsubscription:s\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`;
}

/** A logger that keeps info lines and lets a test wait for one. */
class WatchedLog {
  readonly entries: { message: string; fields: Record<string, unknown> }[] = [];
  readonly #waiters: (() => void)[] = [];

  readonly logger: Logger = {
    debug: () => {},
    info: (fields, message) => this.#add(fields, message),
    warn: (fields, message) => this.#add(fields, message),
    error: (fields, message) => this.#add(fields, message),
    child: () => this.logger,
  };

  /** The fields of the first entry with `message`, once there is one. */
  async waitFor(message: string): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.entries.find((entry) => entry.message === message);
      if (found) return found.fields;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #add(fields: Record<string, unknown>, message = ''): void {
    this.entries.push({ message, fields });
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

/** Holds this process (the fake's too: it runs in-process) up for `ms`, as a loaded machine or a long GC does; bytes sent meanwhile wait in the socket. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: nothing else of this process runs.
  }
}

describe('connection limits against hostile clients (real sockets)', () => {
  let vdsm: FakeVdsm | undefined;
  const open: RawConnection[] = [];

  async function start(options: FakeVdsmOptions): Promise<FakeVdsm> {
    vdsm = await startFakeVdsm(options);
    return vdsm;
  }

  /** CONNECTed without heart-beats and subscribed to the reply queue as `s`. */
  async function session(replyTo = REPLY_TO): Promise<RawConnection> {
    const connection = await RawConnection.open((vdsm as FakeVdsm).stomp.port);
    open.push(connection);
    connection.write(NO_BEATS_CONNECT);
    expect(await connection.frame()).to.equal('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0');
    connection.write(rawFrame('SUBSCRIBE', [['destination', replyTo], ['id', 's']]));
    return connection;
  }

  async function served(connection: RawConnection, id: string, replyTo = REPLY_TO): Promise<void> {
    connection.write(ping(id, replyTo));
    expect(await connection.frame()).to.equal(pong(id, replyTo));
  }

  /** Waits until the fake's clock holds `count` timers (the server took the bytes that start one). */
  async function timers(clock: ManualClock, count: number): Promise<void> {
    while (clock.pending < count) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  afterEach(async () => {
    for (const connection of open.splice(0)) connection.destroy();
    await vdsm?.close();
    vdsm = undefined;
  });

  it('refuses a limit that is not a number greater than 0', () => {
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => resolveConnectionLimits({ frameTimeoutMs: bad }), String(bad)).to.throw(RangeError, 'frameTimeoutMs');
    }
    expect(resolveConnectionLimits({ maxQueuedReplyBytes: 10 }).maxQueuedReplyBytes).to.equal(10);
  });

  describe('frameTimeoutMs', () => {
    const TIMEOUT_MS = 2000;
    let clock: ManualClock;

    beforeEach(async () => {
      clock = new ManualClock();
      await start({ clock, connectionLimits: { frameTimeoutMs: TIMEOUT_MS } });
    });

    it('serves a frame finished in time, and answers a half SEND left open with ERROR and a close', async () => {
      const connection = await session();
      const other = await session('other-queue');
      const frame = ping('in-time');
      connection.write(frame.slice(0, 40));
      await timers(clock, 1);
      clock.advance(TIMEOUT_MS - 1);
      connection.write(frame.slice(40));
      expect(await connection.frame()).to.equal(pong('in-time'));
      expect(clock.pending, 'a finished frame stops its timer').to.equal(0);

      connection.write(ping('left-open').slice(0, 40));
      await timers(clock, 1);
      clock.advance(TIMEOUT_MS);
      expect(await connection.frameBody()).to.equal(`STOMP frame not finished within frameTimeoutMs (${TIMEOUT_MS} ms)`);
      await connection.waitClosed();
      await served(other, 'still-served', 'other-queue');
    });

    it('serves a frame whose last bytes had arrived when its timer fired: a busy fake does not blame the client for its own lateness', async () => {
      const connection = await session();
      const frame = ping('waiting-in-the-kernel');
      connection.write(frame.slice(0, 40));
      await timers(clock, 1);
      // The rest reaches the fake's socket, and its timer fires before the fake gets to read it,
      // as after a pause of the fake's process (a loaded machine, a long GC) longer than the timeout.
      connection.write(frame.slice(40));
      stall(50);
      clock.advance(TIMEOUT_MS);
      expect(await connection.frame()).to.equal(pong('waiting-in-the-kernel'));
      await served(connection, 'and-after');
    });

    it('times a slow-loris frame from its first byte, however the bytes trickle in', async () => {
      const connection = await session();
      const frame = ping('trickle');
      connection.write(frame.slice(0, 10));
      await timers(clock, 1);
      for (let at = 10; at < 30; at += 10) {
        clock.advance(TIMEOUT_MS / 4);
        connection.write(frame.slice(at, at + 10));
      }
      clock.advance(TIMEOUT_MS / 2);
      expect(await connection.frameBody()).to.match(/^STOMP frame not finished within frameTimeoutMs/);
      await connection.waitClosed();
    });
  });

  describe('maxBufferedFrameBytes', () => {
    const BUDGET = 10_000;
    let clock: ManualClock;

    beforeEach(async () => {
      clock = new ManualClock();
      await start({ clock, connectionLimits: { maxBufferedFrameBytes: BUDGET } });
    });

    /** A ping2 SEND whose JSON body is padded with spaces to `bodyBytes`. */
    function paddedPing(id: string, bodyBytes: number): string {
      const json = JSON.stringify({ jsonrpc: '2.0', method: 'Host.ping2', params: {}, id });
      const body = json + ' '.repeat(bodyBytes - json.length);
      return `SEND\ndestination:${Destination.Requests}\nreply-to:${REPLY_TO}\ncontent-length:${bodyBytes}\n\n${body}\0`;
    }

    it('gives the connection whose frame would go over the shared budget an ERROR, and serves the others', async () => {
      const first = await session();
      const second = await session();
      const big = paddedPing('big', 8000);
      first.write(big.slice(0, 6000));
      await timers(clock, 1);
      second.write(paddedPing('over', 8000).slice(0, 5000));
      expect(await second.frameBody()).to.match(/^STOMP frame refused: unfinished frames of all connections would exceed their budget \(10000 bytes\)/);
      await second.waitClosed();
      first.write(big.slice(6000));
      expect(await first.frame()).to.equal(pong('big'));
      // What the finished and the refused frames held is free again.
      const third = await session();
      const again = paddedPing('again', 8000);
      third.write(again.slice(0, 7000));
      await timers(clock, 1);
      third.write(again.slice(7000));
      expect(await third.frame()).to.equal(pong('again'));
    });
  });

  describe('maxQueuedReplyBytes', () => {
    const MAX_QUEUED = 16 * 1024;
    const log = new WatchedLog();

    beforeEach(async () => {
      log.entries.length = 0;
      await start({ logger: log.logger, connectionLimits: { maxQueuedReplyBytes: MAX_QUEUED } });
    });

    it('stops reading a client that pipelines and reads nothing, serves others meanwhile, and answers every request once it reads', async () => {
      const port = (vdsm as FakeVdsm).stomp.port;
      const greedy: Socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => greedy.once('connect', () => resolve()));
      greedy.on('error', () => {});
      let nuls = 0;
      const counted: (() => void)[] = [];
      greedy.on('data', (chunk: Buffer) => {
        for (const byte of chunk) if (byte === 0) nuls++;
        for (const wake of counted.splice(0)) wake();
      });
      greedy.write(NO_BEATS_CONNECT + rawFrame('SUBSCRIBE', [['destination', REPLY_TO], ['id', 's']]));
      // Read nothing from here on: the kernel's buffers fill, then the fake's.
      greedy.pause();

      const paused = log.waitFor('Replies not read: stopped reading the connection');
      let stopped = false;
      void paused.then(() => {
        stopped = true;
      });
      let sent = 0;
      while (!stopped) {
        // Ids unique among the requests in flight: the reply-to is remembered per id, as VDSM does.
        const batch = Array.from({ length: 200 }, (_, index) => ping(`p-${sent + index}`)).join('');
        sent += 200;
        if (!greedy.write(batch)) await Promise.race([paused, new Promise((resolve) => greedy.once('drain', resolve))]);
        else await new Promise((resolve) => setImmediate(resolve));
      }
      const { queuedBytes } = await paused;
      // It stops once the bound is passed; what one read chunk of requests answers may come on top.
      expect(queuedBytes).to.be.above(MAX_QUEUED).and.below(MAX_QUEUED + 128 * 1024);

      const polite = await session('polite-queue');
      await served(polite, 'meanwhile', 'polite-queue');

      greedy.resume();
      // CONNECTED plus one MESSAGE per request: nothing was lost while reading was stopped.
      while (nuls < sent + 1) {
        if (greedy.destroyed || greedy.readableEnded) expect.fail(`closed after ${nuls} of ${sent + 1} frames`);
        await new Promise<void>((resolve) => counted.push(resolve));
      }
      await log.waitFor('Replies drained: reading the connection again');
      greedy.destroy();
    });
  });
});
