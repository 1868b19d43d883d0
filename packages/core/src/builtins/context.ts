/**
 * Built-ins over execution contexts: soe_get_context, soe_update_context, soe_copy_context,
 * soe_list_contexts.
 *
 * Writes go through the tool context (`ctx.update` / `ctx.updateOther`): they are appends to field
 * histories that commit atomically with the node run, exactly once, like the node's own output.
 * A model only sees and writes executions of its own run: the executions that share its main
 * execution id (itself, its parent chain, its children).
 */
import type { ToolContext } from '../nodes/types.js';
import type { StoredContext } from '../types.js';
import { type BuiltinArgs, type BuiltinSpec, fail, isObj, isReserved, nameList, optionalString } from './shared.js';

/** How many executions soe_list_contexts returns unless told otherwise. */
export const DEFAULT_LIST_LIMIT = 20;
const MAX_LIST_LIMIT = 200;

/** Field name → history, for every field a model may see (engine-owned `__…` fields left out). */
function visibleFields(stored: StoredContext): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(stored)) if (!isReserved(k) && Array.isArray(v)) out[k] = v;
  return out;
}

/** The stored context of an execution of the caller's run; fails for unknown or foreign executions. */
async function contextOfRun(ctx: ToolContext, executionId: string, param: string): Promise<StoredContext> {
  const stored = await findContextOfRun(ctx, executionId, param);
  if (!stored) fail(`'${param}': execution '${executionId}' not found`);
  return stored;
}

/** Like {@link contextOfRun}, but undefined for an execution that does not exist yet. */
async function findContextOfRun(ctx: ToolContext, executionId: string, param: string): Promise<StoredContext | undefined> {
  if (executionId === ctx.executionId) return ctx.context;
  const stored = await ctx.backends.context.getContext(executionId);
  const main = stored?.__operational__?.main_execution_id;
  if (main === undefined) return undefined;
  if (main !== ctx.mainExecutionId)
    fail(`'${param}': execution '${executionId}' belongs to another run; only executions of this run can be used`);
  return stored;
}

/**
 * Creates an empty execution of the caller's run (same main execution, the caller's workflows and
 * current workflow), for soe_copy_context to copy into. It starts with no fields: the copied values
 * are appended by the node run's commit, so a retried run does not copy them twice.
 */
async function createCopyTarget(ctx: ToolContext, executionId: string): Promise<void> {
  if (executionId.trim() === '' || executionId.startsWith('__'))
    fail(`'target_execution_id': '${executionId}' cannot name an execution (empty, or starting with __)`);
  const registry = (await ctx.backends.workflow.getWorkflowsRegistry(ctx.executionId)) ?? {};
  await ctx.backends.workflow.saveWorkflowsRegistry(executionId, registry);
  await ctx.backends.workflow.saveCurrentWorkflowName(executionId, ctx.workflowName);
  await ctx.backends.context.createContext(executionId, { fields: {}, mainExecutionId: ctx.mainExecutionId });
  await ctx.services.telemetry(ctx.executionId, 'context_created', {
    tool: 'soe_copy_context',
    caller_node: ctx.nodeName,
    created_execution_id: executionId,
  });
}

const getContext: BuiltinSpec = {
  description:
    "Returns this execution's context: field name → history (a list, newest last), without the engine's __ fields. " +
    'With field or fields, only those (a missing field is null).',
  parameters: {
    type: 'object',
    properties: {
      field: { type: 'string', description: 'Return only this field (optional).' },
      fields: { type: 'array', items: { type: 'string' }, description: 'Return only these fields (optional).' },
    },
  },
  run(args, ctx) {
    const visible = visibleFields(ctx.context);
    const one = optionalString(args, 'field');
    const several = Array.isArray(args.fields) ? (args.fields as string[]) : undefined;
    if (one === undefined && several === undefined) return structuredClone(visible);
    const out: Record<string, unknown> = {};
    for (const name of [...(one !== undefined ? [one] : []), ...(several ?? [])]) {
      out[name] = Object.hasOwn(visible, name) ? structuredClone(visible[name]) : null;
    }
    return out;
  },
};

const updateContext: BuiltinSpec = {
  description:
    "Writes context fields: each value in updates is appended to its field's history (the field's newest value becomes it). " +
    'Fields starting with __ belong to the engine and are ignored. With nothing to write, answers status "no updates".',
  parameters: {
    type: 'object',
    properties: {
      updates: { type: 'object', description: 'Field name → new value, e.g. {"status": "done", "count": 3}.' },
    },
    required: ['updates'],
  },
  run(args, ctx) {
    if (!isObj(args.updates)) fail(`'updates' must be a mapping of field name to value`);
    const fields: Record<string, unknown[]> = {};
    const ignored: string[] = [];
    for (const [name, value] of Object.entries(args.updates)) {
      if (isReserved(name)) ignored.push(name);
      else fields[name] = [value === undefined ? null : value];
    }
    const written = Object.keys(fields);
    const ignoredNote = ignored.length
      ? { ignored, message: `ignored ${nameList(ignored)}: fields starting with __ belong to the engine` }
      : {};
    // Nothing to write is an answer, not a refusal (as upstream): the node goes on.
    if (written.length === 0)
      return { success: true, status: ignored.length ? 'no valid updates' : 'no updates', fields: [], ...ignoredNote };
    ctx.update({ fields });
    return { success: true, status: 'updated', fields: written, ...ignoredNote };
  },
};

const copyContext: BuiltinSpec = {
  description:
    'Copies context fields, with their whole history, under new names or into another execution of this run. fields maps ' +
    'source field → target field; all_fields copies every field (between two executions). source_execution_id and ' +
    "target_execution_id default to this execution; a target that does not exist yet is created in this run. The copied values are appended to the target fields' histories.",
  parameters: {
    type: 'object',
    properties: {
      fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'Source field → target field.' },
      all_fields: { type: 'boolean', description: 'Copy every field under its own name (needs another target execution).' },
      source_execution_id: { type: 'string', description: 'Execution to copy from (default: this one).' },
      target_execution_id: { type: 'string', description: 'Execution to copy to (default: this one; created when it does not exist).' },
    },
  },
  async run(args, ctx) {
    const sourceId = optionalString(args, 'source_execution_id') ?? ctx.executionId;
    const targetId = optionalString(args, 'target_execution_id') ?? ctx.executionId;
    const source = visibleFields(await contextOfRun(ctx, sourceId, 'source_execution_id'));
    const mapping = copyMapping(args, source, sourceId, targetId);
    const targetExists = targetId === sourceId || (await findContextOfRun(ctx, targetId, 'target_execution_id')) !== undefined;
    if (!targetExists) await createCopyTarget(ctx, targetId);
    const fields: Record<string, unknown[]> = {};
    for (const [from, to] of Object.entries(mapping)) (fields[to] ??= []).push(...structuredClone(source[from]!));
    if (Object.keys(fields).length) ctx.updateOther(targetId, { fields });
    return {
      success: true,
      status: 'copied',
      source_execution: sourceId,
      target_execution: targetId,
      fields_copied: mapping,
      ...(targetExists ? {} : { created: true }),
    };
  },
};

/** Source field → target field for a copy; fails naming the argument at fault. */
function copyMapping(args: BuiltinArgs, source: Record<string, unknown[]>, sourceId: string, targetId: string): Record<string, string> {
  if (args.all_fields === true) {
    if (targetId === sourceId)
      fail(`'all_fields' copies between two executions: give target_execution_id (or a 'fields' mapping to copy under new names)`);
    return Object.fromEntries(Object.keys(source).map((k) => [k, k]));
  }
  if (!isObj(args.fields) || Object.keys(args.fields).length === 0)
    fail(`give 'fields' (source field → target field) or 'all_fields': true`);
  const mapping: Record<string, string> = {};
  for (const [from, to] of Object.entries(args.fields)) {
    if (typeof to !== 'string' || to === '') fail(`'fields.${from}' must name the target field`);
    if (isReserved(to)) fail(`'fields.${from}': '${to}' belongs to the engine and cannot be written`);
    if (!Object.hasOwn(source, from))
      fail(`source field '${from}' not found in execution '${sourceId}' (fields: ${nameList(Object.keys(source))})`);
    if (from === to && targetId === sourceId)
      fail(`'fields.${from}': copying a field onto itself in the same execution would duplicate its history`);
    mapping[from] = to;
  }
  return mapping;
}

const listContexts: BuiltinSpec = {
  description:
    'Lists the executions of this run (same main execution: this one, its parents, its children) with a short summary of each. ' +
    'current_execution_id is the calling execution; include_current: false leaves it out of the list.',
  parameters: {
    type: 'object',
    properties: {
      include_current: { type: 'boolean', description: 'List the calling execution too (default true).' },
      limit: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_LIST_LIMIT,
        description: `At most this many executions (default ${DEFAULT_LIST_LIMIT}).`,
      },
    },
  },
  async run(args, ctx) {
    const limit =
      typeof args.limit === 'number' && Number.isInteger(args.limit) && args.limit > 0
        ? Math.min(args.limit, MAX_LIST_LIMIT)
        : DEFAULT_LIST_LIMIT;
    const backend = ctx.backends.context;
    const others = backend.listContexts ? (await backend.listContexts(ctx.mainExecutionId)).filter((id) => id !== ctx.executionId) : [];
    const ids = args.include_current === false ? others : [ctx.executionId, ...others];
    const contexts: Record<string, unknown>[] = [];
    let truncated = false;
    for (const id of ids) {
      const stored = id === ctx.executionId ? ctx.context : await backend.getContext(id);
      const op = stored.__operational__;
      if (!op || op.main_execution_id !== ctx.mainExecutionId) continue;
      if (contexts.length >= limit) {
        truncated = true;
        break;
      }
      contexts.push({
        execution_id: id,
        is_current: id === ctx.executionId,
        is_main: id === ctx.mainExecutionId,
        parent_execution_id: stored.__parent__?.parent_execution_id ?? null,
        workflow_name: await ctx.backends.workflow.getCurrentWorkflowName(id),
        fields: Object.keys(visibleFields(stored)),
        last_signals: op.signals.slice(-5),
        node_runs: Object.values(op.nodes).reduce((a, b) => a + b, 0),
      });
    }
    return {
      current_execution_id: ctx.executionId,
      main_execution_id: ctx.mainExecutionId,
      contexts,
      ...(truncated ? { truncated: true } : {}),
    };
  },
};

/** The context built-ins by name. */
export const contextBuiltins: Record<string, BuiltinSpec> = {
  soe_get_context: getContext,
  soe_update_context: updateContext,
  soe_copy_context: copyContext,
  soe_list_contexts: listContexts,
};
