/**
 * `MoveOrchestrator`: the library engine code imports. It records a move
 * (after discovering the disk from VDSM if the store does not know it), runs
 * it with a MoveRunner over the pool's shared task tracker, and hands back a
 * handle with phase and progress events and the promised outcome. `resume()`
 * picks up every move the store holds unfinished, after a crash or a restart.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { systemClock } from '@vdsm-kit/client';
import type { Clock } from '@vdsm-kit/client';
import { MoveStoreError } from '../store/move-store.js';
import type { MoveFilter, MoveStore } from '../store/move-store.js';
import { AUDIT_TYPES } from '../store/records.js';
import type { AuditRecord, CopyPath, CopyPathChoice, MoveMode, MovePhase, MoveRecord, MoveState } from '../store/records.js';
import { HostJobTracker } from '../tasks/host-job-tracker.js';
import type { HostJobTrackerOptions } from '../tasks/host-job-tracker.js';
import type { JobStatusSource } from '../tasks/job-status-source.js';
import { PoolTaskTracker } from '../tasks/pool-task-tracker.js';
import type { PoolTaskTrackerOptions, TrackerEvent } from '../tasks/pool-task-tracker.js';
import type { PoolHost } from '../tasks/pool-host.js';
import type { TaskStatusSource } from '../tasks/status-source.js';
import { isUuid } from '../ids.js';
import { discoverDisk } from './discovery.js';
import { LostAnswers, MoveRunner } from './move-runner.js';
import type { MoveRunnerContext } from './move-runner.js';
import { outcomeOf } from './outcome.js';
import { requestCancel } from './request-cancel.js';
import type { MoveOutcome } from './outcome.js';

export interface MoveOrchestratorOptions {
  readonly store: MoveStore;
  /** The hosts the orchestrator may call; each pool's SPM is found among them. */
  readonly hosts: readonly PoolHost[];
  /** Timers (polls, waits). Default: real time. */
  readonly clock?: Clock;
  /** Timestamps written to the store (default Date.now; tests pass their clock's now). */
  readonly now?: () => number;
  /** One status poll per pool per interval (default 10 s). */
  readonly pollIntervalMs?: number;
  /** Tracker tuning: early polls, misses, zombies, window, call timeout. */
  readonly tracker?: Omit<PoolTaskTrackerOptions, 'poolId' | 'hosts' | 'clock' | 'intervalMs' | 'onEvent' | 'statusSource'>;
  readonly onTrackerEvent?: (poolId: string, event: TrackerEvent) => void;
  /** Where each pool's tracker gets its status rounds (default: it polls the SPM itself). */
  readonly statusSource?: (poolId: string) => TaskStatusSource;
  /** Where a host's job tracker gets its rounds (a worker shares them through the store); default: its own Host.getJobs. */
  readonly jobStatusSource?: (host: PoolHost, poolId: string) => JobStatusSource;
  /**
   * The per-SPM submission window shared with other instances through the
   * store (each new copy's placeholder carries it as `windowLimit`).
   */
  readonly sharedWindow?: number;
  /** The copy path of a move whose request names none (default auto). */
  readonly copyPath?: CopyPathChoice;
  /** Host job tracking tuning (SDM path): early polls, misses before a host counts as unreachable, call timeout. */
  readonly hostJobs?: Pick<HostJobTrackerOptions, 'firstEarlyPollMs' | 'missesBeforeUnreachable' | 'callTimeoutMs'>;
}

/** What a worker hands the runner of a move it holds instead of the orchestrator's own. */
export type LeasedRunContext = Pick<MoveRunnerContext, 'store' | 'tracker' | 'signal' | 'isPassing' | 'onRetry' | 'hosts'>;

export interface MoveDiskRequest {
  readonly poolId: string;
  readonly diskId: string;
  readonly srcDomainId: string;
  readonly dstDomainId: string;
  readonly wipeAfterDelete?: boolean;
  readonly discard?: boolean;
  /** The old single verb (`Image.move` operation move), to compare with. */
  readonly legacy?: boolean;
  /** An id for the move (default: a random UUID). */
  readonly moveId?: string;
  /** The copy path: `sdm` (host jobs), `spm` (Image.move) or `auto` (default: SDM when the domains and hosts allow it). */
  readonly copyPath?: CopyPathChoice;
  /** Host names (PoolHost.name) never to copy on. */
  readonly excludeHosts?: readonly string[];
  /** How many times a volume's failed host job is tried again on another host (default 0). */
  readonly copyRetries?: number;
}

export interface MoveProgress {
  readonly phase: MovePhase;
  /** 0..1 for a copy (SDM: the jobs' own progress over the volumes; SPM: target allocation over source's); null where nothing can be known (a wipe). */
  readonly fraction: number | null;
  /** Since the phase started, on the store's time. */
  readonly elapsedMs: number;
}

export interface MoveStatus {
  readonly moveId: string;
  readonly diskId: string;
  readonly state: MoveState;
  readonly mode: MoveMode;
  readonly result: MoveRecord['result'];
  readonly failedPhase: MovePhase | null;
  /** The copy path taken, once the move started. */
  readonly path: CopyPath | null;
  readonly createdAt: number;
  readonly availableAt: number | null;
  readonly doneAt: number | null;
}

/**
 * A running move. Events: `state` (MoveRecord, after every transition),
 * `available` (the time the disk became usable on the target), `progress`
 * (MoveProgress; sampled only while someone listens), `outcome`.
 */
export class MoveHandle extends EventEmitter {
  readonly moveId: string;
  readonly outcome: Promise<MoveOutcome>;
  #record: MoveRecord;
  readonly #runner: MoveRunner;

  /** @internal */
  constructor(record: MoveRecord, runner: MoveRunner, outcome: (handle: MoveHandle) => Promise<MoveOutcome>) {
    super();
    this.moveId = record.moveId;
    this.#record = record;
    this.#runner = runner;
    this.outcome = outcome(this);
    // The promise is the API; an unobserved rejection must not crash the process.
    this.outcome.catch(() => {});
  }

  get state(): MoveState {
    return this.#record.state;
  }

  get record(): MoveRecord {
    return this.#record;
  }

  /** @internal */
  update(record: MoveRecord): void {
    const becameAvailable = this.#record.availableAt === null && record.availableAt !== null;
    this.#record = record;
    this.emit('state', record);
    if (becameAvailable) this.emit('available', record.availableAt);
  }

  cancel(): Promise<void> {
    return this.#runner.cancel();
  }
}

export class MoveOrchestrator {
  readonly #store: MoveStore;
  readonly #hosts: readonly PoolHost[];
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #options: MoveOrchestratorOptions;
  readonly #trackers = new Map<string, PoolTaskTracker>();
  readonly #jobTrackers = new Map<string, HostJobTracker>();
  readonly #lostAnswers = new LostAnswers();
  readonly #handles = new Map<string, MoveHandle>();
  #closed = false;

  constructor(options: MoveOrchestratorOptions) {
    if (options.hosts.length === 0) throw new RangeError('MoveOrchestrator needs at least one host');
    this.#options = options;
    this.#store = options.store;
    this.#hosts = options.hosts;
    this.#clock = options.clock ?? systemClock;
    this.#now = options.now ?? Date.now;
    this.#intervalMs = options.pollIntervalMs ?? 10_000;
  }

  /** The pool's tracker (made on first use, shared by every move in the pool). */
  tracker(poolId: string): PoolTaskTracker {
    let tracker = this.#trackers.get(poolId);
    if (!tracker) {
      tracker = new PoolTaskTracker({
        ...this.#options.tracker,
        poolId,
        hosts: this.#hosts,
        clock: this.#clock,
        intervalMs: this.#intervalMs,
        ...(this.#options.statusSource ? { statusSource: this.#options.statusSource(poolId) } : {}),
        onEvent: (event) => {
          if (event.type === 'zombie') void this.#auditZombie(event.taskId, event.runningForMs);
          this.#options.onTrackerEvent?.(poolId, event);
        },
      });
      this.#trackers.set(poolId, tracker);
    }
    return tracker;
  }

  /** The host's SDM job tracker (made on first use, shared by every move; a host serves one pool, `poolId`). */
  jobTracker(host: PoolHost, poolId: string): HostJobTracker {
    let tracker = this.#jobTrackers.get(host.name);
    if (!tracker) {
      const statusSource = this.#options.jobStatusSource?.(host, poolId);
      tracker = new HostJobTracker({ ...this.#options.hostJobs, host, clock: this.#clock, intervalMs: this.#intervalMs, ...(statusSource ? { statusSource } : {}) });
      this.#jobTrackers.set(host.name, tracker);
    }
    return tracker;
  }

  /**
   * Records and starts a move. Rejects (nothing changed) when the disk is
   * already moving, is not on the source, is not OK, or VDSM does not know it.
   */
  async moveDisk(request: MoveDiskRequest): Promise<MoveHandle> {
    return this.#run(await this.submit(request));
  }

  /**
   * Records a move (queued) without running it: a worker of any instance
   * sharing the store claims it. The same checks and refusals as moveDisk.
   */
  async submit(request: MoveDiskRequest): Promise<MoveRecord> {
    this.#checkOpen();
    for (const [name, id] of Object.entries({ poolId: request.poolId, diskId: request.diskId, srcDomainId: request.srcDomainId, dstDomainId: request.dstDomainId })) {
      if (!isUuid(id)) throw new MoveStoreError('BAD_REQUEST', `${name} must be a UUID, got ${JSON.stringify(id)}`);
    }
    const moveId = request.moveId ?? randomUUID();
    let disk = await this.#store.getDisk(request.diskId);
    if (!disk) {
      const spm = await this.tracker(request.poolId).spm();
      disk = await discoverDisk(spm.api, request.poolId, request.srcDomainId, request.diskId);
    }
    return this.#store.createMove({
      request: {
        moveId,
        poolId: request.poolId,
        diskId: request.diskId,
        srcDomainId: request.srcDomainId,
        dstDomainId: request.dstDomainId,
        wipeAfterDelete: request.wipeAfterDelete ?? false,
        discard: request.discard ?? false,
        mode: request.legacy ? 'legacy' : 'copy-delete',
        copyPath: request.copyPath ?? this.#options.copyPath ?? 'auto',
        ...(request.excludeHosts === undefined ? {} : { excludeHosts: request.excludeHosts }),
        ...(request.copyRetries === undefined ? {} : { copyRetries: request.copyRetries }),
      },
      at: this.#now(),
      disk,
    });
  }

  /** Runs every unfinished move in the store (after a crash, or another process's), and clears what done moves still owe. */
  async resume(): Promise<MoveHandle[]> {
    this.#checkOpen();
    const moves = await this.#store.listMoves({ active: true });
    // s5 row 8 (fix, failure-modes.test.ts): a move can be done with its last
    // task's clear still owed (the process stopped while Task.clear failed).
    // Left out, that task would stay on the SPM for ever; its runner only clears.
    const owed = new Set((await this.#store.listTasks({ state: 'ended' })).map((task) => task.moveId));
    for (const moveId of owed) {
      const move = await this.#store.getMove(moveId);
      if (move?.state === 'done') moves.push(move);
    }
    return moves.filter((move) => !this.#handles.has(move.moveId)).map((move) => this.#run(move));
  }

  /**
   * Runs a move from its stored state, as `resume()` does, with the store and
   * tracker views a worker gives it (fenced writes, guarded calls, a signal
   * that ends the run when the lease is lost).
   */
  runLeased(record: MoveRecord, context: LeasedRunContext): MoveHandle {
    this.#checkOpen();
    return this.#run(record, context);
  }

  /** The handle of a move running in this process. */
  handle(moveId: string): MoveHandle | undefined {
    return this.#handles.get(moveId);
  }

  /** Asks a move to stop: recorded in the store, so the process running it sees it too. */
  async cancel(moveId: string): Promise<MoveRecord> {
    const running = this.#handles.get(moveId);
    if (running) await running.cancel();
    else await requestCancel(this.#store, moveId, this.#now);
    return (await this.#store.getMove(moveId))!;
  }

  async status(filter: MoveFilter = {}): Promise<MoveStatus[]> {
    const moves = await this.#store.listMoves(filter);
    return moves.map(({ moveId, diskId, state, mode, result, failedPhase, path, createdAt, availableAt, doneAt }) => ({
      moveId,
      diskId,
      state,
      mode,
      result,
      failedPhase,
      path,
      createdAt,
      availableAt,
      doneAt,
    }));
  }

  audit(filter?: { moveId?: string; afterSeq?: number; limit?: number }): Promise<AuditRecord[]> {
    return this.#store.listAudit(filter);
  }

  /** Outcome of a finished move from the store. */
  async outcome(moveId: string): Promise<MoveOutcome | undefined> {
    const move = await this.#store.getMove(moveId);
    return move && move.state === 'done' ? outcomeOf(this.#store, move) : undefined;
  }

  /** Stops polling. Moves in flight stay in the store, to be resumed. */
  close(): void {
    this.#closed = true;
    for (const tracker of this.#trackers.values()) tracker.close();
    this.#trackers.clear();
    for (const tracker of this.#jobTrackers.values()) tracker.close();
    this.#jobTrackers.clear();
  }

  /** s6 Match 7: a zombie being stopped is audited (9500) against the move that owns it. */
  async #auditZombie(taskId: string, runningForMs: number): Promise<void> {
    const task = (await this.#store.listTasks({ state: 'running' })).find((t) => t.vdsmTaskId === taskId);
    await this.#store.addAudit({
      type: AUDIT_TYPES.ZOMBIE_STOPPING,
      severity: 'warning',
      moveId: task?.moveId ?? null,
      diskId: task?.imageId ?? null,
      message: `Task ${taskId} has run for ${Math.round(runningForMs / 60_000)} min, past the zombie limit: stopping it.`,
      at: this.#now(),
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('MoveOrchestrator is closed');
  }

  #run(record: MoveRecord, leased?: LeasedRunContext): MoveHandle {
    const store = leased?.store ?? this.#store;
    let handle: MoveHandle | undefined;
    const runner = new MoveRunner(
      {
        ...leased,
        store,
        tracker: leased?.tracker ?? this.tracker(record.poolId),
        hosts: leased?.hosts ?? this.#hosts,
        // Shared by every move: on the orchestrator's own host, never a leased move's guarded view of it.
        jobTracker: (host) => this.jobTracker(this.#hosts.find((h) => h.name === host.name) ?? host, record.poolId),
        lostAnswers: this.#lostAnswers,
        ...(this.#options.sharedWindow === undefined ? {} : { windowLimit: this.#options.sharedWindow }),
        clock: this.#clock,
        now: this.#now,
        cancelCheckMs: this.#intervalMs,
        knownTaskIds: async () => {
          const ids = new Set<string>();
          for (const state of ['running', 'ended'] as const) {
            for (const task of await store.listTasks({ state })) if (task.vdsmTaskId) ids.add(task.vdsmTaskId);
          }
          return ids;
        },
        onChange: (move) => handle?.update(move),
        onProgress: (move, progress) => {
          const phase = move.state === 'legacy-moving' ? 'legacy-move' : progress.phase;
          handle?.emit('progress', { ...progress, phase, elapsedMs: this.#now() - move.createdAt } satisfies MoveProgress);
        },
        wantsProgress: () => (handle?.listenerCount('progress') ?? 0) > 0,
      },
      record,
    );
    handle = new MoveHandle(record, runner, async (h) => {
      try {
        const final = await runner.run();
        const outcome = await outcomeOf(store, final);
        h.emit('outcome', outcome);
        return outcome;
      } finally {
        this.#handles.delete(record.moveId);
      }
    });
    this.#handles.set(record.moveId, handle);
    return handle;
  }
}
