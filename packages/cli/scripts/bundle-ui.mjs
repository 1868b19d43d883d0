// Bundles the `soe ui` page app (ui-app/app.ts with @dagrejs/dagre) into dist/ui-app/, served by the
// package itself: no CDN. Runs after tsc (npm run build).
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/ui-app`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}ui-app/app.ts`],
  outfile: `${out}/app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(`${root}ui-app/app.css`, `${out}/app.css`);
