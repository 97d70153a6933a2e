/**
 * The SPM task watcher: waits for VDSM storage tasks to end by polling the
 * SPM the way oVirt's engine does (engine-move.md §2.3): ONE
 * `Host.getAllTasksStatuses` per interval for every watched task, never one
 * call per task. It improves on the engine where §6 says to: a task missing
 * from the list is not failed at once, but only after several consecutive
 * misses confirmed by `Task.getStatus` answering 401.
 */
import { setMaxListeners } from 'node:events';
import { TaskState } from '../api/enums.js';
import { UnknownTaskError } from '../api/errors.js';
import { isTaskId } from '../api/types.js';
import type { TaskStatus } from '../api/types.js';
import type { ParamsOf, VdsmMethod } from '../api/verbs/index.js';
import { systemClock } from '../clock.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { CallOptions, RpcCaller } from '../rpc/caller.js';
import { InvalidTaskIdError, TaskStatusInvalidError, TaskWaitTimeoutError, TaskWatcherClosedError } from './errors.js';
import { finishedOutcome } from './task-outcome.js';
import type { TaskFailure, TaskOutcome, TaskSuccess } from './task-outcome.js';
import { parseTaskStatus } from './task-status.js';

/**
 * Default poll interval. The engine polls every 10 s (`AsyncTaskPollingRate`)
 * because one engine polls every pool of a data center; a watcher serves one
 * SPM connection, and its call costs the same whatever the number of watched
 * tasks (VDSM walks its in-memory task table). 5 s halves the time to notice
 * an end (a file-domain `Image.delete` ends well under a second) for 12 cheap
 * calls a minute, and keeps the wait for a confirmed-missing task (3 misses)
 * at 15 s rather than 30 s.
 */
export const DEFAULT_TASK_POLL_INTERVAL_MS = 5_000;

/** Consecutive polls a task may be missing before `Task.getStatus` is asked. */
export const DEFAULT_MISSING_POLLS_BEFORE_UNKNOWN = 3;

export interface TaskWatcherOptions {
  /** The connection to the pool's SPM host (the only host that lists SPM tasks). */
  readonly caller: RpcCaller;
  /** Time source for the poll timer and wait timeouts (tests pass a `ManualClock`). */
  readonly clock?: Clock;
  /** Delay between the end of one poll and the start of the next (default 5 s). */
  readonly intervalMs?: number;
  /** Consecutive polls a task may be missing or garbled before it is checked with `Task.getStatus` (default 3). */
  readonly missingPollsBeforeUnknown?: number;
  /** Per-call timeout for the watcher's own calls (default: the caller's). */
  readonly callTimeoutMs?: number;
}

export interface TaskWaitOptions {
  /** Stops this wait (rejects with the signal's reason); the task itself goes on. */
  readonly signal?: AbortSignal;
  /** Rejects with `TaskWaitTimeoutError` after this long on the watcher's clock. */
  readonly timeoutMs?: number;
  /**
   * `Task.clear` the task once it finished, before resolving. 401 on clear
   * counts as already cleared (as the engine does); 410 and other errors are
   * retried on the next tick. Use it only when nothing needs the task on the
   * SPM any more: a cleared task is forgotten by VDSM, also after a restart.
   */
  readonly clear?: boolean;
}

/** The verbs the watcher calls (checked against the API's verb table). */
export type TaskWatcherMethod = Extract<VdsmMethod, 'Host.getAllTasksStatuses' | 'Task.getStatus' | 'Task.clear'>;

/** Which call a poll error came from. */
export interface TaskPollErrorInfo {
  readonly method: TaskWatcherMethod;
  /** The task concerned; absent for a failure of the whole status list. */
  readonly taskId?: string;
}

export type TaskPollErrorListener = (error: unknown, info: TaskPollErrorInfo) => void;

/** One pending `wait()`. */
interface Waiter {
  readonly clear: boolean;
  readonly resolve: (outcome: TaskOutcome) => void;
  readonly reject: (reason: unknown) => void;
  /** Drops this waiter's timer and abort listener. */
  readonly detach: () => void;
}

/** One watched task id, shared by every `wait()` on it. */
interface Entry {
  readonly taskId: string;
  readonly waiters: Set<Waiter>;
  /** Consecutive polls the task was missing, garbled or in state `unknown`. */
  misses: number;
  /** The last status with a meaningful state (not `unknown`). */
  lastStatus?: TaskStatus;
  /** Set when the task finished and a `clear: true` waiter still waits for `Task.clear`. */
  finished?: TaskSuccess | TaskFailure;
}

/**
 * Watches SPM tasks on one SPM connection.
 *
 * Polling runs only while some task is watched: when the last wait ends the
 * timer is dropped, so an idle watcher costs nothing and holds no process
 * open. Ticks never overlap: the next one is scheduled `intervalMs` after the
 * previous one ended (as the engine's `scheduleWithFixedDelay`), so a slow SPM
 * slows polling down instead of stacking calls. A wait joining while idle is
 * first polled one interval later: a task id just returned by a verb is
 * `running` anyway.
 *
 * Each tick makes one `Host.getAllTasksStatuses` for all tasks still running,
 * then, only where needed, one `Task.getStatus` per task that has been missing
 * for `missingPollsBeforeUnknown` polls and one `Task.clear` per finished task
 * a `clear: true` wait is waiting on.
 */
export class TaskWatcher {
  readonly #caller: RpcCaller;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #missLimit: number;
  readonly #callOptions: CallOptions;
  /** Aborted by `close()`, which fails the watcher's in-flight call. */
  readonly #closing = new AbortController();
  readonly #entries = new Map<string, Entry>();
  readonly #pollErrorListeners = new Set<TaskPollErrorListener>();
  #timer: TimerHandle | undefined;
  #ticking = false;
  #closed = false;

  constructor(options: TaskWatcherOptions) {
    const { intervalMs = DEFAULT_TASK_POLL_INTERVAL_MS, missingPollsBeforeUnknown = DEFAULT_MISSING_POLLS_BEFORE_UNKNOWN } = options;
    if (!(Number.isFinite(intervalMs) && intervalMs > 0)) throw new RangeError(`intervalMs must be a positive number, got ${intervalMs}`);
    if (!(Number.isSafeInteger(missingPollsBeforeUnknown) && missingPollsBeforeUnknown >= 1)) {
      throw new RangeError(`missingPollsBeforeUnknown must be an integer >= 1, got ${missingPollsBeforeUnknown}`);
    }
    if (options.callTimeoutMs !== undefined && !(Number.isFinite(options.callTimeoutMs) && options.callTimeoutMs > 0)) {
      throw new RangeError(`callTimeoutMs must be a positive number, got ${options.callTimeoutMs}`);
    }
    this.#caller = options.caller;
    this.#clock = options.clock ?? systemClock;
    this.#intervalMs = intervalMs;
    this.#missLimit = missingPollsBeforeUnknown;
    // Every call in flight listens on this one signal; a tick confirming many
    // missing tasks at once is not a listener leak.
    setMaxListeners(0, this.#closing.signal);
    this.#callOptions = {
      signal: this.#closing.signal,
      ...(options.callTimeoutMs === undefined ? {} : { timeoutMs: options.callTimeoutMs }),
    };
  }

  /** How many task ids are being watched (several waits on one id count once). */
  get watching(): number {
    return this.#entries.size;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `listener` for every failed poll: a failure of the whole
   * `Host.getAllTasksStatuses` (654 Not SPM, 5022 network, 99 recovering, a
   * garbled answer), a garbled entry, or a failed `Task.getStatus` /
   * `Task.clear`. None of these fails a wait; the next tick retries, as the
   * engine skips a pool that did not answer. Returns an unsubscribe function.
   */
  onPollError(listener: TaskPollErrorListener): () => void {
    this.#pollErrorListeners.add(listener);
    return () => this.#pollErrorListeners.delete(listener);
  }

  /**
   * Resolves when the task ends: `success` only for `finished` + `success` +
   * code 0; `failure` for any other finished task; `unknown` when the SPM lost
   * it (missing for `missingPollsBeforeUnknown` polls and `Task.getStatus`
   * answered 401). Rejects only for this wait's own reasons: the signal's
   * reason on abort, `TaskWaitTimeoutError`, `TaskWatcherClosedError`, or
   * `InvalidTaskIdError` for an id that is not a UUID (VDSM's task ids are uuid4s).
   */
  wait(taskId: string, options: TaskWaitOptions = {}): Promise<TaskOutcome> {
    const { signal, timeoutMs, clear = false } = options;
    if (this.#closed) return Promise.reject(new TaskWatcherClosedError(taskId));
    if (!isTaskId(taskId)) return Promise.reject(new InvalidTaskIdError(taskId));
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
      return Promise.reject(new RangeError(`timeoutMs must be a number >= 0, got ${timeoutMs}`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);

    let entry = this.#entries.get(taskId);
    // Finished and only kept for someone's clear: a wait without clear has its answer.
    if (entry?.finished && !clear) return Promise.resolve(entry.finished);
    if (!entry) {
      entry = { taskId, waiters: new Set(), misses: 0 };
      this.#entries.set(taskId, entry);
    }
    const watched = entry;

    return new Promise<TaskOutcome>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const onAbort = (): void => {
        this.#leave(watched, waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        clear,
        resolve,
        reject,
        detach: () => {
          if (timer !== undefined) this.#clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (timeoutMs !== undefined) {
        timer = this.#clock.setTimeout(() => {
          this.#leave(watched, waiter);
          reject(new TaskWaitTimeoutError(taskId, timeoutMs, watched.lastStatus));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      watched.waiters.add(waiter);
      this.#schedule();
    });
  }

  /**
   * Stops watching: rejects every pending wait with `TaskWatcherClosedError`,
   * drops the timer and aborts the call in flight. Later waits reject at once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    this.#closing.abort(new TaskWatcherClosedError());
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) {
      for (const waiter of entry.waiters) {
        waiter.detach();
        waiter.reject(new TaskWatcherClosedError(entry.taskId));
      }
      entry.waiters.clear();
    }
  }

  /** Arms the next tick, unless one is armed or running, or nothing is watched. */
  #schedule(): void {
    if (this.#closed || this.#ticking || this.#timer !== undefined || this.#entries.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      // #tick reports every failed call itself; this catch is for a bug in it, which must not kill polling.
      this.#tick().catch((error: unknown) => this.#report(error, { method: 'Host.getAllTasksStatuses' }));
    }, this.#intervalMs);
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    this.#ticking = true;
    try {
      const polling = [...this.#entries.values()].filter((entry) => !entry.finished);
      if (polling.length > 0) await this.#poll(polling);
      // Tasks that finished in this very poll are cleared in the same tick.
      const clearing = [...this.#entries.values()].filter((entry) => entry.finished);
      await Promise.all(clearing.map((entry) => this.#clear(entry)));
    } finally {
      this.#ticking = false;
      this.#schedule();
    }
  }

  /** One `Host.getAllTasksStatuses` for every entry still waiting for its task to end. */
  async #poll(entries: readonly Entry[]): Promise<void> {
    const method = 'Host.getAllTasksStatuses' satisfies TaskWatcherMethod;
    let answer: unknown;
    try {
      answer = await this.#caller.call(method, {} satisfies ParamsOf<typeof method>, this.#callOptions);
    } catch (error) {
      // No task is updated this round (their miss counts included): the SPM did not answer.
      if (!this.#closed) this.#report(error, { method });
      return;
    }
    if (this.#closed) return;
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
      this.#report(new TaskStatusInvalidError(`expected a map of task statuses, got ${kindOf(answer)}`), { method });
      return;
    }
    const statuses = answer as Record<string, unknown>;
    const toConfirm: Entry[] = [];
    for (const entry of entries) {
      // A wait may have ended (abort, timeout) while the call was in flight.
      if (!this.#isCurrent(entry)) continue;
      const { taskId } = entry;
      if (!Object.hasOwn(statuses, taskId)) {
        entry.misses++;
      } else {
        const parsed = parseTaskStatus(taskId, statuses[taskId]);
        if (parsed.ok) {
          this.#apply(entry, parsed.status);
        } else {
          entry.misses++;
          this.#report(new TaskStatusInvalidError(parsed.reason, taskId), { method, taskId });
        }
      }
      if (this.#isCurrent(entry) && !entry.finished && entry.misses >= this.#missLimit) toConfirm.push(entry);
    }
    await Promise.all(toConfirm.map((entry) => this.#confirm(entry)));
  }

  /**
   * A task missing from the list for `missLimit` polls: ONE `Task.getStatus`
   * decides. 401 (or state `unknown`) ends it as `unknown`; a usable status is
   * taken as the poll's answer; anything else leaves it missing, to be asked
   * again on the next tick if it is still missing then.
   */
  async #confirm(entry: Entry): Promise<void> {
    const method = 'Task.getStatus' satisfies TaskWatcherMethod;
    const { taskId } = entry;
    let answer: unknown;
    try {
      answer = await this.#caller.call(method, { taskID: taskId } satisfies ParamsOf<typeof method>, this.#callOptions);
    } catch (error) {
      if (!this.#isCurrent(entry)) return;
      if (error instanceof UnknownTaskError) this.#settle(entry, { kind: 'unknown', taskId, misses: entry.misses, ...lastStatusOf(entry) });
      else this.#report(error, { method, taskId });
      return;
    }
    if (!this.#isCurrent(entry)) return;
    const parsed = parseTaskStatus(taskId, answer);
    if (!parsed.ok) {
      this.#report(new TaskStatusInvalidError(parsed.reason, taskId), { method, taskId });
      return;
    }
    if (parsed.status.taskState === TaskState.Unknown) {
      this.#settle(entry, { kind: 'unknown', taskId, misses: entry.misses, ...lastStatusOf(entry) });
      return;
    }
    this.#apply(entry, parsed.status);
  }

  /** Takes a valid status: ends the wait when finished, else resets the miss count. */
  #apply(entry: Entry, status: TaskStatus): void {
    // `unknown` is VDSM saying it does not know the task's state: a miss, not news.
    if (status.taskState === TaskState.Unknown) {
      entry.misses++;
      return;
    }
    entry.misses = 0;
    entry.lastStatus = status;
    if (status.taskState === TaskState.Finished) this.#settle(entry, finishedOutcome(status));
    // init, running, aborting, cleaning: keep waiting.
  }

  /**
   * Resolves every waiter that is not waiting for a clear. A finished task
   * with `clear: true` waiters stays watched (no longer polled) until its
   * `Task.clear` succeeds; an unknown task has nothing to clear.
   */
  #settle(entry: Entry, outcome: TaskOutcome): void {
    const needsClear = outcome.kind !== 'unknown';
    for (const waiter of entry.waiters) {
      if (needsClear && waiter.clear) continue;
      entry.waiters.delete(waiter);
      waiter.detach();
      waiter.resolve(outcome);
    }
    if (entry.waiters.size > 0 && outcome.kind !== 'unknown') entry.finished = outcome;
    else this.#drop(entry);
  }

  /** `Task.clear` for a finished entry, then resolves its clear waiters. */
  async #clear(entry: Entry): Promise<void> {
    const method = 'Task.clear' satisfies TaskWatcherMethod;
    const { taskId } = entry;
    try {
      await this.#caller.call(method, { taskID: taskId } satisfies ParamsOf<typeof method>, this.#callOptions);
    } catch (error) {
      if (!this.#isCurrent(entry)) return;
      // 401: already cleared (by us on a lost answer, or by someone else). 410 and
      // the rest: keep the entry and retry next tick, as the engine's ClearFailed.
      if (!(error instanceof UnknownTaskError)) {
        this.#report(error, { method, taskId });
        return;
      }
    }
    if (!this.#isCurrent(entry) || !entry.finished) return;
    const outcome = entry.finished;
    for (const waiter of entry.waiters) {
      waiter.detach();
      waiter.resolve(outcome);
    }
    entry.waiters.clear();
    this.#drop(entry);
  }

  /** One waiter gave up (abort, timeout); the id stops being watched when it was the last. */
  #leave(entry: Entry, waiter: Waiter): void {
    waiter.detach();
    entry.waiters.delete(waiter);
    if (entry.waiters.size === 0) this.#drop(entry);
  }

  #drop(entry: Entry): void {
    if (this.#entries.get(entry.taskId) === entry) this.#entries.delete(entry.taskId);
    // Nothing left to watch: no timer while idle (a tick in flight just does not re-arm).
    if (this.#entries.size === 0) this.#stopTimer();
  }

  /** False once the entry was dropped (its waits ended) or replaced by a new one. */
  #isCurrent(entry: Entry): boolean {
    return !this.#closed && this.#entries.get(entry.taskId) === entry;
  }

  #report(error: unknown, info: TaskPollErrorInfo): void {
    for (const listener of this.#pollErrorListeners) {
      try {
        listener(error, info);
      } catch {
        // A throwing listener must not stop the polling it is told about.
      }
    }
  }
}

/** `{ lastStatus }` when there is one, so the optional field is absent rather than undefined. */
function lastStatusOf(entry: Entry): { lastStatus?: TaskStatus } {
  return entry.lastStatus === undefined ? {} : { lastStatus: entry.lastStatus };
}

/** `null`, `an array` or the `typeof` of a value that should have been a map. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}
