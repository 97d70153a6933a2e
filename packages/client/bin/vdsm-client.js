#!/usr/bin/env node
// Committed, not built, so that `npm ci` links it before dist/ exists (see
// fake-vdsm's bin/fake-vdsm.js).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/vdsm-client.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('vdsm-client: not built yet; run `npm run build` at the repository root first\n');
  process.exit(1);
}
await import(entry.href);
