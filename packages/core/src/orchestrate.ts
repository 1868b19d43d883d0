import { randomUUID } from 'node:crypto';
import { checkMaxNodeRuns, parseConfig } from './config.js';
import { isReservedField } from './context-view.js';
import { OperationalValidationError, WorkflowValidationError } from './errors.js';
import type { Backends, BroadcastSignalsCaller, ContextSchema, Identities, StoredContext, WorkflowsRegistry } from './types.js';

/** Options of {@link orchestrate}. */
export interface OrchestrateOptions {
  /** YAML text or an object: `{ workflows, context_schema?, identities? }` or a bare map of workflows. */
  config?: string | object | null;
  initialWorkflowName: string;
  initialSignals: string[];
  initialContext?: Record<string, unknown>;
  backends: Backends;
  /** Without one, the execution is stored but no signal is sent. */
  broadcastSignalsCaller?: BroadcastSignalsCaller;
  /** Reuse the workflows, identities and context schema of an earlier execution. */
  inheritConfigFromId?: string;
  /** Start from an earlier execution's context (its `__operational__` is reset). */
  inheritContextFromId?: string;
  /** Use this id instead of a random one (runtimes that make ids themselves). */
  executionId?: string;
  /** Limits for this run; they override the config's `limits:` section. */
  limits?: { maxNodeRuns?: number };
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
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks everything about a new execution without storing anything: the config (or the inherited
 * one), the initial workflow, signals and context. Throws WorkflowValidationError on bad input.
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
  const hasConfig = opts.config !== undefined && opts.config !== null;
  if (hasConfig) {
    const parsed = parseConfig(opts.config);
    workflows = parsed.workflows;
    contextSchema = parsed.contextSchema;
    identities = parsed.identities;
    maxNodeRuns = parsed.limits?.max_node_runs;
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
  const fields: Record<string, unknown[]> = {};
  if (opts.inheritContextFromId) {
    const src = await backends.context.getContext(opts.inheritContextFromId);
    if (!src.__operational__) {
      throw new OperationalValidationError(`cannot inherit the context of execution '${opts.inheritContextFromId}': it was not found`);
    }
    for (const [k, v] of Object.entries(src as StoredContext)) if (!isReservedField(k) && Array.isArray(v)) fields[k] = structuredClone(v);
  }
  for (const [k, v] of Object.entries(opts.initialContext ?? {})) {
    if (isReservedField(k))
      throw new WorkflowValidationError([{ field: `initial_context.${k}`, message: `'${k}' is reserved for the engine` }]);
    if (opts.inheritContextFromId && fields[k]) fields[k].push(structuredClone(v));
    else fields[k] = [structuredClone(v)];
  }
  const prepared: PreparedExecution = {
    executionId: opts.executionId ?? randomUUID(),
    workflows,
    initialWorkflowName: opts.initialWorkflowName,
    initialSignals: [...opts.initialSignals],
    fields,
  };
  if (contextSchema) prepared.contextSchema = contextSchema;
  if (identities) prepared.identities = identities;
  if (maxNodeRuns !== undefined) prepared.maxNodeRuns = maxNodeRuns;
  return prepared;
}

/** Stores a prepared execution: workflows, current workflow, schema, identities, context. */
export async function storeExecution(backends: Backends, p: PreparedExecution): Promise<void> {
  const id = p.executionId;
  await backends.workflow.saveWorkflowsRegistry(id, p.workflows);
  await backends.workflow.saveCurrentWorkflowName(id, p.initialWorkflowName);
  if (p.contextSchema && backends.contextSchema) await backends.contextSchema.saveContextSchema(id, p.contextSchema);
  if (p.identities && backends.identity) await backends.identity.saveIdentities(id, p.identities);
  await backends.context.createContext(id, {
    fields: p.fields,
    mainExecutionId: id,
    ...(p.maxNodeRuns !== undefined ? { limits: { maxNodeRuns: p.maxNodeRuns } } : {}),
  });
  await backends.telemetry?.logEvent(id, 'orchestration_start', {
    workflow_name: p.initialWorkflowName,
    initial_signals: p.initialSignals,
  });
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
  const prepared = await prepareExecution(opts);
  await storeExecution(opts.backends, prepared);
  if (opts.broadcastSignalsCaller) await opts.broadcastSignalsCaller(prepared.executionId, prepared.initialSignals);
  return prepared.executionId;
}
