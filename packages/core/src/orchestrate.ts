/** Starts an execution: checks the config and options, stores the new execution and sends its first signals. */

import { recordFor } from './backends/apply-update.js';
import { checkMaxNodeRuns, parseConfig } from './config.js';
import { isReservedField } from './context-view.js';
import { OperationalValidationError, type ValidationIssue, WorkflowValidationError } from './errors.js';
import { registerStepCapture, type StepCaptureOptions } from './step-capture.js';
import { newUuid } from './strings.js';
import type { Backends, BroadcastSignalsCaller, ContextSchema, Identities, StoredContext, WorkflowsRegistry } from './types.js';

/** Options of {@link orchestrate}. */
export interface OrchestrateOptions {
  /** YAML text or an object: `{ workflows, context_schema?, identities? }` or a bare map of workflows. */
  config?: string | object | null;
  initialWorkflowName: string;
  initialSignals: string[];
  initialContext?: Record<string, unknown>;
  backends: Backends;
  /**
   * Sends the initial signals (the in-process caller, or a runtime's). Required by {@link orchestrate};
   * {@link prepareExecution} and {@link storeExecution}, which send nothing, ignore it.
   */
  broadcastSignalsCaller?: BroadcastSignalsCaller;
  /** Reuse the workflows, identities and context schema of an earlier execution. */
  inheritConfigFromId?: string;
  /** Start from an earlier execution's context (its `__operational__` is reset). */
  inheritContextFromId?: string;
  /** Use this id instead of a random one (runtimes that make ids themselves). */
  executionId?: string;
  /** Limits for this run; they override the config's `limits:` section. */
  limits?: { maxNodeRuns?: number };
  /** Refuse the config's warnings too (unknown keys that are no near miss, such as annotations). */
  strict?: boolean;
  /**
   * How step I/O is capped and redacted in telemetry, for every engine writing to `backends.telemetry`
   * that was not given its own `capture` option.
   */
  capture?: StepCaptureOptions;
}

/** What a new execution starts with, checked and resolved but not yet stored. */
export interface PreparedExecution {
  executionId: string;
  workflows: WorkflowsRegistry;
  initialWorkflowName: string;
  initialSignals: string[];
  contextSchema?: ContextSchema;
  identities?: Identities;
  fields: Record<string, unknown[]>;
  /** The run's node-run limit, when the config or the options set one. */
  maxNodeRuns?: number;
  /** The run's token budget (`limits.max_tokens`), when the config sets one. */
  maxTokens?: number;
  /** What the config validator accepted but reports (unknown keys); absent when there is none. */
  warnings?: ValidationIssue[];
}

/**
 * Most initial signals one start takes. They travel together as one broadcast (one queue message on
 * the serverless runtime), and a start with thousands of them is a bug, not a workflow.
 */
export const MAX_INITIAL_SIGNALS = 1000;

/**
 * Where a value is not plain data (JSON): a function, a symbol, a BigInt, NaN or Infinity, a Map or
 * Set, or a cycle. Contexts are
 * stored as JSON by every persistent backend, so such a value would be lost or break the write.
 */
export function findUnserialisable(value: unknown, path: string, seen?: Set<object>): string | undefined {
  // Nearly every value is plain: checked first without building a path per element; located only if not.
  if (seen === undefined && isPlainData(value, 0)) return undefined;
  return locateUnserialisable(value, path, seen);
}

/**
 * Levels {@link isPlainData} walks without tracking the objects it is in: no set per value checked (a
 * tool's result is checked on every call). A value nested deeper, or a cycle, is walked again by
 * {@link locateUnserialisable}, which tracks them.
 */
const UNTRACKED_DEPTH = 64;

/**
 * True when {@link findUnserialisable} would find nothing; false when it may find something. It reads
 * inherited enumerable keys too (a `for...in` allocates nothing): a false answer is only checked again.
 */
function isPlainData(value: unknown, depth: number): boolean {
  const t = typeof value;
  if (t === 'function' || t === 'symbol' || t === 'bigint') return false;
  if (t === 'number') return Number.isFinite(value);
  if (t !== 'object' || value === null) return true;
  if (depth >= UNTRACKED_DEPTH || value instanceof Map || value instanceof Set) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainData(value[i], depth + 1)) return false;
  } else {
    const record = value as Record<string, unknown>;
    for (const k in record) if (!isPlainData(record[k], depth + 1)) return false;
  }
  return true;
}

/** {@link findUnserialisable}'s walk, naming the path of what it finds. */
function locateUnserialisable(value: unknown, path: string, seen?: Set<object>): string | undefined {
  const t = typeof value;
  if (t === 'function' || t === 'symbol' || t === 'bigint') return `${path} is a ${t}, not plain data (JSON)`;
  if (t === 'number' && !Number.isFinite(value)) return `${path} is ${String(value)}, not plain data (JSON has no NaN or Infinity)`;
  if (t !== 'object' || value === null) return undefined;
  // Made only for objects: a context of many plain values allocates nothing here.
  seen ??= new Set();
  if (seen.has(value as object)) return `${path} refers to itself (a cycle), not plain data (JSON)`;
  if (value instanceof Map || value instanceof Set)
    return `${path} is a ${value instanceof Map ? 'Map' : 'Set'}, not plain data (JSON): convert it (Object.fromEntries, Array.from)`;
  seen.add(value as object);
  const entries = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v] as const)
    : Object.entries(value as Record<string, unknown>).map(([k, v]) => [`.${k}`, v] as const);
  for (const [k, v] of entries) {
    const found = locateUnserialisable(v, `${path}${k}`, seen);
    if (found) return found;
  }
  seen.delete(value as object);
  return undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The initial values as one-entry histories, after any inherited ones. Objects are copied (in one
 * call, which keeps references between them) so the caller cannot change history by mutating them;
 * strings, numbers and booleans cannot change and are kept as they are.
 */
function historiesOf(entries: [string, unknown][], inherited: Record<string, unknown[]> | undefined): Record<string, unknown[]> {
  const objects: unknown[] = [];
  for (const [, v] of entries) if (typeof v === 'object' && v !== null) objects.push(v);
  const copies = objects.length ? structuredClone(objects) : objects;
  let next = 0;
  const histories = inherited ?? recordFor<unknown[]>(entries.length);
  for (const [k, v] of entries) {
    const value = typeof v === 'object' && v !== null ? copies[next++] : v;
    if (inherited && Object.hasOwn(inherited, k)) inherited[k]!.push(value);
    else histories[k] = [value];
  }
  return histories;
}

/**
 * An object's own enumerable fields in order, as `Object.entries` gives them. On a large object (a
 * thousand fields, which V8 keeps as a hash table) `Object.entries` takes a slow path: its keys and
 * values read as two lists and paired cost about a third as much.
 */
function ownEntries(obj: object): [string, unknown][] {
  const keys = Object.keys(obj);
  const values = Object.values(obj);
  // A getter that adds or removes fields would make the two lists disagree: then as Object.entries.
  if (keys.length !== values.length) return Object.entries(obj);
  const out = new Array<[string, unknown]>(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = [keys[i]!, values[i]];
  return out;
}

/**
 * Checks everything about a new execution without storing anything: the config (or the inherited
 * one), the initial workflow, signals and context. Throws WorkflowValidationError on bad input.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export async function prepareExecution(opts: OrchestrateOptions): Promise<PreparedExecution> {
  const { backends } = opts;
  if (!Array.isArray(opts.initialSignals) || !opts.initialSignals.every((s) => typeof s === 'string' && s !== '')) {
    throw new WorkflowValidationError([
      { field: 'initial_signals', message: `'initial_signals' must be a list of signal names, got ${JSON.stringify(opts.initialSignals)}` },
    ]);
  }
  if (opts.initialSignals.length === 0)
    throw new WorkflowValidationError([{ field: 'initial_signals', message: `'initial_signals' cannot be empty` }]);
  if (opts.initialSignals.length > MAX_INITIAL_SIGNALS) {
    throw new WorkflowValidationError([
      {
        field: 'initial_signals',
        message: `'initial_signals' has ${opts.initialSignals.length} signals: at most ${MAX_INITIAL_SIGNALS} start an execution`,
      },
    ]);
  }
  if (typeof opts.initialWorkflowName !== 'string' || opts.initialWorkflowName === '') {
    throw new WorkflowValidationError([
      {
        field: 'initial_workflow_name',
        message: `'initial_workflow_name' must be a workflow name, got ${JSON.stringify(opts.initialWorkflowName)}`,
      },
    ]);
  }
  if (opts.initialContext !== undefined && opts.initialContext !== null && !isObj(opts.initialContext)) {
    throw new WorkflowValidationError([{ field: 'initial_context', message: `'initial_context' must be a mapping of field to value` }]);
  }
  let workflows: WorkflowsRegistry;
  let contextSchema: ContextSchema | undefined;
  let identities: Identities | undefined;
  let maxNodeRuns: number | undefined;
  let warnings: ValidationIssue[] | undefined;
  let maxTokens: number | undefined;
  const hasConfig = opts.config !== undefined && opts.config !== null;
  if (hasConfig) {
    const parsed = parseConfig(opts.config, { strict: opts.strict === true });
    warnings = parsed.warnings;
    workflows = parsed.workflows;
    contextSchema = parsed.contextSchema;
    identities = parsed.identities;
    maxNodeRuns = parsed.limits?.max_node_runs;
    maxTokens = parsed.limits?.max_tokens;
  } else if (opts.inheritConfigFromId) {
    const src = opts.inheritConfigFromId;
    const registry = await backends.workflow.getWorkflowsRegistry(src);
    if (!registry)
      throw new WorkflowValidationError([{ message: `cannot inherit the config of execution '${src}': it has no stored workflows` }]);
    workflows = structuredClone(registry);
    const srcCtx = await backends.context.getContext(src);
    const srcMain = srcCtx.__operational__?.main_execution_id ?? src;
    contextSchema = (await backends.contextSchema?.getContextSchema(srcMain)) ?? undefined;
    identities = (await backends.identity?.getIdentities(srcMain)) ?? undefined;
    maxNodeRuns = srcCtx.__operational__?.max_node_runs;
    maxTokens = srcCtx.__operational__?.max_tokens as number | undefined;
  } else {
    throw new WorkflowValidationError([
      { message: 'no config given: pass a config, or inheritConfigFromId to reuse an earlier execution' },
    ]);
  }
  if (!Object.hasOwn(workflows, opts.initialWorkflowName)) {
    throw new WorkflowValidationError([
      {
        workflow: opts.initialWorkflowName,
        message: `initial workflow '${opts.initialWorkflowName}' is not defined (defined: ${Object.keys(workflows).join(', ') || 'none'})`,
      },
    ]);
  }
  if (opts.limits?.maxNodeRuns !== undefined) {
    const problem = checkMaxNodeRuns(opts.limits.maxNodeRuns);
    if (problem) throw new WorkflowValidationError([{ field: 'limits.max_node_runs', message: problem }]);
    maxNodeRuns = opts.limits.maxNodeRuns;
  }
  let inherited: Record<string, unknown[]> | undefined;
  if (opts.inheritContextFromId) {
    inherited = {};
    const src = await backends.context.getContext(opts.inheritContextFromId);
    if (!src.__operational__) {
      throw new OperationalValidationError(`cannot inherit the context of execution '${opts.inheritContextFromId}': it was not found`);
    }
    for (const [k, v] of Object.entries(src as StoredContext))
      if (!isReservedField(k) && Array.isArray(v)) inherited[k] = structuredClone(v);
  }
  const initial = opts.initialContext ?? {};
  const initialEntries = ownEntries(initial);
  for (const [k, v] of initialEntries) {
    if (isReservedField(k))
      throw new WorkflowValidationError([{ field: `initial_context.${k}`, message: `'${k}' is reserved for the engine` }]);
    // Strings, booleans and null are plain data: no walk (and no path text) for them.
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) continue;
    const bad = findUnserialisable(v, `initial_context.${k}`);
    if (bad) throw new WorkflowValidationError([{ field: `initial_context.${k}`, message: bad }]);
  }
  const prepared: PreparedExecution = {
    executionId: opts.executionId ?? newUuid(),
    workflows,
    initialWorkflowName: opts.initialWorkflowName,
    initialSignals: [...opts.initialSignals],
    fields: historiesOf(initialEntries, inherited),
  };
  if (contextSchema) prepared.contextSchema = contextSchema;
  if (identities) prepared.identities = identities;
  if (maxNodeRuns !== undefined) prepared.maxNodeRuns = maxNodeRuns;
  if (maxTokens !== undefined) prepared.maxTokens = maxTokens;
  if (warnings?.length) prepared.warnings = warnings;
  return prepared;
}

/**
 * Stores a prepared execution: workflows, current workflow, schema, identities, context. When a write
 * fails midway, what was written is removed (best effort, through `deleteContext` where the context
 * backend has it) before the error is thrown, so a failed start leaves nothing behind.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export async function storeExecution(backends: Backends, p: PreparedExecution): Promise<void> {
  const id = p.executionId;
  try {
    await backends.workflow.saveWorkflowsRegistry(id, p.workflows);
    await backends.workflow.saveCurrentWorkflowName(id, p.initialWorkflowName);
    if (p.contextSchema && backends.contextSchema) await backends.contextSchema.saveContextSchema(id, p.contextSchema);
    if (p.identities && backends.identity) await backends.identity.saveIdentities(id, p.identities);
    await backends.context.createContext(id, {
      fields: p.fields,
      handOver: true,
      mainExecutionId: id,
      ...(p.maxNodeRuns !== undefined || p.maxTokens !== undefined
        ? {
            limits: {
              ...(p.maxNodeRuns !== undefined ? { maxNodeRuns: p.maxNodeRuns } : {}),
              ...(p.maxTokens !== undefined ? { maxTokens: p.maxTokens } : {}),
            },
          }
        : {}),
    });
    await backends.telemetry?.logEvent(id, 'orchestration_start', {
      workflow_name: p.initialWorkflowName,
      initial_signals: p.initialSignals,
    });
  } catch (e) {
    await backends.context.deleteContext?.(id).catch(() => undefined);
    throw e;
  }
}

/**
 * Starts an execution: validates the config (storing nothing if it is bad), stores workflows,
 * identities, schema and the initial context, then sends the initial signals. With the in-process
 * caller it resolves once everything the run produced has been handled.
 * @returns the new execution id
 * @example
 * const id = await orchestrate({ config: yaml, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
 */
export async function orchestrate(opts: OrchestrateOptions): Promise<string> {
  if (!opts?.backends) throw new TypeError('orchestrate: backends are required');
  // Checked before anything is stored: without a caller the execution would be stored and never run.
  if (typeof opts.broadcastSignalsCaller !== 'function') {
    throw new TypeError(
      'orchestrate: broadcastSignalsCaller is required (the function that sends the initial signals, e.g. from createAllNodes()); ' +
        'to store an execution without sending anything, use prepareExecution() and storeExecution()',
    );
  }
  if (opts.capture && opts.backends.telemetry) registerStepCapture(opts.backends.telemetry, opts.capture);
  const prepared = await prepareExecution(opts);
  await storeExecution(opts.backends, prepared);
  await opts.broadcastSignalsCaller(prepared.executionId, prepared.initialSignals);
  return prepared.executionId;
}
