/** The child node: starts child executions of another workflow (one, or one per item). */
import { sumNodeRuns } from '../backends/apply-update.js';
import { accumulate, historyOf, templateVars } from '../context-view.js';
import type { ParentLink, StoredContext } from '../types.js';
import { emissionsOf, emitWhere } from './emissions.js';
import { addTo, type NodeExecutor, type SpawnedExecution, startOutcome } from './types.js';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * child: starts `child_workflow_name` as a new execution with `input_fields` copied in (one child per
 * item of `fan_out_field`, the item in `child_input_field`). The children are created when the run
 * commits; the node's own emissions fire as soon as they start. Completion reaches the parent only
 * through the child's `signals_to_parent`.
 */
export const executeChild: NodeExecutor = async (run, services) => {
  const outcome = startOutcome(run.nodeName);
  const node = run.node;
  const mainExecutionId = run.context.__operational__?.main_execution_id ?? run.executionId;
  // One link for every child of this run, frozen so that a backend may keep it as it is.
  const parent: ParentLink = Object.freeze({
    parent_execution_id: run.executionId,
    main_execution_id: mainExecutionId,
    signals_to_parent: Object.freeze(strings(node.signals_to_parent)) as string[],
    context_updates_to_parent: Object.freeze(strings(node.context_updates_to_parent)) as string[],
  });
  const baseFields: Record<string, unknown[]> = {};
  for (const f of strings(node.input_fields)) {
    const h = historyOf(run.context, f);
    if (h.length) baseFields[f] = structuredClone(h);
  }
  const op = run.context.__operational__;
  // Where the backend counts node runs per tree, the tree's counter holds every run. Elsewhere the runs
  // so far (this one included) travel with the child: a chain of children cannot escape the limit.
  const perTree = services.backends.context.addTreeNodeRuns !== undefined;
  const limits = {
    ...(perTree ? {} : { ancestorNodeRuns: (op?.ancestor_node_runs ?? 0) + nodeRunsOf(run.context) + 1 }),
    ...(op?.max_node_runs !== undefined ? { maxNodeRuns: op.max_node_runs } : {}),
    // A child gets the same token budget, counted on its own (tokens are not summed across the tree).
    ...(typeof op?.max_tokens === 'number' ? { maxTokens: op.max_tokens } : {}),
  };
  const workflowName = String(node.child_workflow_name);
  // The children's initial signals: one list for all of them (nothing changes a broadcast's signals).
  const signals = strings(node.child_initial_signals);
  const make = (index: number, fields: Record<string, unknown[]>, delaySeconds?: number): SpawnedExecution => {
    const spawn: SpawnedExecution = {
      executionId: services.newExecutionId(`${run.runKey}#${index}`),
      workflowName,
      sourceExecutionId: run.executionId,
      fields,
      mainExecutionId,
      parent,
      signals,
      limits,
    };
    if (delaySeconds) spawn.delaySeconds = delaySeconds;
    return spawn;
  };
  if (typeof node.fan_out_field === 'string') {
    const items = accumulate(historyOf(run.context, node.fan_out_field));
    const inputField = String(node.child_input_field);
    const interval = typeof node.spawn_interval === 'number' ? node.spawn_interval : 0;
    const copyBase = Object.keys(baseFields).length > 0;
    // The items are stored values, which nothing changes in place (updates are copied on the way in,
    // tools get copies, readers get copies or a read-only view): the children share them, uncopied.
    for (let i = 0; i < items.length; i++) {
      const fields: Record<string, unknown[]> = copyBase ? { ...baseFields } : {};
      fields[inputField] = [items[i]];
      addTo(outcome, 'spawns', make(i, fields, interval ? interval * i : undefined));
    }
  } else {
    addTo(outcome, 'spawns', make(0, baseFields));
  }
  void services.telemetry(run.executionId, 'child_started', {
    node_name: run.nodeName,
    children: outcome.spawns.map((c) => c.executionId),
  });
  outcome.emit = emitWhere(run, services, emissionsOf(node), () => templateVars(run.context, outcome.update));
  return outcome;
};

/** Node runs an execution has made (the sum of `__operational__.nodes`). */
export function nodeRunsOf(context: StoredContext): number {
  const nodes = context.__operational__?.nodes;
  return nodes ? sumNodeRuns(nodes) : 0;
}
