/** The move: its state machine, its runner, the orchestrator and its outcome. */
export * from './transitions.js';
export * from './outcome.js';
export * from './discovery.js';
export * from './failpoints.js';
export * from './orchestrator.js';
