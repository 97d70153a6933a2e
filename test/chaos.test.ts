/**
 * The chaos suite: seeded random schedules of the fake's faults (every action
 * of its catalogue, at every layer), crashes and SIGKILLs of the fake and of
 * the orchestrator, over moves with and without wipe, two-verb and legacy,
 * each followed by a restart and a resume; after each, the invariants of
 * chaos-invariants.ts. One test per seed: a seed draws one case (fast-check,
 * chaos-case.ts), and a failing case is shrunk to the fewest faults that still
 * fail, then reported with the command that replays it.
 *
 *   CHAOS_SEEDS=N        seeds to run (default 100), from CHAOS_SEED_BASE (default 1)
 *   CHAOS_SEED=S         only seed S (a replay)
 *   CHAOS_SHRINK_S=T     seconds a failing seed may spend shrinking (default 120)
 *   CHAOS_VERBOSE=1      print each case and what happened in it
 *
 * test/README.md tells how to run the long version.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { caseArbitrary, describeCase } from './support/chaos-case.js';
import { runChaosCase } from './support/chaos-run.js';

/** Block to file too (the fake copies that way since its block-to-file fix, commit 'fake-vdsm: block-to-file copy ...'). */
const BLOCK_TO_FILE = true;
/** Cases whose orchestrator is the CLI as a process, SIGKILLed and resumed: dearer (process starts), so fewer. */
const PROCESS_SHARE = 0.1;

const envNumber = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number, got ${JSON.stringify(value)}`);
  return n;
};

const single = process.env['CHAOS_SEED'];
const base = envNumber('CHAOS_SEED_BASE', 1);
const seeds = single !== undefined && single !== '' ? [envNumber('CHAOS_SEED', 0)] : Array.from({ length: envNumber('CHAOS_SEEDS', 100) }, (_, i) => base + i);
const shrinkMs = envNumber('CHAOS_SHRINK_S', 120) * 1000;
const verbose = (process.env['CHAOS_VERBOSE'] ?? '') !== '';
const arbitrary = caseArbitrary({ blockToFile: BLOCK_TO_FILE, processShare: PROCESS_SHARE });

/** The one command that runs this seed again. */
const replay = (seed: number) => `CHAOS_SEED=${seed} npm test -w test -- --grep 'chaos seed ${seed}:'`;

// A case takes seconds; a failing one also shrinks, each try a whole case.
describe('chaos: seeded faults, crashes and kills, then restart and resume', function () {
  this.timeout(120_000 + shrinkMs);
  for (const seed of seeds) {
    const drawn = fc.sample(arbitrary, { seed, numRuns: 1 })[0]!;
    it(`chaos seed ${seed}: ${describeCase(drawn)}`, async function () {
      // Every failing run's verdict, by case: a replay of the smallest can pass on timing, its first verdict stands.
      const failures = new Map<string, { broken: string[]; log: string[] }>();
      const details = await fc.check(
        fc.asyncProperty(arbitrary, async (c) => {
          const verdict = await runChaosCase(c);
          if (verbose) console.log([`  ${describeCase(c)}: ${verdict.broken.length === 0 ? 'ok' : 'BROKEN'}`, ...verdict.log.map((l) => `    ${l}`)].join('\n'));
          if (verdict.broken.length > 0) failures.set(JSON.stringify(c), verdict);
          return verdict.broken.length === 0;
        }),
        // The first run always runs whole: the time limit is looked at between runs, so it bounds the shrinking only.
        { seed, numRuns: 1, ...(shrinkMs > 0 ? { interruptAfterTimeLimit: shrinkMs } : { endOnFailure: true }) },
      );
      if (!details.failed) return;
      const smallest = details.counterexample?.[0];
      if (smallest === undefined) throw details.errorInstance ?? new Error(`chaos seed ${seed} failed with no case to show (${replay(seed)})`);
      const verdict = failures.get(JSON.stringify(smallest)) ?? (await runChaosCase(smallest));
      expect.fail(
        [
          `chaos seed ${seed} broke ${verdict.broken.length} invariant(s):`,
          ...verdict.broken.map((line) => `  - ${line}`),
          `shrunk (${details.numShrinks} steps) to ${smallest.faults.length} fault(s): ${describeCase(smallest)}`,
          `  ${JSON.stringify(smallest)}`,
          'what happened:',
          ...verdict.log.map((line) => `  ${line}`),
          `replay (at the repository root): ${replay(seed)}`,
        ].join('\n'),
      );
    });
  }
});
