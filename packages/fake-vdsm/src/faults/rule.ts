/**
 * A fault rule, the JSON accepted by `POST /faults`, scenario files and
 * `FaultEngine.add`: `{match, action, times?, after?, probability?}`.
 *
 * An action is told apart by ONE key (its `ActionKind`): `{error: 410}`,
 * `{delayMs: 500}`, `{failAt: 0.63, error: 261}` (`failAt` wins over the
 * `error` it carries, as `finish` does). Each kind belongs to one layer
 * (`ACTION_LAYERS`): the layer's code asks the engine only for its kinds.
 *
 * The action is validated by hand around one zod schema per kind rather than
 * as a `z.union`: a union that fails reports "Invalid input" for the whole
 * object, while a test author needs to read `action.failAt: must be <= 1`.
 */
import { z } from 'zod';

/** Where a fault is injected. */
export type FaultLayer = 'rpc' | 'status' | 'task' | 'domain' | 'wire';

/** Task phases a `match.task.phase` can name. */
export const TASK_PHASES = ['copy', 'delete', 'zero', 'create', 'update'] as const;
export type TaskPhase = (typeof TASK_PHASES)[number];

const count = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();
const delay = z.number().int().nonnegative().max(24 * 3600 * 1000);
/** A VDSM error code (any integer: an unknown one gets a generic VDSM-style message). */
const errorCode = z.number().int();

/** One zod schema per action kind; the object key IS the kind. */
const ACTION_SCHEMAS = {
  // RPC layer (faults core).
  error: z.strictObject({ error: errorCode, message: z.string().min(1).optional() }),
  delayMs: z.strictObject({ delayMs: delay }),
  noAnswer: z.strictObject({ noAnswer: z.literal(true) }),
  answerAfterMs: z.strictObject({ answerAfterMs: delay }),
  startAfterMs: z.strictObject({ startAfterMs: delay }),
  // Task status layer (faults core).
  hideForPolls: z.strictObject({ hideForPolls: positiveInt }),
  malformedStatus: z.strictObject({ malformedStatus: z.literal(true) }),
  // Task layer (task faults).
  failAt: z.strictObject({ failAt: z.number().min(0).max(1), error: errorCode }),
  phaseDelayMs: z.strictObject({ phaseDelayMs: delay }),
  hang: z.strictObject({ hang: z.literal(true) }),
  finish: z.strictObject({ finish: z.enum(['cleanSuccess', 'cleanFailure']), error: errorCode.optional() }),
  failSourceDelete: z.strictObject({ failSourceDelete: z.literal(true) }),
  loseSpm: z.strictObject({ loseSpm: z.literal(true), toHost: positiveInt.optional() }),
  crash: z.strictObject({ crash: z.literal(true) }),
  // Task layer, SDM host jobs only (jobs/): the job leaves Host.getJobs now / as it ends.
  dropJob: z.strictObject({ dropJob: z.literal(true) }),
  dropJobAtEnd: z.strictObject({ dropJobAtEnd: z.literal(true) }),
  // Domain conditions (task faults).
  domainFull: z.strictObject({ domainFull: z.literal(true) }),
  domainUnreachable: z.strictObject({ domainUnreachable: z.literal(true) }),
  // Wire layer (wire faults).
  closeConnection: z.strictObject({ closeConnection: z.literal(true) }),
  stopHeartbeats: z.strictObject({ stopHeartbeats: z.literal(true) }),
  slowBytes: z.strictObject({ slowBytes: positiveInt }),
  dropEvents: z.strictObject({ dropEvents: z.literal(true) }),
  duplicateEvents: z.strictObject({ duplicateEvents: z.literal(true) }),
} as const;

/** The key that tells an action apart. */
export type ActionKind = keyof typeof ACTION_SCHEMAS;

/** Every action kind, `error` last: `failAt` and `finish` carry an `error` too and win over it. */
export const ACTION_KINDS = Object.keys(ACTION_SCHEMAS).filter((kind) => kind !== 'error').concat('error') as readonly ActionKind[];

/** The layer whose code applies each action kind. */
export const ACTION_LAYERS: Readonly<Record<ActionKind, FaultLayer>> = {
  error: 'rpc',
  delayMs: 'rpc',
  noAnswer: 'rpc',
  answerAfterMs: 'rpc',
  startAfterMs: 'rpc',
  hideForPolls: 'status',
  malformedStatus: 'status',
  failAt: 'task',
  phaseDelayMs: 'task',
  hang: 'task',
  finish: 'task',
  failSourceDelete: 'task',
  loseSpm: 'task',
  crash: 'task',
  dropJob: 'task',
  dropJobAtEnd: 'task',
  domainFull: 'domain',
  domainUnreachable: 'domain',
  closeConnection: 'wire',
  stopHeartbeats: 'wire',
  slowBytes: 'wire',
  dropEvents: 'wire',
  duplicateEvents: 'wire',
};

/** The action of kind `K`. */
export type ActionOf<K extends ActionKind> = z.infer<(typeof ACTION_SCHEMAS)[K]>;
/** Any action. */
export type FaultAction = { [K in ActionKind]: ActionOf<K> }[ActionKind];

/** The action kinds of the RPC layer (the dispatcher's hook). */
export const RPC_ACTIONS = ['error', 'delayMs', 'noAnswer', 'answerAfterMs', 'startAfterMs'] as const satisfies readonly ActionKind[];
/** The action kinds of the task status layer (`Host.getAllTasksStatuses`). */
export const STATUS_ACTIONS = ['hideForPolls', 'malformedStatus'] as const satisfies readonly ActionKind[];
/** The method the status faults act on (what their `match.method` may name). */
export const STATUS_METHOD = 'Host.getAllTasksStatuses';
/** Wire actions an event's publication triggers (their `match.method` is the event's name). */
export const EVENT_WIRE_ACTIONS = ['dropEvents', 'duplicateEvents'] as const satisfies readonly ActionKind[];

/** The kind of a validated action (its one distinguishing key). */
export function actionKind(action: FaultAction): ActionKind {
  for (const kind of ACTION_KINDS) if (kind in action) return kind;
  // Unreachable for a validated action.
  throw new TypeError(`not a fault action: ${JSON.stringify(action)}`);
}

/**
 * The action, checked against the schema of the one kind its keys name.
 * Issues carry paths relative to the action.
 */
const FaultActionSchema = z.unknown().transform((value, ctx): FaultAction => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be an object with one action key' });
    return z.NEVER;
  }
  const kinds = ACTION_KINDS.filter((kind) => kind in value);
  // failAt / finish carry an `error`; it does not make a second kind.
  const distinct = kinds.length > 1 ? kinds.filter((kind) => kind !== 'error') : kinds;
  if (distinct.length !== 1) {
    const found = distinct.length === 0 ? 'none' : distinct.join(', ');
    ctx.addIssue({ code: 'custom', message: `must have exactly one action key of ${ACTION_KINDS.join(', ')} (found ${found})` });
    return z.NEVER;
  }
  const parsed = ACTION_SCHEMAS[distinct[0] as ActionKind].safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path.filter((key) => typeof key !== 'symbol') });
  }
  return z.NEVER;
});

/**
 * What a rule fires on; every given field must fit (AND). Which fields a
 * layer's points carry is the table in docs/faults.md; a rule naming one its
 * layer never sees is refused by rule-reach.ts.
 */
export const FaultMatchSchema = z.strictObject({
  /** A JSON-RPC method, e.g. `Image.move` (for a task action: the method that started the task). */
  method: z.string().min(1).optional(),
  /** Equal-match (deep) on named params, e.g. `{imageID: '...'}`. */
  params: z.record(z.string(), z.unknown()).optional(),
  /** VDSM host id. */
  host: positiveInt.optional(),
  /** A storage domain: a call's storagedomainID / dstSdUUID / sdUUID, or the task's domain. */
  domain: z.string().min(1).optional(),
  /** An image: a call's imageID / imgUUID, or the task's image. */
  image: z.string().min(1).optional(),
  /** A task's job kind (moveImage, purgeImage, zeroImage, copyImage ...) and phase. */
  task: z.strictObject({ kind: z.string().min(1).optional(), phase: z.enum(TASK_PHASES).optional() }).optional(),
});
export type FaultMatch = z.infer<typeof FaultMatchSchema>;

/** A rule as given (validated); `id` is assigned by the engine when absent. */
export const FaultRuleSchema = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  match: FaultMatchSchema.default({}),
  action: FaultActionSchema,
  /** Fire at most N times (default unlimited). */
  times: positiveInt.optional(),
  /** Skip the first N matches. */
  after: count.optional(),
  /** 0..1, drawn from the engine's seeded PRNG when the rule otherwise fires. */
  probability: z.number().min(0).max(1).optional(),
});
export type FaultRule = z.infer<typeof FaultRuleSchema>;
/** A rule held by the engine. */
export type FaultRuleWithId = FaultRule & { readonly id: string };

/** A rule that does not validate; `issues` lists `path: message` lines. */
export class FaultRuleError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid fault rule: ${issues.join('; ')}`);
    this.name = 'FaultRuleError';
    this.issues = issues;
  }
}

/**
 * Checks a rule's shape (JSON from HTTP, a scenario file or code); whether it
 * can fire is checked after by rule-reach.ts `parseFaultRule`, the entry point.
 *
 * @throws FaultRuleError listing every issue with its path (`action.failAt: ...`).
 */
export function parseRuleShape(input: unknown): FaultRule {
  const parsed = FaultRuleSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new FaultRuleError(parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'rule'}: ${issue.message}`));
}
