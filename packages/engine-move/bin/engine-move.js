#!/usr/bin/env node
// Committed, not built: npm links a workspace's bin at `npm ci` time only if
// its target exists then, and dist/ is built after. This file always exists,
// so `npm ci && npm run build && npx engine-move` finds the link on a fresh
// clone (instead of npx asking the registry for a stranger's package).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('engine-move: not built yet; run `npm run build` at the repository root first\n');
  process.exit(1);
}
await import(entry.href);
