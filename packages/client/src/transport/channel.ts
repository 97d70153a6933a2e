import type { FrameInit, StompFrame } from '../stomp/frame.js';

/** Which transport a channel runs over. */
export type TransportKind = 'tcp' | 'tls' | 'ws' | 'memory';

/** What a channel knows of its peer. */
export interface ChannelInfo {
  readonly transport: TransportKind;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/**
 * STOMP frames over one connection: the only thing the session layers (client
 * session, fake server) see of a transport. Byte streams (TCP, TLS, memory)
 * parse incrementally; WebSocket carries one frame per message.
 *
 * Listeners are added, never replaced; close listeners run exactly once.
 */
export interface FrameChannel {
  readonly info: ChannelInfo;
  /** True once the channel is closing or closed; sends are then dropped. */
  readonly closed: boolean;

  /** Writes one frame as one buffer (one WebSocket message). */
  send(frame: FrameInit): void;
  /** Writes a heart-beat (a single EOL). */
  sendHeartbeat(): void;

  /** A complete inbound frame. */
  onFrame(listener: (frame: StompFrame) => void): void;
  /** Any inbound bytes, frames or heart-beats alike: proof the peer is alive. */
  onData(listener: () => void): void;
  /**
   * The inbound bytes broke the codec (malformed frame, a limit). Listeners
   * may still `send` (an ERROR frame, say); the channel then closes with it.
   */
  onProtocolError(listener: (error: Error) => void): void;
  /** The channel closed; `error` says why when it was not a clean close. */
  onClose(listener: (error?: Error) => void): void;

  /** Flushes what was sent, then closes. `error` is passed to close listeners. */
  close(error?: Error): void;
  /** Closes at once, dropping unsent bytes. */
  destroy(error?: Error): void;
}
