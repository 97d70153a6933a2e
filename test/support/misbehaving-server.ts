/**
 * A tiny STOMP server on a real TCP socket that CONNECTs like VDSM and then
 * misbehaves on command: it swallows requests, drops every connection with
 * calls pending, or promises heart-beats it never sends. The failure suites
 * point a real `VdsmClient` at it to prove how the client copes.
 *
 * It reuses the client's own codec and `StreamChannel` (the bytes are not
 * what is under test here, the client's reaction is) and counts connections,
 * so a test can tell a reconnect from a reused connection.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { StompFrame } from '@vdsm-kit/client/stomp';
import { StreamChannel } from '@vdsm-kit/client/transport';
import type { FrameChannel } from '@vdsm-kit/client/transport';

/** What the server does with a JSON-RPC request. */
export type RequestMode =
  /** Answers it (see `MisbehavingServerOptions.answer`). */
  | 'answer'
  /** Never answers: the client must time the call out. */
  | 'swallow';

/** One JSON-RPC request as the server received it. */
export interface ReceivedRequest {
  readonly id: string | number;
  readonly method: string;
  readonly params: unknown;
  /** Which connection (1-based, in accept order) it came on. */
  readonly connection: number;
}

/** Options of `startMisbehavingServer`. */
export interface MisbehavingServerOptions {
  /**
   * The CONNECTED `heart-beat` value, sent as is whatever the client asked:
   * `'100,0'` promises a beat every 100 ms (and `beatEveryMs` decides whether
   * one ever comes). Default `'0,0'`.
   */
  readonly connectedHeartbeat?: string;
  /** Actually write a heart-beat this often on every connection; 0 (default) = never. */
  readonly beatEveryMs?: number;
  /** Initial request mode (default 'answer'). */
  readonly mode?: RequestMode;
  /** The result for an answered request (default: `params.message` for Host.echo, else `true`). */
  readonly answer?: (method: string, params: unknown) => unknown;
}

/** A running misbehaving server. */
export interface MisbehavingServer {
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Connections currently open. */
  readonly openConnections: number;
  /** Every request received, in order. */
  readonly requests: readonly ReceivedRequest[];
  /** What to do with the next requests. */
  mode: RequestMode;
  /** Resolves once at least `count` requests arrived in total. */
  waitForRequests(count: number): Promise<void>;
  /** Resolves once at least `count` connections were accepted in total. */
  waitForConnections(count: number): Promise<void>;
  /** Heart-beats written so far (`beatEveryMs`), over every connection. */
  readonly beatsSent: number;
  /** Resolves once at least `count` heart-beats were written in total. */
  waitForBeats(count: number): Promise<void>;
  /** Destroys every open connection at once (a crash or a network cut), keeping the listener. */
  dropConnections(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: () => void;
}

function defaultAnswer(method: string, params: unknown): unknown {
  if (method === 'Host.echo' && typeof params === 'object' && params !== null && 'message' in params) return params.message;
  return true;
}

/** A request body is one JSON-RPC object or a one-element array of it (vdsm's client sends the latter). */
function requestsOf(body: Buffer): { id: string | number; method: string; params: unknown }[] {
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const requests: { id: string | number; method: string; params: unknown }[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const { id, method, params } = item as Record<string, unknown>;
    if ((typeof id === 'string' || typeof id === 'number') && typeof method === 'string') requests.push({ id, method, params });
  }
  return requests;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startMisbehavingServer(options: MisbehavingServerOptions = {}): Promise<MisbehavingServer> {
  const answer = options.answer ?? defaultAnswer;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: ReceivedRequest[] = [];
  const waiters: Waiter[] = [];
  let connections = 0;
  let beatsSent = 0;
  let mode: RequestMode = options.mode ?? 'answer';

  const wake = (): void => {
    for (const waiter of [...waiters]) {
      if (!waiter.ready()) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const waitFor = (ready: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      waiters.push({ ready, resolve });
      wake();
    });

  const serve = (socket: Socket): void => {
    const connection = ++connections;
    sockets.add(socket);
    const channel: FrameChannel = new StreamChannel(socket, { transport: 'tcp', remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
    // reply-to destination -> this connection's subscription id on it.
    const subscriptionIds = new Map<string, string>();
    let beat: NodeJS.Timeout | undefined;
    channel.onClose(() => {
      sockets.delete(socket);
      if (beat) {
        clearInterval(beat);
        timers.delete(beat);
      }
    });
    channel.onFrame((frame: StompFrame) => {
      switch (frame.command) {
        case 'CONNECT':
          channel.send({ command: 'CONNECTED', headers: [['version', '1.2'], ['heart-beat', options.connectedHeartbeat ?? '0,0']] });
          if (options.beatEveryMs) {
            beat = setInterval(() => {
              channel.sendHeartbeat();
              beatsSent++;
              wake();
            }, options.beatEveryMs);
            timers.add(beat);
          }
          break;
        case 'SUBSCRIBE': {
          const destination = frame.headers.get('destination');
          const id = frame.headers.get('id');
          if (destination !== undefined && id !== undefined) subscriptionIds.set(destination, id);
          break;
        }
        case 'SEND': {
          const replyTo = frame.headers.get('reply-to');
          for (const request of requestsOf(frame.body)) {
            requests.push({ ...request, connection });
            if (mode !== 'answer' || replyTo === undefined) continue;
            const subscription = subscriptionIds.get(replyTo);
            // Like VDSM: an answer nobody subscribed to is dropped.
            if (subscription === undefined) continue;
            const body = JSON.stringify({ jsonrpc: '2.0', id: request.id, result: answer(request.method, request.params) });
            channel.send({
              command: 'MESSAGE',
              headers: [['destination', replyTo], ['content-type', 'application/json'], ['subscription', subscription]],
              body,
            });
          }
          wake();
          break;
        }
        default:
          // DISCONNECT and anything else: this server has nothing to say.
          if (frame.headers.has('receipt')) channel.send({ command: 'RECEIPT', headers: [['receipt-id', frame.headers.get('receipt') ?? '']] });
      }
    });
    wake();
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const dropConnections = (): void => {
    for (const socket of sockets) socket.destroy();
  };

  return {
    host: '127.0.0.1',
    port,
    get connections() {
      return connections;
    },
    get openConnections() {
      return sockets.size;
    },
    requests,
    get mode() {
      return mode;
    },
    set mode(next: RequestMode) {
      mode = next;
    },
    waitForRequests: (count) => waitFor(() => requests.length >= count),
    waitForConnections: (count) => waitFor(() => connections >= count),
    get beatsSent() {
      return beatsSent;
    },
    waitForBeats: (count) => waitFor(() => beatsSent >= count),
    dropConnections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        dropConnections();
        server.close(() => resolve());
      }),
  };
}
