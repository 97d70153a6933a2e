/**
 * `@vdsm-kit/client/transport`: STOMP frames over TCP, mutual TLS, WebSocket
 * and memory, behind one `FrameChannel` interface; VDSM's PKI layout; and
 * `connectChannel` to open a client channel.
 */
export * from './channel.js';
export * from './duplex-pair.js';
export * from './frame-channel-base.js';
export * from './stream-channel.js';
export * from './ws-channel.js';
export * from './memory.js';
export * from './pki.js';
export * from './connect.js';
