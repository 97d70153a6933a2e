/**
 * The child side of `startFakeChild` (fake-child.ts): a real fake VDSM
 * (`startFakeVdsm` with the options given as JSON in argv[2]) alone in its
 * own process, so that its memory is its own and no client in the test
 * process adds to it. It prints its ready object as one JSON line on stdout
 * and answers `memory` messages on the IPC channel with its heap after a
 * full garbage collection, the one measure of retained memory that does not
 * depend on when V8 last collected; it closes the fake on `close`.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsmOptions, Logger } from '@vdsm-kit/fake-vdsm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Info and above as JSON lines on stderr, for the parent to wait on (`FakeChild.waitForLog`). */
function stderrLine(fields: Record<string, unknown>, message = ''): void {
  process.stderr.write(JSON.stringify({ ...fields, msg: message }) + '\n');
}
const logger: Logger = { debug: () => {}, info: stderrLine, warn: stderrLine, error: stderrLine, child: () => logger };

const options = JSON.parse(process.argv[2] ?? '{}') as FakeVdsmOptions;
const fake = await startFakeVdsm({ ...options, logger });

/** A line of /proc/self/status in bytes (Linux), NaN elsewhere. */
function procStatus(field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

process.on('message', (message: { type: string; seq: number }) => {
  if (message.type === 'memory') {
    // Twice: the first may leave weak-held and finalizable objects for the second.
    gc();
    gc();
    const usage = process.memoryUsage();
    process.send?.({
      type: 'memory',
      seq: message.seq,
      heapUsed: usage.heapUsed,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      rss: procStatus('VmRSS'),
      peakRss: procStatus('VmHWM'),
    });
  } else if (message.type === 'close') {
    void fake.close().then(() => process.exit(0));
  }
});
// Its parent gone (a killed test run), the fake goes too.
process.on('disconnect', () => void fake.close().then(() => process.exit(0)));

console.log(JSON.stringify(fake.ready));
