/**
 * What a storage job sees and provides. A `JobHandler` is VDSM's pair of a
 * job function (`Job.cmd`) and its recovery functions (`Recovery`): `run`
 * does the work, `rollback` undoes what `run` recorded in `ctx.recovery`.
 *
 * The rule that makes crashes survivable: record what rollback must undo
 * BEFORE doing it (`ctx.recovery.set({ created: [...] })`, then create).
 * The record is written synchronously, so a process killed right after the
 * side effect still finds it, and `rollback` runs with it on the next SPM.
 */
import type { Clock } from '@vdsm-kit/client/clock';
import type { ActionKind, TaskPhase } from '../faults/rule.js';
import type { Logger } from '../logger.js';
import type { LockHandle, LockMode } from './resource-locks.js';

/** Where a phase works, for `match.domain` / `match.image` of a task fault rule. */
export interface PhaseTarget {
  /** The domain the phase writes to or deletes from. */
  readonly domain?: string;
  readonly image?: string;
}

/** The task's recovery record (VDSM's `<id>.recover.N` files), persisted on every change. */
export interface RecoveryRecord<R> {
  /** What was recorded last, or undefined when nothing is. */
  get(): R | undefined;
  /**
   * Records `value` (JSON) synchronously. Throws the job's abort reason once
   * the task manager has let go of the task (closed, or a crash simulated),
   * so the job stops before its next side effect.
   */
  set(value: R): void;
  /** Forgets the record (VDSM `clearRecoveries`): a later failure or revert has nothing to undo. */
  clear(): void;
}

/** Locks owned by the task; all are released when the task is done (VDSM `_done` -> `releaseAll`). */
export interface TaskLocks {
  /**
   * Acquires `namespace`/`name` for this task (see `ResourceLocks.acquire`).
   * The wait ends when the task is stopped. `timeoutMs` defaults to 120 s;
   * pass `Infinity` for VDSM's job-level `rm.acquireResource`, which waits forever.
   */
  acquire(namespace: string, name: string, mode: LockMode, options?: { readonly timeoutMs?: number }): Promise<LockHandle>;
}

/** What `run` and `rollback` get. */
export interface JobContext<P = unknown, R = unknown> {
  readonly taskId: string;
  /** The pool of an SPM task, null for an HSM task. */
  readonly poolId: string | null;
  /** The params given at scheduling, as read back from JSON. */
  readonly params: P;
  /**
   * Aborted by `Task.stop` (VDSM's abort callbacks) or when the manager lets
   * go of the task. `rollback` gets its own signal: a stop during rollback
   * aborts the rollback (VDSM's raborting).
   */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Reports progress 0..1; persisted, at most once a second of clock time (and at 1). */
  progress(fraction: number): void;
  /**
   * The job enters `phase` (working on `target`): where the fault engine's
   * task rules apply (faults/task-faults.ts). Resolves at once without a
   * rule; may wait (phaseDelayMs, hang) or reject with the error that ends
   * the job, which the job must let through. A no-op during rollback.
   */
  phase(phase: TaskPhase, target?: PhaseTarget): Promise<void>;
  /**
   * True when a fault rule of one of `actions` fires for this job at
   * `phase` (the firing is counted and logged): for an action the job
   * applies itself, such as the move's `failSourceDelete`. False during rollback.
   */
  faultFires(phase: TaskPhase, target: PhaseTarget, actions: readonly ActionKind[]): boolean;
  readonly recovery: RecoveryRecord<R>;
  readonly locks: TaskLocks;
}

/**
 * A kind of job (`moveImage`, `purgeImage`, ...). `P` is its params, `R`
 * its recovery record; both travel through JSON.
 */
export interface JobHandler<P = unknown, R = unknown> {
  /**
   * Does the work. Throwing a `VdsmError` fails the task with that error's
   * code when VDSM's class is a storage error (else code 100); either way
   * the task then rolls back.
   */
  run(ctx: JobContext<P, R>): Promise<void>;
  /**
   * Undoes what `ctx.recovery` says; called only when something is recorded
   * (VDSM runs the recoveries the job pushed, none when it pushed none).
   * Throwing ends the task `failed` (cleanFailure).
   */
  rollback(ctx: JobContext<P, R>): Promise<void>;
}
