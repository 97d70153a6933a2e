/**
 * `npm run pg:start` (and .ci/run): starts a throwaway PostgreSQL for the
 * tests and prints the URL to export as ENGINE_MOVE_TEST_PG; `stop FOLDER`
 * stops it and removes its data.
 *
 *   node --import tsx packages/engine-move/src/test-support/pg-server-cli.ts start FOLDER
 *   node --import tsx packages/engine-move/src/test-support/pg-server-cli.ts stop FOLDER
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_PG_ENV, startPostgresServer, stopPostgresServer } from './throwaway-postgres.js';

const [action, folderArg] = process.argv.slice(2);
if (action === 'start') {
  const folder = folderArg ?? mkdtempSync(join(tmpdir(), 'engine-move-pg-'));
  mkdirSync(folder, { recursive: true });
  const server = await startPostgresServer(folder);
  process.stderr.write(`PostgreSQL on 127.0.0.1:${server.port}, data in ${server.dataDir}; stop it with: pg-server-cli.ts stop ${folder}\n`);
  process.stdout.write(`export ${TEST_PG_ENV}=${server.url}\n`);
} else if (action === 'stop' && folderArg) {
  await stopPostgresServer(folderArg);
} else {
  process.stderr.write('usage: pg-server-cli.ts start [FOLDER] | stop FOLDER\n');
  process.exit(2);
}
