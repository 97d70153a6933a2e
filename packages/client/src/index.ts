/**
 * `@vdsm-kit/client`: a typed client for oVirt's host agent VDSM.
 *
 * Layers, each replaceable on its own (ARCHITECTURE.md): `stomp/` (bytes <->
 * frames, session), `transport/` (frames over TCP, mutual TLS, WebSocket),
 * `rpc/` (JSON-RPC 2.0 over a session), `api/` (typed verbs, enums, VDSM's
 * errors), `tasks/` (SPM task watching). Subpath exports give each layer on
 * its own: `@vdsm-kit/client/stomp`, `/transport`, `/rpc`, `/api`, `/tasks`.
 */
export * from './clock.js';
export * from './errors.js';
export * from './stomp/index.js';
export * from './transport/index.js';
export * from './rpc/index.js';
export * from './api/index.js';
export * from './tasks/index.js';
export * from './client.js';
