import type {
  Backends,
  ContextBackend,
  ContextSchemaBackend,
  IdentityBackend,
  StoredContext,
  TelemetryBackend,
  WorkflowBackend,
} from '@soe/core';
import type { DynamoBackends } from './create-dynamo-backends.js';
import type { ExecutionRecords } from './execution-records.js';
import { executionPk, SK } from './table-keys.js';

/**
 * Backends for the engine while a worker handles one broadcast of an execution: reads of that
 * execution (context, workflows, identities, schema) come from the partition the worker read once, and
 * see its own commits as they happen; everything else goes to DynamoDB. Without this, every node of a
 * broadcast would re-read the whole partition several times.
 */
export function createPartitionBackends(
  base: DynamoBackends,
  records: ExecutionRecords,
  telemetry: Pick<TelemetryBackend, 'logEvent'>,
): Backends {
  const own = records.executionId;
  const pk = executionPk(own);
  /** Re-reads items the engine changed directly (a built-in tool editing workflows or identities). */
  const refresh = async (prefix: string) => {
    const exact = prefix === SK.currentWorkflow || prefix === SK.identities || prefix === SK.schema;
    // Context records are only ever added; other items may have been deleted, so drop them first.
    if (!prefix.startsWith(SK.context)) for (const [sk] of [...iterItems(records, prefix, exact)]) records.removeItem(sk);
    const items = await base.table.queryPartition(pk, prefix);
    // Payload chunks of the re-read records (large workflows, identities, updates) live under `X#<sk>#`.
    for (const chunk of await base.table.queryPartition(pk, `${SK.chunk}${prefix}`)) records.addItem(chunk);
    for (const item of items) if (!exact || item.sk === prefix) records.addItem(item);
  };

  const context: ContextBackend = {
    createContext: (id, init) => base.context.createContext(id, init),
    async getContext(id) {
      return id === own ? (structuredClone(records.context()) as StoredContext) : base.context.getContext(id);
    },
    async readContext(id) {
      return id === own ? records.context() : base.context.readContext(id);
    },
    async updateContext(id, update) {
      await base.context.updateContext(id, update);
      if (id === own) await refresh(SK.direct);
    },
    listContexts: () => base.context.listContexts(),
  };

  const workflow: WorkflowBackend = {
    async saveWorkflowsRegistry(id, registry) {
      await base.workflow.saveWorkflowsRegistry(id, registry);
      if (id === own) await refresh(SK.workflow);
    },
    async getWorkflowsRegistry(id) {
      return id === own ? records.registry() : base.workflow.getWorkflowsRegistry(id);
    },
    async saveCurrentWorkflowName(id, name) {
      await base.workflow.saveCurrentWorkflowName(id, name);
      if (id === own) await refresh(SK.currentWorkflow);
    },
    async getCurrentWorkflowName(id) {
      return id === own ? records.currentWorkflowName() : base.workflow.getCurrentWorkflowName(id);
    },
    async putWorkflow(id, name, wf) {
      await base.workflow.putWorkflow(id, name, wf);
      if (id === own) await refresh(SK.workflow);
    },
    async putNode(id, wfName, nodeName, node) {
      await base.workflow.putNode(id, wfName, nodeName, node);
      if (id === own) await refresh(SK.workflow);
    },
    async deleteWorkflow(id, name) {
      const r = await base.workflow.deleteWorkflow(id, name);
      if (id === own) await refresh(SK.workflow);
      return r;
    },
    async deleteNode(id, wfName, nodeName) {
      const r = await base.workflow.deleteNode(id, wfName, nodeName);
      if (id === own) await refresh(SK.workflow);
      return r;
    },
  };

  const identity: IdentityBackend = {
    async saveIdentities(id, identities) {
      await base.identity.saveIdentities(id, identities);
      if (id === own) await refresh(SK.identities);
    },
    async getIdentities(id) {
      return id === own ? records.identities() : base.identity.getIdentities(id);
    },
    async getIdentity(id, name) {
      if (id !== own) return base.identity.getIdentity(id, name);
      const value = records.identities()?.[name];
      return typeof value === 'string' ? value : null;
    },
    async putIdentity(id, name, prompt) {
      await base.identity.putIdentity(id, name, prompt);
      if (id === own) await refresh(SK.identities);
    },
    async deleteIdentity(id, name) {
      const r = await base.identity.deleteIdentity(id, name);
      if (id === own) await refresh(SK.identities);
      return r;
    },
    async deleteIdentities(id) {
      const r = await base.identity.deleteIdentities(id);
      if (id === own) await refresh(SK.identities);
      return r;
    },
  };

  const contextSchema: ContextSchemaBackend = {
    async saveContextSchema(id, schema) {
      await base.contextSchema.saveContextSchema(id, schema);
      if (id === own) await refresh(SK.schema);
    },
    async getContextSchema(id) {
      return id === own ? records.contextSchema() : base.contextSchema.getContextSchema(id);
    },
    async putContextSchemaField(id, field, def) {
      await base.contextSchema.putContextSchemaField(id, field, def);
      if (id === own) await refresh(SK.schema);
    },
    async deleteContextSchemaField(id, field) {
      const r = await base.contextSchema.deleteContextSchemaField(id, field);
      if (id === own) await refresh(SK.schema);
      return r;
    },
    async deleteContextSchema(id) {
      const r = await base.contextSchema.deleteContextSchema(id);
      if (id === own) await refresh(SK.schema);
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

function* iterItems(records: ExecutionRecords, prefix: string, exact: boolean): Generator<[string]> {
  for (const sk of records.keys()) if (exact ? sk === prefix : sk.startsWith(prefix)) yield [sk];
}
