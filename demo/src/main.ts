/**
 * `npm start`: the demo (run-demo.ts) from the command line. Exit status 0
 * when both disks moved with their checksums equal and the new flow's disk
 * was available first; 1 when not; 2 for a usage error.
 */
import { pathToFileURL } from 'node:url';
import { DemoUsageError, HELP, parseDemoArgs } from './options.js';
import { runDemo } from './run-demo.js';
import type { DemoIo } from './run-demo.js';

export async function main(argv: readonly string[], io: DemoIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed;
  try {
    parsed = parseDemoArgs(argv);
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    io.stderr.write(`npm start: ${error.message}\n\n${HELP}`);
    return 2;
  }
  if (parsed.kind === 'help') {
    io.stdout.write(HELP);
    return 0;
  }
  try {
    const result = await runDemo(parsed.options, io);
    const equal = Object.values(result.checksums).every(({ source, target }) => source === target);
    const earlier = result.timelines.current.available < result.timelines.legacy.available;
    if (!equal || !earlier) {
      io.stderr.write(`npm start: ${equal ? '' : 'a checksum differs on the target; '}${earlier ? '' : 'the new flow was not available first'}\n`);
      return 1;
    }
    io.stdout.write('demo: both disks moved, checksums equal on the target, the new flow available first\n');
    return 0;
  } catch (error) {
    io.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
