/**
 * The task-status faults, applied by api/host-tasks.ts to each
 * `Host.getAllTasksStatuses` answer:
 * - `{hideForPolls: K}`: the matched tasks are left out of the listing;
 * - `{malformedStatus: true}`: the matched tasks' entries are garbled the
 *   way the engine's malformed-entry case looks (engine-move.md 5 #13): a
 *   `taskState` that is not a wire state and a `code` that is not a number.
 *
 * Firings count per POLL, not per task: one poll is one firing of a rule,
 * whichever number of tasks it hides in that poll. So `hideForPolls: K`
 * hides the matched tasks for K polls and then the rule is spent (`times`
 * can lower that, never raise it); `after: N` lets the first N polls that
 * list a matching task through untouched; `match.task.kind`, `match.image`
 * and `match.domain` pick tasks by their job (kind and params such as
 * imgUUID / sdUUID / dstSdUUID), `match.host` by the SPM answering.
 */
import type { TaskStatus } from '@vdsm-kit/client/api';
import type { FaultEngine, FaultPoint } from './engine.js';
import { STATUS_ACTIONS, STATUS_METHOD } from './rule.js';

/** What the status layer needs to know of a listed task. */
export interface StatusTaskInfo {
  /** The job kind (moveImage, purgeImage, ...). */
  readonly kind?: string;
  /** The job's params, matched by `match.params`, `match.image` and `match.domain`. */
  readonly params?: Readonly<Record<string, unknown>>;
}

export { STATUS_METHOD } from './rule.js';

/** The entry a `malformedStatus` fault answers instead of a task's status. */
export function malformedStatus(status: TaskStatus): Record<string, unknown> {
  return { ...status, taskState: 'preparing', code: 'x' };
}

/**
 * Applies the status faults of one poll to `statuses` (one firing per rule
 * for the whole poll, see the module comment). Returns `statuses` itself
 * when nothing fires.
 */
export function applyStatusFaults(
  engine: FaultEngine | undefined,
  hostId: number,
  statuses: Readonly<Record<string, TaskStatus>>,
  describe: (taskId: string) => StatusTaskInfo,
): Readonly<Record<string, TaskStatus>> {
  if (engine === undefined || engine.empty) return statuses;
  const ids = Object.keys(statuses);
  if (ids.length === 0) return statuses;
  const points: FaultPoint[] = ids.map((taskId) => {
    const { kind, params } = describe(taskId);
    return {
      layer: 'status',
      host: hostId,
      method: STATUS_METHOD,
      taskId,
      ...(kind === undefined ? {} : { kind }),
      ...(params === undefined ? {} : { params }),
    };
  });
  const faults = engine.fireBatch(points, STATUS_ACTIONS);
  if (faults.every((fault) => fault === undefined)) return statuses;
  const answer: Record<string, TaskStatus> = {};
  ids.forEach((taskId, index) => {
    const fault = faults[index];
    const status = statuses[taskId] as TaskStatus;
    if (fault === undefined) answer[taskId] = status;
    // Typed as a status on purpose: the verb's result type holds, the wire carries the garbled entry.
    else if (fault.kind === 'malformedStatus') answer[taskId] = malformedStatus(status) as unknown as TaskStatus;
    // hideForPolls: left out.
  });
  return answer;
}

/** A job's params as a record, when they are one (they are JSON objects for every job kind the fake has). */
export function jobParams(params: unknown): Readonly<Record<string, unknown>> | undefined {
  return params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Record<string, unknown>) : undefined;
}
