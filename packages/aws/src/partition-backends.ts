/** Backends a worker hands the engine for one execution: reads from the execution state it holds, writes through to the table. */
import type {
  Backends,
  ContextBackend,
  ContextSchemaBackend,
  IdentityBackend,
  StoredContext,
  TelemetryBackend,
  WorkflowBackend,
} from '@soe/core';
import { contextFromInit } from '@soe/core';
import type { DynamoBackends } from './create-dynamo-backends.js';
import type { ExecutionState } from './execution-state.js';
import type { InitPayload } from './record-types.js';
import { executionPk, SK } from './table-keys.js';
import type { TreeNodeRunTally } from './tree-node-runs.js';

/**
 * Backends for the engine while a worker handles broadcasts of an execution: reads of that
 * execution (context, workflows, identities, schema) come from the state the worker holds, and see
 * its own commits as they happen; everything else goes to DynamoDB. A change the engine makes
 * directly (a built-in tool editing workflows, a direct context update) is written, then the state
 * catches up, and a configuration change is recorded in the log so other holders reload it.
 */
export function createPartitionBackends(
  base: DynamoBackends,
  state: ExecutionState,
  telemetry: Pick<TelemetryBackend, 'logEvent'>,
  tree?: TreeNodeRunTally,
): Backends {
  const own = state.executionId;
  const changed = () => state.configChanged();
  const inits = new Map<string, Promise<StoredContext>>();

  const context: ContextBackend = {
    createContext: (id, init) => base.context.createContext(id, init),
    async getContext(id) {
      if (id !== own) return base.context.getContext(id);
      // A copy the caller may keep: with every large value loaded.
      await state.loadAll();
      return structuredClone(state.fold.context()) as StoredContext;
    },
    async readContext(id) {
      if (id === own) return state.fold.context();
      // The engine reads another execution's context only for its parent link (a child's updates
      // climbing to its ancestors). That link never changes, so the init record answers it with one
      // GetItem instead of a read of the whole execution; getContext reads another execution whole.
      let init = inits.get(id);
      if (!init) inits.set(id, (init = initContext(base, id)));
      return init;
    },
    async updateContext(id, update) {
      await base.context.updateContext(id, update);
      if (id === own) await state.catchUp();
    },
    // The executions of this run: a Query of the main execution's status facts, never a table scan.
    listContexts: (mainExecutionId) => base.context.listContexts(mainExecutionId ?? state.mainExecutionId()),
  };
  if (tree) {
    context.addTreeNodeRuns = async (mainExecutionId, n) => {
      if (mainExecutionId !== tree.mainExecutionId) throw new Error(`execution '${own}' is not in the tree of '${mainExecutionId}'`);
      // A main execution that never started a child is no tree: it reads nothing and counts its own runs.
      if (n === 0 && !tree.touched && own === mainExecutionId && !hasStartedChildren(state)) return 0;
      return tree.add(n);
    };
  }

  const workflow: WorkflowBackend = {
    async saveWorkflowsRegistry(id, registry) {
      await base.workflow.saveWorkflowsRegistry(id, registry);
      if (id === own) await changed();
    },
    async getWorkflowsRegistry(id) {
      return id === own ? state.config.registry : base.workflow.getWorkflowsRegistry(id);
    },
    async saveCurrentWorkflowName(id, name) {
      await base.workflow.saveCurrentWorkflowName(id, name);
      if (id === own) await changed();
    },
    async getCurrentWorkflowName(id) {
      return id === own ? state.config.workflowName : base.workflow.getCurrentWorkflowName(id);
    },
    async putWorkflow(id, name, wf) {
      await base.workflow.putWorkflow(id, name, wf);
      if (id === own) await changed();
    },
    async putNode(id, wfName, nodeName, node) {
      await base.workflow.putNode(id, wfName, nodeName, node);
      if (id === own) await changed();
    },
    async deleteWorkflow(id, name) {
      const r = await base.workflow.deleteWorkflow(id, name);
      if (id === own) await changed();
      return r;
    },
    async deleteNode(id, wfName, nodeName) {
      const r = await base.workflow.deleteNode(id, wfName, nodeName);
      if (id === own) await changed();
      return r;
    },
  };

  const identity: IdentityBackend = {
    async saveIdentities(id, identities) {
      await base.identity.saveIdentities(id, identities);
      if (id === own) await changed();
    },
    async getIdentities(id) {
      return id === own ? state.config.identities : base.identity.getIdentities(id);
    },
    async getIdentity(id, name) {
      if (id !== own) return base.identity.getIdentity(id, name);
      const value = state.config.identities?.[name];
      return typeof value === 'string' ? value : null;
    },
    async putIdentity(id, name, prompt) {
      await base.identity.putIdentity(id, name, prompt);
      if (id === own) await changed();
    },
    async deleteIdentity(id, name) {
      const r = await base.identity.deleteIdentity(id, name);
      if (id === own) await changed();
      return r;
    },
    async deleteIdentities(id) {
      const r = await base.identity.deleteIdentities(id);
      if (id === own) await changed();
      return r;
    },
  };

  const contextSchema: ContextSchemaBackend = {
    async saveContextSchema(id, schema) {
      await base.contextSchema.saveContextSchema(id, schema);
      if (id === own) await changed();
    },
    async getContextSchema(id) {
      return id === own ? state.config.schema : base.contextSchema.getContextSchema(id);
    },
    async putContextSchemaField(id, field, def) {
      await base.contextSchema.putContextSchemaField(id, field, def);
      if (id === own) await changed();
    },
    async deleteContextSchemaField(id, field) {
      const r = await base.contextSchema.deleteContextSchemaField(id, field);
      if (id === own) await changed();
      return r;
    },
    async deleteContextSchema(id) {
      const r = await base.contextSchema.deleteContextSchema(id);
      if (id === own) await changed();
      return r;
    },
  };

  return {
    context,
    workflow,
    telemetry: { logEvent: (id, type, data) => telemetry.logEvent(id, type, data) },
    conversationHistory: base.conversationHistory,
    contextSchema,
    identity,
  };
}

/** An execution's context as created (its init record): initial fields, main id, parent link. `{}` when unknown. */
async function initContext(base: DynamoBackends, executionId: string): Promise<StoredContext> {
  const item = await base.table.get(executionPk(executionId), SK.init);
  if (!item) return {};
  const init = await base.table.payloadOf<InitPayload>(item);
  return contextFromInit({ fields: init.f ?? {}, mainExecutionId: init.m, parent: init.p, signals: init.s, limits: init.l });
}

/** True when a child node of the execution's workflow has run: the execution has started children. */
function hasStartedChildren(state: ExecutionState): boolean {
  const { registry, workflowName } = state.config;
  const workflow = workflowName ? registry?.[workflowName] : undefined;
  const runs = state.fold.context().__operational__?.nodes;
  if (!workflow || !runs) return false;
  return Object.entries(workflow).some(([name, node]) => node.node_type === 'child' && (runs[name] ?? 0) > 0);
}
