/**
 * VDSM's storage task manager for the fake (lib/vdsm/storage/task.py,
 * taskManager.py; vdsm-wire.md §7). A verb schedules a job; the task walks
 * VDSM's internal states and reports them through `TASK_STATE_ON_WIRE`:
 *
 * ```
 * queued -> running -> finished                                  success
 *              |
 *              +-> aborting -> racquiring -> recovering -> recovered   cleanSuccess
 *                     (job error or Task.stop)          \-> raborting -> failed   cleanFailure
 * finished --Task.revert--> racquiring -> recovering -> recovered
 * ```
 *
 * Every state change and its result are written to the `tasks` row in one
 * synchronous transaction before anything asynchronous continues, so the
 * database is always what a new SPM would load (the fake's `<master>/tasks`
 * directory). Reads come from the database, so every host of the process
 * sees the same tasks. Jobs run at most `threadPoolSize` at a time per host
 * (each VDSM has its own `[irs] thread_pool_size = 10` workers; a task
 * counts for the host that scheduled it), the rest wait in `queued`, so one
 * host's queue never holds up another's.
 *
 * `sdm` tasks carry SDM host jobs (jobs/): VDSM's `scheduleJob("sdm", None,
 * ...)`, tag `sdm`, no pool, listed only by `Host.getAllTasks`, and gone by
 * themselves once done (clean policy auto) or with the process.
 *
 * Fault injection (issue 4): a job entering a phase (`ctx.phase`) meets the
 * fault engine's task rules, and its progress their `failAt`
 * (faults/task-faults.ts, faults/process-faults.ts).
 */
import { randomUUID } from 'node:crypto';
import type { StateDatabase } from '../model/db.js';
import { TASK_STATE_ON_WIRE, TaskTag } from '@vdsm-kit/client/api';
import type { TaskDetails, TaskInfo, TaskInternalState, TaskStatus, VdsmError } from '@vdsm-kit/client/api';
import { sleep } from '@vdsm-kit/client/clock';
import type { Clock } from '@vdsm-kit/client/clock';
import type { FaultEngine } from '../faults/engine.js';
import { crashHost, crashProcess } from '../faults/process-faults.js';
import type { CrashOptions } from '../faults/process-faults.js';
import type { ActionKind, TaskPhase } from '../faults/rule.js';
import { currentOperation, inOperation } from '../faults/operation.js';
import { DEFAULT_FINISH_ERROR, faultError, moveSpmRole, phasePoint, TASK_PHASE_ACTIONS, untilAborted } from '../faults/task-faults.js';
import type { PhaseTask } from '../faults/task-faults.js';
import { StateStore } from '../model/store.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import type { JobContext, JobHandler, PhaseTarget } from './job-handler.js';
import { ResourceLocks } from './resource-locks.js';
import {
  alreadyAbortingError,
  cannotCleanError,
  invalidTaskIdError,
  notFinishedError,
  taskIdInUseError,
  taskQueueFullError,
  unknownTaskError,
} from './task-errors.js';
import { TaskRepo } from './task-repo.js';
import type { TaskRow } from './task-repo.js';
import { INITIAL_RESULT, jobErrorResult, RUNNING_RESULT, stoppedResult, SUCCESS_RESULT } from './task-results.js';
import type { TaskResultFields } from './task-results.js';
import { assertTransition, canAbort, isDone, isRecovering } from './task-states.js';

/** VDSM's `[irs] thread_pool_size`: jobs running at once. */
export const DEFAULT_THREAD_POOL_SIZE = 10;

/**
 * VDSM's `[irs] max_tasks`: tasks waiting for a worker (its thread pool's
 * `Queue(maxTasks)`); running ones do not count. Where VDSM's
 * `ThreadPool.queueTask` would block the verb on the full queue (`put`
 * waits), the fake refuses at once with the 405 `AddTaskError()` that
 * `_queueTask` raises when queueing fails: a clear back-pressure signal
 * instead of a call that hangs until a worker frees up.
 */
export const DEFAULT_MAX_TASKS = 500;

/** Minimum clock time between two progress writes of one task. */
export const PROGRESS_WRITE_INTERVAL_MS = 1000;

/** What the task manager needs. */
export interface TaskManagerOptions {
  readonly db: StateDatabase;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Shared lock table; by default the manager makes (and on close, closes) its own. */
  readonly locks?: ResourceLocks;
  readonly threadPoolSize?: number;
  /** Tasks that may wait for a worker; one more is refused with 405 (default `DEFAULT_MAX_TASKS`). */
  readonly maxTasks?: number;
  /** The process's fault engine: jobs entering a phase meet its task rules (faults/task-faults.ts). */
  readonly faults?: FaultEngine;
  /** What a `crash` fault does (faults/process-faults.ts; default: emulate in-process). */
  readonly crash?: CrashOptions;
}

/** Options of `scheduleSpmTask` / `scheduleHsmTask`. */
export interface ScheduleOptions {
  /**
   * Use this id (a verb that took its locks in "prepare" under it, as VDSM's
   * verbs lock for the task they run in). Default: a new UUID.
   */
  readonly taskId?: string;
  /** The host scheduling the task (the SPM it runs on), matched by a task fault rule's `match.host`. */
  readonly hostId?: number;
  /** The JSON-RPC method whose task this is (`Image.move`), matched by a task fault rule's `match.method`. */
  readonly method?: string;
}

/** How a rollback came about; only changes the log. */
type RollbackCause = 'failure' | 'stop' | 'revert' | 'recover';

/** A task this manager is working on (VDSM's in-memory `Task`). */
interface LiveTask {
  readonly id: string;
  readonly poolId: string | null;
  readonly tag: string;
  /** Job kind and task verb, for fault points. */
  readonly kind: string;
  readonly verb: string;
  readonly handler: JobHandler;
  readonly params: unknown;
  readonly logger: Logger;
  phase: 'queued' | 'running' | 'recovering';
  /** VDSM's `_aborting`: `Task.stop` was called and no state change followed yet. */
  abortRequested: boolean;
  /** Let go of, as by a crash: nothing it does is written any more. */
  detached: boolean;
  readonly jobAbort: AbortController;
  rollbackAbort?: AbortController;
  /** The job or rollback in flight, settled when it is over. */
  work?: Promise<void>;
  /** Progress not yet written, and when the last write happened (clock time). */
  pendingProgress?: number;
  progressWrittenAt: number;
  /** An armed `failAt` fault: the job fails with `error` once its progress reaches `fraction`. */
  failAt?: { readonly fraction: number; readonly error: VdsmError };
  /** The error a task fault failed the job with; it replaces whatever the job threw. */
  faultError?: VdsmError;
  /** A `finish: cleanFailure` fault: the rollback is made to fail. */
  failRollback?: boolean;
  /** The call that scheduled it, for fault points (absent for a task adopted by recovery, which enters no phase). */
  call?: { readonly method?: string; readonly params?: Readonly<Record<string, unknown>>; readonly host?: number };
}

/**
 * VDSM's task manager (see the module comment). One per process and state
 * database, shared by the fake's hosts: constructing it is the process
 * start, which drops the HSM tasks of the previous process.
 */
export class TaskManager {
  readonly #repo: TaskRepo;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #locks: ResourceLocks;
  readonly #ownsLocks: boolean;
  readonly #threadPoolSize: number;
  readonly #maxTasks: number;
  readonly #faults: FaultEngine | undefined;
  readonly #crash: CrashOptions;
  readonly #db: StateDatabase;
  readonly #handlers = new Map<string, JobHandler>();
  readonly #live = new Map<string, LiveTask>();
  /** Tasks waiting for a worker, oldest first. */
  readonly #runQueue: LiveTask[] = [];
  /** Running tasks by the host that scheduled them (`NO_HOST` when none was named). */
  readonly #running = new Map<number, number>();
  #pump: NodeJS.Immediate | undefined;
  #closed = false;

  constructor({ db, clock, logger = silentLogger, locks, threadPoolSize = DEFAULT_THREAD_POOL_SIZE, maxTasks = DEFAULT_MAX_TASKS, faults, crash = {} }: TaskManagerOptions) {
    assertMaxTasks(maxTasks);
    this.#repo = new TaskRepo(db);
    this.#db = db;
    this.#faults = faults;
    this.#crash = crash;
    this.#clock = clock;
    this.#logger = logger.child({ component: 'tasks' });
    this.#locks = locks ?? new ResourceLocks({ db, clock, logger });
    this.#ownsLocks = locks === undefined;
    this.#threadPoolSize = threadPoolSize;
    this.#maxTasks = maxTasks;
    // HSM and SDM tasks live in VDSM's memory only and vanish with the process (§7.3).
    this.#repo.deleteTasksByTag(TaskTag.Hsm);
    this.#repo.deleteTasksByTag(TaskTag.Sdm);
  }

  /** The lock table jobs acquire through (`ctx.locks`). */
  get locks(): ResourceLocks {
    return this.#locks;
  }

  /** Registers the handler of a job kind; each kind once. */
  register<P, R>(kind: string, handler: JobHandler<P, R>): void {
    if (this.#handlers.has(kind)) throw new Error(`job kind ${kind} is already registered`);
    this.#handlers.set(kind, handler as unknown as JobHandler);
  }

  /**
   * Schedules an SPM job (VDSM `_spmSchedule`: tag `spm`, persisted with the
   * pool, recovery policy auto, clean policy manual). The row is written,
   * in state `queued` with `Task is initializing`, before the id is
   * returned; the job starts on a later turn.
   *
   * @throws VdsmError 1000 when `options.taskId` is not a valid task id
   *   (task.py `validateID`), 405 when it is taken; an Error for an
   *   unregistered kind, params that are not JSON, or a closed manager.
   */
  scheduleSpmTask(poolId: string, verb: string, kind: string, params: unknown, options: ScheduleOptions = {}): string {
    return this.#schedule(TaskTag.Spm, poolId, verb, kind, params, options);
  }

  /**
   * Schedules an HSM job (VDSM `_hsmSchedule`, e.g. `spmStart`): tag `hsm`,
   * not listed by getAllStatuses/getAllInfo, cleared even while running,
   * and gone when the process restarts.
   */
  scheduleHsmTask(verb: string, kind: string, params: unknown, options: ScheduleOptions = {}): string {
    return this.#schedule(TaskTag.Hsm, null, verb, kind, params, options);
  }

  /**
   * Schedules the task that carries an SDM host job (see the module
   * comment): it waits for one of `options.hostId`'s workers like any task
   * of that host, and its row is deleted as soon as it is done.
   */
  scheduleSdmTask(verb: string, kind: string, params: unknown, options: ScheduleOptions = {}): string {
    return this.#schedule(TaskTag.Sdm, null, verb, kind, params, options);
  }

  // ---- the task verbs ----

  /**
   * `Task.getStatus`.
   *
   * @throws VdsmError 1000 for an empty id or one with a dot, 401 for an unknown one.
   */
  getStatus(taskId: string): TaskStatus {
    return statusOf(this.#row(taskId));
  }

  /** `Host.getAllTasksStatuses` on the SPM of `poolId`: its SPM tasks by id. */
  getAllStatuses(poolId: string): Record<string, TaskStatus> {
    return Object.fromEntries(this.#spmRows(poolId).map((row) => [row.id, statusOf(row)]));
  }

  /** `Host.getAllTasksInfo` on the SPM of `poolId`: `{id, verb}` of its SPM tasks by id. */
  getAllInfo(poolId: string): Record<string, TaskInfo> {
    return Object.fromEntries(this.#spmRows(poolId).map((row) => [row.id, infoOf(row)]));
  }

  /** `Host.getAllTasks`: every task, any tag, as task.py `getDetails` words it. */
  getAllTasks(): Record<string, TaskDetails> {
    return Object.fromEntries(this.#repo.listTasks().map((row) => [row.id, detailsOf(row)]));
  }

  /** `Task.getInfo`: `{id, verb}`. Throws like `getStatus`. */
  getInfo(taskId: string): TaskInfo {
    return infoOf(this.#row(taskId));
  }

  /**
   * `Task.clear`: forgets a done task (later calls get 401). An SPM task
   * that is not done is refused with 410 (`can't clean in state <state>`);
   * an HSM task is dropped in any state (VDSM's `clean()` has no store to
   * check for it).
   */
  clear(taskId: string): void {
    const row = this.#row(taskId);
    if (isPersisted(row) && !isDone(row.state)) throw cannotCleanError(row.state);
    this.#repo.transaction(() => {
      this.#repo.deleteTask(row.id);
      this.#repo.deleteOwnerLocks(row.id);
    });
    this.#logger.debug({ task: row.id, state: row.state }, 'task cleared');
  }

  /**
   * `Task.stop`: aborts the job (its signal fires); the task then rolls back
   * and ends recovered with 411. A done task: no-op. A task rolling back:
   * the rollback's signal fires, so a rollback that gives up ends the task
   * failed (raborting; HSM tasks ignore the stop, VDSM's clean policy auto).
   * A queued task is aborted at once.
   *
   * @throws VdsmError 411 when the task is already aborting (task.py
   *   `_incref`), besides the errors of `getStatus`.
   */
  stop(taskId: string): void {
    const row = this.#row(taskId);
    if (isDone(row.state)) return;
    const live = this.#live.get(row.id);
    if (row.state === 'aborting' || row.state === 'raborting' || live?.abortRequested === true) {
      throw alreadyAbortingError(row.id);
    }
    // A row nobody works on is a crash leftover; recover() deals with it.
    if (live === undefined) return;
    if (isRecovering(row.state)) {
      if (!isPersisted(row) || live.rollbackAbort === undefined) return;
      live.abortRequested = true;
      live.rollbackAbort.abort(new Error(`task ${row.id} stopped during rollback`));
      return;
    }
    live.abortRequested = true;
    if (live.phase === 'queued') {
      // Never started: VDSM's stop runs _doAbort right away (queued -> aborting -> ... -> recovered).
      this.#dequeue(live);
      this.#track(live, this.#abortAndRollBack(live, undefined, 'stop'));
      return;
    }
    live.jobAbort.abort(new Error(`task ${row.id} stopped`));
  }

  /**
   * `Task.revert`: rolls a finished task back (finished -> racquiring ->
   * recovering -> recovered) and resolves when the rollback is over.
   *
   * @throws VdsmError 403 when the task is not done, 441 when it is
   *   recovered or failed (`from recovered to racquiring`), besides the
   *   errors of `getStatus`.
   */
  async revert(taskId: string): Promise<void> {
    const row = this.#row(taskId);
    if (!isDone(row.state)) throw notFinishedError(row.state);
    assertTransition(row.state, 'racquiring');
    const live = this.#adopt(row);
    this.#move(live, 'racquiring');
    this.#move(live, 'recovering');
    await this.#track(live, this.#rollBack(live, 'revert'));
  }

  /** True when `poolId` has SPM tasks that are not done (what spmStop refuses over). */
  hasUnfinished(poolId: string): boolean {
    return this.#spmRows(poolId).some((row) => !isDone(row.state));
  }

  /**
   * What a new SPM does with the pool's persisted tasks (VDSM
   * `loadDumpedTasks` + `recoverDumpedTasks` -> `Task.recover`, §7.3), at
   * SPM start or after a crash. Jobs of the pool still running here are let
   * go of first, as a crash would. Then, per task:
   * - finished: kept with its result;
   * - recovered / failed: kept; code 0, `Task is initializing` (VDSM
   *   persists the result only for `finished`, so a loaded task reports the
   *   default result of a new `Task`);
   * - preparing .. running: aborted and rolled back with its recovery record
   *   (aborting -> racquiring -> recovering -> recovered | failed), result as above;
   * - racquiring / recovering: the rollback starts over;
   * - aborting / raborting: failed, without rollback (VDSM `recover()` calls
   *   `stop(force=True)`, `_doAbort` ignores the state and the task is set failed);
   * - waitrecover: left waiting.
   * The pool's lock rows go. Resolves when every rollback is over.
   */
  async recover(poolId: string): Promise<void> {
    const killed = [...this.#live.values()].filter((live) => live.poolId === poolId);
    for (const live of killed) this.#detach(live, new Error(`task ${live.id} abandoned: SPM recovery of pool ${poolId}`));
    await Promise.allSettled(killed.map((live) => live.work));

    const rows = this.#spmRows(poolId);
    for (const row of rows) this.#locks.release(row.id);
    this.#repo.deletePoolLocks(poolId);

    const rollbacks: Promise<void>[] = [];
    for (const row of rows) {
      const rollback = this.#recoverRow(row);
      if (rollback !== undefined) rollbacks.push(rollback);
    }
    await Promise.all(rollbacks);
  }

  /** Every stored task row, oldest first (admin views). */
  listRecords(): TaskRow[] {
    return this.#repo.listTasks();
  }

  /** The stored row of a task (tests, admin views), or undefined. */
  getRecord(taskId: string): TaskRow | undefined {
    return this.#repo.getTask(taskId);
  }

  /**
   * Lets go of every task without changing its row, as a crash would (a
   * later `recover` treats them as after a crash), and stops scheduling.
   * Every job's signal fires; close resolves once the jobs have returned
   * (a job must honour its signal), leaving no timer of the manager behind.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pump !== undefined) clearImmediate(this.#pump);
    this.#pump = undefined;
    const live = [...this.#live.values()];
    for (const task of live) this.#detach(task, new Error('task manager closed'));
    await Promise.allSettled(live.map((task) => task.work));
    if (this.#ownsLocks) this.#locks.close();
  }

  /**
   * Host `hostId` crashed while the process and its other hosts live on:
   * every task its workers run or hold queued is let go of, as a crash lets
   * go of the process's. Only tasks that live in memory can run on a host
   * other than its pool's SPM (its SDM and HSM tasks): their rows and locks
   * go with that host's process (VDSM's resource manager is per process).
   * Returns the ids let go of.
   */
  letGoOfHost(hostId: number): string[] {
    const lost = [...this.#live.values()].filter((live) => hostOf(live) === hostId);
    for (const live of lost) {
      this.#detach(live, new Error(`host ${hostId} crashed`));
      this.#locks.release(live.id);
      if (!isPersisted(live)) this.#repo.deleteTask(live.id);
    }
    return lost.map((live) => live.id);
  }

  // ---- scheduling and running ----

  #schedule(tag: string, poolId: string | null, verb: string, kind: string, params: unknown, options: ScheduleOptions): string {
    if (this.#closed) throw new Error('task manager is closed');
    const handler = this.#handlers.get(kind);
    if (handler === undefined) throw new Error(`no job handler registered for kind ${kind}`);
    const id = options.taskId ?? randomUUID();
    if (id === '' || id.includes('.')) throw invalidTaskIdError(id);
    if (this.#repo.getTask(id) !== undefined) throw taskIdInUseError(id);
    if (this.#waiting() >= this.#maxTasks) throw taskQueueFullError();
    // JSON round trip: the job sees exactly what a recovering SPM would read back.
    const stored = JSON.parse(JSON.stringify({ kind, params: params ?? null })) as { kind: string; params: unknown };
    // VDSM walks init -> preparing -> acquiring -> queued inside the verb; the
    // first state anyone can see after it returned is queued.
    this.#repo.insertTask({ id, poolId, verb, tag, state: 'queued', ...INITIAL_RESULT, job: stored, now: Date.now() });
    const live = this.#newLive(id, poolId, tag, kind, verb, handler, stored.params, 'queued');
    // The JSON-RPC call being served (faults/operation.ts): what task fault rules match.
    const call = currentOperation();
    const method = options.method ?? call?.method;
    live.call = {
      ...(method === undefined ? {} : { method }),
      ...(call?.params === undefined || call.method !== method ? {} : { params: call.params }),
      ...(options.hostId === undefined ? {} : { host: options.hostId }),
    };
    this.#runQueue.push(live);
    this.#schedulePump();
    live.logger.debug({ verb, kind }, 'task queued');
    return id;
  }

  /** Queued tasks that no free worker will take: what VDSM's bounded queue holds. */
  #waiting(): number {
    const queued = new Map<number, number>();
    for (const live of this.#runQueue) queued.set(hostOf(live), (queued.get(hostOf(live)) ?? 0) + 1);
    let waiting = 0;
    for (const [host, count] of queued) waiting += Math.max(0, count - Math.max(0, this.#threadPoolSize - (this.#running.get(host) ?? 0)));
    return waiting;
  }

  #newLive(
    id: string,
    poolId: string | null,
    tag: string,
    kind: string,
    verb: string,
    handler: JobHandler,
    params: unknown,
    phase: LiveTask['phase'],
  ): LiveTask {
    const live: LiveTask = {
      id,
      poolId,
      tag,
      kind,
      verb,
      handler,
      params,
      logger: this.#logger.child({ task: id }),
      phase,
      abortRequested: false,
      detached: false,
      jobAbort: new AbortController(),
      progressWrittenAt: Number.NEGATIVE_INFINITY,
    };
    this.#live.set(id, live);
    return live;
  }

  /**
   * A live task for a stored row (revert, recover). A kind nobody registered
   * gets a handler whose rollback throws, so the task ends failed, as VDSM's
   * `Recovery.run` fails when it cannot import the recovery function.
   */
  #adopt(row: TaskRow): LiveTask {
    const handler = this.#handlers.get(row.job.kind) ?? missingHandler(row.job.kind);
    return this.#newLive(row.id, row.poolId, row.tag, row.job.kind, row.verb, handler, row.job.params, 'recovering');
  }

  /** Keeps `work` as the task's work in flight; an internal error is logged, never left unhandled. */
  #track(live: LiveTask, work: Promise<void>): Promise<void> {
    live.work = work.catch((error: unknown) => {
      live.logger.error({ error: describeError(error) }, 'task manager error');
    });
    return live.work;
  }

  #schedulePump(): void {
    if (this.#pump !== undefined || this.#closed) return;
    this.#pump = setImmediate(() => {
      this.#pump = undefined;
      // Oldest first, each host up to its own pool size: a full host's tasks wait, the others' go on.
      for (const live of [...this.#runQueue]) {
        const host = hostOf(live);
        const running = this.#running.get(host) ?? 0;
        if (running >= this.#threadPoolSize) continue;
        this.#dequeue(live);
        this.#running.set(host, running + 1);
        void this.#track(live, this.#runJob(live)).finally(() => {
          this.#running.set(host, (this.#running.get(host) ?? 1) - 1);
          this.#schedulePump();
        });
      }
    });
  }

  #dequeue(live: LiveTask): void {
    const at = this.#runQueue.indexOf(live);
    if (at >= 0) this.#runQueue.splice(at, 1);
  }

  /** A worker's life with one task: queued -> running -> finished, or into the rollback. */
  async #runJob(live: LiveTask): Promise<void> {
    if (live.detached) return;
    if (!this.#move(live, 'running', RUNNING_RESULT)) return this.#done(live);
    live.phase = 'running';
    let threw = false;
    let error: unknown;
    try {
      // Its own operation: the job's domain checks count once for the task, not once per call or check.
      const operation = { id: live.id, ...live.call };
      await inOperation(operation, () => live.handler.run(this.#context(live, live.jobAbort.signal, 'job')));
    } catch (caught) {
      threw = true;
      error = caught;
    }
    if (live.detached) return;
    // A job that got past a fault (it ended before noticing the abort) still fails with it.
    if (!live.abortRequested && !threw && live.faultError === undefined) {
      this.#move(live, 'finished', SUCCESS_RESULT);
      live.logger.debug({}, 'task finished');
      this.#done(live);
      return;
    }
    const result = live.abortRequested ? stoppedResult(live.id, threw) : jobErrorResult(live.faultError ?? error);
    live.logger.info({ code: result.code, error: describeError(error) }, 'job failed or stopped, rolling back');
    // VDSM's _run calls stop() on a failure: abort callbacks fire for whatever is still running.
    live.jobAbort.abort(new Error(`task ${live.id} failed`));
    await this.#abortAndRollBack(live, result, live.abortRequested ? 'stop' : 'failure');
  }

  /** aborting (with the failure's result) -> racquiring -> recovering -> rollback. */
  #abortAndRollBack(live: LiveTask, result: TaskResultFields | undefined, cause: RollbackCause): Promise<void> {
    if (!this.#move(live, 'aborting', result)) {
      this.#done(live);
      return Promise.resolve();
    }
    this.#move(live, 'racquiring');
    this.#move(live, 'recovering');
    return this.#rollBack(live, cause);
  }

  /**
   * Runs the handler's rollback (in state recovering) when something is
   * recorded, then ends the task: recovered, or raborting -> failed when the
   * rollback threw. Without a record it ends at once (no await), as VDSM's
   * empty recovery stack does.
   */
  async #rollBack(live: LiveTask, cause: RollbackCause): Promise<void> {
    live.phase = 'recovering';
    const record = this.#repo.getTask(live.id)?.recovery ?? null;
    let failed = false;
    if (live.failRollback === true) {
      // A `finish: cleanFailure` fault: the rollback fails before undoing anything.
      failed = true;
      live.logger.warn({ cause }, 'rollback failed (fault rule)');
    } else if (record !== null) {
      live.rollbackAbort = new AbortController();
      live.logger.debug({ cause }, 'rollback started');
      try {
        await live.handler.rollback(this.#context(live, live.rollbackAbort.signal, 'rollback'));
      } catch (error) {
        failed = true;
        live.logger.warn({ cause, error: describeError(error) }, 'rollback failed');
      }
      if (live.detached) return;
    }
    if (failed) {
      this.#move(live, 'raborting');
      this.#move(live, 'failed');
    } else {
      // VDSM pops each recovery it runs: after a good rollback nothing is left to undo.
      this.#repo.transaction(() => {
        this.#move(live, 'recovered');
        this.#repo.setRecovery(live.id, null, Date.now());
      });
    }
    this.#done(live);
  }

  /** Per-row part of `recover()`; returns the rollback when one runs. */
  #recoverRow(row: TaskRow): Promise<void> | undefined {
    const { state } = row;
    if (state === 'finished' || state === 'waitrecover') return undefined;
    const reset = (to: TaskInternalState): void => {
      this.#repo.setState(row.id, to, INITIAL_RESULT.code, INITIAL_RESULT.message, Date.now());
    };
    if (state === 'recovered' || state === 'failed') {
      reset(state);
      return undefined;
    }
    if (state === 'aborting' || state === 'raborting') {
      assertTransition(state, 'failed');
      reset('failed');
      return undefined;
    }
    // init and unknown never reach the store.
    if (!canAbort(state) && !isRecovering(state)) return undefined;
    reset(state);
    const live = this.#adopt(row);
    if (canAbort(state)) return this.#track(live, this.#abortAndRollBack(live, undefined, 'recover'));
    // VDSM: _updateState(racquiring, force=True): the rollback starts over.
    this.#move(live, 'racquiring', undefined, true);
    this.#move(live, 'recovering');
    return this.#track(live, this.#rollBack(live, 'recover'));
  }

  /** The task is done (finished, recovered, failed): VDSM `_done` releases its locks. */
  #done(live: LiveTask): void {
    this.#locks.release(live.id);
    this.#live.delete(live.id);
    // VDSM's sdm task has clean policy auto: it leaves the task list when done.
    if (live.tag === TaskTag.Sdm) this.#repo.deleteTask(live.id);
  }

  /** Stops working on a task without writing anything more (a simulated crash). */
  #detach(live: LiveTask, reason: Error): void {
    live.detached = true;
    this.#dequeue(live);
    this.#live.delete(live.id);
    live.jobAbort.abort(reason);
    live.rollbackAbort?.abort(reason);
  }

  // ---- persistence ----

  /**
   * Moves the task to `to` (with `result`, else keeping its result) in one
   * transaction, flushing pending progress with it. Checks VDSM's transition
   * table unless `force`. Returns false, writing nothing, when the task was
   * let go of or its row is gone (an HSM task cleared while running).
   */
  #move(live: LiveTask, to: TaskInternalState, result?: TaskResultFields, force = false): boolean {
    if (live.detached) return false;
    const moved = this.#repo.transaction(() => {
      const row = this.#repo.getTask(live.id);
      if (row === undefined) return false;
      if (!force) assertTransition(row.state, to);
      const now = Date.now();
      this.#repo.setState(live.id, to, result?.code ?? row.code, result?.message ?? row.message, now);
      if (live.pendingProgress !== undefined) this.#repo.setProgress(live.id, live.pendingProgress, now);
      return true;
    });
    if (moved) {
      live.pendingProgress = undefined;
      // VDSM's _updateState clears _aborting on every move.
      live.abortRequested = false;
      live.logger.debug({ state: to }, 'task state');
    }
    return moved;
  }

  #context(live: LiveTask, signal: AbortSignal, role: 'job' | 'rollback'): JobContext {
    const repo = this.#repo;
    const guard = (): void => {
      if (live.detached) throw live.jobAbort.signal.reason;
      // A job a fault failed makes no further change its rollback would not know of.
      if (role === 'job' && live.faultError !== undefined) throw live.faultError;
    };
    return {
      taskId: live.id,
      poolId: live.poolId,
      params: live.params,
      signal,
      clock: this.#clock,
      logger: live.logger,
      progress: (fraction) => this.#progress(live, fraction),
      phase: (name, target) => (role === 'job' ? this.#enterPhase(live, name, target) : Promise.resolve()),
      faultFires: (name, target, actions) => role === 'job' && this.#faultFires(live, name, target, actions),
      recovery: {
        get: () => {
          const text = repo.getTask(live.id)?.recovery ?? null;
          return text === null ? undefined : (JSON.parse(text) as unknown);
        },
        set: (value) => {
          guard();
          if (value === undefined) throw new TypeError('recovery.set needs a value; use clear() to forget the record');
          repo.setRecovery(live.id, JSON.stringify(value), Date.now());
        },
        clear: () => {
          guard();
          repo.setRecovery(live.id, null, Date.now());
        },
      },
      locks: {
        acquire: (namespace, name, mode, options) =>
          this.#locks.acquire(namespace, name, mode, live.id, { timeoutMs: options?.timeoutMs, clock: this.#clock, signal }),
      },
    };
  }

  /** Keeps the latest fraction; writes it when a second of clock time has passed since the last write, or at 1. */
  #progress(live: LiveTask, fraction: number): void {
    if (live.detached || live.faultError !== undefined || !Number.isFinite(fraction)) return;
    let value = Math.min(1, Math.max(0, fraction));
    if (live.failAt !== undefined && value >= live.failAt.fraction) {
      // The work stops where the rule said: the fraction reached is what the row keeps.
      value = live.failAt.fraction;
      this.#failByFault(live, live.failAt.error);
      this.#repo.setProgress(live.id, value, Date.now());
      live.pendingProgress = undefined;
      return;
    }
    const now = this.#clock.now();
    if (value < 1 && now - live.progressWrittenAt < PROGRESS_WRITE_INTERVAL_MS) {
      live.pendingProgress = value;
      return;
    }
    this.#repo.setProgress(live.id, value, Date.now());
    live.pendingProgress = undefined;
    live.progressWrittenAt = now;
  }

  // ---- task faults (faults/task-faults.ts) ----

  /**
   * The job enters `phase`: asks the engine once for a task action and
   * applies it (see faults/task-faults.ts). Rejects when the action ends
   * the job (the job lets the error through).
   */
  async #enterPhase(live: LiveTask, phase: TaskPhase, target: PhaseTarget | undefined): Promise<void> {
    const engine = this.#faults;
    if (engine === undefined || engine.empty || live.detached) return;
    const signal = live.jobAbort.signal;
    signal.throwIfAborted();
    const fired = engine.fire(phasePoint(phaseTask(live), phase, target), TASK_PHASE_ACTIONS);
    if (fired === undefined) return;
    const { action } = fired;
    live.logger.info({ ruleId: fired.ruleId, phase, action }, 'Task fault');
    if ('failAt' in action) {
      live.failAt = { fraction: action.failAt, error: faultError(action.error) };
      if (action.failAt === 0) this.#progress(live, 0);
      signal.throwIfAborted();
    } else if ('phaseDelayMs' in action) {
      await sleep(this.#clock, action.phaseDelayMs, signal);
    } else if ('hang' in action) {
      await untilAborted(signal);
    } else if ('finish' in action) {
      live.failRollback = action.finish === 'cleanFailure';
      const error = faultError(action.error ?? DEFAULT_FINISH_ERROR);
      this.#failByFault(live, error);
      throw error;
    } else if ('loseSpm' in action) {
      await this.#loseSpm(live, action.toHost);
    } else if ('crash' in action) {
      // A host job dies with its host alone; anything else (an SPM task) with the process that owns the pool's storage.
      const host = hostOf(live);
      if (live.tag === TaskTag.Sdm && this.#crash.onHostCrash !== undefined && new StateStore(this.#db).spmPoolOf(host) === undefined) {
        throw crashHost(this.#crash, host, () => this.letGoOfHost(host), (error) => this.#logger.error({ error: describeError(error) }, 'host crash callback failed'));
      }
      throw crashProcess(this.#crash, () => this.#crashed(), (error) => this.#logger.error({ error: describeError(error) }, 'crash callback failed'));
    }
  }

  /** A task action the job applies itself (`JobContext.faultFires`). */
  #faultFires(live: LiveTask, phase: TaskPhase, target: PhaseTarget, actions: readonly ActionKind[]): boolean {
    const engine = this.#faults;
    if (engine === undefined || engine.empty || live.detached) return false;
    return engine.fire(phasePoint(phaseTask(live), phase, target), actions) !== undefined;
  }

  /** Fails the job with a fault's `error`: the job's signal fires, its later writes throw it. */
  #failByFault(live: LiveTask, error: VdsmError): void {
    if (live.faultError !== undefined) return;
    live.faultError = error;
    live.jobAbort.abort(error);
  }

  /**
   * `loseSpm`: the role moves (faults/task-faults.ts `moveSpmRole`) and, when
   * another host took it, the pool's tasks are recovered as that host's
   * spmStart recovers them; this job is let go of by that recovery. With no
   * other host the job is let go of and its row stays as it is, to be
   * recovered by whichever host starts the SPM next.
   */
  async #loseSpm(live: LiveTask, toHost: number | undefined): Promise<void> {
    const poolId = live.poolId;
    if (poolId === null) return;
    const moved = moveSpmRole(new StateStore(this.#db), poolId, toHost);
    live.logger.warn({ moved }, 'SPM role lost (fault rule)');
    if (moved?.to === null || moved === undefined) {
      this.#detach(live, new Error(`task ${live.id} abandoned: SPM of pool ${poolId} lost`));
    } else {
      // On a later turn: recover() waits for this job, which must have returned by then.
      setImmediate(() => {
        void this.recover(poolId).catch((error: unknown) => this.#logger.error({ error: describeError(error) }, 'recovery after SPM loss failed'));
      });
    }
    await untilAborted(live.jobAbort.signal);
  }

  /** An emulated crash: every task let go of without another write, nothing scheduled any more. */
  #crashed(): void {
    this.#closed = true;
    if (this.#pump !== undefined) clearImmediate(this.#pump);
    this.#pump = undefined;
    for (const live of [...this.#live.values()]) this.#detach(live, new Error('the fake crashed (fault rule)'));
  }

  // ---- reads ----

  /** VDSM `_getTask`: `validateID`, then the task or 401. */
  #row(taskId: string): TaskRow {
    if (taskId === '' || taskId.includes('.')) throw invalidTaskIdError(taskId);
    const row = this.#repo.getTask(taskId);
    if (row === undefined) throw unknownTaskError(taskId);
    return row;
  }

  /** Tasks of the pool whose tag contains `spm` (taskManager.py: `tag in task.getTags()`). */
  #spmRows(poolId: string): TaskRow[] {
    return this.#repo.listTasks(poolId).filter(isPersisted);
  }
}

/** Host id of tasks scheduled without one (a pool of workers of their own). */
const NO_HOST = 0;

/** The host whose workers run `live`. */
function hostOf(live: LiveTask): number {
  return live.call?.host ?? NO_HOST;
}

/** What a fault point says of the task. */
function phaseTask(live: LiveTask): PhaseTask {
  return { taskId: live.id, kind: live.kind, ...live.call };
}

/** SPM tasks are persisted with the pool (clean policy manual); HSM tasks are not. */
function isPersisted(row: Pick<TaskRow, 'tag'>): boolean {
  return row.tag.includes(TaskTag.Spm);
}

/** task.py `deprecated_getStatus`. */
function statusOf(row: TaskRow): TaskStatus {
  const wire = TASK_STATE_ON_WIRE[row.state];
  return { taskID: row.id, taskState: wire.taskState, taskResult: wire.taskResult, code: row.code, message: row.message };
}

/** task.py `getInfo`. */
function infoOf(row: TaskRow): TaskInfo {
  return { id: row.id, verb: row.verb };
}

/** task.py `getDetails`; `result` is the job's return value, always `''` for the fake's void jobs. */
function detailsOf(row: TaskRow): TaskDetails {
  return { id: row.id, verb: row.verb, state: row.state, code: row.code, message: row.message, result: '', tag: row.tag };
}

/** The handler of a kind nobody registered: its rollback cannot run. */
function missingHandler(kind: string): JobHandler {
  const fail = (): Promise<void> => Promise.reject(new Error(`no job handler registered for kind ${kind}`));
  return { run: fail, rollback: fail };
}

function describeError(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : String(error);
}

/** @throws RangeError unless `maxTasks` is an integer of at least 1. */
export function assertMaxTasks(maxTasks: number): void {
  if (!Number.isInteger(maxTasks) || maxTasks < 1) throw new RangeError(`max tasks must be an integer of at least 1, not ${maxTasks}`);
}
