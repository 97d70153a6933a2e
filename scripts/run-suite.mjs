// One package's test suite under an overall time limit: `node
// ../../scripts/run-suite.mjs mocha` runs mocha in its own process group and,
// past SUITE_TIMEOUT_S seconds (default 900), kills the whole group and
// records the suite as failed, so a hung test (an open handle, a deadlock)
// fails the run instead of holding CI for ever. The limit is a safety net,
// not a timing check: a healthy suite takes a small fraction of it.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  console.error('usage: run-suite.mjs COMMAND [ARG...]');
  process.exit(2);
}
const limitS = Number(process.env.SUITE_TIMEOUT_S ?? 900);
const suite = basename(process.cwd());
const child = spawn(command, args, { stdio: 'inherit', detached: true, shell: process.platform === 'win32' });
let timedOut = false;

const timer = setTimeout(() => {
  timedOut = true;
  console.error(`\nsuite ${suite} timed out after ${limitS} s: killing it (SUITE_TIMEOUT_S sets the limit)`);
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), 5000).unref();
}, limitS * 1000);

// Our own end must not orphan the suite.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => killGroup(signal));

child.on('exit', (code, signal) => {
  clearTimeout(timer);
  if (timedOut) {
    const dir = resolve(import.meta.dirname, '..', '.test-results');
    mkdirSync(dir, { recursive: true });
    // Overwrites nothing useful: the reporter writes its totals only at a run's end.
    writeFileSync(resolve(dir, `${suite}.json`), JSON.stringify({ suite, passes: 0, failures: 1, skipped: [], timedOut: limitS }) + '\n');
    process.exit(1);
  }
  process.exit(code ?? (signal === null ? 1 : 128));
});

function killGroup(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}
