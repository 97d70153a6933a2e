// `npm test`: type-check and build everything, run every package's mocha
// suite (all of them, even after a failure), then print the one totals line
// CI reads: "N passed, N failed", after the skipped tests and their reasons.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const results = new URL('.test-results/', root);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } }).status ?? 1;

rmSync(results, { recursive: true, force: true });

if (run('npx', ['tsc', '-b']) !== 0) {
  console.error('type-check/build failed: no tests were run');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const lernaStatus = run('npx', ['lerna', 'run', 'test', '--concurrency', '1', '--stream', '--no-bail']);

let passed = 0;
let failed = 0;
let suites = 0;
const skipped = [];
const timedOut = [];
for (const name of safeList(results)) {
  if (!name.endsWith('.json')) continue;
  const r = JSON.parse(readFileSync(new URL(name, results), 'utf8'));
  passed += r.passes;
  failed += r.failures;
  suites++;
  for (const skip of r.skipped ?? []) skipped.push({ suite: r.suite, ...skip });
  if (r.timedOut !== undefined) timedOut.push(`${r.suite} (killed after ${r.timedOut} s)`);
}
// A suite that crashed before mocha's end event reports nothing: count it.
if (lernaStatus !== 0 && failed === 0) failed = 1;
console.log(`\n${suites} suites`);
if (timedOut.length > 0) console.log(`timed out: ${timedOut.join(', ')}`);
// What did not run, grouped by why: a skip is not a pass.
const byReason = new Map();
for (const skip of skipped) byReason.set(skip.reason, [...(byReason.get(skip.reason) ?? []), skip]);
for (const [reason, skips] of byReason) {
  console.log(`skipped ${skips.length}: ${reason}`);
  for (const skip of skips) console.log(`  - ${skip.suite}: ${skip.test}`);
}
console.log(`${skipped.length} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

function safeList(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
