/**
 * Two channels wired back to back in memory: the transport for unit tests of
 * the layers above (session, RPC, fake server) without sockets. The bytes
 * still go through the encoder and the parser, as on a real socket.
 */
import type { FrameChannel } from './channel.js';
import { createDuplexPair } from './duplex-pair.js';
import { StreamChannel } from './stream-channel.js';
import type { StreamChannelOptions } from './stream-channel.js';

/** Options applied to both ends (`head` makes no sense here). */
export type MemoryChannelOptions = Omit<StreamChannelOptions, 'head'>;

/** Returns `[left, right]`: what one sends, the other receives. */
export function createMemoryChannelPair(options: MemoryChannelOptions = {}): [FrameChannel, FrameChannel] {
  const [leftStream, rightStream] = createDuplexPair();
  return [
    new StreamChannel(leftStream, { transport: 'memory' }, options),
    new StreamChannel(rightStream, { transport: 'memory' }, options),
  ];
}
