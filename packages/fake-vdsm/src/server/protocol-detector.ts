/**
 * One port, several protocols, told apart by their first bytes the way VDSM's
 * `_ProtocolDetector` does (oVirt/vdsm:lib/vdsm/protocoldetector.py,
 * vdsm-wire.md 1):
 *
 * - TLS first when the server has credentials (a ClientHello starts with
 *   0x16), then detection again inside the TLS stream;
 * - STOMP when the first 11 bytes (the longest command, `UNSUBSCRIBE`) start
 *   with a command VDSM's detector knows; a shorter first frame waits, as on
 *   VDSM, where a bare 10-byte `CONNECT\n\n\0` gets no answer;
 * - HTTP (for the WebSocket upgrade) when they start with `GET /`;
 * - anything else: "Unrecognized protocol", closed;
 * - no decision within 10 s: closed.
 *
 * With `tlsOnly` every connection must be TLS from the first byte, as on a
 * real host: a plain one is reset at its first byte, as VDSM's is.
 */
import type { Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Clock } from '@vdsm-kit/client/clock';
import { tlsServerOptions } from '@vdsm-kit/client/transport';
import type { TlsCredentials } from '@vdsm-kit/client/transport';
import type { ConnectionDescription } from '../api/registry.js';
import type { Logger } from '../logger.js';

/** STOMP commands VDSM's `StompDetector` accepts as the start of a connection (`stomp.COMMANDS`). */
export const STOMP_DETECT_COMMANDS = ['MESSAGE', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'CONNECT', 'CONNECTED', 'ERROR', 'RECEIPT', 'DISCONNECT'] as const;

/** How many bytes VDSM waits for before deciding: the longest prefix any detector checks. */
export const DETECT_BYTES = Math.max(...STOMP_DETECT_COMMANDS.map((command) => command.length));

/** VDSM's `SSL_HANDSHAKE_TIMEOUT`, also its protocol-detection give-up time (ms). */
export const DETECT_TIMEOUT_MS = 10_000;

const TLS_HANDSHAKE_RECORD = 0x16;
const STOMP_PREFIXES = STOMP_DETECT_COMMANDS.map((command) => Buffer.from(command, 'latin1'));
const HTTP_PREFIX = Buffer.from('GET /', 'latin1');

/** Where detected connections go. */
export interface DetectedProtocolHandlers {
  /** A STOMP connection: `head` holds the bytes detection read, to be parsed first. */
  stomp(stream: Socket | TLSSocket, head: Buffer, description: ConnectionDescription): void;
  /** An HTTP request (a WebSocket upgrade, normally): `head` was already unshifted back into `stream`. */
  http(stream: Socket | TLSSocket, description: ConnectionDescription): void;
}

/** Options of a `ProtocolDetector`. */
export interface ProtocolDetectorOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Server credentials; without them there is no TLS. */
  readonly tls?: TlsCredentials;
  /** Refuse plain connections (every byte stream must start with a TLS handshake). Needs `tls`. */
  readonly tlsOnly?: boolean;
  /** Give up on a connection that sent too few bytes for this long (default 10 s, on `clock`). */
  readonly detectTimeoutMs?: number;
  /** Give up on a TLS handshake after this long (default 10 s, real time: Node's TLS server keeps this timer). */
  readonly handshakeTimeoutMs?: number;
}

/** Sorts accepted sockets into STOMP and HTTP, through TLS when asked to. */
export class ProtocolDetector {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #handlers: DetectedProtocolHandlers;
  readonly #detectTimeoutMs: number;
  readonly #tlsOnly: boolean;
  readonly #tlsServer: TlsServer | undefined;

  constructor(options: ProtocolDetectorOptions, handlers: DetectedProtocolHandlers) {
    if (options.tlsOnly && !options.tls) throw new TypeError('tlsOnly needs TLS credentials');
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#handlers = handlers;
    this.#detectTimeoutMs = options.detectTimeoutMs ?? DETECT_TIMEOUT_MS;
    this.#tlsOnly = options.tlsOnly ?? false;
    if (options.tls) {
      // A real (never listening) tls.Server does the handshake: it alone enforces
      // rejectUnauthorized for server sockets. A bare `new TLSSocket(..., {isServer})`
      // would accept a client certificate from any CA and merely mark it unauthorized.
      this.#tlsServer = createTlsServer({ ...tlsServerOptions(options.tls), handshakeTimeout: options.handshakeTimeoutMs ?? DETECT_TIMEOUT_MS });
      this.#tlsServer.on('secureConnection', (socket: TLSSocket) => this.#detect(socket, 'tls'));
      this.#tlsServer.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        this.#log.info({ remoteAddress: socket.remoteAddress, err: error.message }, 'TLS handshake failed');
        // With a listener here Node leaves the socket open: closing it is ours to do.
        socket.destroy();
      });
    }
  }

  /** Takes a freshly accepted TCP socket. */
  accept(socket: Socket): void {
    this.#detect(socket, 'tcp');
  }

  #startTls(socket: Socket, head: Buffer): void {
    socket.unshift(head);
    // The TLS server's TLSSocket reads what is buffered on `socket` first.
    (this.#tlsServer as TlsServer).emit('connection', socket);
  }

  /** Reads until the protocol is known, then hands the stream over with what was read. */
  #detect(stream: Socket | TLSSocket, transport: 'tcp' | 'tls'): void {
    const chunks: Buffer[] = [];
    let length = 0;
    const description = describe(stream, transport);

    let decided = false;
    const finish = (): void => {
      decided = true;
      this.#clock.clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
      // Whoever takes the stream over resumes it when ready; nothing may be emitted in between.
      stream.pause();
    };
    const giveUp = (message: string, fields: Record<string, unknown> = {}): void => {
      finish();
      this.#log.info({ ...fields, remoteAddress: description.remoteAddress, transport }, message);
      stream.destroy();
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, length);
      if (chunks.length > 1) chunks.splice(0, chunks.length, head);
      // A ClientHello needs no 11 bytes to be recognized.
      if (transport === 'tcp' && this.#tlsServer !== undefined && head[0] === TLS_HANDSHAKE_RECORD) {
        finish();
        this.#startTls(stream as Socket, head);
        return;
      }
      if (transport === 'tcp' && this.#tlsOnly) {
        // Real VDSM (ssl = true) resets a plain connection: OpenSSL fails the handshake at the first byte.
        finish();
        this.#log.info({ remoteAddress: description.remoteAddress }, 'Plain connection on a TLS-only port: reset');
        (stream as Socket).resetAndDestroy();
        return;
      }
      if (length < DETECT_BYTES) return;
      if (STOMP_PREFIXES.some((prefix) => startsWith(head, prefix))) {
        finish();
        this.#handlers.stomp(stream, head, description);
      } else if (startsWith(head, HTTP_PREFIX)) {
        finish();
        stream.unshift(head);
        this.#handlers.http(stream, description);
      } else {
        giveUp('Unrecognized protocol', { head: head.subarray(0, DETECT_BYTES).toString('latin1') });
      }
    };
    const onEnd = (): void => giveUp('Connection ended before its protocol was known', { bytes: length });
    // A reset during detection is the client's business; the listener keeps it from being uncaught.
    const onError = (error: Error): void => giveUp('Connection failed before its protocol was known', { err: error.message });

    // Destroyed from outside (server shutdown): only the timer is left to clear.
    const onClose = (): void => {
      decided = true;
      this.#clock.clearTimeout(timer);
    };

    // Timers run before I/O in Node's event loop: after this process was held
    // up past the timeout, bytes the client sent in time may still wait in the
    // socket. Two turns of the loop read them first (the first poll may not
    // yet see what arrived at the very end); only a connection still
    // undecided then is late.
    const timer = this.#clock.setTimeout(() => {
      setImmediate(() =>
        setImmediate(() => {
          if (!decided) giveUp('Protocol detection timed out', { bytes: length });
        }),
      );
    }, this.#detectTimeoutMs);
    timer.unref?.();
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  }
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function describe(stream: Socket, transport: 'tcp' | 'tls'): ConnectionDescription {
  return { transport, remoteAddress: stream.remoteAddress, remotePort: stream.remotePort, localAddress: stream.localAddress };
}
