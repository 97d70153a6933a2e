/**
 * The second half of validating a fault rule: a rule the schema accepts
 * (rule.ts) must also be able to FIRE. A combination of action and match
 * fields that the layer applying the action never sees (a `match.task` on
 * an RPC action, a phase the job kind never enters, `failAt` where no
 * progress follows, an internal task verb where the JSON-RPC method
 * belongs) is refused here with the field and the reason, so `POST /faults`
 * answers 400 instead of holding a rule that silently never fires.
 *
 * What each layer's points carry, and so what a rule may match, is the
 * table in docs/faults.md ("What a rule can match").
 */
import { isVdsmMethod, VERBS } from '@vdsm-kit/client/api';
import { DOMAIN_PARAMS, IMAGE_PARAMS } from './engine-params.js';
import { kindsOfMethod, TASK_KINDS } from './task-catalog.js';
import type { TaskKindInfo } from './task-catalog.js';
import { ACTION_LAYERS, actionKind, EVENT_WIRE_ACTIONS, FaultRuleError, parseRuleShape, STATUS_ACTIONS, STATUS_METHOD } from './rule.js';
import type { ActionKind, FaultMatch, FaultRule, TaskPhase } from './rule.js';

/**
 * Validates a rule: its shape (rule.ts) and that it can fire (module comment).
 *
 * @throws FaultRuleError listing every issue as `path: reason`.
 */
export function parseFaultRule(input: unknown): FaultRule {
  const rule = parseRuleShape(input);
  const issues = reachIssues(rule);
  if (issues.length > 0) throw new FaultRuleError(issues);
  return rule;
}

/** Why a valid-looking rule could never fire (empty when it can). */
export function reachIssues(rule: FaultRule): string[] {
  const kind = actionKind(rule.action);
  const match = rule.match;
  const issues: string[] = [];
  const refuse = (field: string, why: string): void => {
    issues.push(`match.${field}: ${why}`);
  };
  switch (ACTION_LAYERS[kind]) {
    case 'rpc':
      if (match.task !== undefined) refuse('task', `a ${kind} rule acts on a JSON-RPC call, which has no task kind or phase (use a task action such as failAt, or drop match.task)`);
      if (match.method !== undefined) checkMethod(match.method, refuse);
      checkCallFields(match, refuse);
      break;
    case 'status':
      checkStatus(kind, match, refuse);
      break;
    case 'domain':
      for (const field of ['method', 'params', 'image', 'task'] as const) {
        if (match[field] !== undefined) refuse(field, `a ${kind} condition holds for a domain (match.domain, narrowed by match.host); ${field} cannot narrow it`);
      }
      break;
    case 'wire':
      if (match.task !== undefined) refuse('task', `a ${kind} rule acts on a connection's requests or events, which have no task kind or phase`);
      // An event's method is its name (`|virt|VM_status|...`), not a verb.
      if (match.method !== undefined && !(EVENT_WIRE_ACTIONS as readonly string[]).includes(kind)) {
        checkMethod(match.method, refuse);
        checkCallFields(match, refuse);
      }
      break;
    case 'task':
      checkTask(kind, match, refuse);
      break;
  }
  return issues;
}

type Refuse = (field: string, why: string) => void;

/** A JSON-RPC method VDSM has, with a pointer to the right name for an internal task verb. */
function checkMethod(method: string, refuse: Refuse): boolean {
  if (isVdsmMethod(method)) return true;
  const starter = Object.entries(VERBS).find(([, verb]) => (verb as { readonly taskVerb?: string }).taskVerb === method)?.[0];
  const kindStarter = TASK_KINDS[method]?.methods[0];
  const named = starter ?? (Object.hasOwn(TASK_KINDS, method) ? kindStarter : undefined);
  if (named !== undefined) refuse('method', `'${method}' is a task's internal verb; name the JSON-RPC method that starts it ('${named}')`);
  else refuse('method', `'${method}' is not a JSON-RPC method of VDSM`);
  return false;
}

/** `params`, `domain` and `image` against the params of the call `match.method` names. */
function checkCallFields(match: FaultMatch, refuse: Refuse): void {
  if (match.method === undefined || !isVdsmMethod(match.method)) return;
  const names = Object.keys(VERBS[match.method].params.shape);
  const unknown = Object.keys(match.params ?? {}).filter((name) => !names.includes(name));
  if (unknown.length > 0) refuse('params', `${match.method} has no param ${unknown.join(', ')} (its params: ${names.join(', ')})`);
  if (match.domain !== undefined && !DOMAIN_PARAMS.some((name) => names.includes(name))) refuse('domain', `${match.method} names no storage domain`);
  if (match.image !== undefined && !IMAGE_PARAMS.some((name) => names.includes(name))) refuse('image', `${match.method} names no image`);
}

function checkStatus(kind: ActionKind, match: FaultMatch, refuse: Refuse): void {
  if (match.method !== undefined && match.method !== STATUS_METHOD) {
    refuse('method', `a ${kind} rule changes the answer of ${STATUS_METHOD}, the only method it can name (pick tasks with match.task.kind, match.image, match.domain)`);
  }
  if (match.params !== undefined) refuse('params', `${STATUS_METHOD} has no params; pick tasks with match.task.kind, match.image or match.domain`);
  if (match.task?.phase !== undefined) refuse('task.phase', `a task listed by ${STATUS_METHOD} is in no phase; drop match.task.phase`);
  const taskKind = match.task?.kind;
  if (taskKind !== undefined) {
    const info = TASK_KINDS[taskKind];
    if (!Object.hasOwn(TASK_KINDS, taskKind) || info === undefined) refuse('task.kind', unknownKind(taskKind));
    // HSM tasks (spmStart) are not listed by getAllTasksStatuses.
    else if (info.phases.length === 0) refuse('task.kind', `a ${taskKind} task is an HSM task, never listed by ${STATUS_METHOD}`);
    else if (info.hostJob === true) refuse('task.kind', `a ${taskKind} task carries an SDM host job, never listed by ${STATUS_METHOD} (use dropJob / dropJobAtEnd for Host.getJobs)`);
  }
  if (!(STATUS_ACTIONS as readonly string[]).includes(kind)) refuse('action', `${kind} is not a status action`);
}

function unknownKind(kind: string): string {
  return `unknown job kind '${kind}' (the kinds: ${Object.keys(TASK_KINDS).join(', ')})`;
}

/** The task layer: method / kind / phase / params against the job catalog. */
function checkTask(kind: ActionKind, match: FaultMatch, refuse: Refuse): void {
  let kinds = Object.keys(TASK_KINDS);
  let scope = 'a task';
  if (match.method !== undefined) {
    if (!checkMethod(match.method, refuse)) return;
    kinds = kindsOfMethod(match.method);
    if (kinds.length === 0) {
      refuse('method', `${match.method} starts no task, so a ${kind} rule never applies to it (task actions act on the tasks a method starts)`);
      return;
    }
    scope = `an ${match.method} task`;
  }
  const taskKind = match.task?.kind;
  if (taskKind !== undefined) {
    if (!Object.hasOwn(TASK_KINDS, taskKind)) {
      refuse('task.kind', unknownKind(taskKind));
      return;
    }
    if (!kinds.includes(taskKind)) {
      refuse('task.kind', `${match.method ?? ''} never starts a ${taskKind} task (it starts ${kinds.join(', ')})`);
      return;
    }
    kinds = [taskKind];
    scope = `a ${taskKind} task`;
  }
  const info = (name: string): TaskKindInfo => TASK_KINDS[name] as TaskKindInfo;
  kinds = kinds.filter((name) => info(name).phases.length > 0);
  if (kinds.length === 0) {
    refuse(taskKind === undefined ? 'method' : 'task.kind', `${scope} enters no phase, so task rules never apply to it`);
    return;
  }
  checkTaskParams(kinds, match, refuse);
  const phase = match.task?.phase;
  if (phase !== undefined) {
    const entering = kinds.filter((name) => entersPhase(info(name), phase, match));
    if (entering.length === 0) {
      const phases = kinds.map((name) => `${name}: ${info(name).phases.join(', ')}`).join('; ');
      refuse('task.phase', `${scope} never enters phase '${phase}'${onlyWhenNote(kinds, phase)} (phases: ${phases})`);
      return;
    }
    kinds = entering;
  }
  if (kind === 'failAt') {
    const progressing = kinds.filter((name) => (phase === undefined ? info(name).progressAfter.length > 0 : info(name).progressAfter.includes(phase)));
    if (progressing.length === 0) {
      refuse(phase === undefined ? 'task' : 'task.phase', `failAt fires on progress, and ${scope} reports no progress after entering '${phase ?? 'its first phase'}' (use finish to fail it there)`);
    }
  }
  if (kind === 'dropJob' || kind === 'dropJobAtEnd') {
    // Only copy_data applies them (at its `copy` phase); update_volume is a single write with nothing to hide mid-way.
    const jobs = kinds.filter((name) => name === 'copy_data' && (phase === undefined || phase === 'copy'));
    if (jobs.length === 0) {
      refuse(taskKind === undefined ? (match.method === undefined ? 'task' : 'method') : 'task.kind', `${kind} takes an SDM.copy_data job out of Host.getJobs (a copy_data task's phase 'copy'); ${scope} has none`);
    }
  }
  if (kind === 'failSourceDelete') {
    const moves = kinds.filter((name) => info(name).onlyWhen?.phase === 'delete' && entersPhase(info(name), 'delete', match));
    if (moves.length === 0 || (phase !== undefined && phase !== 'delete')) {
      refuse(phase !== undefined && phase !== 'delete' ? 'task.phase' : taskKind === undefined ? 'method' : 'task.kind',
        `failSourceDelete fails the source delete of an Image.move with operation 2 (a moveImage task's phase 'delete'); ${scope} has none`);
    }
  }
}

/** True when a job of `info` enters `phase` for a call `match.params` allow. */
function entersPhase(info: TaskKindInfo, phase: TaskPhase, match: FaultMatch): boolean {
  if (!info.phases.includes(phase)) return false;
  const when = info.onlyWhen;
  if (when === undefined || when.phase !== phase || match.params === undefined || !Object.hasOwn(match.params, when.param)) return true;
  return match.params[when.param] === when.value;
}

function onlyWhenNote(kinds: readonly string[], phase: TaskPhase): string {
  const when = kinds.map((name) => TASK_KINDS[name]?.onlyWhen).find((entry) => entry?.phase === phase);
  return when === undefined ? '' : ` unless ${when.param} is ${String(when.value)}`;
}

/** `match.params` names params of the methods that start the kinds. */
function checkTaskParams(kinds: readonly string[], match: FaultMatch, refuse: Refuse): void {
  if (match.params === undefined) return;
  const methods = [...new Set(kinds.flatMap((name) => TASK_KINDS[name]?.methods ?? []))].filter(isVdsmMethod);
  const names = new Set(methods.flatMap((method) => Object.keys(VERBS[method].params.shape)));
  const unknown = Object.keys(match.params).filter((name) => !names.has(name));
  if (unknown.length > 0) refuse('params', `the call that starts the task (${methods.join(', ')}) has no param ${unknown.join(', ')}`);
}
