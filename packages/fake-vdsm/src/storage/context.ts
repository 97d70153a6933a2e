/**
 * What every storage verb and job handler works with: the state directory
 * and its SQLite model, the task manager and resource locks, the one clock,
 * and which host is serving the call. One `StorageContext` exists per fake
 * host (they share the store, tasks and locks; `hostId` differs), so the same
 * handler answers as the SPM on one port and as a plain HSM on another.
 */
import type { Clock } from '@vdsm-kit/client/clock';
import type { FaultEngine } from '../faults/engine.js';
import type { Logger } from '../logger.js';
import type { StateStore } from '../model/store.js';
import type { ResourceLocks } from '../tasks/resource-locks.js';
import type { TaskManager } from '../tasks/task-manager.js';
import type { HostJobs } from '../jobs/host-jobs.js';
import type { DataMeter } from './data-meter.js';

/** 100 MiB/s of volume size: the default pace of a postZero wipe on a block domain. */
export const DEFAULT_WIPE_BYTES_PER_SECOND = 100 * 1024 * 1024;

/** Everything a storage verb needs (see the module comment). */
export interface StorageContext {
  /** Absolute state directory; volume files live at `<stateDir>/<sd>/images/<img>/<vol>`. */
  readonly stateDir: string;
  readonly store: StateStore;
  readonly tasks: TaskManager;
  readonly locks: ResourceLocks;
  /** Every wait (lock timeouts, wipe pacing, copy pacing) goes through it. */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pace of a block-domain zeroing (postZero), in bytes of volume size per second. */
  readonly wipeBytesPerSecond: number;
  /** VDSM host id (1..N) of the host serving this call: decides SPM checks and pool connection. */
  readonly hostId: number;
  /** Copy with the built-in zero-skipping copier even when qemu-img is installed. */
  readonly forceBuiltinCopier?: boolean;
  /** The process's fault engine (one per fake); absent: no faults. */
  readonly faults?: FaultEngine;
  /** Counts the bytes copies and wipes move (the fake's metrics); absent: not counted. */
  readonly meter?: DataMeter;
  /** The process's SDM host jobs and volume leases (one object for every host; memory only). */
  readonly hostJobs?: HostJobs;
}
