/**
 * A held move's views of the shared store and tracker: every store write
 * carries the move's Fence (the store refuses it, FENCED, once another owner
 * took the move), and every remote call, store write or wait first asks the
 * move's guard (lease lost: stop at once; renewal overdue: no remote call).
 * The runner is the same MoveRunner that `engine-move resume` uses; only what
 * it is handed differs.
 */
import { abortable, compose } from '@vdsm-kit/client';
import type { RpcCaller } from '@vdsm-kit/client';
import type { MoveTaskTracker } from '../move/move-runner.js';
import type { Fence } from '../store/leases.js';
import type { MoveStore, Transition } from '../store/move-store.js';
import type { MovePhase } from '../store/records.js';
import { poolHost } from '../tasks/pool-host.js';
import type { PoolHost } from '../tasks/pool-host.js';
import type { PoolTaskTracker } from '../tasks/pool-task-tracker.js';
import type { MoveGuard } from './lease-guard.js';

/** The store as one held move writes to it. Reads pass through; closing is the worker's. */
export function fencedStore(store: MoveStore, fence: Fence, guard: MoveGuard): MoveStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      switch (property) {
        case 'apply':
          return (transition: Transition) => {
            guard.check();
            return target.apply({ ...transition, fence });
          };
        case 'markTaskCleared':
          return (moveId: string, phase: MovePhase, at: number) => {
            guard.check();
            return target.markTaskCleared(moveId, phase, at, fence);
          };
        case 'addAudit':
          return (...args: Parameters<MoveStore['addAudit']>) => {
            guard.check();
            return target.addAudit(...args);
          };
        case 'close':
          return () => Promise.resolve();
        default: {
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
      }
    },
  });
}

/** A host as one held move calls it: every call first asks the move's guard. */
function guardedHost(host: PoolHost, guard: MoveGuard): PoolHost {
  const caller: RpcCaller = compose(host.caller, (next) => (method, params, options) => {
    guard.check();
    return next(method, params, options);
  });
  return poolHost(host.name, caller, host.events);
}

/**
 * The pool's hosts as one held move calls them on the SDM path: its
 * `SDM.copy_data`, fences (`SDM.update_volume`) and entity reads stop once the
 * lease is lost or overdue, so a stale worker cannot fence a job the new owner
 * follows. (The hosts' shared job trackers poll on the plain hosts.)
 */
export function guardedHosts(hosts: readonly PoolHost[], guard: MoveGuard): PoolHost[] {
  return hosts.map((host) => guardedHost(host, guard));
}

/** The pool's shared tracker as one held move may use it. */
export function guardedTracker(tracker: PoolTaskTracker, guard: MoveGuard): MoveTaskTracker {
  const hosts = new WeakMap<PoolHost, PoolHost>();
  const guarded = (host: PoolHost): PoolHost => {
    let view = hosts.get(host);
    if (!view) {
      view = guardedHost(host, guard);
      hosts.set(host, view);
    }
    return view;
  };
  const check = (): void => guard.check();
  return {
    spm: async () => {
      check();
      return guarded(await tracker.spm());
    },
    submit: (label, send) => {
      check();
      // Given up at once while waiting for room; never while the verb is on
      // the wire: its answer (the task id) must be written before the lease
      // is given back, or the next owner could find no task yet and send again.
      let sending = 0;
      const signal = guard.signal;
      const submitted = tracker.submit(label, async (spm, options) => {
        check();
        sending += 1;
        try {
          return await send(guarded(spm), options);
        } finally {
          sending -= 1;
        }
      });
      return new Promise<string>((resolve, reject) => {
        const onAbort = (): void => {
          if (sending === 0) reject(signal.reason as Error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        submitted
          .then(resolve, reject)
          .finally(() => signal.removeEventListener('abort', onAbort));
      });
    },
    adopt: (taskId) => {
      check();
      tracker.adopt(taskId);
    },
    // The runner's follow loop wakes on the guard's signal itself.
    watch: (taskId) => tracker.watch(taskId),
    spmTasks: () => {
      check();
      return tracker.spmTasks();
    },
    stop: (taskId) => {
      check();
      return tracker.stop(taskId);
    },
    clear: (taskId) => {
      check();
      return abortable(tracker.clear(taskId, { check }), guard.signal);
    },
  };
}
