/**
 * The task layer of the fault engine (issue 4): what a storage job meets
 * when a rule with a task action matches it. Jobs name the phase they enter
 * (`JobContext.phase('create' | 'copy' | 'delete' | 'zero')`); the task
 * manager then asks the engine once, with the point
 * `{layer: 'task', taskId, kind, phase, method, params, host, domain, image}`,
 * and applies the first rule that fires:
 * - `failAt: F, error: C`: armed for the rest of the task; when the job's
 *   progress reaches F the job is aborted (its copy or wipe stops there) and
 *   the task fails with C as if the job had raised VDSM's error C: aborting,
 *   rollback (the partial target removed), `cleanSuccess`, code C, message
 *   `value=<str(e)> abortedcode=C`. F = 0 fails at once;
 * - `phaseDelayMs: N`: the phase starts N ms later (clock time; Task.stop
 *   still works during the wait);
 * - `hang`: the job waits until Task.stop, which then ends it with 411;
 * - `finish: cleanSuccess | cleanFailure`: the task fails at once with
 *   `error` (default 100 GeneralException); with `cleanFailure` the rollback
 *   is made to fail, so what the job made stays as it was (a target left
 *   ILLEGAL) and the task ends `failed`;
 * - `loseSpm` (toHost?): the pool's SPM role moves to `toHost` (a host
 *   connected to the pool) or the next connected host after the SPM, lver + 1;
 *   the old SPM answers 654 from then on, and the pool's tasks are recovered
 *   as the new SPM recovers them (`TaskManager.recover`, vdsm-wire.md §7.3).
 *   With no other host the pool is left without SPM and its tasks wait;
 * - `crash`: process-faults.ts.
 * `failSourceDelete` is asked for by the op-2 move itself (`JobContext.faultFires`).
 *
 * The point's `method`, `params` and `host` are those of the JSON-RPC call
 * that started the task (faults/operation.ts), so a rule names the method a
 * user calls (`Image.move`), never the task's internal verb (`moveImage`).
 */
import { pyTuple, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { VdsmError } from '@vdsm-kit/client/api';
import type { HostRecord } from '../model/records.js';
import type { StateStore } from '../model/store.js';
import { storageError } from '../storage/storage-error.js';
import type { FaultPoint } from './engine.js';
import type { PhaseTarget } from '../tasks/job-handler.js';
import type { ActionKind, TaskPhase } from './rule.js';

/** The task actions applied when a job enters a phase. */
export const TASK_PHASE_ACTIONS = ['failAt', 'phaseDelayMs', 'hang', 'finish', 'loseSpm', 'crash'] as const satisfies readonly ActionKind[];

/** The error of a `finish` rule without one: VDSM's catch-all. */
export const DEFAULT_FINISH_ERROR = VdsmErrorCode.GeneralException;

/** The task a phase belongs to. */
export interface PhaseTask {
  readonly taskId: string;
  /** Job kind: moveImage, purgeImage, zeroImage, copyImage ... */
  readonly kind: string;
  /** The JSON-RPC method that started the task (`Image.move`), matched by `match.method`. */
  readonly method?: string;
  /** That call's params (a move's `storagedomainID`, its source, included), matched by `match.params`. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** The host the task runs on (the SPM that scheduled it), matched by `match.host`. */
  readonly host?: number;
}

/** The engine's point for `task` entering `phase` on `target`. */
export function phasePoint(task: PhaseTask, phase: TaskPhase, target: PhaseTarget = {}): FaultPoint {
  return {
    layer: 'task',
    taskId: task.taskId,
    kind: task.kind,
    phase,
    ...(task.method === undefined ? {} : { method: task.method }),
    ...(task.params === undefined ? {} : { params: task.params }),
    ...(task.host === undefined ? {} : { host: task.host }),
    ...(target.domain === undefined ? {} : { domain: target.domain }),
    ...(target.image === undefined ? {} : { image: target.image }),
  };
}

/**
 * The VdsmError a fault with code `code` raises: VDSM's class for it raised
 * without arguments, so its `str()` is `<message>: ()` (261 ->
 * `low level Image copy failed: ()`, what image.py raises).
 */
export function faultError(code: number): VdsmError {
  return storageError(code, pyTuple());
}

/** Resolves never; rejects with the signal's reason once it is aborted. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * The host that takes the SPM role from `current`: `toHost` when it is
 * connected to the pool and not `current`, else the next connected host by
 * id after `current` (wrapping), else null (no other host).
 */
export function nextSpmHost(hosts: readonly HostRecord[], current: number | null, toHost?: number): number | null {
  const ids = hosts.map((host) => host.id).sort((a, b) => a - b);
  if (toHost !== undefined && toHost !== current && ids.includes(toHost)) return toHost;
  const others = ids.filter((id) => id !== current);
  if (others.length === 0) return null;
  return others.find((id) => current === null || id > current) ?? others[0] ?? null;
}

/** What `moveSpmRole` did. */
export interface SpmMove {
  readonly poolId: string;
  readonly from: number | null;
  readonly to: number | null;
  readonly lver: number;
}

/**
 * Moves the SPM role of `poolId` away from its current holder (see
 * `nextSpmHost`), lver + 1, as a fencing and a new spmStart elsewhere leave
 * the pools table. Returns undefined for an unknown pool.
 */
export function moveSpmRole(store: StateStore, poolId: string, toHost?: number): SpmMove | undefined {
  return store.transaction(() => {
    const pool = store.getPool(poolId);
    if (pool === undefined) return undefined;
    const to = nextSpmHost(store.listHosts(poolId), pool.spmHostId, toHost);
    const lver = pool.lver + 1;
    store.setSpm(poolId, to, lver);
    return { poolId, from: pool.spmHostId, to, lver };
  });
}
