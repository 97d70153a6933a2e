/** Per-pool SPM task tracking: the poller, the submission window, SPM discovery. */
export * from './errors.js';
export * from './pool-host.js';
export * from './poll-schedule.js';
export * from './submission-window.js';
export * from './pool-task-tracker.js';
export * from './status-source.js';
