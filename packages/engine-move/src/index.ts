/**
 * @vdsm-kit/engine-move: the disk-move orchestrator (copy, then delete) that
 * engine code imports. Layers (ARCHITECTURE.md): `store/` (the move store
 * interface, SQLite, migrations), `tasks/` (per-pool SPM task tracking),
 * `move/` (the move as an explicit state machine), `cli/`.
 */
export * from './store/index.js';
export * from './tasks/index.js';
export * from './move/index.js';
