/**
 * `@vdsm-kit/client/rpc`: JSON-RPC 2.0 over a STOMP session (`RpcConnection`),
 * event routing by VDSM event id (`EventRouter`), and the `RpcCaller`
 * contract everything above the wire is written against.
 */
export * from './caller.js';
export * from './event-router.js';
export * from './rpc-connection.js';
