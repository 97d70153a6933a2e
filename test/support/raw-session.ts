/**
 * A bare STOMP session on the client's transport layer (`connectChannel`),
 * with no RPC logic on top: the e2e suites use it to watch what crosses the
 * fake, e.g. subscribing to `jms.topic.vdsm_requests` (VDSM forwards every
 * SEND to subscribers of its destination) to see the exact headers a
 * `VdsmClient` sent, or to another client's reply-to to see where answers go.
 */
import { randomUUID } from 'node:crypto';
import { Destination } from '@vdsm-kit/client/api';
import type { StompFrame } from '@vdsm-kit/client/stomp';
import { connectChannel } from '@vdsm-kit/client/transport';
import type { ChannelTarget, FrameChannel } from '@vdsm-kit/client/transport';
import { AsyncQueue } from './async-queue.js';

/** A connected raw session. */
export interface RawSession {
  /**
   * SUBSCRIBEs `destination` and resolves once the fake has surely
   * registered it (VDSM sends no RECEIPT for SUBSCRIBE, so this does one
   * Host.ping2 round trip on the same connection, which the fake handles
   * after the SUBSCRIBE). Resolves with the MESSAGEs of that subscription.
   */
  subscribe(destination: string): Promise<AsyncQueue<StompFrame>>;
  /**
   * One Host.ping2 round trip on this connection: everything the fake sent
   * this session before answering it has arrived when this resolves.
   */
  sync(): Promise<void>;
  /** Closes the channel at once. */
  close(): void;
}

/** Connects to `target` and completes CONNECT/CONNECTED (STOMP 1.2, no heart-beats). */
export async function openRawSession(target: ChannelTarget): Promise<RawSession> {
  const channel: FrameChannel = await connectChannel(target, { timeoutMs: 2000 });
  const bySubscription = new Map<string, AsyncQueue<StompFrame>>();
  const connected = new AsyncQueue<StompFrame>();
  channel.onFrame((frame) => {
    if (frame.command === 'CONNECTED' || frame.command === 'ERROR') connected.push(frame);
    if (frame.command === 'MESSAGE') bySubscription.get(frame.headers.get('subscription') ?? '')?.push(frame);
  });
  channel.send({ command: 'CONNECT', headers: [['accept-version', '1.2'], ['heart-beat', '0,0']] });
  const answer = await connected.next('CONNECTED').catch((error: unknown) => {
    channel.destroy();
    throw error;
  });
  if (answer.command !== 'CONNECTED') {
    channel.destroy();
    throw new Error(`CONNECT refused: ${answer.body.toString()}`);
  }

  // A private queue for the round trips that confirm each SUBSCRIBE.
  const syncQueue = randomUUID();
  const syncSubscription = randomUUID();
  const syncAnswers = new AsyncQueue<StompFrame>();
  bySubscription.set(syncSubscription, syncAnswers);
  channel.send({ command: 'SUBSCRIBE', headers: [['destination', syncQueue], ['ack', 'auto'], ['id', syncSubscription]] });

  const sync = async (): Promise<void> => {
    const requestId = randomUUID();
    channel.send({
      command: 'SEND',
      headers: [['destination', Destination.Requests], ['content-type', 'application/json'], ['reply-to', syncQueue]],
      body: JSON.stringify({ jsonrpc: '2.0', method: 'Host.ping2', params: {}, id: requestId }),
    });
    for (;;) {
      const reply = await syncAnswers.next('a sync round trip');
      if ((JSON.parse(reply.body.toString()) as { id?: unknown }).id === requestId) return;
    }
  };

  return {
    subscribe: async (destination) => {
      const id = randomUUID();
      const messages = new AsyncQueue<StompFrame>();
      bySubscription.set(id, messages);
      channel.send({ command: 'SUBSCRIBE', headers: [['destination', destination], ['ack', 'auto'], ['id', id]] });
      await sync();
      return messages;
    },
    sync,
    close: () => channel.destroy(),
  };
}
