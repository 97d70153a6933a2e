/**
 * Third-party STOMP clients behind one small interface, so one interop suite
 * runs over each of them: @stomp/stompjs over raw TCP (`@stomp/tcp-wrapper`)
 * and over WebSocket (the `ws` package: Node 20 has no global WebSocket), and
 * stompit over TCP. None of them shares a line of code with vdsm-kit, which
 * is the point: they prove the fake speaks STOMP 1.2, not just our dialect.
 */
import { Client, Versions } from '@stomp/stompjs';
import type { IFrame, IStompSocket, StompHeaders } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import stompit from 'stompit';
import WebSocket from 'ws';
import { AsyncQueue } from './async-queue.js';

/** One MESSAGE as a peer library delivered it. */
export interface PeerMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A live subscription: its id (as sent in SUBSCRIBE) and the MESSAGEs it got. */
export interface PeerSubscription {
  readonly id: string;
  readonly messages: AsyncQueue<PeerMessage>;
}

/** A connected peer session. */
export interface PeerConnection {
  /** The CONNECTED frame's headers. */
  readonly connectedHeaders: Readonly<Record<string, string>>;
  subscribe(destination: string): PeerSubscription;
  send(destination: string, headers: Readonly<Record<string, string>>, body: string): void;
  /** DISCONNECT (with the library's receipt handling) and close the socket. */
  close(): Promise<void>;
}

/** The server refused CONNECT with an ERROR frame. */
export class PeerErrorFrame extends Error {
  override name = 'PeerErrorFrame';
  constructor(
    /** The ERROR body, when the library exposes it (stompit does not for VDSM's headerless ERROR). */
    readonly body: string | undefined,
  ) {
    super(`ERROR frame${body === undefined ? '' : `: ${body}`}`);
  }
}

/** A third-party STOMP client that can reach the fake. */
export interface StompPeer {
  readonly name: string;
  /** True when the library hands us an ERROR frame's body. */
  readonly readsErrorBodies: boolean;
  /**
   * CONNECTs offering exactly `acceptVersions` and no heart-beats. Rejects
   * with `PeerErrorFrame` when the server answers ERROR.
   */
  connect(acceptVersions: readonly string[]): Promise<PeerConnection>;
}

/** Where a peer connects. */
export interface PeerTarget {
  readonly host: string;
  readonly port: number;
  /** `ws://host:port/`. */
  readonly wsUrl: string;
}

/** Every peer, each against `target()` (read when connecting, so a suite can start its fake in `before`). */
export function stompPeers(target: () => PeerTarget): StompPeer[] {
  return [
    stompjsPeer('@stomp/stompjs over TCP (tcp-wrapper)', () => {
      const { host, port } = target();
      return new TCPWrapper(host, port);
    }),
    stompjsPeer('@stomp/stompjs over WebSocket (ws)', () => {
      // ws's WebSocket is the browser API in all that stompjs uses; the types differ only in event typing.
      return new WebSocket(target().wsUrl, ['v12.stomp']) as unknown as IStompSocket;
    }),
    stompitPeer('stompit over TCP', target),
  ];
}

function stompjsPeer(name: string, socketFactory: () => IStompSocket): StompPeer {
  return {
    name,
    readsErrorBodies: true,
    connect: (acceptVersions) =>
      new Promise<PeerConnection>((resolve, reject) => {
        const client = new Client({
          webSocketFactory: socketFactory,
          stompVersions: new Versions([...acceptVersions]),
          heartbeatIncoming: 0,
          heartbeatOutgoing: 0,
          // One attempt: a refused CONNECT must fail the test, not retry forever.
          reconnectDelay: 0,
          debug: () => undefined,
        });
        client.onConnect = (frame: IFrame) => resolve(new StompjsConnection(client, frame.headers));
        client.onStompError = (frame: IFrame) => {
          reject(new PeerErrorFrame(frame.body));
          void client.deactivate({ force: true });
        };
        client.onWebSocketError = (event: unknown) => reject(new Error(`${name}: socket error ${String(event)}`));
        client.onWebSocketClose = () => reject(new Error(`${name}: closed before CONNECTED`));
        client.activate();
      }),
  };
}

class StompjsConnection implements PeerConnection {
  readonly #client: Client;
  readonly connectedHeaders: Readonly<Record<string, string>>;

  constructor(client: Client, connectedHeaders: StompHeaders) {
    this.#client = client;
    this.connectedHeaders = { ...connectedHeaders };
  }

  subscribe(destination: string): PeerSubscription {
    const messages = new AsyncQueue<PeerMessage>();
    const subscription = this.#client.subscribe(destination, (message) => messages.push({ headers: { ...message.headers }, body: message.body }));
    return { id: subscription.id, messages };
  }

  send(destination: string, headers: Readonly<Record<string, string>>, body: string): void {
    this.#client.publish({ destination, headers: { ...headers }, body });
  }

  close(): Promise<void> {
    return this.#client.deactivate();
  }
}

function stompitPeer(name: string, target: () => PeerTarget): StompPeer {
  return {
    name,
    // stompit reads an ERROR body only with content-type text/plain, which VDSM never sends.
    readsErrorBodies: false,
    connect: (acceptVersions) =>
      new Promise<PeerConnection>((resolve, reject) => {
        const { host, port } = target();
        const connectHeaders = { 'accept-version': acceptVersions.join(','), 'heart-beat': '0,0' };
        stompit.connect({ host, port, connectHeaders }, (error, client) => {
          if (error) {
            // stompit reports any ERROR answer as an application error with a fixed message.
            const isErrorFrame = (error as { isApplicationError?: () => boolean }).isApplicationError?.() ?? false;
            reject(isErrorFrame ? new PeerErrorFrame(undefined) : error);
            return;
          }
          resolve(new StompitConnection(client));
        });
      }),
  };
}

class StompitConnection implements PeerConnection {
  readonly #client: stompit.Client;
  readonly connectedHeaders: Readonly<Record<string, string>>;
  /** Errors after CONNECTED; an unheard 'error' event would crash the test process. */
  readonly errors: Error[] = [];

  constructor(client: stompit.Client) {
    this.#client = client;
    client.on('error', (error: Error) => this.errors.push(error));
    // stompit keeps the CONNECTED headers on the client; its typings do not list them.
    this.connectedHeaders = { ...((client as unknown as { headers: Record<string, string> }).headers ?? {}) };
  }

  subscribe(destination: string): PeerSubscription {
    const messages = new AsyncQueue<PeerMessage>();
    const subscription = this.#client.subscribe({ destination, ack: 'auto' }, (error, message) => {
      if (error) return;
      const headers = (message as unknown as { headers: Record<string, string> }).headers;
      message.readString('utf-8', (readError, body) => {
        if (!readError) messages.push({ headers: { ...headers }, body: body ?? '' });
      });
    });
    return { id: String(subscription.getId()), messages };
  }

  send(destination: string, headers: Readonly<Record<string, string>>, body: string): void {
    // No content-length: stompit ends the body at the NUL, which VDSM accepts.
    this.#client.sendString({ destination, ...headers }, body);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#client.disconnect(() => resolve()));
  }
}
