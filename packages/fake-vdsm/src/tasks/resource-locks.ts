/**
 * VDSM's resource manager (lib/vdsm/storage/resourceManager.py): named
 * shared/exclusive locks in namespaces such as `00_storage` (pools and
 * domains) and `01_img_<sdUUID>` (images), owned by tasks.
 *
 * The queueing follows `_ResourceManager.registerResource` and
 * `releaseResource`, not a textbook readers-writer lock:
 * - a free resource is granted at once, in the mode asked for;
 * - a shared request joins the current holders only when the resource is
 *   held shared AND nobody is queued; otherwise every request queues, FIFO,
 *   so a waiting exclusive request blocks later shared ones;
 * - when the last holder leaves, the queue head is granted (its mode becomes
 *   the resource's); if that is shared, the shared requests right behind it
 *   are granted too, up to the next exclusive one;
 * - a request that timed out is only marked canceled and stays in the queue
 *   until a release walks past it (as VDSM's `Request.cancel` does), so it
 *   still keeps later shared requests from joining.
 * A waiter gives up after `timeoutMs` on the clock (VDSM's `[irs]
 * task_resource_default_timeout`, 120 s) with 851 `Resource timeout: ()`.
 *
 * Held locks are also written to the `locks` table, one row per holder, so a
 * crash leaves a trace; the memory here is the truth while the process runs,
 * and the task manager's `recover()` clears the rows of a crashed pool.
 */
import type { StateDatabase } from '../model/db.js';
import type { Clock, TimerHandle } from '@vdsm-kit/client/clock';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { invalidResourceNameError, resourceTimeoutError } from './task-errors.js';
import { TaskRepo } from './task-repo.js';
import type { LockMode, LockRow } from './task-repo.js';

export type { LockMode } from './task-repo.js';

/** VDSM's `[irs] task_resource_default_timeout` (lib/vdsm/common/config.py.in), in milliseconds. */
export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;

/** The namespace of pool and domain locks (VDSM `sc.STORAGE`). */
export const STORAGE_NAMESPACE = '00_storage';

/**
 * The namespace of the image locks of domain `sdUUID` (VDSM
 * `rm.getNamespace(sc.IMAGE_NAMESPACE, sdUUID)`: `01_img_<sdUUID>`).
 */
export function imageNamespace(sdUUID: string): string {
  return `01_img_${sdUUID}`;
}

/** A resource's state as VDSM's `getResourceStatus` reports it (`STATUS_FREE`, `_SHARED`, `_LOCKED`). */
export type ResourceStatus = 'free' | 'shared' | 'locked';

/** A granted lock; `release()` gives it back (idempotent). */
export interface LockHandle {
  readonly namespace: string;
  readonly name: string;
  readonly mode: LockMode;
  readonly owner: string;
  release(): void;
}

/** Options of one `acquire`. */
export interface AcquireOptions {
  /**
   * How long to wait for the lock. Default 120 000 ms; `Infinity` waits
   * forever, as VDSM's jobs do (`rm.acquireResource(ns, name, mode)` without
   * a timeout, e.g. the image locks of image.py `move`).
   */
  readonly timeoutMs?: number;
  /** The clock the timeout runs on (default: the instance's). */
  readonly clock?: Clock;
  /** Aborting gives up the wait and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** What `ResourceLocks` needs. */
export interface ResourceLocksOptions {
  readonly db: StateDatabase;
  readonly clock: Clock;
  readonly logger?: Logger;
}

// VDSM's validators (_ResourceManager._namespaceValidator, _resourceNameValidator).
const NAMESPACE_PATTERN = /^[\w-]+$/;
const NAME_PATTERN = /^[^\s.]+$/;

interface Waiter {
  readonly owner: string;
  readonly mode: LockMode;
  readonly resource: Resource;
  canceled: boolean;
  grant(): void;
}

interface Resource {
  readonly namespace: string;
  readonly name: string;
  mode: LockMode;
  /** Owners currently holding it (VDSM `activeUsers`, one per owner). */
  readonly holders: Set<string>;
  /** Waiting requests, oldest first (VDSM's `queue`, canceled ones included). */
  readonly queue: Waiter[];
}

/** VDSM's resource manager for the fake (see the module comment). */
export class ResourceLocks {
  readonly #repo: TaskRepo;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** By VDSM's full name `<namespace>.<name>` (unique: neither part may contain a dot). */
  readonly #resources = new Map<string, Resource>();
  /** Cancels every pending wait (used by release(owner) and close()). */
  readonly #pending = new Map<Waiter, (reason: Error) => void>();
  #closed = false;

  constructor({ db, clock, logger = silentLogger }: ResourceLocksOptions) {
    this.#repo = new TaskRepo(db);
    this.#clock = clock;
    this.#logger = logger.child({ component: 'resource-locks' });
  }

  /**
   * Acquires `namespace`/`name` in `mode` for `owner` (a task id).
   *
   * @throws VdsmError 853 `Invalid resource name: ('<name>',)` for a name with
   *   a dot or white space; 851 `Resource timeout: ()` when not granted within
   *   `timeoutMs`; the signal's reason when aborted; an Error when `owner`
   *   already holds or waits for this resource (VDSM's `ResourceAlreadyAcquired`).
   */
  acquire(namespace: string, name: string, mode: LockMode, owner: string, options: AcquireOptions = {}): Promise<LockHandle> {
    if (!NAMESPACE_PATTERN.test(namespace)) return Promise.reject(new RangeError(`invalid lock namespace ${JSON.stringify(namespace)}`));
    if (!NAME_PATTERN.test(name)) return Promise.reject(invalidResourceNameError(name));
    if (this.#closed) return Promise.reject(new Error('resource locks are closed'));
    const { signal, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS, clock = this.#clock } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);

    const key = `${namespace}.${name}`;
    const resource = this.#resources.get(key);
    if (resource?.holders.has(owner) || resource?.queue.some((w) => w.owner === owner && !w.canceled)) {
      return Promise.reject(new Error(`${key} is already acquired by ${owner}`));
    }
    if (resource === undefined) {
      const fresh: Resource = { namespace, name, mode, holders: new Set(), queue: [] };
      this.#resources.set(key, fresh);
      return Promise.resolve(this.#hold(fresh, owner));
    }
    if (resource.queue.length === 0 && resource.mode === 'shared' && mode === 'shared') {
      return Promise.resolve(this.#hold(resource, owner));
    }
    return this.#wait(resource, mode, owner, timeoutMs, clock, signal);
  }

  /**
   * Releases every lock `owner` holds and gives up its pending requests
   * (VDSM `Owner.releaseAll`, called when a task is done). Returns how many
   * held locks were released.
   */
  release(owner: string): number {
    for (const [waiter, cancel] of [...this.#pending]) {
      if (waiter.owner === owner) cancel(new Error(`lock request of ${owner} given up: owner released`));
    }
    let released = 0;
    for (const resource of [...this.#resources.values()]) {
      if (resource.holders.has(owner)) {
        this.#release(resource, owner);
        released += 1;
      }
    }
    // Rows left by an earlier process for this owner go too.
    this.#repo.deleteOwnerLocks(owner);
    return released;
  }

  /** The state of `namespace`/`name` (VDSM `getResourceStatus`). */
  status(namespace: string, name: string): ResourceStatus {
    const resource = this.#resources.get(`${namespace}.${name}`);
    if (resource === undefined) return 'free';
    return resource.mode === 'shared' ? 'shared' : 'locked';
  }

  /** Locks held in this process, in acquisition order per resource. */
  held(): LockRow[] {
    const rows: LockRow[] = [];
    for (const r of this.#resources.values()) {
      for (const owner of r.holders) rows.push({ namespace: r.namespace, name: r.name, mode: r.mode, owner });
    }
    return rows;
  }

  /** Number of requests waiting (canceled ones excluded). */
  get waiting(): number {
    return this.#pending.size;
  }

  /**
   * Stops: every waiter is rejected (its timer cleared) and the in-memory
   * table is forgotten. The `locks` rows stay, as after a crash.
   */
  close(): void {
    this.#closed = true;
    for (const cancel of [...this.#pending.values()]) cancel(new Error('resource locks are closed'));
    this.#resources.clear();
  }

  #hold(resource: Resource, owner: string): LockHandle {
    resource.holders.add(owner);
    const { namespace, name, mode } = resource;
    this.#repo.insertLock({ namespace, name, mode, owner });
    this.#logger.debug({ namespace, name, mode, owner }, 'lock granted');
    let held = true;
    return {
      namespace,
      name,
      mode,
      owner,
      release: () => {
        // A handle outlives close() and release(owner); only its own grant may be given back.
        if (!held || this.#resources.get(`${namespace}.${name}`) !== resource || !resource.holders.has(owner)) return;
        held = false;
        this.#release(resource, owner);
      },
    };
  }

  #wait(resource: Resource, mode: LockMode, owner: string, timeoutMs: number, clock: Clock, signal?: AbortSignal): Promise<LockHandle> {
    return new Promise<LockHandle>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const settle = (): void => {
        this.#pending.delete(waiter);
        if (timer !== undefined) clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      // Canceled waiters stay queued until a release walks past them (module comment).
      const cancel = (reason: Error): void => {
        waiter.canceled = true;
        settle();
        reject(reason);
      };
      const onAbort = (): void => cancel(signal?.reason as Error);
      const waiter: Waiter = {
        owner,
        mode,
        resource,
        canceled: false,
        grant: () => {
          settle();
          resolve(this.#hold(resource, owner));
        },
      };
      resource.queue.push(waiter);
      this.#pending.set(waiter, cancel);
      if (Number.isFinite(timeoutMs)) timer = clock.setTimeout(() => cancel(resourceTimeoutError()), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#logger.debug({ namespace: resource.namespace, name: resource.name, mode, owner, queued: resource.queue.length }, 'lock busy, waiting');
    });
  }

  /** VDSM `releaseResource`: drop one holder; when none is left, grant the queue head (and the shared run behind it). */
  #release(resource: Resource, owner: string): void {
    resource.holders.delete(owner);
    this.#repo.deleteLock(resource.namespace, resource.name, owner);
    this.#logger.debug({ namespace: resource.namespace, name: resource.name, owner }, 'lock released');
    if (resource.holders.size > 0) return;

    let next = this.#nextLive(resource);
    if (next === undefined) {
      this.#resources.delete(`${resource.namespace}.${resource.name}`);
      return;
    }
    resource.mode = next.mode;
    next.grant();
    if (resource.mode === 'exclusive') return;
    // Keep granting shared requests until an exclusive one heads the queue.
    for (next = this.#peekLive(resource); next?.mode === 'shared'; next = this.#peekLive(resource)) {
      resource.queue.shift();
      next.grant();
    }
  }

  /** Removes and returns the first waiter that was not canceled. */
  #nextLive(resource: Resource): Waiter | undefined {
    for (let w = resource.queue.shift(); w !== undefined; w = resource.queue.shift()) {
      if (!w.canceled) return w;
    }
    return undefined;
  }

  /** Drops canceled waiters at the head and returns (without removing) the first live one. */
  #peekLive(resource: Resource): Waiter | undefined {
    while (resource.queue[0]?.canceled === true) resource.queue.shift();
    return resource.queue[0];
  }
}
