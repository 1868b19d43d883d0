/** Known config keys and did-you-mean suggestions for unknown ones. */
import { distance } from 'fastest-levenshtein';

/**
 * How unknown keys of a config are judged. A key that is a near miss of a known one (`conditon`,
 * `promt`) or a known trap (`if`, `when`, `type`, `tool`…) would silently change what runs, so it is
 * an error with a did-you-mean; any other unknown key (an annotation such as `description`) is a warning.
 */

/**
 * Keys that authors write expecting them to work, with what to write instead. Checked after the
 * node type's own keys, so a trap here that is a real key of that type (e.g. `tools` on an agent)
 * stays valid.
 */
const TRAPS: Record<string, string> = {
  if: 'a condition on one of event_emissions (event_emissions: [{ signal_name, condition }])',
  when: 'a condition on one of event_emissions (event_emissions: [{ signal_name, condition }])',
  condition: 'a condition on one of event_emissions (event_emissions: [{ signal_name, condition }])',
  conditions: 'a condition on one of event_emissions (event_emissions: [{ signal_name, condition }])',
  emit: 'event_emissions',
  emits: 'event_emissions',
  emissions: 'event_emissions',
  signal: 'event_emissions (signals a node emits) or event_triggers (signals that run it)',
  signals: 'event_emissions (signals a node emits) or event_triggers (signals that run it)',
  on: 'event_triggers',
  trigger: 'event_triggers',
  triggers: 'event_triggers',
  triggered_by: 'event_triggers',
  listen: 'event_triggers',
  type: 'node_type',
  kind: 'node_type',
  tool: 'tool_name (tool nodes) or tools (agent nodes)',
  function: 'tool_name (tool nodes) or tools (agent nodes)',
  functions: 'tools (agent nodes)',
  tool_names: 'tools (agent nodes)',
  available_tools: 'tools (agent nodes)',
  tools: 'tools on an agent node, or tool_name on a tool node',
  retry: 'retries (llm and agent nodes)',
  max_retries: 'retries (llm and agent nodes)',
  retry_count: 'retries (llm and agent nodes)',
  timeout: 'timeout_seconds (tool, llm and agent nodes)',
  system: 'identity (with an identities section)',
  system_prompt: 'identity (with an identities section)',
  output: 'output_field',
  output_key: 'output_field',
  input: 'prompt (llm and agent nodes read the context through templates) or input_fields (child nodes)',
  inputs: 'prompt (llm and agent nodes read the context through templates) or input_fields (child nodes)',
  workflow: 'child_workflow_name (child nodes)',
  workflow_name: 'child_workflow_name (child nodes)',
  params: 'parameters (tool nodes) or context_parameter_field',
  args: 'parameters (tool nodes) or context_parameter_field',
  arguments: 'parameters (tool nodes) or context_parameter_field',
};

/** `a_b-C` → `abc`: catches `nodeType`, `output-field`. */
const normalise = (s: string): string => s.toLowerCase().replace(/[_\-\s]/g, '');

/** The most edits a key may be from a known one to count as a near miss: short keys need a closer match. */
const maxEdits = (key: string): number => (key.length <= 4 ? 1 : key.length <= 8 ? 2 : 3);

/** The closest candidate to `name` that is near enough to be a likely typo, or undefined. */
export function nearMiss(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const n = normalise(name);
  for (const c of candidates) {
    if (c === name) return c;
    const d = normalise(c) === n ? 0 : distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= maxEdits(name) ? best : undefined;
}

/** `; did you mean 'x'?` or nothing. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const hit = nearMiss(name, candidates);
  return hit ? `; did you mean '${hit}'?` : '';
}

/** How an unknown key is judged: an error (with why) or a warning. */
export interface UnknownKeyVerdict {
  severity: 'error' | 'warning';
  message: string;
}

/**
 * Judges a key that `known` does not list. `elsewhere` maps keys that are valid in a sibling context
 * (another node type) to where they belong.
 */
export function judgeUnknownKey(
  key: string,
  known: readonly string[],
  what: string,
  elsewhere: Record<string, string> = {},
): UnknownKeyVerdict {
  const near = nearMiss(key, known);
  if (near) return { severity: 'error', message: `unknown key '${key}' in ${what}: did you mean '${near}'?` };
  if (Object.hasOwn(elsewhere, key)) return { severity: 'error', message: `'${key}' does not apply to ${what} (${elsewhere[key]})` };
  if (Object.hasOwn(TRAPS, key)) return { severity: 'error', message: `'${key}' is not a key of ${what}: use ${TRAPS[key]}` };
  const other = nearMiss(key, Object.keys(elsewhere));
  if (other) return { severity: 'error', message: `unknown key '${key}' in ${what}: did you mean '${other}' (${elsewhere[other]})?` };
  return {
    severity: 'warning',
    message: `unknown key '${key}' in ${what}: not used by the engine (kept as an annotation; strict mode refuses it)`,
  };
}

/**
 * True for names that are members of `Object.prototype` (`constructor`, `toString`, `__proto__`…):
 * as a workflow, node, field or identity name they would collide with what every object has.
 */
export function isPrototypeName(name: string): boolean {
  return name in Object.prototype || name === '__proto__';
}

/** The message for a refused prototype name. */
export const prototypeNameMessage = (kind: string, name: string): string =>
  `'${name}' cannot be ${kind}: it is a member of every JavaScript object (Object.prototype)`;
