/**
 * The operation a fault point belongs to: one JSON-RPC call (from the verb
 * handler's start to its answer) or one task's job. Carried with
 * `AsyncLocalStorage`, so the deep storage checks that ask for a domain
 * condition need not pass it through every signature.
 *
 * Two things need it:
 * - a domain condition is decided ONCE per operation (`after`,
 *   `probability`, `times` count operations, not the many checks one copy
 *   makes of the free space);
 * - a task started by a call remembers that call's JSON-RPC method and
 *   params, which task rules match with `match.method` / `match.params`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** One call or one job. */
export interface Operation {
  /** Unique per operation: `call.<n>` for a call, the task id for a job (which never holds a `.`, so the two cannot meet). */
  readonly id: string;
  /** The JSON-RPC method of the call (or of the call that started the task). */
  readonly method?: string;
  /** Its named params as the verb's schema parsed them. */
  readonly params?: Readonly<Record<string, unknown>>;
}

const current = new AsyncLocalStorage<Operation>();

/** Calls numbered in this process: a counter, not a UUID per call (randomUUID was ~3% of the fake's CPU in pipelined Host.ping2). */
let calls = 0;

/** Runs `work` as the call `method(params)`: everything it awaits belongs to that operation. */
export function inCall<T>(method: string, params: Readonly<Record<string, unknown>>, work: () => T): T {
  return current.run({ id: `call.${++calls}`, method, params }, work);
}

/** Runs `work` as the operation `operation` (a task's job). */
export function inOperation<T>(operation: Operation, work: () => T): T {
  return current.run(operation, work);
}

/**
 * `fn` bound to the operation running now: a callback that a child process's
 * events or a timer call later still counts as this operation (the copier's
 * free-space checks during qemu-img convert lose the context otherwise).
 */
export function inThisOperation<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return AsyncLocalStorage.bind(fn);
}

/** The operation running now, undefined outside any (startup, recovery). */
export function currentOperation(): Operation | undefined {
  return current.getStore();
}
