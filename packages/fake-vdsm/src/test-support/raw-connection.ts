/**
 * A byte-level test peer: writes exactly the bytes a test gives it and reads
 * exactly what the server sends, so tests can compare frames byte for byte
 * with what VDSM was observed to send. Test-only (not built).
 */
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';

const DEFAULT_WAIT_MS = 3000;

/** One raw TCP (or TLS) connection with a read buffer. */
export class RawConnection {
  readonly socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;
  /** Every byte received so far, never consumed (for assertions over a whole session). */
  #all: Buffer[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    // Small writes must leave at once: Nagle would hold a second heart-beat back until the first is acked.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#all.push(chunk);
      this.#wake();
    });
    // Resets are expected in several tests; they count as closing.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  /** Opens a plain TCP connection. */
  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ port, host }, () => {
        socket.removeListener('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a TLS connection (resolves after the handshake). */
  static openTls(port: number, options: ConnectionOptions, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connectTls({ port, host, ...options }, () => {
        socket.removeListener('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** True once the server closed (or reset) the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Everything received so far, as latin1 text (bytes map 1:1 to characters). */
  get received(): string {
    return Buffer.concat(this.#all).toString('latin1');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /**
   * The next frame: bytes up to and including the next NUL, as UTF-8 text.
   * Heart-beat EOLs before it are skipped unless `keepEols`.
   */
  async frame(options: { keepEols?: boolean; timeoutMs?: number } = {}): Promise<string> {
    await this.#until(() => {
      if (!options.keepEols) this.#skipEols();
      return this.#buffer.indexOf(0) !== -1;
    }, options.timeoutMs, 'a frame');
    const end = this.#buffer.indexOf(0) + 1;
    const frame = this.#buffer.subarray(0, end).toString('utf8');
    this.#buffer = this.#buffer.subarray(end);
    return frame;
  }

  /** The body of the next frame (between the blank line and the NUL). */
  async frameBody(options: { timeoutMs?: number } = {}): Promise<string> {
    const frame = await this.frame(options);
    return frame.slice(frame.indexOf('\n\n') + 2, -1);
  }

  /** Resolves once the server has closed the connection; rejects if it is still open after `timeoutMs`. */
  async waitClosed(timeoutMs?: number): Promise<void> {
    await this.#until(() => this.#closed, timeoutMs, 'the server to close the connection');
  }

  /** Resolves with the bytes that arrived within `ms` (normally: none). */
  async quietFor(ms: number): Promise<string> {
    const before = this.#buffer.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.#buffer.subarray(before).toString('latin1');
  }

  /** Waits until at least `count` bytes are buffered, then takes them. */
  async take(count: number, timeoutMs?: number): Promise<string> {
    await this.#until(() => this.#buffer.length >= count, timeoutMs, `${count} bytes`);
    const taken = this.#buffer.subarray(0, count).toString('latin1');
    this.#buffer = this.#buffer.subarray(count);
    return taken;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #skipEols(): void {
    let start = 0;
    while (this.#buffer[start] === 0x0a || this.#buffer[start] === 0x0d) start++;
    if (start > 0) this.#buffer = this.#buffer.subarray(start);
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  async #until(done: () => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'data'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.#closed) throw new Error(`Connection closed while waiting for ${what}; got so far: ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; got so far: ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** A STOMP frame as bytes, exactly as written (no escaping, no content-length added). */
export function rawFrame(command: string, headers: readonly (readonly [string, string])[] = [], body = ''): string {
  return `${command}\n${headers.map(([name, value]) => `${name}:${value}\n`).join('')}\n${body}\0`;
}

/** vdsm's own client's CONNECT (vdsm-wire.md 2.2, observed). */
export const VDSM_CLIENT_CONNECT = 'CONNECT\naccept-version:1.2\nheart-beat:0,24000\n\n\0';
