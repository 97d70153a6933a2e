/**
 * Everything the orchestrator does with one storage pool's SPM tasks, in one
 * place, so that the number of calls does not grow with the number of moves:
 *
 * - one `Host.getAllTasksStatuses` per pool per interval for every task of
 *   every move, at most one in flight, brought forward after a submission
 *   (PollSchedule);
 * - the SPM found with `StoragePool.getSpmStatus` across the pool's hosts, and
 *   found again after 654 or a lost connection, with a grace period in which
 *   missing tasks are not counted (the new SPM loads its tasks late, s5 row 10);
 * - a task missing from the list ends as unknown only after several
 *   consecutive misses confirmed by `Task.getStatus` answering 401; a garbled
 *   entry is reported and retried, never read as missing (rows 10, 13);
 * - a task running past the zombie limit gets `Task.stop` and ends as a
 *   failure (rows 2, 11);
 * - the submission window (max_tasks back-pressure) and 405 as "wait";
 * - `Task.clear` with 401 as cleared and 410 retried each poll.
 *
 * It knows nothing of moves: it submits what it is given and reports how
 * tasks end.
 */
import { setMaxListeners } from 'node:events';
import {
  NotSpmError,
  TaskState,
  UnknownTaskError,
  VdsmError,
  VdsmErrorCode,
  VdsmNetworkError,
  finishedOutcome,
  parseTaskStatus,
  systemClock,
} from '@vdsm-kit/client';
import type { CallOptions, Clock, TaskStatus } from '@vdsm-kit/client';
import { NoSpmError, SubmissionUncertainError, TrackerClosedError } from './errors.js';
import { DEFAULT_FIRST_EARLY_POLL_MS, DEFAULT_POLL_INTERVAL_MS, PollSchedule } from './poll-schedule.js';
import type { PoolHost } from './pool-host.js';
import { localStatusSource } from './status-source.js';
import type { StatusRound, TaskStatusSource } from './status-source.js';
import { DEFAULT_SUBMISSION_WINDOW, SubmissionWindow } from './submission-window.js';
import { SoonestTimer } from './soonest-timer.js';

/** The engine's AsyncTaskZombieTaskLifeInMinutes: 3000 minutes. */
export const DEFAULT_ZOMBIE_AFTER_MS = 3000 * 60_000;
export const DEFAULT_MISSES_BEFORE_UNKNOWN = 3;

export interface PoolTaskTrackerOptions {
  readonly poolId: string;
  /** Every host of the pool the orchestrator may reach; any of them may be the SPM. */
  readonly hosts: readonly PoolHost[];
  readonly clock?: Clock;
  /** Steady poll interval (default 10 s, the engine's AsyncTaskPollingRate). */
  readonly intervalMs?: number;
  /** First early poll after a submission (default 250 ms; then doubling up to the interval). */
  readonly firstEarlyPollMs?: number;
  /**
   * Early polls after a submission only while the pool has at most this many
   * tasks of ours in flight (default 10, the tasks VDSM runs at once). Early
   * polls buy latency for a few moves; a busy pool sees tasks end on every
   * steady poll anyway, and would otherwise be polled several times per
   * interval by a stream of submissions.
   */
  readonly earlyPollsUpToTasks?: number;
  /** Consecutive misses before `Task.getStatus` is asked (default 3). */
  readonly missesBeforeUnknown?: number;
  /** After the SPM changed, misses are not counted for this long (default 3 intervals). */
  readonly spmChangeGraceMs?: number;
  /** A task still running this long after it was first watched is a zombie (default 50 h). */
  readonly zombieAfterMs?: number;
  /** After `Task.stop` of a zombie, how long to wait for it to end before giving up (default 3 intervals). */
  readonly zombieStopGraceMs?: number;
  /** Our tasks on the SPM at once (default 250). */
  readonly submissionWindow?: number;
  /** Wait after a 405 before submitting again, unless a task ends first (default: the interval). */
  readonly busyRetryMs?: number;
  /** Timeout of each of the tracker's calls (default: the caller's). */
  readonly callTimeoutMs?: number;
  /**
   * Where each round of statuses comes from (default: this tracker polls the
   * SPM itself). Several instances on one pool share one poller's rounds.
   */
  readonly statusSource?: TaskStatusSource;
  readonly onEvent?: (event: TrackerEvent) => void;
}

/** How a watched task ended. */
export type TrackedEnd =
  | { readonly kind: 'success'; readonly taskId: string; readonly status: TaskStatus }
  | {
      readonly kind: 'failure';
      readonly taskId: string;
      readonly status: TaskStatus;
      readonly code: number;
      readonly message: string;
    }
  /** The SPM no longer knows it (confirmed by Task.getStatus 401). */
  | { readonly kind: 'unknown'; readonly taskId: string; readonly misses: number; readonly lastStatus?: TaskStatus }
  /** Ran past the zombie limit; Task.stop was sent and it still did not end. */
  | { readonly kind: 'zombie'; readonly taskId: string; readonly runningForMs: number; readonly lastStatus?: TaskStatus };

export type TrackerEvent =
  | { readonly type: 'poll'; readonly at: number; readonly spm: string; readonly tasks: number; readonly durationMs: number }
  | { readonly type: 'poll-error'; readonly at: number; readonly error: unknown }
  | { readonly type: 'malformed'; readonly at: number; readonly taskId: string; readonly reason: string }
  | { readonly type: 'spm'; readonly at: number; readonly spm: string; readonly previous: string | undefined }
  | { readonly type: 'zombie'; readonly at: number; readonly taskId: string; readonly runningForMs: number }
  | { readonly type: 'busy'; readonly at: number; readonly label: string }
  | { readonly type: 'clear-error'; readonly at: number; readonly taskId: string; readonly error: unknown };

interface Watched {
  readonly taskId: string;
  readonly since: number;
  readonly ends: ((end: TrackedEnd) => void)[];
  misses: number;
  lastStatus?: TaskStatus;
  stopSentAt?: number;
  /** Holds a window slot, released when the task ends. */
  slotted: boolean;
}

interface PendingClear {
  readonly taskId: string;
  readonly done: { resolve: () => void; reject: (error: unknown) => void; check?: () => void }[];
}

export class PoolTaskTracker {
  readonly poolId: string;
  readonly #hosts: readonly PoolHost[];
  readonly #clock: Clock;
  readonly #schedule: PollSchedule;
  readonly #window: SubmissionWindow;
  readonly #missLimit: number;
  readonly #earlyPollsUpTo: number;
  readonly #graceMs: number;
  readonly #zombieAfterMs: number;
  readonly #zombieStopGraceMs: number;
  readonly #busyRetryMs: number;
  readonly #onEvent: (event: TrackerEvent) => void;
  readonly #source: TaskStatusSource;
  readonly #callOptions: CallOptions;
  readonly #closing = new AbortController();
  readonly #watched = new Map<string, Watched>();
  readonly #clears = new Map<string, PendingClear>();
  /** Submissions waiting after a 405 for a task to end (or their retry timer). */
  readonly #busyWaiters = new Set<() => void>();
  #spm: PoolHost | undefined;
  #locating: Promise<PoolHost> | undefined;
  #lastSpmName: string | undefined;
  /** The SPM the last round came from (another instance's poll may name a new SPM first). */
  #lastRoundSpm: string | undefined;
  #lastRoundAt = -Infinity;
  #graceUntil = -Infinity;
  readonly #timer: SoonestTimer;
  #ticking = false;
  #closed = false;
  #polls = 0;

  constructor(options: PoolTaskTrackerOptions) {
    if (options.hosts.length === 0) throw new RangeError(`pool ${options.poolId} needs at least one host`);
    this.poolId = options.poolId;
    this.#hosts = options.hosts;
    this.#clock = options.clock ?? systemClock;
    this.#timer = new SoonestTimer(this.#clock, () => void this.#tick());
    const interval = options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#schedule = new PollSchedule(interval, options.firstEarlyPollMs ?? DEFAULT_FIRST_EARLY_POLL_MS);
    this.#window = new SubmissionWindow(options.submissionWindow ?? DEFAULT_SUBMISSION_WINDOW);
    this.#missLimit = options.missesBeforeUnknown ?? DEFAULT_MISSES_BEFORE_UNKNOWN;
    this.#earlyPollsUpTo = options.earlyPollsUpToTasks ?? 10;
    this.#graceMs = options.spmChangeGraceMs ?? 3 * interval;
    this.#zombieAfterMs = options.zombieAfterMs ?? DEFAULT_ZOMBIE_AFTER_MS;
    this.#zombieStopGraceMs = options.zombieStopGraceMs ?? 3 * interval;
    this.#busyRetryMs = options.busyRetryMs ?? interval;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#source = options.statusSource ?? localStatusSource;
    setMaxListeners(0, this.#closing.signal);
    this.#callOptions = {
      signal: this.#closing.signal,
      ...(options.callTimeoutMs === undefined ? {} : { timeoutMs: options.callTimeoutMs }),
    };
  }

  /** Status polls made so far. */
  get polls(): number {
    return this.#polls;
  }

  /** Tasks being watched. */
  get watching(): number {
    return this.#watched.size;
  }

  /** Window slots held and submissions waiting for one. */
  get window(): { readonly size: number; readonly used: number; readonly waiting: number } {
    return { size: this.#window.size, used: this.#window.used, waiting: this.#window.waiting };
  }

  /** The pool's SPM, found (and remembered) if not known. */
  spm(): Promise<PoolHost> {
    if (this.#closed) return Promise.reject(new TrackerClosedError());
    if (this.#spm) return Promise.resolve(this.#spm);
    this.#locating ??= this.#locate().finally(() => {
      this.#locating = undefined;
    });
    return this.#locating;
  }

  /**
   * Takes a round soon: now (a shared status was published), or no sooner
   * than `sinceLastRoundMs` after the last round (this instance just became
   * the pool's poller: one poll per interval holds across the handover). A
   * round already under way is not doubled.
   */
  kick(sinceLastRoundMs = 0): void {
    this.#pollSoon(Math.max(0, this.#lastRoundAt + sinceLastRoundMs - this.#clock.now()));
  }

  /**
   * Another instance submitted a task of this pool, and this one polls for
   * it (the pool's poller): the early polls start again as they do after a
   * submission here, unless the pool has more tasks in flight than early
   * polls are worth. Without it a follower's quick task (a delete without
   * wipe) would wait for the poller's next steady poll.
   */
  submittedElsewhere(tasksInFlight: number): void {
    if (tasksInFlight <= this.#earlyPollsUpTo) this.#pollSoon(this.#schedule.submitted());
  }

  /** The steady poll interval. */
  get intervalMs(): number {
    return this.#schedule.intervalMs;
  }

  /** Forget the SPM: the next call looks for it again (after 654, a lost connection). */
  forgetSpm(): void {
    this.#spm = undefined;
  }

  /**
   * Submits a task-starting verb on the SPM once a window slot is free, and
   * starts watching it: `watch(taskId)` then reports its end.
   * - 405 (the SPM's task table is full): waits for one of our tasks to end, or
   *   `busyRetryMs`, and tries again;
   * - 654 (not SPM): the verb did not run; finds the SPM and tries again;
   * - no answer: SubmissionUncertainError (the task may exist);
   * - any other VDSM error: rejects with it (the verb did not start a task).
   */
  async submit(label: string, send: (spm: PoolHost, options: CallOptions) => Promise<string>): Promise<string> {
    await this.#window.acquire();
    let slotKept = false;
    try {
      for (;;) {
        if (this.#closed) throw new TrackerClosedError();
        const spm = await this.spm();
        try {
          const taskId = await send(spm, this.#callOptions);
          this.#watch(taskId, true);
          slotKept = true;
          if (this.#watched.size <= this.#earlyPollsUpTo) this.#pollSoon(this.#schedule.submitted());
          return taskId;
        } catch (error) {
          if (error instanceof NotSpmError) {
            this.#spmLost();
            continue;
          }
          if (error instanceof VdsmNetworkError) {
            this.#spmLost();
            throw new SubmissionUncertainError(label, error);
          }
          if (error instanceof VdsmError && error.code === VdsmErrorCode.AddTaskError) {
            this.#onEvent({ type: 'busy', at: this.#clock.now(), label });
            await this.#waitForRoom();
            continue;
          }
          throw error;
        }
      }
    } finally {
      if (!slotKept) this.#window.release();
    }
  }

  /**
   * Follows a task already on the SPM (found again after a restart or a lost
   * submission). It takes a window slot at once: it is on the SPM already.
   */
  adopt(taskId: string): void {
    if (this.#watched.has(taskId)) return;
    this.#window.hold();
    this.#watch(taskId, true);
    this.#pollSoon(this.#schedule.intervalMs);
  }

  /** Resolves with how the task ends; a task not submitted or adopted here is watched from now on. */
  watch(taskId: string): Promise<TrackedEnd> {
    if (this.#closed) return Promise.reject(new TrackerClosedError());
    const watched = this.#watch(taskId, false);
    return new Promise((resolve) => watched.ends.push(resolve));
  }

  /** `{taskId: verb}` of every task on the SPM (Host.getAllTasksInfo). */
  async spmTasks(): Promise<Record<string, string>> {
    const spm = await this.spm();
    try {
      const info = await spm.api.Host.getAllTasksInfo(undefined, this.#callOptions);
      return Object.fromEntries(Object.entries(info).map(([id, entry]) => [id, entry.verb]));
    } catch (error) {
      if (error instanceof NotSpmError || error instanceof VdsmNetworkError) this.#spmLost();
      throw error;
    }
  }

  /** `Task.stop`; a task the SPM no longer knows (401) is as good as stopped. */
  async stop(taskId: string): Promise<void> {
    const spm = await this.spm();
    try {
      await spm.api.Task.stop({ taskID: taskId }, this.#callOptions);
    } catch (error) {
      if (error instanceof UnknownTaskError) return;
      if (error instanceof NotSpmError || error instanceof VdsmNetworkError) this.#spmLost();
      throw error;
    }
  }

  /**
   * `Task.clear`, resolved once VDSM forgot the task: 401 counts as cleared
   * (it already was); 410 (not done yet) and other errors are retried on each
   * poll, so a clear never blocks the caller's other work. `check` runs before
   * every attempt: when it throws (a worker lost the task's move) the caller
   * drops out with that error, and no clear is sent for it any more.
   */
  clear(taskId: string, options: { readonly check?: () => void } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new TrackerClosedError());
    return new Promise((resolve, reject) => {
      const pending = this.#clears.get(taskId) ?? { taskId, done: [] };
      pending.done.push({ resolve, reject, ...(options.check ? { check: options.check } : {}) });
      if (!this.#clears.has(taskId)) {
        this.#clears.set(taskId, pending);
        void this.#tryClear(pending);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new TrackerClosedError());
    this.#timer.cancel();
    this.#window.close();
    for (const wake of this.#busyWaiters) wake();
    this.#watched.clear();
    this.#clears.clear();
  }

  #watch(taskId: string, slotted: boolean): Watched {
    let watched = this.#watched.get(taskId);
    if (!watched) {
      watched = { taskId, since: this.#clock.now(), ends: [], misses: 0, slotted };
      this.#watched.set(taskId, watched);
      this.#pollSoon(this.#schedule.intervalMs);
    } else if (slotted && !watched.slotted) {
      watched.slotted = true;
    }
    return watched;
  }

  #end(watched: Watched, end: TrackedEnd): void {
    if (this.#watched.get(watched.taskId) !== watched) return;
    this.#watched.delete(watched.taskId);
    if (watched.slotted) this.#window.release();
    for (const wake of [...this.#busyWaiters]) wake();
    for (const resolve of watched.ends) resolve(end);
  }

  #waitForRoom(): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#busyWaiters.delete(wake);
        this.#clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.#clock.setTimeout(wake, this.#busyRetryMs);
      this.#busyWaiters.add(wake);
    });
  }

  /** Asks every host for its SPM role at once; the one that holds the SPM lease wins. */
  async #locate(): Promise<PoolHost> {
    const answers = await Promise.allSettled(
      this.#hosts.map(async (host) => ({ host, status: await host.api.StoragePool.getSpmStatus({ storagepoolID: this.poolId }, this.#callOptions) })),
    );
    if (this.#closed) throw new TrackerClosedError();
    const spms = answers
      .flatMap((answer) => (answer.status === 'fulfilled' && answer.value.status.spmStatus === 'SPM' ? [answer.value] : []))
      .sort((a, b) => b.status.spmLver - a.status.spmLver);
    const found = spms[0];
    if (!found) {
      const detail = answers
        .map((answer, index) =>
          `${this.#hosts[index]!.name}: ${answer.status === 'fulfilled' ? answer.value.status.spmStatus : (answer.reason as Error).message}`,
        )
        .join('; ');
      throw new NoSpmError(this.poolId, detail);
    }
    this.#spm = found.host;
    if (this.#lastSpmName !== undefined && this.#lastSpmName !== found.host.name) {
      // A new SPM loads its tasks from the master domain a while after it starts:
      // a task missing now is not evidence yet.
      this.#graceUntil = this.#clock.now() + this.#graceMs;
      for (const watched of this.#watched.values()) watched.misses = 0;
    }
    if (this.#lastSpmName !== found.host.name) {
      this.#onEvent({ type: 'spm', at: this.#clock.now(), spm: found.host.name, previous: this.#lastSpmName });
    }
    this.#lastSpmName = found.host.name;
    return found.host;
  }

  #spmLost(): void {
    this.#spm = undefined;
    this.#graceUntil = this.#clock.now() + this.#graceMs;
  }

  /** Schedules the next poll in `delayMs` unless one is already due sooner. */
  #pollSoon(delayMs: number): void {
    if (this.#closed || (this.#watched.size === 0 && this.#clears.size === 0 && !this.#source.keepPolling?.())) return;
    this.#timer.schedule(delayMs);
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      if (this.#watched.size > 0 || this.#source.keepPolling?.()) await this.#poll();
      for (const pending of [...this.#clears.values()]) await this.#tryClear(pending);
    } finally {
      this.#ticking = false;
      this.#pollSoon(this.#schedule.afterPoll(this.#watched.size > this.#earlyPollsUpTo));
    }
  }

  /** The tracker's own `Host.getAllTasksStatuses` (the status source decides whether it is made). */
  readonly #pollSpm = async (): Promise<{ spm: PoolHost; statuses: Record<string, unknown>; durationMs: number; polledAt: number }> => {
    const started = this.#clock.now();
    const spm = await this.spm();
    try {
      const statuses = (await spm.caller.call('Host.getAllTasksStatuses', {}, this.#callOptions)) as Record<string, unknown>;
      this.#polls += 1;
      // A poll counts as a round for kick() even if what follows it fails (a shared status not published).
      this.#lastRoundAt = this.#clock.now();
      return { spm, statuses, durationMs: this.#clock.now() - started, polledAt: started };
    } catch (error) {
      if (error instanceof NotSpmError || error instanceof VdsmNetworkError) this.#spmLost();
      throw error;
    }
  };

  async #poll(): Promise<void> {
    let round: StatusRound | undefined;
    try {
      round = await this.#source.next(this.#pollSpm);
    } catch (error) {
      if (this.#closed) return;
      this.#onEvent({ type: 'poll-error', at: this.#clock.now(), error });
      return;
    }
    if (this.#closed || round === undefined) return;
    const now = this.#clock.now();
    this.#lastRoundAt = now;
    if (round.polledHere) this.#onEvent({ type: 'poll', at: now, spm: round.spm, tasks: this.#watched.size, durationMs: round.durationMs });
    if (this.#lastRoundSpm !== undefined && this.#lastRoundSpm !== round.spm) {
      // Another SPM answered this round (maybe another instance's poll found it first): its tasks load late.
      this.#graceUntil = Math.max(this.#graceUntil, now + this.#graceMs);
      for (const watched of this.#watched.values()) watched.misses = 0;
    }
    this.#lastRoundSpm = round.spm;
    const statuses = round.statuses;
    const inGrace = now < this.#graceUntil;
    const toConfirm: Watched[] = [];
    for (const watched of [...this.#watched.values()]) {
      const raw = typeof statuses === 'object' && statuses !== null ? statuses[watched.taskId] : undefined;
      if (raw === undefined) {
        // A round polled before this task was watched (another instance's poll) says nothing of it.
        if (!inGrace && round.polledAt >= watched.since) watched.misses += 1;
        if (watched.misses >= this.#missLimit) toConfirm.push(watched);
        continue;
      }
      const parsed = parseTaskStatus(watched.taskId, raw);
      if (!parsed.ok) {
        // Row 13: the engine drops such an entry and then fails the task as
        // unknown. It is there, just garbled: report it and look again next poll.
        this.#onEvent({ type: 'malformed', at: now, taskId: watched.taskId, reason: parsed.reason });
        continue;
      }
      this.#observe(watched, parsed.status, now);
    }
    if (toConfirm.length === 0) return;
    let spm: PoolHost;
    try {
      spm = await this.spm();
    } catch (error) {
      this.#onEvent({ type: 'poll-error', at: this.#clock.now(), error });
      return;
    }
    for (const watched of toConfirm) await this.#confirmMissing(spm, watched);
  }

  #observe(watched: Watched, status: TaskStatus, now: number): void {
    watched.misses = 0;
    if (status.taskState === TaskState.Unknown) {
      watched.misses = this.#missLimit; // VDSM itself says unknown: confirm on this poll's heels
      return;
    }
    watched.lastStatus = status;
    if (status.taskState === TaskState.Finished) {
      const outcome = finishedOutcome(status);
      this.#end(
        watched,
        outcome.kind === 'success'
          ? { kind: 'success', taskId: watched.taskId, status }
          : { kind: 'failure', taskId: watched.taskId, status, code: outcome.code, message: outcome.message },
      );
      return;
    }
    const runningFor = now - watched.since;
    if (watched.stopSentAt === undefined && runningFor >= this.#zombieAfterMs) {
      watched.stopSentAt = now;
      this.#onEvent({ type: 'zombie', at: now, taskId: watched.taskId, runningForMs: runningFor });
      this.stop(watched.taskId).catch((error: unknown) => this.#onEvent({ type: 'poll-error', at: this.#clock.now(), error }));
    } else if (watched.stopSentAt !== undefined && now - watched.stopSentAt >= this.#zombieStopGraceMs) {
      this.#end(watched, { kind: 'zombie', taskId: watched.taskId, runningForMs: runningFor, lastStatus: status });
    }
  }

  async #confirmMissing(spm: PoolHost, watched: Watched): Promise<void> {
    try {
      const raw = await spm.caller.call('Task.getStatus', { taskID: watched.taskId }, this.#callOptions);
      const parsed = parseTaskStatus(watched.taskId, raw);
      if (parsed.ok && parsed.status.taskState !== TaskState.Unknown) {
        this.#observe(watched, parsed.status, this.#clock.now());
        return;
      }
      if (!parsed.ok) return; // garbled again: keep looking
    } catch (error) {
      if (!(error instanceof UnknownTaskError)) {
        if (error instanceof NotSpmError || error instanceof VdsmNetworkError) this.#spmLost();
        this.#onEvent({ type: 'poll-error', at: this.#clock.now(), error });
        return;
      }
    }
    this.#end(watched, {
      kind: 'unknown',
      taskId: watched.taskId,
      misses: watched.misses,
      ...(watched.lastStatus ? { lastStatus: watched.lastStatus } : {}),
    });
  }

  async #tryClear(pending: PendingClear): Promise<void> {
    for (const waiter of [...pending.done]) {
      try {
        waiter.check?.();
      } catch (error) {
        pending.done.splice(pending.done.indexOf(waiter), 1);
        waiter.reject(error);
      }
    }
    if (pending.done.length === 0) {
      this.#clears.delete(pending.taskId);
      return;
    }
    try {
      const spm = await this.spm();
      try {
        await spm.api.Task.clear({ taskID: pending.taskId }, this.#callOptions);
      } catch (error) {
        if (!(error instanceof UnknownTaskError)) throw error;
      }
      this.#clears.delete(pending.taskId);
      for (const waiter of pending.done) waiter.resolve();
    } catch (error) {
      if (this.#closed) return;
      if (error instanceof NotSpmError || error instanceof VdsmNetworkError) this.#spmLost();
      this.#onEvent({ type: 'clear-error', at: this.#clock.now(), taskId: pending.taskId, error });
      this.#pollSoon(this.#schedule.intervalMs);
    }
  }
}
