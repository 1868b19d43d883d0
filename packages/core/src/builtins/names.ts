/** The names of the built-in tools, in the order the docs list them. Every one starts with `soe_`. */
export const BUILTIN_TOOL_NAMES = [
  'soe_explore_docs',
  'soe_get_workflows',
  'soe_inject_workflow',
  'soe_inject_node',
  'soe_remove_workflow',
  'soe_remove_node',
  'soe_add_signal',
  'soe_get_context',
  'soe_update_context',
  'soe_copy_context',
  'soe_list_contexts',
  'soe_get_available_tools',
  'soe_call_tool',
  'soe_get_identities',
  'soe_inject_identity',
  'soe_remove_identity',
  'soe_get_context_schema',
  'soe_inject_context_schema_field',
  'soe_remove_context_schema_field',
] as const;

/** One of {@link BUILTIN_TOOL_NAMES}. */
export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number];

const NAMES: ReadonlySet<string> = new Set(BUILTIN_TOOL_NAMES);

/** True when `name` is the name of a built-in tool. */
export function isBuiltinToolName(name: string): name is BuiltinToolName {
  return NAMES.has(name);
}
