/**
 * A value now or a promise of it. The fake's JSON-RPC path passes such
 * values from the verb handler out to the connection, so a verb that answers
 * synchronously (most getters, `Host.ping2`) costs no promise and no
 * microtask hop on its way out (issue 13: the nested async chain was a fair
 * share of a pipelined call's CPU time, and each promise also pays the
 * async hooks that faults/operation.ts's `AsyncLocalStorage` turns on).
 */

/** A value, or a promise of one. */
export type MaybePromise<T> = T | PromiseLike<T>;

/** True for anything `await` would wait for: an object or function with a `then` method. */
export function isPromiseLike<T>(value: MaybePromise<T>): value is PromiseLike<T> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}

/**
 * `then(value)`: now for a plain value, once it resolves for a promise. A
 * rejection, or an exception `then` throws, propagates as `await` would
 * carry it (thrown now, or a rejected promise).
 */
export function afterValue<T, R>(value: MaybePromise<T>, then: (value: T) => R): MaybePromise<R> {
  return isPromiseLike(value) ? value.then(then) : then(value);
}
