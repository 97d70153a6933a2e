/**
 * Small assertions on promises for failure tests: what a promise rejected
 * with, and whether it has settled yet (to prove a call is still pending
 * just before its deadline).
 */
import { expect } from 'chai';

/** Resolves with what `promise` rejected with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>, what = 'the call'): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error;
  }
  return expect.fail(`${what} resolved with ${JSON.stringify(value)} instead of failing`);
}

/** A promise whose state can be read synchronously. */
export interface Watched<T> {
  readonly promise: Promise<T>;
  readonly settled: boolean;
}

/**
 * Watches `promise`. A rejection is handled here (so an unobserved failure
 * never becomes an unhandled rejection); read it through `promise`.
 */
export function watch<T>(promise: Promise<T>): Watched<T> {
  let settled = false;
  const done = (): void => {
    settled = true;
  };
  promise.then(done, done);
  return {
    promise,
    get settled() {
      return settled;
    },
  };
}
