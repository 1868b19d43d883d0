/**
 * A scripted model: answers from a list of rules instead of calling a provider. For tests, examples
 * and demos, so that every workflow runs offline and the same way each time.
 *
 * Rules file (JSON or YAML):
 * ```yaml
 * rules:
 *   - contains: "Translate"          # text the prompt must contain (string or list)
 *     respond: '{"spanish": "Hola"}' # the answer text (or an object: sent as JSON)
 *   - stage: router                  # agent stage: router | parameter | response | llm
 *     times: 1                       # answer at most this many times
 *     respond: { action: call_tool, tool_name: search }
 *   - responses: ["not json", '{"x": 1}']   # successive answers; the last repeats
 * default: '{"output": "ok"}'        # when no rule matches (without one, the call fails)
 * ```
 * `in` picks where `contains` looks: `prompt` (default: the rendered prompt or task), `context`,
 * `history`, `tool` (the parameter stage's tool name) or `raw` (the whole prompt text).
 */
import { parse as parseYaml } from 'yaml';
import { didYouMean } from '../config-keys.js';
import type { CallLlm } from '../types.js';

/** One rule of a scripted model. */
export interface ScriptedRule {
  contains?: string | string[];
  not_contains?: string | string[];
  in?: 'prompt' | 'context' | 'history' | 'tool' | 'raw';
  stage?: 'router' | 'parameter' | 'response' | 'llm';
  /** Only for nodes with this name. */
  node?: string;
  times?: number;
  respond?: unknown;
  responses?: unknown[];
}

/** A scripted model's rules. */
export interface ScriptedModelSpec {
  rules?: ScriptedRule[];
  default?: unknown;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The JSON object at the head of a prompt (after an optional system line), or null. */
export function promptHead(prompt: string): Record<string, unknown> | null {
  const start = prompt.indexOf('{');
  if (start < 0) return null;
  let depth = 0;
  let inStr = false;
  let esc = false;
  for (let i = start; i < prompt.length; i++) {
    const c = prompt[i];
    if (inStr) {
      if (esc) esc = false;
      else if (c === '\\') esc = true;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        const v = JSON.parse(prompt.slice(start, i + 1));
        return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null;
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Which stage a prompt belongs to, from the keys of its head object. */
export function promptStage(head: Record<string, unknown> | null): string {
  if (!head) return 'unknown';
  if ('available_tools' in head) return 'router';
  if ('tool_name' in head) return 'parameter';
  if ('task_description' in head) return 'response';
  if ('prompt' in head) return 'llm';
  return 'unknown';
}

function scope(prompt: string, head: Record<string, unknown> | null, where: ScriptedRule['in']): string {
  const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  if (!head || where === 'raw') return prompt;
  switch (where ?? 'prompt') {
    case 'context':
      return text(head.context);
    case 'history':
      return text(head.conversation_history);
    case 'tool':
      return text(head.tool_name);
    default:
      return text('prompt' in head ? head.prompt : head.task_description);
  }
}

const SPEC_KEYS = ['rules', 'default', 'description'];
const RULE_KEYS = ['contains', 'not_contains', 'in', 'stage', 'node', 'times', 'respond', 'responses', 'description'];
const STAGES = ['router', 'parameter', 'response', 'llm'];
const SCOPES = ['prompt', 'context', 'history', 'tool', 'raw'];

/**
 * Refuses unknown keys and values in a scripted model: a misspelt matcher (`nod:` for `node:`) would
 * otherwise be ignored and the rule would match every call.
 */
export function checkScriptedSpec(s: ScriptedModelSpec): void {
  const problems: string[] = [];
  for (const key of Object.keys(s))
    if (!SPEC_KEYS.includes(key)) problems.push(`unknown key '${key}' (expected ${SPEC_KEYS.join(', ')})${didYouMean(key, SPEC_KEYS)}`);
  for (const [i, r] of (s.rules ?? []).entries()) {
    const at = `rule ${i + 1}`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      problems.push(`${at}: expected a mapping of matchers and an answer`);
      continue;
    }
    for (const key of Object.keys(r))
      if (!RULE_KEYS.includes(key))
        problems.push(`${at}: unknown key '${key}' (expected ${RULE_KEYS.join(', ')})${didYouMean(key, RULE_KEYS)}`);
    if (r.stage !== undefined && !STAGES.includes(r.stage as string))
      problems.push(`${at}: unknown stage '${String(r.stage)}' (expected ${STAGES.join(', ')})${didYouMean(String(r.stage), STAGES)}`);
    if (r.in !== undefined && !SCOPES.includes(r.in as string))
      problems.push(`${at}: unknown in '${String(r.in)}' (expected ${SCOPES.join(', ')})${didYouMean(String(r.in), SCOPES)}`);
    if (r.times !== undefined && !(Number.isInteger(r.times) && r.times >= 0))
      problems.push(`${at}: times must be a whole number of at least 0, got ${JSON.stringify(r.times)}`);
  }
  if (problems.length) throw new TypeError(`scripted model: ${problems.join('; ')}`);
}

/** A scripted model that also records the prompts it received. */
export interface ScriptedLlm {
  callLlm: CallLlm;
  /** Every prompt received, in order. */
  readonly prompts: string[];
}

/**
 * Builds a scripted model from a spec (an object, or JSON/YAML text).
 * @example
 * const { callLlm } = createScriptedLlm({ default: '{"output": "hi"}' });
 */
export function createScriptedLlm(spec: ScriptedModelSpec | string): ScriptedLlm {
  const s: ScriptedModelSpec = typeof spec === 'string' ? (parseYaml(spec) as ScriptedModelSpec) : spec;
  if (typeof s !== 'object' || s === null) throw new TypeError('a scripted model needs an object with rules and/or default');
  const rules = s.rules ?? [];
  if (!Array.isArray(rules)) throw new TypeError('scripted model: rules must be a list');
  checkScriptedSpec(s);
  const uses = rules.map(() => 0);
  const prompts: string[] = [];
  const render = (answer: unknown) => (typeof answer === 'string' ? answer : JSON.stringify(answer));
  const callLlm: CallLlm = (prompt, nodeConfig) => {
    prompts.push(prompt);
    const head = promptHead(prompt);
    const stage = promptStage(head);
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (r.times !== undefined && uses[i]! >= r.times) continue;
      if (r.stage && r.stage !== stage) continue;
      if (r.node && r.node !== nodeConfig.node_name) continue;
      const text = scope(prompt, head, r.in);
      if (!list(r.contains).every((c) => text.includes(c))) continue;
      if (list(r.not_contains).some((c) => text.includes(c))) continue;
      const n = uses[i]!++;
      if (Array.isArray(r.responses) && r.responses.length) return render(r.responses[Math.min(n, r.responses.length - 1)]);
      return render(r.respond);
    }
    if ('default' in s) return render(s.default);
    throw new Error(`scripted model: no rule matched this ${stage} prompt and there is no default`);
  };
  return { callLlm, prompts };
}
