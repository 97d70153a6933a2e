/**
 * `MoveWorker`: one of several orchestrator instances sharing the moves of a
 * store (postgres-workers.md s5). It
 *
 * - claims moves: a scan every lease/4..lease/2 (jittered) and on a wake-up,
 *   the claim being a lease with a fresh epoch (claim and takeover are the
 *   same statement, so a dead owner's move is taken within lease + lease/2);
 * - renews its leases every lease/3; a lease found lost aborts that move's
 *   runner at once, and a renewal overdue past lease - margin stops every
 *   remote call (self-fence) until one succeeds again;
 * - runs each move with the same MoveRunner as `engine-move resume`, from its
 *   stored state (reattach to the task, look before sending again), every
 *   store write carrying the move's Fence;
 * - per pool, competes for the pool's leader lease: its holder makes the
 *   pool's one status poll per interval and publishes it, the others follow;
 * - on `stop()`: stops claiming, lets each move finish the store write in
 *   flight, gives back its move and pool leases (another worker takes them at
 *   once), and leaves the SPM's tasks running.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { TaskState } from '@vdsm-kit/client';
import { MoveOrchestrator } from '../move/orchestrator.js';
import type { MoveHandle } from '../move/orchestrator.js';
import type { MoveLease, MoveLeaseStore, StoreWakeUp } from '../store/leases.js';
import { MoveStoreError } from '../store/move-store.js';
import type { MoveStore } from '../store/move-store.js';
import type { PoolHost } from '../tasks/pool-host.js';
import type { StatusRound } from '../tasks/status-source.js';
import { DEFAULT_SUBMISSION_WINDOW } from '../tasks/submission-window.js';
import { fencedStore, guardedHosts, guardedTracker } from './fenced-views.js';
import { LeaseError, LeaseLostError, MoveGuard, RenewalClock, SelfFencedError } from './lease-guard.js';
import { PoolLeaseKeeper } from './pool-lease-keeper.js';
import { SharedJobSource } from './shared-job-source.js';
import { SharedStatusSource } from './shared-status-source.js';
import { WorkerMetrics } from './worker-metrics.js';

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_MAX_MOVES = 100;

export type WorkerLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface MoveWorkerOptions {
  readonly store: MoveStore & MoveLeaseStore;
  readonly hosts: readonly PoolHost[];
  /** This worker's name in the leases (default host:pid:random). */
  readonly owner?: string;
  readonly leaseMs?: number;
  /** Self-fence margin: no remote call later than lease - margin after the last renewal sent (default lease/3). */
  readonly marginMs?: number;
  /** One status poll per pool per interval (default 10 s). */
  readonly pollIntervalMs?: number;
  /** Moves held at once (default 100). */
  readonly maxMoves?: number;
  /** The per-SPM window shared by every instance (default: the tracker's, 250). */
  readonly submissionWindow?: number;
  readonly log?: WorkerLog;
  readonly metrics?: WorkerMetrics;
  /** Each run of a held move as it starts (`engine-move move` shows its own move's). */
  readonly onRun?: (handle: MoveHandle) => void;
}

interface Held {
  readonly lease: MoveLease;
  readonly guard: MoveGuard;
  /** Settles when the move's run (and its hand-back) is over. */
  done?: Promise<void>;
  state: string;
}

interface PoolRole {
  readonly keeper: PoolLeaseKeeper;
  /** Some instance has tasks of the pool in flight (refreshed each keeper round). */
  busy: boolean;
  /** The pool's running tasks at the last look (undefined before the first): new ones are other instances' submissions. */
  running?: ReadonlySet<string>;
  /** Hosts with SDM jobs of the pool's moves in flight, any instance's (the poller asks them for all). */
  jobHosts: ReadonlySet<string>;
}

/** Backoff between attempts of a move whose run broke on a passing trouble (the database down ...). */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;
/** Wake-ups within this long make one claim. */
const WAKE_CLAIM_MS = 50;
/** Moves claimed per scan: a worker that starts first does not take everything queued. */
const CLAIM_BATCH = 10;

export class MoveWorker {
  readonly owner: string;
  readonly leaseMs: number;
  readonly metrics: WorkerMetrics;
  readonly #store: MoveStore & MoveLeaseStore;
  readonly #log: WorkerLog;
  readonly #onRun: ((handle: MoveHandle) => void) | undefined;
  readonly #maxMoves: number;
  readonly #renewal: RenewalClock;
  readonly #orchestrator: MoveOrchestrator;
  readonly #hosts: readonly PoolHost[];
  readonly #held = new Map<string, Held>();
  readonly #pools = new Map<string, PoolRole>();
  #unsubscribe: (() => void) | undefined;
  #claimTimer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #claiming: Promise<void> | undefined;
  #claimAgain = false;
  #claimDue = Infinity;
  #lastBatchFull = false;
  #renewing: Promise<void> | undefined;
  #stopping = false;
  /** What is failing now (said once when it starts failing, once when it works again). */
  readonly #troubles = new Set<string>();

  constructor(options: MoveWorkerOptions) {
    this.#store = options.store;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(this.leaseMs >= 100)) throw new RangeError(`lease must be at least 100 ms, got ${this.leaseMs}`);
    this.#renewal = new RenewalClock(this.leaseMs, options.marginMs ?? this.leaseMs / 3);
    this.#maxMoves = options.maxMoves ?? DEFAULT_MAX_MOVES;
    this.#log = options.log ?? (() => {});
    this.#onRun = options.onRun;
    this.metrics = options.metrics ?? new WorkerMetrics();
    this.#hosts = options.hosts;
    this.#orchestrator = new MoveOrchestrator({
      store: options.store,
      hosts: options.hosts,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      ...(options.submissionWindow === undefined ? {} : { tracker: { submissionWindow: options.submissionWindow } }),
      sharedWindow: options.submissionWindow ?? DEFAULT_SUBMISSION_WINDOW,
      jobStatusSource: (host, poolId) => {
        const role = this.#poolRole(poolId);
        return new SharedJobSource({
          store: this.#store,
          keeper: role.keeper,
          hostName: host.name,
          hostBusy: () => role.jobHosts.has(host.name),
          onPoll: () => this.metrics.jobPolls.inc({ host: host.name }),
        });
      },
      statusSource: (poolId) => {
        const role = this.#poolRole(poolId);
        return new SharedStatusSource({
          store: this.#store,
          keeper: role.keeper,
          poolBusy: () => role.busy || this.#orchestrator.tracker(poolId).watching > 0,
          onRound: (round) => this.#onRound(poolId, round),
        });
      },
      onTrackerEvent: (poolId, event) => {
        if (event.type === 'poll') {
          this.metrics.statusPolls.inc({ pool: poolId });
          this.metrics.statusPollSeconds.observe(event.durationMs / 1000);
          this.#recovered(`status of pool ${poolId}`);
        } else if (event.type === 'poll-error') {
          this.#trouble(`status of pool ${poolId}`, event.error);
        }
      },
    });
  }

  /** Moves held now. */
  get held(): number {
    return this.#held.size;
  }

  start(): void {
    this.#unsubscribe = this.#store.onWakeUp((wakeUp) => this.#wakeUp(wakeUp));
    this.#scheduleClaim(0);
    this.#scheduleRenew();
  }

  /**
   * Graceful stop: no more claims; each move's run ends at its next step (the
   * store write in flight completes), its lease is given back; pool leases too.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#unsubscribe?.();
    if (this.#claimTimer) clearTimeout(this.#claimTimer);
    if (this.#busyTimer) clearTimeout(this.#busyTimer);
    await this.#claiming;
    for (const held of this.#held.values()) held.guard.abort(new LeaseError('LEASE_LOST', 'worker shutting down'));
    await Promise.allSettled([...this.#held.values()].map((held) => held.done));
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    await this.#renewing;
    await Promise.allSettled([...this.#pools.values()].map((role) => role.keeper.stop()));
    this.metrics.poolLeasesHeld.set(0);
    this.#orchestrator.close();
    this.#log('info', 'stopped: leases given back', { owner: this.owner });
  }

  #poolRole(poolId: string): PoolRole {
    let role = this.#pools.get(poolId);
    if (!role) {
      const created: PoolRole = {
        busy: false,
        jobHosts: new Set(),
        keeper: new PoolLeaseKeeper({
          store: this.#store,
          poolId,
          owner: this.owner,
          leaseMs: this.leaseMs,
          marginMs: this.#renewal.marginMs,
          onChange: (holding, lease) => {
            this.metrics.poolLeasesHeld.set([...this.#pools.values()].filter((r) => r.keeper.current()).length);
            this.#log('info', holding ? 'polling the pool (pool lease taken)' : 'no longer polling the pool', { pool: poolId, ...(lease ? { epoch: lease.epoch } : {}) });
            if (holding) {
              this.#kickPool(poolId);
              this.#kickJobHosts(poolId, this.#pools.get(poolId)?.jobHosts ?? []);
            }
          },
          onError: (error) => this.#trouble('pool lease', error),
          onOk: () => {
            this.#recovered('pool lease');
            if (this.#pools.get(poolId)?.keeper.current()) {
              void this.#refreshBusy(poolId);
              void this.#clearOwed(poolId);
            }
          },
        }),
      };
      role = created;
      this.#pools.set(poolId, role);
      role.keeper.start();
      void this.#refreshBusy(poolId);
    }
    return role;
  }

  /** Whether any instance has tasks of the pool running (so the poller keeps polling for them). */
  async #refreshBusy(poolId: string): Promise<void> {
    const role = this.#pools.get(poolId);
    if (!role) return;
    try {
      // Running tasks, and placeholders about to be (their verb may be on its way).
      const [running, placeholders] = await Promise.all([this.#store.listTasks({ state: 'running' }), this.#store.listTasks({ state: 'placeholder' })]);
      const busy = [...running, ...placeholders].some((task) => task.poolId === poolId);
      const woke = busy && !role.busy;
      role.busy = busy;
      const seen = role.running;
      role.running = new Set(running.filter((task) => task.poolId === poolId && task.vdsmTaskId !== null).map((task) => task.vdsmTaskId!));
      const jobHosts = await this.#jobHostsOf(poolId);
      const newJobHosts = [...jobHosts].filter((host) => !role.jobHosts.has(host));
      role.jobHosts = jobHosts;
      this.#recovered('task scan');
      if (!role.keeper.current()) return;
      if (woke) this.#kickPool(poolId);
      this.#kickJobHosts(poolId, newJobHosts);
      // A task submitted by another instance: the poller's early polls serve it as they serve its own.
      if (seen && [...role.running].some((id) => !seen.has(id))) this.#orchestrator.tracker(poolId).submittedElsewhere(role.running.size);
    } catch (error) {
      this.#trouble('task scan', error);
    }
  }

  /**
   * As the pool's poller: jobs on hosts it was not asking (new ones, or all
   * when it has just taken the pool) make each host's tracker poll soon, and
   * then every interval while any instance has jobs there.
   */
  #kickJobHosts(poolId: string, names: Iterable<string>): void {
    for (const name of names) {
      const host = this.#hosts.find((h) => h.name === name);
      if (host) this.#orchestrator.jobTracker(host, poolId).kick();
    }
  }

  /** Every move's pool, by move id (it never changes): read once per move. */
  readonly #poolOfMove = new Map<string, string>();

  /** The hosts running SDM jobs (placeholders included) of the pool's moves, whoever runs the moves. */
  async #jobHostsOf(poolId: string): Promise<Set<string>> {
    const hosts = new Set<string>();
    for (const job of await this.#store.listSdmJobs({ states: ['placeholder', 'running'] })) {
      let jobPool = this.#poolOfMove.get(job.moveId);
      if (jobPool === undefined) {
        jobPool = (await this.#store.getMove(job.moveId))?.poolId;
        if (jobPool !== undefined) this.#poolOfMove.set(job.moveId, jobPool);
      }
      if (jobPool === poolId) hosts.add(job.host);
    }
    return hosts;
  }

  /**
   * A round soon: a follower reads the published status now; the poller
   * polls no sooner than an interval after its last round, so that one poll
   * per interval holds whatever wakes it.
   */
  #kickPool(poolId: string): void {
    const tracker = this.#orchestrator.tracker(poolId);
    tracker.kick(this.#pools.get(poolId)?.keeper.current() ? tracker.intervalMs : 0);
  }

  #busyTimer: NodeJS.Timeout | undefined;
  #clearingOwed = false;

  /**
   * s5 row 8 across instances: a worker killed after a move's last transition
   * and before its last Task.clear leaves a done move that no claim picks up
   * again. The pool's poller clears such tasks (once their owner's lease has
   * lapsed by a whole lease more: the owner may be clearing it itself); a
   * clear done twice is harmless (401 counts as cleared).
   */
  async #clearOwed(poolId: string): Promise<void> {
    if (this.#clearingOwed || this.#stopping) return;
    this.#clearingOwed = true;
    try {
      const owed = (await this.#store.listTasks({ state: 'ended' })).filter((task) => task.poolId === poolId && task.vdsmTaskId !== null);
      for (const task of owed) {
        if (this.#held.has(task.moveId)) continue;
        const move = await this.#store.getMove(task.moveId);
        if (!move || move.state !== 'done') continue;
        if (move.owner !== null && (move.leaseUntil === null || move.leaseUntil + this.leaseMs > Date.now())) continue;
        await this.#orchestrator.tracker(poolId).clear(task.vdsmTaskId!);
        await this.#store.markTaskCleared(task.moveId, task.phase, Date.now());
        this.#log('info', 'cleared the task a done move still owed', { move: task.moveId, task: task.vdsmTaskId, phase: task.phase });
      }
    } catch (error) {
      this.#trouble('clearing owed tasks', error);
    } finally {
      this.#clearingOwed = false;
    }
  }

  /** At most one look at the pools' tasks per 100 ms however many wake-ups come. */
  #refreshBusySoon(): void {
    if (this.#busyTimer) return;
    this.#busyTimer = setTimeout(() => {
      this.#busyTimer = undefined;
      for (const [poolId, role] of this.#pools) if (role.keeper.current()) void this.#refreshBusy(poolId);
    }, 100);
    this.#busyTimer.unref?.();
  }

  #onRound(poolId: string, round: StatusRound): void {
    let inFlight = 0;
    for (const raw of Object.values(round.statuses)) {
      if (typeof raw === 'object' && raw !== null && (raw as { taskState?: unknown }).taskState !== TaskState.Finished) inFlight += 1;
    }
    this.metrics.tasksInFlight.set({ spm: round.spm }, inFlight);
    const role = this.#pools.get(poolId);
    if (role && inFlight > 0) role.busy = true;
  }

  #wakeUp(wakeUp: StoreWakeUp | { readonly kind: 'rescan' }): void {
    if (this.#stopping) return;
    if (wakeUp.kind === 'pool') {
      // A fresh status: followers read it now; the poller's own NOTIFY is not a reason to poll again.
      const role = this.#pools.get(wakeUp.id);
      if (role && !role.keeper.current()) this.#kickPool(wakeUp.id);
      return;
    }
    if (wakeUp.kind === 'rescan') for (const poolId of this.#pools.keys()) this.#kickPool(poolId);
    // A move changed somewhere: the poller learns soon whether its pool has tasks to poll for.
    this.#refreshBusySoon();
    this.#scheduleClaim(WAKE_CLAIM_MS);
  }

  /** Claims no sooner than `delayMs` from now, unless one is already due sooner (wake-ups coalesce). */
  #scheduleClaim(delayMs: number): void {
    if (this.#stopping) return;
    if (this.#claiming) {
      this.#claimAgain = true;
      return;
    }
    const due = performance.now() + delayMs;
    if (this.#claimTimer && this.#claimDue <= due) return;
    if (this.#claimTimer) clearTimeout(this.#claimTimer);
    this.#claimDue = due;
    this.#claimTimer = setTimeout(() => {
      this.#claimTimer = undefined;
      this.#claiming = this.#claim().finally(() => {
        this.#claiming = undefined;
        const again = this.#claimAgain;
        this.#claimAgain = false;
        // Every lease/4 .. lease/2: a lapsed lease is taken within lease + lease/2.
        // After a full batch, soon again, with a jitter that lets other workers in.
        const full = this.#lastBatchFull;
        this.#scheduleClaim(again ? WAKE_CLAIM_MS : full ? Math.random() * (this.leaseMs / 10) : this.leaseMs / 4 + Math.random() * (this.leaseMs / 4));
      });
    }, delayMs);
    this.#claimTimer.unref?.();
  }

  async #claim(): Promise<void> {
    this.#lastBatchFull = false;
    const room = this.#maxMoves - this.#held.size;
    if (room <= 0) return;
    const sentAt = this.#renewal.now();
    let leases: MoveLease[];
    try {
      leases = await this.#store.claimMoves({ owner: this.owner, leaseMs: this.leaseMs, limit: Math.min(room, CLAIM_BATCH) });
      this.#recovered('claim');
      this.#lastBatchFull = leases.length === CLAIM_BATCH && room > CLAIM_BATCH;
    } catch (error) {
      this.#trouble('claim', error);
      return;
    }
    for (const lease of leases) {
      if (this.#stopping) {
        await this.#store.releaseLease(lease).catch(() => {});
        continue;
      }
      if (lease.epoch > 1) this.metrics.takeovers.inc();
      this.#log('info', lease.epoch > 1 ? 'took over move' : 'claimed move', { move: lease.moveId, epoch: lease.epoch });
      const held: Held = { lease, guard: new MoveGuard(lease.moveId, this.#renewal, sentAt), state: 'claimed' };
      this.#held.set(lease.moveId, held);
      held.done = this.#runHeld(held);
    }
    this.#gauges();
  }

  #scheduleRenew(): void {
    this.#renewTimer = setTimeout(() => {
      this.#renewing = this.#renew().finally(() => {
        this.#renewing = undefined;
        if (!this.#stopping || this.#held.size > 0) this.#scheduleRenew();
      });
    }, this.leaseMs / 3);
    this.#renewTimer.unref?.();
  }

  async #renew(): Promise<void> {
    const held = [...this.#held.values()].filter((h) => !h.guard.lost);
    if (held.length === 0) return;
    const sentAt = this.#renewal.now();
    try {
      const { lost } = await this.#store.renewLeases(
        this.owner,
        held.map((h) => ({ moveId: h.lease.moveId, epoch: h.lease.epoch })),
        this.leaseMs,
      );
      this.#recovered('lease renewal');
      this.#renewal.renewed(sentAt);
      for (const moveId of lost) this.#lose(moveId, 'another worker holds it now');
    } catch (error) {
      this.#trouble('lease renewal', error);
    }
  }

  #lose(moveId: string, why: string): void {
    const held = this.#held.get(moveId);
    if (!held || held.guard.lost) return;
    this.metrics.leasesLost.inc();
    this.#log('warn', 'lease lost: doing nothing more to this move', { move: moveId, epoch: held.lease.epoch, why });
    held.guard.abort(new LeaseLostError(moveId, why));
  }

  /** Runs a held move to its end, again after a passing trouble, until done, lost or stopping. */
  async #runHeld(held: Held): Promise<void> {
    const { lease, guard } = held;
    const fence = { owner: lease.owner, epoch: lease.epoch };
    let delay = RETRY_MIN_MS;
    try {
      while (!guard.lost) {
        try {
          const record = await this.#store.getMove(lease.moveId);
          if (!record) break;
          held.state = record.state;
          const poolId = record.poolId;
          this.#poolRole(poolId);
          const tracker = this.#orchestrator.tracker(poolId);
          const handle = this.#orchestrator.runLeased(record, {
            store: fencedStore(this.#store, fence, guard),
            tracker: guardedTracker(tracker, guard),
            hosts: guardedHosts(this.#hosts, guard),
            signal: guard.signal,
            isPassing: (error) => error instanceof SelfFencedError,
          });
          handle.on('state', (move: { state: string }) => {
            held.state = move.state;
            this.#gauges();
          });
          this.#onRun?.(handle);
          this.#gauges();
          const outcome = await handle.outcome;
          this.metrics.outcomes.inc({ result: outcome.result });
          this.#log('info', 'move done', { move: lease.moveId, result: outcome.result, failedPhase: outcome.failedPhase });
          break;
        } catch (error) {
          if (guard.lost) break;
          if (error instanceof MoveStoreError && error.code === 'FENCED') {
            this.#lose(lease.moveId, 'the store refused a write under this epoch');
            break;
          }
          // A database or host trouble that outlasted the runner's own retries: run again from the stored state.
          this.#log('warn', 'move interrupted; running it again from its stored state', { move: lease.moveId, error: describe(error), retryInMs: delay });
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(RETRY_MAX_MS, delay * 2);
        }
      }
    } finally {
      this.#held.delete(lease.moveId);
      this.#gauges();
      // A move lost to another owner is not ours to give back; any other (done, or on stop) is handed back.
      const reason: unknown = guard.signal.reason;
      if (!(reason instanceof LeaseLostError)) {
        await this.#releaseWithRetry(lease);
      }
      if (!this.#stopping) this.#scheduleClaim(WAKE_CLAIM_MS);
    }
  }

  async #releaseWithRetry(lease: MoveLease): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        await this.#store.releaseLease(lease);
        return;
      } catch (error) {
        this.#trouble('lease release', error);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MIN_MS * 2 ** attempt));
      }
    }
    // Not given back: it lapses by itself within a lease period.
  }

  #gauges(): void {
    this.metrics.leasesHeld.set(this.#held.size);
    this.metrics.moves.reset();
    for (const held of this.#held.values()) this.metrics.moves.inc({ state: held.state });
  }

  /** A call failed: said once per outage, then quiet until it works again. */
  #trouble(what: string, error: unknown): void {
    if (this.#troubles.has(what)) return;
    this.#troubles.add(what);
    this.#log('warn', `${what} failed; retrying`, { error: describe(error) });
  }

  #recovered(what: string): void {
    if (this.#troubles.delete(what)) this.#log('info', `${what} works again; carrying on`);
  }
}

function describe(error: unknown): string {
  if (error instanceof MoveStoreError || error instanceof LeaseError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
