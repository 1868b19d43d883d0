/** The `soe_*` built-in tools as a tools registry the engine can use. */
import type { ToolEntry } from '../types.js';
import { contextBuiltins } from './context.js';
import { contextSchemaBuiltins } from './context-schema.js';
import { docsBuiltins } from './explore-docs.js';
import { identityBuiltins } from './identities.js';
import { BUILTIN_TOOL_NAMES } from './names.js';
import { type BuiltinSpec, builtinEntry } from './shared.js';
import { toolBuiltins } from './tools.js';
import { workflowBuiltins } from './workflows.js';

const SPECS: Record<string, BuiltinSpec> = {
  ...docsBuiltins,
  ...workflowBuiltins,
  ...contextBuiltins,
  ...toolBuiltins,
  ...identityBuiltins,
  ...contextSchemaBuiltins,
};

/**
 * The nineteen `soe_*` built-in tools as registry entries: every tool node can use them without
 * registration, and an agent can use those it lists in `tools`. A user tool registered under the
 * same name takes precedence.
 *
 * Each entry has a `description` and a JSON Schema in `parameters` (shown to agents, checked before a
 * call). A built-in that refuses its input (an invalid injection, a workflow, node, identity, field or
 * tool that is not found) throws a `BuiltinToolError` and leaves every registry as it was: the tool node
 * fails like any failed tool (its `failureSignal` fires when the entry has one), and an agent gets the
 * error back. To route refusals, register a copy with a failure signal under the same name:
 * `{ soe_inject_node: { ...createBuiltinTools().soe_inject_node, failureSignal: 'REFUSED' } }` (it stays
 * a built-in). Errors of the storage itself propagate so the runtime can retry.
 * @example
 * const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry, builtinTools: createBuiltinTools() });
 */
export function createBuiltinTools(): Record<string, ToolEntry> {
  const out: Record<string, ToolEntry> = {};
  for (const name of BUILTIN_TOOL_NAMES) out[name] = builtinEntry(name, SPECS[name]!);
  return out;
}
