/**
 * STOMP over WebSocket on the STOMP port: the protocol detector hands over
 * connections that start with `GET /`; an HTTP server (never listening
 * itself) parses the request and ws's `WebSocketServer` completes the
 * upgrade. Any path is accepted; a request that is not an upgrade gets 426.
 */
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { ConnectionDescription } from '../api/registry.js';
import type { Logger } from '../logger.js';

/** The STOMP-over-WebSocket subprotocol we pick when a client offers it (STOMP 1.2 only, as VDSM). */
export const STOMP_SUBPROTOCOL = 'v12.stomp';

/** Options of a `WebSocketEndpoint`. */
export interface WebSocketEndpointOptions {
  readonly logger: Logger;
  /** Largest WebSocket message accepted (a frame per message): the frame size limit. */
  readonly maxPayload: number;
  /** An upgraded connection, ready for a `WebSocketChannel`. */
  readonly onWebSocket: (ws: WebSocket, description: ConnectionDescription) => void;
}

/** HTTP upgrade handling for connections the detector recognized as HTTP. */
export class WebSocketEndpoint {
  readonly #http: HttpServer;
  readonly #wss: WebSocketServer;
  readonly #log: Logger;

  constructor(options: WebSocketEndpointOptions) {
    this.#log = options.logger;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      handleProtocols: (offered) => (offered.has(STOMP_SUBPROTOCOL) ? STOMP_SUBPROTOCOL : false),
    });
    this.#http = createServer((_request, response) => {
      response.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'close' });
      response.end('fake-vdsm: this port speaks STOMP, raw or over a WebSocket; send an Upgrade: websocket request.\n');
    });
    this.#http.on('upgrade', (request, socket: Duplex, head: Buffer) => {
      const remote = request.socket;
      const description: ConnectionDescription = {
        transport: 'ws',
        remoteAddress: remote.remoteAddress,
        remotePort: remote.remotePort,
        localAddress: remote.localAddress,
      };
      this.#wss.handleUpgrade(request, socket, head, (ws) => options.onWebSocket(ws, description));
    });
    this.#http.on('clientError', (error: Error, socket: Duplex) => {
      this.#log.info({ err: error.message }, 'Bad HTTP request');
      socket.destroy();
    });
  }

  /** Takes a connection whose first bytes are an HTTP request (already pushed back into it). */
  accept(stream: Socket): void {
    this.#http.emit('connection', stream);
    // The detector paused the stream; the HTTP parser needs it flowing.
    stream.resume();
  }

  /** Drops every WebSocket at once (server shutdown). */
  close(): void {
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
  }
}
