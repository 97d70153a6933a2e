/**
 * `@vdsm-kit/client/stomp`: the STOMP 1.2 codec (frames as data, header
 * escaping, the encoder and the incremental parser). No sockets here; the
 * client and fake-vdsm both build on it.
 */
export * from './frame.js';
export * from './escape.js';
export * from './encoder.js';
export * from './parser.js';
export * from './frame-budget.js';
export * from './heartbeat.js';
export * from './client-session.js';
