'use strict';
// Mocha prints no machine-readable totals; CI needs "N passed, N failed".
// This reporter is mocha's spec reporter plus that line, and it writes the
// suite's totals (and every skipped test with its reason, see
// packages/test-support/src/skip.ts) to .test-results/ so the root script can
// print the sum and the list.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

/** The reason `skipUnless` left on the test or one of its suites. */
function skipReason(test) {
  for (let node = test; node !== undefined && node !== null; node = node.parent) {
    if (typeof node.skipReason === 'string') return node.skipReason;
  }
  return 'no reason given (it.skip, xit or a bare this.skip())';
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on(EVENT_TEST_PENDING, (test) => skipped.push({ test: test.fullTitle(), file: test.file && path.relative(process.cwd(), test.file), reason: skipReason(test) }));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures } = this.stats;
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${skipped.length} skipped\n`);
      for (const skip of skipped) process.stdout.write(`  skipped: ${skip.test} (${skip.file}): ${skip.reason}\n`);
      const dir = path.resolve(__dirname, '..', '.test-results');
      fs.mkdirSync(dir, { recursive: true });
      const name = path.basename(process.cwd());
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ suite: name, passes, failures, skipped }) + '\n');
    });
  }
}
module.exports = SummaryReporter;
