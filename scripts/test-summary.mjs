// Sums the per-package totals the summary reporter left in .test-results/
// and prints the one line CI reads. Exits non-zero if any test failed.
import { readdirSync, readFileSync } from 'node:fs';

const dir = new URL('../.test-results/', import.meta.url);
let passed = 0;
let failed = 0;
for (const name of readdirSync(dir)) {
  if (!name.endsWith('.json')) continue;
  const r = JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
  passed += r.passes;
  failed += r.failures;
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
