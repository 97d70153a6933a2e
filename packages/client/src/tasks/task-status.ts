/**
 * Parsing one task status the way oVirt's engine does
 * (`HSMGetAllTasksStatusesVDSCommand.parseTaskStatusList`): the keys
 * `taskState`, `taskResult`, `code` and `message` are required, `code` must
 * parse as an integer and `taskState` must be one of the wire states. The
 * engine drops an entry that fails this; the watcher does the same and counts
 * the task as missed for that poll, so a garbled entry never crashes a wait
 * and never ends it on its own.
 */
import { TaskResult, TaskState } from '../api/enums.js';
import type { TaskStatus } from '../api/types.js';

/** A parsed status, or why the raw value was refused. */
export type ParsedTaskStatus = { readonly ok: true; readonly status: TaskStatus } | { readonly ok: false; readonly reason: string };

const STATES: ReadonlySet<string> = new Set<string>(Object.values(TaskState));
const RESULTS: ReadonlySet<string> = new Set<string>(Object.values(TaskResult));
/** Java's `Integer.parseInt` accepts an optional sign and decimal digits only. */
const INT_PATTERN = /^[+-]?\d+$/;

/**
 * Checks one status as found under `taskId` in `Host.getAllTasksStatuses` (or
 * as answered by `Task.getStatus`). A `taskID` field, when present, must name
 * the same task; when absent it is filled in from `taskId`.
 */
export function parseTaskStatus(taskId: string, raw: unknown): ParsedTaskStatus {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('not an object');
  const entry = raw as Record<string, unknown>;
  const { taskState, taskResult, message, taskID } = entry;
  if (typeof taskState !== 'string' || !STATES.has(taskState)) return refuse(`taskState ${show(taskState)} is not a wire state`);
  if (typeof taskResult !== 'string' || !RESULTS.has(taskResult)) return refuse(`taskResult ${show(taskResult)} is not a wire result`);
  // VDSM only reports a result once a task is done; "finished" without one is
  // the engine's malformed-entry case (engine-move.md §5 #13), not a success.
  if (taskState === TaskState.Finished && taskResult === TaskResult.None) return refuse('finished without a taskResult');
  const code = parseCode(entry['code']);
  if (code === undefined) return refuse(`code ${show(entry['code'])} is not an integer`);
  if (typeof message !== 'string') return refuse(`message ${show(message)} is not a string`);
  if (taskID !== undefined && taskID !== taskId) return refuse(`taskID ${show(taskID)} does not match ${taskId}`);
  const status: TaskStatus = {
    taskID: taskId,
    taskState: taskState as TaskState,
    taskResult: taskResult as TaskResult,
    code,
    message,
  };
  return { ok: true, status };
}

function parseCode(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && INT_PATTERN.test(value)) {
    const code = Number(value);
    return Number.isSafeInteger(code) ? code : undefined;
  }
  return undefined;
}

function refuse(reason: string): ParsedTaskStatus {
  return { ok: false, reason };
}

/** A short, bounded rendering of a bad value for an error message. */
function show(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
