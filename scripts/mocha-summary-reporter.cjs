'use strict';
// Mocha prints no machine-readable totals; CI needs "N passed, N failed".
// This reporter is mocha's spec reporter plus that line, and it appends the
// suite's totals to .test-results/ so the root script can print the sum.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      process.stdout.write(`\n${passes} passed, ${failures} failed\n`);
      const dir = path.resolve(__dirname, '..', '.test-results');
      fs.mkdirSync(dir, { recursive: true });
      const name = path.basename(process.cwd());
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ suite: name, passes, failures, pending }) + '\n');
    });
  }
}
module.exports = SummaryReporter;
