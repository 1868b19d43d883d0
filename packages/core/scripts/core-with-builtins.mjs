/**
 * The built engine with the soe_* built-in tools switched on, for running the conformance suite
 * before the engine registers them itself:
 *
 *   node ../shared/conformance/run.mjs --area builtins --core packages/core/scripts/core-with-builtins.mjs
 *
 * Once engine.ts's defaultBuiltins() returns createBuiltinTools(), this file is no longer needed.
 */

import { createBuiltinTools } from '../dist/builtins/index.js';
import { setBuiltinsProvider } from '../dist/engine.js';

setBuiltinsProvider(createBuiltinTools);

export * from '../dist/index.js';
