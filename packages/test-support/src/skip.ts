/**
 * Skips that say why. A test that cannot run here (a tool is missing, the
 * reference schema is not beside the repository) calls
 * `skipUnless(this, have, 'qemu-img is not installed (Debian: qemu-utils)')`
 * instead of a bare `this.skip()`: the reason travels on the test object to
 * scripts/mocha-summary-reporter.cjs, and `npm test` lists every skip with
 * it, so nobody mistakes a skipped test for a passing one.
 *
 * With `VDSM_KIT_NO_SKIP=1` (set by .ci/run, which installs every tool) a
 * skip fails the test instead: CI runs everything or says what it lacked.
 */
import type { Context } from 'mocha';

/** The property the summary reporter reads on a pending test or its suite. */
export const SKIP_REASON = 'skipReason';

/** The environment switch that turns skips into failures. */
export const NO_SKIP_ENV = 'VDSM_KIT_NO_SKIP';

/**
 * Skips the current test (or, from a `before`/`beforeEach` hook, the tests
 * it guards) unless `condition` holds; `reason` says what is missing.
 *
 * @throws Error naming the reason when `VDSM_KIT_NO_SKIP=1`.
 */
export function skipUnless(ctx: Context, condition: boolean, reason: string): void {
  if (condition) return;
  if (process.env[NO_SKIP_ENV] === '1') throw new Error(`cannot run here and ${NO_SKIP_ENV}=1 forbids skipping: ${reason}`);
  const runnable = ctx.currentTest ?? ctx.test;
  if (runnable !== undefined) {
    Object.assign(runnable, { [SKIP_REASON]: reason });
    // A hook's skip marks the tests of its suite: the reason goes there too.
    if ((runnable as { type?: string }).type === 'hook' && runnable.parent !== undefined) Object.assign(runnable.parent, { [SKIP_REASON]: reason });
  }
  ctx.skip();
}
