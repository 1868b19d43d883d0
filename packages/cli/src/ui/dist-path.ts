/** Finds files of the built package (the page app) from compiled or source modules. */
import { fileURLToPath } from 'node:url';

/**
 * A path under the package's dist/ directory (the built command, the bundled page app), whether this
 * module runs compiled from dist/ui/ or from source (src/ui/, under vitest).
 */
export function distPath(relative: string): string {
  const pkg = new URL('../../', import.meta.url);
  return fileURLToPath(new URL(`dist/${relative}`, pkg));
}
