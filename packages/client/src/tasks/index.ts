/**
 * SPM task watching: `TaskWatcher` polls one SPM for every watched task with
 * a single `Host.getAllTasksStatuses` per interval and resolves typed outcomes.
 */
export * from './errors.js';
export * from './task-outcome.js';
export * from './task-status.js';
export * from './task-watcher.js';
