// Marks dist/bin.js executable after `tsc -b` (tsc writes files without the x bit).
import { chmodSync, existsSync } from 'node:fs';

const bin = new URL('../dist/bin.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
