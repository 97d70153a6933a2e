/**
 * The hostile clients of `npm run bench -- hostile`, in a process of their
 * own so that generating the attack does not slow the measured polite
 * client: `node --import tsx bench/hostile-attacker.ts HOST PORT CALLS`
 * connects them all, prints one JSON line, and attacks until SIGTERM.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

const MiB = 1024 * 1024;
const REQUESTS = 'jms.topic.vdsm_requests';
const CONNECT = 'CONNECT\naccept-version:1.2\n\n\0';

function send(body: string, extra = ''): string {
  return `SEND\ndestination:${REQUESTS}\nreply-to:hostile${extra}\ncontent-length:${Buffer.byteLength(body)}\n\n${body}\0`;
}

/** The hostile clients, all at once, until stopped. */
export class Attack {
  readonly #host: string;
  readonly #port: number;
  readonly #sockets = new Set<Socket>();
  readonly #timers: NodeJS.Timeout[] = [];
  #stopped = true;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  start(calls: number): void {
    this.#stopped = false;
    for (let i = 0; i < 50; i++) this.#open(() => {}); // silent
    this.#greedy(calls);
    this.#nearLimitFrames(4);
    this.#every(200, () => this.#oneShot(`SEND\ndestination:${REQUESTS}\ncontent-length:${70 * MiB}\n\n`)); // over maxFrameSize
    this.#every(200, () => this.#oneShot(`SEND\nx:${'y'.repeat(20_000)}\n\n\0`)); // oversized header
    this.#every(100, () => this.#oneShot(Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256))))); // garbage
    this.#every(100, () => this.#oneShot(CONNECT + send('{"jsonrpc": ') + send('['.repeat(100_000) + ']'.repeat(100_000)))); // malformed JSON-RPC
    this.#every(50, () => this.#oneShot(CONNECT + send('{"jsonrpc": "2.0", "method": "Host.ping2", "id": 1}').slice(0, 60), true)); // mid-frame disconnect
    for (let i = 0; i < 20; i++) this.#slowLoris();
  }

  /** Stops everything. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #open(onConnect: (socket: Socket) => void): Socket {
    const socket = connect(this.#port, this.#host, () => onConnect(socket));
    socket.on('error', () => {});
    socket.on('close', () => this.#sockets.delete(socket));
    this.#sockets.add(socket);
    return socket;
  }

  #every(ms: number, what: () => void): void {
    this.#timers.push(setInterval(what, ms));
  }

  /** Connects, writes `bytes`, reads and drops whatever comes back; `hangUp` closes right after writing. */
  #oneShot(bytes: string | Buffer, hangUp = false): void {
    if (this.#stopped) return;
    this.#open((socket) => {
      socket.resume();
      socket.write(bytes);
      if (hangUp) socket.destroy();
      else setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  /** Pipelines `calls` ping2 and never reads. */
  #greedy(calls: number): void {
    this.#open((socket) => {
      socket.write(CONNECT + `SUBSCRIBE\ndestination:hostile-greedy\nid:g\n\n\0`);
      socket.pause();
      let next = 0;
      const pump = (): void => {
        while (next < calls && !this.#stopped) {
          const batch: string[] = [];
          for (let i = 0; i < 500 && next < calls; i++, next++) batch.push(send(`{"jsonrpc": "2.0", "method": "Host.ping2", "params": {}, "id": "g-${next}"}`, '-greedy'));
          if (!socket.write(batch.join(''))) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  }

  /** `count` connections each sending most of a 60 MiB frame, slowly enough to overlap. */
  #nearLimitFrames(count: number): void {
    const chunk = Buffer.alloc(MiB, 0x20);
    for (let i = 0; i < count; i++) {
      this.#open((socket) => {
        socket.resume();
        socket.write(`SEND\ndestination:${REQUESTS}\ncontent-length:${60 * MiB}\n\n`);
        let sent = 0;
        const pump = (): void => {
          while (sent < 59 && !this.#stopped) {
            sent++;
            if (!socket.write(chunk)) {
              socket.once('drain', pump);
              return;
            }
          }
        };
        pump();
      });
    }
  }

  /** A frame one byte every 100 ms. */
  #slowLoris(): void {
    const frame = CONNECT + send('{"jsonrpc": "2.0", "method": "Host.ping2", "id": "slow"}');
    this.#open((socket) => {
      socket.resume();
      let at = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || at >= frame.length) clearInterval(timer);
        else socket.write(frame[at++] as string);
      }, 100);
      this.#timers.push(timer);
    });
  }
}


const [host, port, calls] = process.argv.slice(2);
if (host !== undefined && port !== undefined) {
  const attack = new Attack(host, Number(port));
  attack.start(Number(calls ?? 200_000));
  process.once('SIGTERM', () => {
    attack.stop();
    process.exit(0);
  });
  console.log(JSON.stringify({ event: 'attacking' }));
}
