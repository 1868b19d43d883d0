/** Parses and validates a config (workflows, schema, identities, limits) into located problems. */
import { LineCounter, parseDocument } from 'yaml';
import { cachedConfig, configKey, parseYamlFast, rememberConfig } from './config-cache.js';
import { didYouMean, isPrototypeName, judgeUnknownKey, prototypeNameMessage } from './config-keys.js';
import { type ValidationIssue, WorkflowValidationError } from './errors.js';
import { validateTemplate } from './templates/index.js';
import {
  type ConfigLimits,
  type ContextSchema,
  type Identities,
  NODE_TYPES,
  type NodeConfig,
  type ParsedConfig,
  type Workflow,
  type WorkflowsRegistry,
} from './types.js';

/** Types a `context_schema` field may declare. */
export const SCHEMA_TYPES = ['string', 'integer', 'number', 'boolean', 'object', 'list', 'array', 'dict', 'any'] as const;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const RESERVED_PREFIX = '__';

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** File name to put in error messages. */
  file?: string;
  /** Refuse what is otherwise only a warning (unknown keys that are no near miss, such as annotations). */
  strict?: boolean;
}

/** True for issues that refuse the config (everything but warnings). */
export const isError = (issue: ValidationIssue): boolean => issue.severity !== 'warning';

interface Source {
  doc?: ReturnType<typeof parseDocument>;
  lines?: LineCounter;
  file?: string;
}

/**
 * Parses and validates a config: YAML text or an object, either combined
 * (`{ workflows, context_schema?, identities? }`) or a bare map of workflows.
 * Every problem is collected; if there is any, throws one {@link WorkflowValidationError} listing them all.
 */
export function parseConfig(config: unknown, options: ParseConfigOptions = {}): ParsedConfig {
  if (typeof config !== 'string') return parseConfigValue(config, options);
  // Text: the same text with the same options gives the same config, so it is parsed once.
  const key = configKey(config, options.strict === true, options.file);
  const hit = cachedConfig(key);
  if (hit) return hit;
  const fast = parseYamlFast(config);
  if (fast) {
    const issues: ValidationIssue[] = [];
    const parsed = checkConfig(fast.value, issues);
    if (issues.length === 0) return rememberConfig(key, config, parsed);
    // Something to report: the position-keeping parse below says where.
  }
  return rememberConfig(key, config, parseConfigValue(config, options));
}

/** Parses (YAML with positions) and validates; throws with every issue located. */
function parseConfigValue(config: unknown, options: ParseConfigOptions): ParsedConfig {
  const { value, source } = loadConfigValue(config, options);
  const issues: ValidationIssue[] = [];
  const parsed = checkConfig(value, issues);
  const refused = options.strict ? issues.map(({ severity: _, ...i }) => i) : issues.filter(isError);
  if (refused.length) throw new WorkflowValidationError(locateAll(refused, source, value));
  const warnings = issues.filter((i) => !isError(i));
  if (warnings.length) parsed.warnings = locateAll(warnings, source, value);
  return parsed;
}

/** Like {@link parseConfig} but returns the issues instead of throwing (for `soe validate`). */
export function validateConfig(config: unknown, options: ParseConfigOptions = {}): ValidationIssue[] {
  try {
    return [...(parseConfig(config, options).warnings ?? [])];
  } catch (e) {
    if (e instanceof WorkflowValidationError) return [...e.issues];
    throw e;
  }
}

function loadConfigValue(config: unknown, options: ParseConfigOptions): { value: unknown; source: Source } {
  const source: Source = { file: options.file };
  if (typeof config !== 'string') {
    if (config === null || config === undefined)
      throw new WorkflowValidationError([
        { file: options.file, message: 'no config given (expected YAML text or an object of workflows)' },
      ]);
    return { value: config, source };
  }
  const lines = new LineCounter();
  const doc = parseDocument(config, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    throw new WorkflowValidationError(
      doc.errors.map((e) => ({
        file: options.file,
        line: e.linePos?.[0]?.line,
        column: e.linePos?.[0]?.col,
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  source.doc = doc;
  source.lines = lines;
  return { value: doc.toJS({ maxAliasCount: 100 }), source };
}

/** Adds file, line and column to issues when the config came from YAML text. */
function locateAll(issues: ValidationIssue[], source: Source, value: unknown): ValidationIssue[] {
  const combined = isObj(value) && 'workflows' in value;
  return issues.map((issue) => {
    let line: number | undefined;
    let column: number | undefined;
    if (source.doc && source.lines) {
      const path: (string | number)[] = [];
      if (issue.workflow !== undefined) {
        if (combined) path.push('workflows');
        path.push(issue.workflow);
        if (issue.node !== undefined) {
          path.push(issue.node);
          if (issue.field !== undefined)
            path.push(
              ...issue.field
                .split(/[.[\]]+/)
                .filter(Boolean)
                .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
            );
        }
      } else if (issue.field) path.push(...issue.field.split('.'));
      // Walk up until a path element exists (a missing field points at its node).
      for (let n = path.length; n > 0 && line === undefined; n--) {
        const node = source.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        const parentPair = n > 0 ? findKeyNode(source.doc, path.slice(0, n)) : undefined;
        const offset = parentPair ?? node?.range?.[0];
        if (offset !== undefined) {
          const pos = source.lines.linePos(offset);
          line = pos.line;
          column = pos.col;
        }
      }
    }
    return { ...issue, file: issue.file ?? source.file, ...(line ? { line, column } : {}) };
  });
}

/** Offset of the key of the last path element (so errors point at `MyNode:`, not at its value). */
function findKeyNode(doc: ReturnType<typeof parseDocument>, path: (string | number)[]): number | undefined {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  const last = path[path.length - 1];
  const items = (parent as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] } }> } | null)?.items;
  if (!Array.isArray(items)) return undefined;
  if (typeof last === 'number') return (items[last] as { range?: [number, number, number] } | undefined)?.range?.[0];
  const pair = items.find((p) => p?.key?.value === last);
  return pair?.key?.range?.[0];
}

function checkConfig(value: unknown, issues: ValidationIssue[]): ParsedConfig {
  if (!isObj(value)) {
    issues.push({ message: `the config must be a mapping of workflows, got ${describe(value)}` });
    return { workflows: {} };
  }
  let workflowsValue: unknown = value;
  let contextSchema: ContextSchema | undefined;
  let identities: Identities | undefined;
  let limits: ConfigLimits | undefined;
  if ('workflows' in value) {
    workflowsValue = value.workflows;
    for (const key of Object.keys(value)) {
      if (!['workflows', 'context_schema', 'identities', 'limits'].includes(key)) {
        issues.push({ field: key, message: `unknown top-level section '${key}' (expected workflows, context_schema, identities, limits)` });
      }
    }
    if ('limits' in value && value.limits !== null) limits = checkLimits(value.limits, issues);
    if ('context_schema' in value && value.context_schema !== null) contextSchema = checkContextSchema(value.context_schema, issues);
    if ('identities' in value && value.identities !== null) identities = checkIdentities(value.identities, issues);
    if (!isObj(workflowsValue)) {
      issues.push({
        field: 'workflows',
        message: `the workflows section must be a mapping of workflow name to nodes, got ${describe(workflowsValue)}`,
      });
      return { workflows: {} };
    }
  }
  const workflows = workflowsValue as Record<string, unknown>;
  if (Object.keys(workflows).length === 0) issues.push({ message: 'the config defines no workflow' });
  for (const [name, wf] of Object.entries(workflows)) checkWorkflow(name, wf, issues);
  const parsed: ParsedConfig = { workflows: workflows as WorkflowsRegistry };
  if (contextSchema) parsed.contextSchema = contextSchema;
  if (identities) parsed.identities = identities;
  if (limits) parsed.limits = limits;
  checkChildReferences(parsed.workflows, issues);
  if (identities) checkIdentityReferences(parsed.workflows, identities, issues);
  return parsed;
}

/** Validates one workflow; used by config parsing and by the workflow-injecting built-ins. */
export function checkWorkflow(name: string, wf: unknown, issues: ValidationIssue[]): void {
  if (name.startsWith(RESERVED_PREFIX)) issues.push({ workflow: name, message: `workflow names starting with '__' are reserved` });
  else if (isPrototypeName(name)) issues.push({ workflow: name, message: prototypeNameMessage('a workflow name', name) });
  if (!isObj(wf)) {
    issues.push({ workflow: name, message: `a workflow must be a mapping of node name to node config, got ${describe(wf)}` });
    return;
  }
  if (Object.keys(wf).length === 0) {
    issues.push({ workflow: name, message: 'the workflow has no nodes' });
    return;
  }
  for (const [nodeName, node] of Object.entries(wf)) checkNode(name, nodeName, node, issues);
}

type Rule =
  | 'string'
  | 'template'
  | 'strings'
  | 'int>=0'
  | 'int>0'
  | 'number>=0'
  | 'object'
  | 'bool'
  | 'output_field'
  | 'field'
  | 'fields'
  | 'timeout'
  | 'retries'
  | 'iterations';

/** Most `retries` an llm or agent node may set: each retry is a full model call. */
export const MAX_RETRIES = 20;
/** Most `max_iterations` an agent node may set: each iteration is at least one model call. */
export const MAX_ITERATIONS = 100;

/** Largest `timeout_seconds` a node may set: one day. */
export const MAX_TIMEOUT_SECONDS = 86_400;
/** Largest `limits.max_node_runs` a config may set. */
export const MAX_NODE_RUNS_LIMIT = 10_000_000;
const COMMON: Record<string, Rule> = { event_triggers: 'strings' };
const BY_TYPE: Record<string, { required: string[]; optional: Record<string, Rule>; forbidden?: Record<string, string> }> = {
  router: { required: ['event_triggers', 'event_emissions'], optional: {} },
  tool: {
    required: ['event_triggers', 'tool_name'],
    optional: {
      tool_name: 'string',
      parameters: 'object',
      context_parameter_field: 'field',
      output_field: 'output_field',
      timeout_seconds: 'timeout',
    },
  },
  llm: {
    required: ['event_triggers', 'prompt'],
    optional: {
      prompt: 'template',
      output_field: 'output_field',
      identity: 'template',
      retries: 'retries',
      llm_failure_signal: 'string',
      model: 'string',
      temperature: 'number>=0',
      max_tokens: 'int>0',
      timeout_seconds: 'timeout',
      schema_name: 'string',
    },
    forbidden: { input_fields: 'llm nodes read the context through Jinja in the prompt; input_fields is not supported' },
  },
  agent: {
    required: ['event_triggers', 'prompt'],
    optional: {
      prompt: 'template',
      output_field: 'output_field',
      identity: 'template',
      retries: 'retries',
      llm_failure_signal: 'string',
      tools: 'strings',
      available_tools: 'strings',
      max_iterations: 'iterations',
      model: 'string',
      temperature: 'number>=0',
      max_tokens: 'int>0',
      timeout_seconds: 'timeout',
    },
    forbidden: { input_fields: 'agent nodes read the context through Jinja in the prompt; input_fields is not supported' },
  },
  child: {
    required: ['event_triggers', 'child_workflow_name', 'child_initial_signals'],
    optional: {
      child_workflow_name: 'string',
      child_initial_signals: 'strings',
      input_fields: 'fields',
      signals_to_parent: 'strings',
      context_updates_to_parent: 'fields',
      fan_out_field: 'field',
      child_input_field: 'field',
      spawn_interval: 'number>=0',
    },
  },
};

/** Keys every node type has. */
const NODE_KEYS = ['node_type', 'event_triggers', 'event_emissions'];

/** Every key a node of `type` may set. */
function knownKeys(type: string): string[] {
  const spec = BY_TYPE[type]!;
  return [...new Set([...NODE_KEYS, ...spec.required, ...Object.keys(spec.optional), ...Object.keys(spec.forbidden ?? {})])];
}

/** Keys of the other node types, each with the types it belongs to (so `prompt` on a router names llm, agent). */
function keysOfOtherTypes(type: string): Record<string, string> {
  const owners: Record<string, string[]> = {};
  for (const other of Object.keys(BY_TYPE)) {
    if (other === type) continue;
    for (const key of knownKeys(other)) if (!knownKeys(type).includes(key)) (owners[key] ??= []).push(other);
  }
  return Object.fromEntries(Object.entries(owners).map(([k, ts]) => [k, `a key of ${ts.join(', ')} nodes`]));
}

/** Validates one node; used by config parsing and by the node-injecting built-ins. */
export function checkNode(workflow: string, node: string, config: unknown, issues: ValidationIssue[]): void {
  const at = (field: string | undefined, message: string, severity: 'error' | 'warning' = 'error') =>
    issues.push({ workflow, node, ...(field ? { field } : {}), message, ...(severity === 'warning' ? { severity } : {}) });
  if (node.startsWith(RESERVED_PREFIX)) at(undefined, `node name '${node}' is reserved: names starting with '__' belong to the engine`);
  else if (isPrototypeName(node)) at(undefined, prototypeNameMessage('a node name', node));
  if (!isObj(config)) {
    at(undefined, `a node must be a mapping of settings, got ${describe(config)}`);
    return;
  }
  const type = config.node_type;
  if (type === undefined) {
    const lookalike = Object.keys(config).find((k) => judgeUnknownKey(k, ['node_type'], 'a node').severity === 'error');
    at(
      'node_type',
      `node_type is missing (expected one of ${NODE_TYPES.join(', ')})${lookalike ? `; found '${lookalike}': did you mean 'node_type'?` : ''}`,
    );
    return;
  }
  if (typeof type !== 'string' || !Object.hasOwn(BY_TYPE, type)) {
    at(
      'node_type',
      `unknown node_type '${String(type)}' (expected one of ${NODE_TYPES.join(', ')})${typeof type === 'string' ? didYouMean(type, NODE_TYPES) : ''}`,
    );
    return;
  }
  const spec = BY_TYPE[type]!;
  for (const key of Object.keys(config)) {
    if (knownKeys(type).includes(key)) continue;
    const verdict = judgeUnknownKey(key, knownKeys(type), `${type} nodes`, keysOfOtherTypes(type));
    at(key, verdict.message, verdict.severity);
  }
  for (const req of spec.required) {
    if (config[req] === undefined || (req === 'event_emissions' && config[req] === null)) at(req, `${req} is required for ${type} nodes`);
  }
  for (const [key, why] of Object.entries(spec.forbidden ?? {})) if (key in config) at(key, why);
  const rules: Record<string, Rule> = { ...COMMON, ...spec.optional };
  for (const [key, rule] of Object.entries(rules)) {
    const v = config[key];
    if (v === undefined || (v === null && !spec.required.includes(key))) continue;
    const problem = checkRule(rule, v);
    if (problem) at(key, problem);
  }
  if (config.event_emissions !== undefined && config.event_emissions !== null) checkEmissions(config.event_emissions, at);
  // Empty lists are refused as upstream's validator does: a node nothing can trigger, a router that emits nothing.
  if (Array.isArray(config.event_triggers) && config.event_triggers.length === 0)
    at('event_triggers', 'event_triggers cannot be empty: list at least one signal that runs the node');
  if (type === 'router' && Array.isArray(config.event_emissions) && config.event_emissions.length === 0)
    at('event_emissions', 'event_emissions cannot be empty for a router: list at least one signal for it to emit');
  if (type === 'tool' && isObj(config.parameters)) checkTemplatesDeep(config.parameters, 'parameters', at);
  if (type === 'child' && config.child_input_field !== undefined && config.fan_out_field === undefined) {
    at('child_input_field', 'child_input_field only applies with fan_out_field');
  }
  if (type === 'child' && config.fan_out_field !== undefined && config.child_input_field === undefined) {
    at('child_input_field', 'fan_out_field needs child_input_field: the field of each child that receives its item');
  }
}

function checkRule(rule: Rule, v: unknown): string | null {
  switch (rule) {
    case 'string':
      return typeof v === 'string' && v !== '' ? null : `expected a non-empty string, got ${describe(v)}`;
    case 'template': {
      if (typeof v !== 'string') return `expected a string, got ${describe(v)}`;
      const err = validateTemplate(v);
      return err ? `template error: ${err}` : null;
    }
    case 'output_field':
      if (typeof v !== 'string' || v === '') return `expected a field name (string), got ${describe(v)}`;
      if (isPrototypeName(v)) return prototypeNameMessage('a context field name', v);
      return v.startsWith(RESERVED_PREFIX) ? `'${v}' is reserved for the engine and cannot be an output_field` : null;
    case 'field':
      if (typeof v !== 'string' || v === '') return `expected a field name (string), got ${describe(v)}`;
      return isPrototypeName(v) ? prototypeNameMessage('a context field name', v) : null;
    case 'fields':
      if (!isStringList(v)) return `expected a list of strings, got ${describe(v)}`;
      for (const f of v) if (isPrototypeName(f)) return prototypeNameMessage('a context field name', f);
      return null;
    case 'strings':
      return isStringList(v) ? null : `expected a list of strings, got ${describe(v)}`;
    case 'int>=0':
      return Number.isInteger(v) && (v as number) >= 0 ? null : `expected a whole number of at least 0, got ${describe(v)}`;
    case 'int>0':
      return Number.isInteger(v) && (v as number) > 0 ? null : `expected a whole number greater than 0, got ${describe(v)}`;
    case 'number>=0':
      return typeof v === 'number' && v >= 0 && Number.isFinite(v) ? null : `expected a number of at least 0, got ${describe(v)}`;
    case 'retries':
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_RETRIES
        ? null
        : `expected a whole number of retries from 0 to ${MAX_RETRIES}, got ${describe(v)}`;
    case 'iterations':
      return Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_ITERATIONS
        ? null
        : `expected a whole number of iterations from 1 to ${MAX_ITERATIONS}, got ${describe(v)}`;
    case 'timeout':
      return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_TIMEOUT_SECONDS
        ? null
        : `expected a number of seconds greater than 0 and at most ${MAX_TIMEOUT_SECONDS}, got ${describe(v)}`;
    case 'object':
      return isObj(v) ? null : `expected a mapping, got ${describe(v)}`;
    case 'bool':
      return typeof v === 'boolean' ? null : `expected true or false, got ${describe(v)}`;
  }
}

const EMISSION_KEYS = ['signal_name', 'condition'];
/** Keys that, in an emission, would be taken for a condition or a name but do nothing. */
const EMISSION_TRAPS: Record<string, string> = {
  if: 'write the test as condition',
  when: 'write the test as condition',
  signal: 'the signal is signal_name',
  name: 'the signal is signal_name',
};

function checkEmissions(v: unknown, at: (field: string | undefined, message: string, severity?: 'error' | 'warning') => void): void {
  if (!Array.isArray(v)) {
    at('event_emissions', `expected a list of {signal_name, condition?}, got ${describe(v)}`);
    return;
  }
  for (const [i, e] of v.entries()) {
    const f = `event_emissions[${i}]`;
    if (!isObj(e)) {
      at(f, `expected a mapping with signal_name, got ${describe(e)}`);
      continue;
    }
    for (const key of Object.keys(e)) {
      if (EMISSION_KEYS.includes(key)) continue;
      const verdict = judgeUnknownKey(key, EMISSION_KEYS, 'an emission', EMISSION_TRAPS);
      at(`${f}.${key}`, verdict.message, verdict.severity);
    }
    if (typeof e.signal_name !== 'string' || e.signal_name === '')
      at(`${f}.signal_name`, `signal_name is required (a non-empty string), got ${describe(e.signal_name)}`);
    if (e.condition !== undefined && e.condition !== null) {
      if (typeof e.condition !== 'string') at(`${f}.condition`, `condition must be a string, got ${describe(e.condition)}`);
      else {
        const err = validateTemplate(e.condition);
        if (err) at(`${f}.condition`, `template error in condition: ${err}`);
      }
    }
  }
}

function checkTemplatesDeep(v: unknown, path: string, at: (field: string | undefined, message: string) => void): void {
  if (typeof v === 'string') {
    const err = validateTemplate(v);
    if (err) at(path, `template error: ${err}`);
  } else if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) checkTemplatesDeep(x, `${path}[${i}]`, at);
  } else if (isObj(v)) for (const [k, x] of Object.entries(v)) checkTemplatesDeep(x, `${path}.${k}`, at);
}

/** Child nodes must name workflows that the config defines. */
function checkChildReferences(workflows: WorkflowsRegistry, issues: ValidationIssue[]): void {
  for (const [wfName, wf] of Object.entries(workflows)) {
    if (!isObj(wf)) continue;
    for (const [nodeName, node] of Object.entries(wf as Workflow)) {
      if (!isObj(node)) continue;
      if (
        node.node_type === 'child' &&
        typeof node.child_workflow_name === 'string' &&
        !Object.hasOwn(workflows, node.child_workflow_name)
      ) {
        issues.push({
          workflow: wfName,
          node: nodeName,
          field: 'child_workflow_name',
          message: `child workflow '${node.child_workflow_name}' is not defined in this config (defined: ${Object.keys(workflows).join(', ')})${didYouMean(node.child_workflow_name, Object.keys(workflows))}`,
        });
      }
    }
  }
}

/** A plain identity name (no template) on an llm or agent node must be one the identities section defines. */
function checkIdentityReferences(workflows: WorkflowsRegistry, identities: Identities, issues: ValidationIssue[]): void {
  const names = Object.keys(identities);
  for (const [wfName, wf] of Object.entries(workflows)) {
    if (!isObj(wf)) continue;
    for (const [nodeName, node] of Object.entries(wf as Record<string, unknown>)) {
      if (!isObj(node) || typeof node.identity !== 'string' || /[{%]/.test(node.identity) || node.identity.trim() === '') continue;
      if (Object.hasOwn(identities, node.identity)) continue;
      issues.push({
        workflow: wfName,
        node: nodeName,
        field: 'identity',
        message: `identity '${node.identity}' is not defined in the identities section (defined: ${names.join(', ') || 'none'})${didYouMean(node.identity, names)}`,
      });
    }
  }
}

/** Validates the `limits:` section. */
function checkLimits(v: unknown, issues: ValidationIssue[]): ConfigLimits | undefined {
  if (!isObj(v)) {
    issues.push({ field: 'limits', message: `limits must be a mapping (max_node_runs), got ${describe(v)}` });
    return undefined;
  }
  const out: ConfigLimits = {};
  for (const [key, value] of Object.entries(v)) {
    if (key === 'max_tokens') {
      if (Number.isInteger(value) && (value as number) > 0) out.max_tokens = value as number;
      else issues.push({ field: 'limits.max_tokens', message: `expected a whole number of tokens greater than 0, got ${describe(value)}` });
      continue;
    }
    if (key !== 'max_node_runs') {
      issues.push({
        field: `limits.${key}`,
        message: `unknown limit '${key}' (known: max_node_runs, max_tokens)${didYouMean(key, ['max_node_runs', 'max_tokens'])}`,
      });
      continue;
    }
    const problem = checkMaxNodeRuns(value);
    if (problem) issues.push({ field: 'limits.max_node_runs', message: problem });
    else out.max_node_runs = value as number;
  }
  return out;
}

/** Checks a node-run limit (config or start option); null when fine. */
export function checkMaxNodeRuns(v: unknown): string | null {
  return Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_NODE_RUNS_LIMIT
    ? null
    : `expected a whole number of node runs greater than 0 and at most ${MAX_NODE_RUNS_LIMIT}, got ${describe(v)}`;
}

/** Validates a `context_schema` section. */
export function checkContextSchema(v: unknown, issues: ValidationIssue[]): ContextSchema | undefined {
  if (!isObj(v)) {
    issues.push({ field: 'context_schema', message: `context_schema must be a mapping of field name to type, got ${describe(v)}` });
    return undefined;
  }
  const out: ContextSchema = {};
  for (const [field, def] of Object.entries(v)) {
    const problem = isPrototypeName(field) ? prototypeNameMessage('a context field name', field) : checkSchemaField(def);
    if (problem) issues.push({ field: `context_schema.${field}`, message: problem });
    else out[field] = typeof def === 'string' ? { type: def } : (def as Record<string, unknown>);
  }
  return out;
}

/** Checks one context_schema field definition; null when fine. */
export function checkSchemaField(def: unknown): string | null {
  const type = typeof def === 'string' ? def : isObj(def) ? def.type : undefined;
  if (typeof type !== 'string') return `a field needs a type (one of ${SCHEMA_TYPES.join(', ')}), got ${describe(def)}`;
  if (!(SCHEMA_TYPES as readonly string[]).includes(type)) return `unknown type '${type}' (expected one of ${SCHEMA_TYPES.join(', ')})`;
  return null;
}

function checkIdentities(v: unknown, issues: ValidationIssue[]): Identities | undefined {
  if (!isObj(v)) {
    issues.push({ field: 'identities', message: `identities must be a mapping of identity name to system prompt, got ${describe(v)}` });
    return undefined;
  }
  for (const [name, prompt] of Object.entries(v)) {
    if (isPrototypeName(name)) issues.push({ field: `identities.${name}`, message: prototypeNameMessage('an identity name', name) });
    else if (typeof prompt !== 'string')
      issues.push({ field: `identities.${name}`, message: `a system prompt must be a string, got ${describe(prompt)}` });
  }
  return v as Identities;
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)?.slice(0, 60)}`;
}

/** Type guard for node configs in a validated registry. */
export function isNodeConfig(v: unknown): v is NodeConfig {
  return isObj(v) && typeof v.node_type === 'string';
}
