/**
 * Built-ins that read and change the execution's workflow registry: soe_get_workflows,
 * soe_inject_workflow, soe_inject_node, soe_remove_workflow, soe_remove_node, soe_add_signal.
 *
 * Every change goes through one granular backend call (putWorkflow, putNode, deleteWorkflow,
 * deleteNode), never a rewrite of the whole registry, so two nodes injecting at the same time keep
 * each other's work. Injected content is validated exactly like a config before anything is stored;
 * a bad injection fails the tool (a BuiltinToolError) and leaves the registry as it was.
 */

import { checkNode, checkWorkflow, isError } from '../config.js';
import { didYouMean } from '../config-keys.js';
import type { ValidationIssue } from '../errors.js';
import type { ToolContext } from '../nodes/types.js';
import type { EventEmission, NodeConfig, Workflow, WorkflowsRegistry } from '../types.js';
import {
  type BuiltinArgs,
  type BuiltinSpec,
  fail,
  isObj,
  issuesMessage,
  logChange,
  nameList,
  optionalString,
  parseStructured,
  requireName,
} from './shared.js';

const STRUCTURED = { type: ['string', 'object'] } as const;

async function registryOf(ctx: ToolContext): Promise<WorkflowsRegistry> {
  return (await ctx.backends.workflow.getWorkflowsRegistry(ctx.executionId)) ?? {};
}

function requireWorkflow(registry: WorkflowsRegistry, name: string): Workflow {
  if (!Object.hasOwn(registry, name))
    fail(`workflow '${name}' not found in this execution (workflows: ${nameList(Object.keys(registry))})`);
  return registry[name]!;
}

function requireNode(registry: WorkflowsRegistry, workflowName: string, nodeName: string): NodeConfig {
  const wf = requireWorkflow(registry, workflowName);
  if (!Object.hasOwn(wf, nodeName))
    fail(`node '${nodeName}' not found in workflow '${workflowName}' (nodes: ${nameList(Object.keys(wf))})`);
  return wf[nodeName]!;
}

/** The errors a check finds; warnings (annotations) are accepted on injection as in a config. */
function errorsOf(check: (issues: ValidationIssue[]) => void): ValidationIssue[] {
  const all: ValidationIssue[] = [];
  check(all);
  return all.filter(isError);
}

/** Child nodes of `workflow` must name a workflow of `registry` (the registry as it would be after the change). */
function checkChildTargets(
  workflowName: string,
  nodes: Record<string, unknown>,
  registry: WorkflowsRegistry,
  issues: ValidationIssue[],
): void {
  for (const [nodeName, node] of Object.entries(nodes)) {
    if (!isObj(node) || node.node_type !== 'child' || typeof node.child_workflow_name !== 'string') continue;
    if (!Object.hasOwn(registry, node.child_workflow_name)) {
      issues.push({
        workflow: workflowName,
        node: nodeName,
        field: 'child_workflow_name',
        message: `child workflow '${node.child_workflow_name}' not found in this execution (workflows: ${nameList(Object.keys(registry))})${didYouMean(node.child_workflow_name, Object.keys(registry))}`,
      });
    }
  }
}

/**
 * What `workflow_data` holds: the nodes themselves, or a container around them. A container is a
 * mapping with the requested name as a key, or a single entry that is not a node (`{any_name: {nodes}}`).
 */
function unwrapWorkflow(name: string, data: unknown): unknown {
  if (!isObj(data)) return data;
  const named = data[name];
  // {<name>: {nodes}} is a container; {<name>: {node_type…}} is a workflow with a node of that name.
  if (Object.hasOwn(data, name) && isObj(named) && !('node_type' in named)) return named;
  const entries = Object.values(data);
  const allNodes = entries.length > 0 && entries.every((v) => isObj(v) && 'node_type' in v);
  if (!allNodes && entries.length === 1 && isObj(entries[0])) return entries[0];
  return data;
}

/** `node_config_data` may be the node, or `{<node_name>: node}`. */
function unwrapNode(nodeName: string, data: unknown): unknown {
  if (isObj(data) && !('node_type' in data) && Object.keys(data).length === 1 && isObj(data[nodeName])) return data[nodeName];
  return data;
}

const getWorkflows: BuiltinSpec = {
  description:
    "Returns this execution's workflow registry: workflow name → node name → node config. With workflow_name, only that workflow.",
  parameters: {
    type: 'object',
    properties: { workflow_name: { type: 'string', description: 'Only this workflow (optional).' } },
  },
  async run(args, ctx) {
    const registry = await registryOf(ctx);
    const only = optionalString(args, 'workflow_name');
    if (only === undefined) return structuredClone(registry);
    if (!Object.hasOwn(registry, only))
      return { error: `workflow '${only}' not found in this execution`, available: Object.keys(registry) };
    return { [only]: structuredClone(registry[only]) };
  },
};

const injectWorkflow: BuiltinSpec = {
  description:
    "Adds a workflow to this execution's registry, or replaces the one of that name. workflow_data is the workflow's nodes as YAML or JSON text " +
    '(or an object); a single wrapping key such as {"my_workflow": {nodes}} is unwrapped. The workflow is validated like a config first. ' +
    'Executions that inherit this config, and child nodes, can then run it.',
  parameters: {
    type: 'object',
    properties: {
      workflow_name: { type: 'string', description: 'Name to store the workflow under.' },
      workflow_data: { ...STRUCTURED, description: 'The nodes: node name → node config, as YAML or JSON text or an object.' },
    },
    required: ['workflow_name', 'workflow_data'],
  },
  async run(args, ctx) {
    const name = requireName(args, 'workflow_name');
    const workflow = unwrapWorkflow(name, parseStructured(args.workflow_data, 'workflow_data'));
    const issues = errorsOf((all) => checkWorkflow(name, workflow, all));
    const registry = await registryOf(ctx);
    if (issues.length === 0) checkChildTargets(name, workflow as Workflow, { ...registry, [name]: workflow as Workflow }, issues);
    if (issues.length) fail(issuesMessage(issues));
    const existed = Object.hasOwn(registry, name);
    await ctx.backends.workflow.putWorkflow(ctx.executionId, name, workflow as Workflow);
    await logChange(ctx, 'soe_inject_workflow', { workflow_name: name, action: existed ? 'updated' : 'created' });
    return {
      success: true,
      injected: true,
      workflow_name: name,
      action: existed ? 'updated' : 'created',
      nodes: Object.keys(workflow as Workflow),
      message: `${existed ? 'Replaced' : 'Injected'} workflow '${name}'`,
    };
  },
};

const injectNode: BuiltinSpec = {
  description:
    'Adds a node to an existing workflow of this execution, or replaces the node of that name. node_config_data is the node config as ' +
    'YAML or JSON text (or an object), validated like a config first. In the running workflow the node reacts to the next signals.',
  parameters: {
    type: 'object',
    properties: {
      workflow_name: { type: 'string', description: 'The workflow to add the node to (it must exist).' },
      node_name: { type: 'string', description: 'Name of the node.' },
      node_config_data: { ...STRUCTURED, description: 'The node config (node_type, event_triggers, …) as YAML or JSON text or an object.' },
    },
    required: ['workflow_name', 'node_name', 'node_config_data'],
  },
  async run(args, ctx) {
    const workflowName = requireName(args, 'workflow_name');
    const nodeName = requireName(args, 'node_name');
    const node = unwrapNode(nodeName, parseStructured(args.node_config_data, 'node_config_data'));
    const registry = await registryOf(ctx);
    const workflow = requireWorkflow(registry, workflowName);
    const issues = errorsOf((all) => checkNode(workflowName, nodeName, node, all));
    if (issues.length === 0) checkChildTargets(workflowName, { [nodeName]: node }, registry, issues);
    if (issues.length) fail(issuesMessage(issues));
    const existed = Object.hasOwn(workflow, nodeName);
    await ctx.backends.workflow.putNode(ctx.executionId, workflowName, nodeName, node as NodeConfig);
    await logChange(ctx, 'soe_inject_node', { workflow_name: workflowName, node_name: nodeName, action: existed ? 'updated' : 'created' });
    return {
      success: true,
      injected: true,
      workflow_name: workflowName,
      node_name: nodeName,
      action: existed ? 'updated' : 'created',
      message: `${existed ? 'Replaced' : 'Injected'} node '${nodeName}' in workflow '${workflowName}'`,
    };
  },
};

const removeWorkflow: BuiltinSpec = {
  description:
    "Removes a workflow from this execution's registry. The workflow the execution is running, and a workflow that a child node " +
    'starts, cannot be removed.',
  parameters: {
    type: 'object',
    properties: { workflow_name: { type: 'string', description: 'The workflow to remove.' } },
    required: ['workflow_name'],
  },
  async run(args, ctx) {
    const name = requireName(args, 'workflow_name');
    const registry = await registryOf(ctx);
    requireWorkflow(registry, name);
    if (name === ctx.workflowName) fail(`workflow '${name}' is the one this execution is running; remove its nodes instead`);
    for (const [wfName, wf] of Object.entries(registry)) {
      if (wfName === name) continue;
      for (const [nodeName, node] of Object.entries(wf)) {
        if (node.node_type === 'child' && node.child_workflow_name === name) {
          fail(`workflow '${name}' is started by child node '${nodeName}' of workflow '${wfName}'; remove or change that node first`);
        }
      }
    }
    if (!(await ctx.backends.workflow.deleteWorkflow(ctx.executionId, name))) fail(`workflow '${name}' not found in this execution`);
    await logChange(ctx, 'soe_remove_workflow', { workflow_name: name, action: 'removed' });
    return { success: true, removed: true, workflow_name: name, message: `Removed workflow '${name}'` };
  },
};

const removeNode: BuiltinSpec = {
  description: 'Removes a node from a workflow of this execution: later signals no longer reach it.',
  parameters: {
    type: 'object',
    properties: {
      workflow_name: { type: 'string', description: 'The workflow holding the node.' },
      node_name: { type: 'string', description: 'The node to remove.' },
    },
    required: ['workflow_name', 'node_name'],
  },
  async run(args, ctx) {
    const workflowName = requireName(args, 'workflow_name');
    const nodeName = requireName(args, 'node_name');
    requireNode(await registryOf(ctx), workflowName, nodeName);
    if (!(await ctx.backends.workflow.deleteNode(ctx.executionId, workflowName, nodeName))) {
      fail(`node '${nodeName}' not found in workflow '${workflowName}'`);
    }
    await logChange(ctx, 'soe_remove_node', { workflow_name: workflowName, node_name: nodeName, action: 'removed' });
    return {
      success: true,
      removed: true,
      workflow_name: workflowName,
      node_name: nodeName,
      message: `Removed node '${nodeName}' from workflow '${workflowName}'`,
    };
  },
};

const addSignal: BuiltinSpec = {
  description:
    "Adds a signal to a node's event_emissions, or replaces the condition of the signal of that name. Without a condition the node " +
    'always emits it; a {{ … }} condition is evaluated like any other.',
  parameters: {
    type: 'object',
    properties: {
      workflow_name: { type: 'string', description: 'The workflow holding the node.' },
      node_name: { type: 'string', description: 'The node that should emit the signal.' },
      signal_name: { type: 'string', description: 'The signal to emit.' },
      condition: { type: 'string', description: 'When to emit it: a Jinja condition such as "{{ context.ready }}" (optional).' },
    },
    required: ['workflow_name', 'node_name', 'signal_name'],
  },
  async run(args: BuiltinArgs, ctx) {
    const workflowName = requireName(args, 'workflow_name');
    const nodeName = requireName(args, 'node_name');
    const signal = requireName(args, 'signal_name');
    const condition = optionalString(args, 'condition');
    const node = structuredClone(requireNode(await registryOf(ctx), workflowName, nodeName));
    const emissions: EventEmission[] = Array.isArray(node.event_emissions) ? node.event_emissions : [];
    const emission: EventEmission = condition === undefined ? { signal_name: signal } : { signal_name: signal, condition };
    const at = emissions.findIndex((e) => isObj(e) && e.signal_name === signal);
    if (at >= 0) emissions[at] = emission;
    else emissions.push(emission);
    node.event_emissions = emissions;
    const issues = errorsOf((all) => checkNode(workflowName, nodeName, node, all));
    if (issues.length) fail(issuesMessage(issues));
    // A read-modify-write of one node: two soe_add_signal calls on the same node at the same instant
    // could keep only one; changes to different nodes never interfere.
    await ctx.backends.workflow.putNode(ctx.executionId, workflowName, nodeName, node);
    const status = at >= 0 ? 'updated' : 'added';
    await logChange(ctx, 'soe_add_signal', { workflow_name: workflowName, node_name: nodeName, signal_name: signal, action: status });
    return {
      success: true,
      status,
      workflow_name: workflowName,
      node_name: nodeName,
      signal_name: signal,
      message: `${status === 'added' ? 'Added' : 'Updated'} signal '${signal}' ${status === 'added' ? 'to' : 'of'} node '${nodeName}' in workflow '${workflowName}'`,
    };
  },
};

/** The workflow-registry built-ins by name. */
export const workflowBuiltins: Record<string, BuiltinSpec> = {
  soe_get_workflows: getWorkflows,
  soe_inject_workflow: injectWorkflow,
  soe_inject_node: injectNode,
  soe_remove_workflow: removeWorkflow,
  soe_remove_node: removeNode,
  soe_add_signal: addSignal,
};
