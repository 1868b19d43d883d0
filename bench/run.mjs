// `npm run bench`: the in-process engine benchmark, then (when @soe/aws is built) the local AWS one.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const run = (file) => {
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, file)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('core.mjs');
if (existsSync(join(here, 'aws.mjs')) && existsSync(join(here, '..', 'packages', 'aws', 'dist', 'index.js'))) run('aws.mjs');
