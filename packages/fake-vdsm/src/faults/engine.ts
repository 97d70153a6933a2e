/**
 * The fault engine: ONE per fake process (host/storage-host.ts creates it),
 * holding the ordered rule list, the seeded PRNG and the firing log. Each
 * layer asks it at its injection points, naming the action kinds it can
 * apply: the dispatcher `fire({layer: 'rpc', method, params, host}, RPC_ACTIONS)`,
 * the task layer with a task's kind and phase, and so on.
 *
 * Semantics (the rule list is ordered, the first rule that FIRES wins):
 * - a rule is considered only when its action kind is one the caller applies
 *   and its `match` fits the point;
 * - each such match counts; the first `after` matches are skipped;
 * - a rule that fired `times` times is spent (a `hideForPolls: K` rule is
 *   spent after K firings when `times` is not smaller);
 * - `probability` is drawn from the seeded PRNG only when the rule would
 *   otherwise fire, so the same seed and the same calls fire the same faults
 *   (a rule that never gets that far draws nothing and shifts no stream);
 * - a rule skipped by `after`, spent, or missing its draw lets the next rule
 *   try: a catch-all rule below a probabilistic one still applies;
 * - a rule decides ONCE per operation (`FaultPoint.operation`: one call, or
 *   one task): a task rule that matched a task's first phase does not match
 *   its later phases (it fired there, or `after`/`probability` spared the
 *   task), and a domain condition decided for an operation holds (or not)
 *   for every check that operation makes, counted once. So `after`, `times`
 *   and `probability` count calls and tasks, never internal polls.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '@vdsm-kit/client/clock';
import type { Logger } from '../logger.js';
import { DOMAIN_PARAMS, IMAGE_PARAMS } from './engine-params.js';
import { ACTION_LAYERS, actionKind } from './rule.js';
import { parseFaultRule } from './rule-reach.js';
import type { ActionKind, FaultAction, FaultLayer, FaultMatch, FaultRule, FaultRuleWithId } from './rule.js';
import { normalizeSeed, randomSeed, SeededRandom } from './rng.js';

/** Where a layer asks for a fault; the fields it knows are set. */
export interface FaultPoint {
  readonly layer: FaultLayer;
  /** VDSM host id serving the call / running the task / owning the connection. */
  readonly host?: number;
  /** JSON-RPC method (rpc, status and wire points). */
  readonly method?: string;
  /** The call's named params (rpc points). */
  readonly params?: Readonly<Record<string, unknown>>;
  readonly taskId?: string;
  /** The task's job kind (moveImage, purgeImage, ...). */
  readonly kind?: string;
  readonly phase?: string;
  readonly domain?: string;
  readonly image?: string;
  /** A wire point's connection (for the log). */
  readonly connection?: string;
  /** The operation (call or task) the point belongs to; a task point's defaults to its task id. */
  readonly operation?: string;
}

/** One firing, as the log keeps it. */
export interface Firing {
  /** 1, 2, ... in firing order since the engine started (or `reset`). */
  readonly seq: number;
  /** Clock time in ms (the fake's clock: a ManualClock's time in tests). */
  readonly time: number;
  /** Wall time, ISO 8601. */
  readonly at: string;
  readonly ruleId: string;
  readonly layer: FaultLayer;
  readonly kind: ActionKind;
  readonly point: FaultPoint;
  readonly action: FaultAction;
  /** A batch firing (`fireBatch`): every task it applied to. */
  readonly taskIds?: readonly string[];
}

/** What `fire` returns: the rule that fired and its action. */
export interface FiredFault {
  readonly rule: FaultRuleWithId;
  /** `rule.id`, for log lines. */
  readonly ruleId: string;
  readonly kind: ActionKind;
  readonly action: FaultAction;
  readonly firing: Firing;
}

/** A rule with its counters (`FaultEngine.status`). */
export interface FaultRuleStatus {
  readonly rule: FaultRuleWithId;
  /** Matches seen (including those skipped by `after` or a missed draw). */
  readonly matched: number;
  readonly fired: number;
  /** True once it fired its `times` (or `hideForPolls`) firings. */
  readonly spent: boolean;
}

/** Options of a `FaultEngine`. */
export interface FaultEngineOptions {
  /** Seed of the PRNG (default: a random one, logged and readable as `seed`). */
  readonly seed?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Rules to start with, in order. */
  readonly rules?: readonly unknown[];
  /** How many firings the log keeps, the oldest dropped first (default 10,000). */
  readonly logLimit?: number;
}

interface Entry {
  readonly rule: FaultRuleWithId;
  readonly kind: ActionKind;
  /** Firing cap: `times`, or K for `hideForPolls: K` when smaller. */
  readonly cap: number;
  matched: number;
  fired: number;
  /** What the rule decided per operation (the firing, or null when it spared it), oldest first. */
  readonly decided: Map<string, FiredFault | null>;
}

/** Operations a rule remembers its decision for; older ones are forgotten (they are long over). */
const DECISIONS_KEPT = 1000;


/** The ordered fault rules of one fake process (see the module comment). */
export class FaultEngine {
  readonly clock: Clock;
  readonly #logger: Logger;
  readonly #random: SeededRandom;
  readonly #logLimit: number;
  #entries: Entry[] = [];
  #log: Firing[] = [];
  #seq = 0;
  #nextId = 1;

  constructor(options: FaultEngineOptions) {
    this.clock = options.clock;
    this.#logger = options.logger.child({ component: 'faults' });
    this.#random = new SeededRandom(options.seed ?? randomSeed());
    this.#logLimit = options.logLimit ?? 10_000;
    for (const rule of options.rules ?? []) this.add(rule);
    this.#logger.info({ seed: this.seed }, 'Fault engine ready');
  }

  /** The PRNG's seed (the one given, or the random one chosen). */
  get seed(): number {
    return this.#random.seed;
  }

  /** Starts the PRNG over from `seed` (rules and counters are kept). @throws RangeError for a bad seed. */
  reseed(seed: number): void {
    this.#random.reseed(normalizeSeed(seed));
    this.#logger.info({ seed: this.seed }, 'Fault engine reseeded');
  }

  /** True when no rule is held: the hot path's one check. */
  get empty(): boolean {
    return this.#entries.length === 0;
  }

  /**
   * Validates a rule and appends it (last in order).
   *
   * @throws FaultRuleError for an invalid rule; Error for an id already held.
   */
  add(input: unknown): FaultRuleWithId {
    const parsed: FaultRule = parseFaultRule(input);
    const id = parsed.id ?? this.#freshId();
    if (this.#entries.some((entry) => entry.rule.id === id)) throw new Error(`a fault rule with id '${id}' already exists`);
    const rule: FaultRuleWithId = { ...parsed, id };
    const kind = actionKind(rule.action);
    const perPolls = 'hideForPolls' in rule.action ? rule.action.hideForPolls : Infinity;
    this.#entries.push({ rule, kind, cap: Math.min(rule.times ?? Infinity, perPolls), matched: 0, fired: 0, decided: new Map() });
    this.#logger.info({ rule }, 'Fault rule added');
    return rule;
  }

  /** The rules, in order. */
  list(): FaultRuleWithId[] {
    return this.#entries.map((entry) => entry.rule);
  }

  /** The rules with their counters, in order. */
  status(): FaultRuleStatus[] {
    return this.#entries.map((entry) => ({ rule: entry.rule, matched: entry.matched, fired: entry.fired, spent: entry.fired >= entry.cap }));
  }

  /** Removes a rule; false when no rule has that id. */
  remove(id: string): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((entry) => entry.rule.id !== id);
    return this.#entries.length !== before;
  }

  /** Removes every rule (the log and the PRNG are kept). */
  clear(): void {
    this.#entries = [];
  }

  /** Removes every rule, empties the log and starts the PRNG over from `seed` (default: the current seed). */
  reset(seed?: number): void {
    this.#entries = [];
    this.#log = [];
    this.#seq = 0;
    this.#nextId = 1;
    this.#random.reseed(seed ?? this.seed);
  }

  /** The firing log, oldest first (a copy). */
  log(): Firing[] {
    return this.#log.slice();
  }

  /** Empties the firing log. */
  clearLog(): void {
    this.#log = [];
  }

  /**
   * The first rule (in order) whose action kind is one of `actions` and whose
   * match fits `point`, after `after`/`times`/`probability` (module comment).
   * A firing is counted and logged.
   */
  fire(point: FaultPoint, actions: readonly ActionKind[]): FiredFault | undefined {
    if (this.#entries.length === 0) return undefined;
    const operation = point.operation ?? (point.layer === 'task' ? point.taskId : undefined);
    for (const entry of this.#entries) {
      if (!actions.includes(entry.kind) || !matches(entry.rule.match, point)) continue;
      if (operation === undefined) {
        if (this.#tryFire(entry)) return this.#record(entry, point);
        continue;
      }
      const earlier = entry.decided.get(operation);
      if (earlier === undefined) {
        const fired = this.#tryFire(entry) ? this.#record(entry, point) : null;
        remember(entry.decided, operation, fired);
        if (fired !== null) return fired;
      } else if (earlier !== null && ACTION_LAYERS[entry.kind] === 'domain') {
        // A condition holds for the whole operation: not counted again.
        return earlier;
      }
    }
    return undefined;
  }

  /**
   * `fire` for several points met at ONE moment (the tasks of one
   * `getAllTasksStatuses` poll): each rule counts at most one match and one
   * firing for the whole batch, and a rule that fires applies to every point
   * of the batch it matches that no earlier rule took. Returns the fault of
   * each point (same order), undefined where none applies.
   */
  fireBatch(points: readonly FaultPoint[], actions: readonly ActionKind[]): (FiredFault | undefined)[] {
    const result: (FiredFault | undefined)[] = new Array<FiredFault | undefined>(points.length).fill(undefined);
    if (this.#entries.length === 0 || points.length === 0) return result;
    for (const entry of this.#entries) {
      if (!actions.includes(entry.kind)) continue;
      const hits: number[] = [];
      points.forEach((point, index) => {
        if (result[index] === undefined && matches(entry.rule.match, point)) hits.push(index);
      });
      if (hits.length === 0 || !this.#tryFire(entry)) continue;
      const taskIds = hits.map((index) => points[index]?.taskId).filter((id): id is string => id !== undefined);
      const fired = this.#record(entry, points[hits[0] as number] as FaultPoint, taskIds);
      for (const index of hits) result[index] = fired;
    }
    return result;
  }

  /** Counts a match; true when the rule fires now (past `after`, not spent, draw won). */
  #tryFire(entry: Entry): boolean {
    entry.matched += 1;
    if (entry.matched <= (entry.rule.after ?? 0)) return false;
    if (entry.fired >= entry.cap) return false;
    const { probability } = entry.rule;
    if (probability !== undefined && this.#random.next() >= probability) return false;
    entry.fired += 1;
    return true;
  }

  #record(entry: Entry, point: FaultPoint, taskIds?: readonly string[]): FiredFault {
    const firing: Firing = {
      seq: ++this.#seq,
      time: this.clock.now(),
      at: new Date().toISOString(),
      ruleId: entry.rule.id,
      layer: ACTION_LAYERS[entry.kind],
      kind: entry.kind,
      point,
      action: entry.rule.action,
      ...(taskIds === undefined ? {} : { taskIds }),
    };
    this.#log.push(firing);
    if (this.#log.length > this.#logLimit) this.#log.splice(0, this.#log.length - this.#logLimit);
    this.#logger.info({ firing }, 'Fault fired');
    return { rule: entry.rule, ruleId: entry.rule.id, kind: entry.kind, action: entry.rule.action, firing };
  }

  #freshId(): string {
    let id: string;
    do id = `fault-${this.#nextId++}`;
    while (this.#entries.some((entry) => entry.rule.id === id));
    return id;
  }
}

/** Keeps `operation`'s decision, forgetting the oldest beyond `DECISIONS_KEPT`. */
function remember(decided: Map<string, FiredFault | null>, operation: string, fired: FiredFault | null): void {
  decided.set(operation, fired);
  if (decided.size > DECISIONS_KEPT) {
    const oldest = decided.keys().next();
    if (oldest.done !== true) decided.delete(oldest.value);
  }
}

/** True when every field `match` gives fits `point` (module comment of rule.ts). */
export function matches(match: FaultMatch, point: FaultPoint): boolean {
  if (match.method !== undefined && match.method !== point.method) return false;
  if (match.host !== undefined && match.host !== point.host) return false;
  if (match.params !== undefined) {
    const params = point.params;
    if (params === undefined) return false;
    for (const [name, value] of Object.entries(match.params)) {
      if (!isDeepStrictEqual(params[name], value)) return false;
    }
  }
  if (match.domain !== undefined && !namedBy(match.domain, point.domain, point.params, DOMAIN_PARAMS)) return false;
  if (match.image !== undefined && !namedBy(match.image, point.image, point.params, IMAGE_PARAMS)) return false;
  if (match.task !== undefined) {
    if (match.task.kind !== undefined && match.task.kind !== point.kind) return false;
    if (match.task.phase !== undefined && match.task.phase !== point.phase) return false;
  }
  return true;
}

/** The point names `wanted` directly or through one of the params that carry it. */
function namedBy(wanted: string, direct: string | undefined, params: Readonly<Record<string, unknown>> | undefined, names: readonly string[]): boolean {
  if (direct === wanted) return true;
  return params !== undefined && names.some((name) => params[name] === wanted);
}
