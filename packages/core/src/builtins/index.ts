/** The built-in tools: the registry factory, their names and the bundled docs. */
export { createBuiltinTools } from './create-builtin-tools.js';
export type { BundledDoc } from './docs-bundle.js';
export { EXPLORE_ACTIONS, exploreDocs } from './explore-docs.js';
export type { BuiltinToolName } from './names.js';
export { BUILTIN_TOOL_NAMES, isBuiltinToolName } from './names.js';
export { isBuiltinFunction } from './shared.js';
