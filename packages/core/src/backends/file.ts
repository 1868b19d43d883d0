/** Backends on JSON files under a directory (`soe run --runtime file:DIR`). */
import { join } from 'node:path';
import { createStoreBackends, type SimpleBackends } from './memory.js';
import { FileStore } from './store.js';

/**
 * Backends that keep everything as JSON files under `dir` (one folder per backend kind, one file per
 * execution). A new process on the same directory sees everything an earlier one stored.
 * @example
 * const backends = createLocalBackends('./.soe-data');
 */
export function createLocalBackends(dir: string): SimpleBackends {
  return createStoreBackends((kind) => new FileStore(join(dir, kind)));
}
