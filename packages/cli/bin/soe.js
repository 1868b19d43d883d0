#!/usr/bin/env node
// Committed launcher: `npm install` links the `soe` command to this file even before the first
// build; the command itself is compiled to dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('soe: the command is not built yet.\nhint: run `npm run build` at the repository root, then try again.\n');
  process.exit(1);
}
await import(entry.href);
