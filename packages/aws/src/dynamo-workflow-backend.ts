import type { NodeConfig, Workflow, WorkflowBackend, WorkflowsRegistry } from '@soe/core';
import type { SoeTable, TableItem } from './soe-table.js';
import { legacyWorkflow, type WorkflowPayload, workflowFromItem, workflowItems, workflowPayload } from './stored-config.js';
import { executionPk, SK, workflowSk } from './table-keys.js';

export { workflowItems } from './stored-config.js';

const legacy = (item: TableItem): WorkflowPayload => workflowPayload(legacyWorkflow(item));

/**
 * Workflow registries in DynamoDB: one record per workflow in the execution's partition, so injecting a
 * workflow or a node rewrites that workflow only. A workflow's payload goes through the chunking codec
 * (a workflow may be larger than one 400 KB item, and node injection may grow it past that later); a
 * node is put or deleted by compare-and-swap on the workflow's version, so concurrent injections of
 * different nodes both land.
 */
export class DynamoWorkflowBackend implements WorkflowBackend {
  constructor(private readonly table: SoeTable) {}

  async saveWorkflowsRegistry(executionId: string, registry: WorkflowsRegistry): Promise<void> {
    const pk = executionPk(executionId);
    // Whatever a registry held before (records and their chunks) goes; a fresh execution has nothing.
    const stale = [
      ...(await this.table.queryPartition(pk, SK.workflow, { ProjectionExpression: 'pk, sk' })),
      ...(await this.table.queryPartition(pk, `${SK.chunk}${SK.workflow}`, { ProjectionExpression: 'pk, sk' })),
    ].map((i) => ({ pk, sk: String(i.sk) }));
    const items = Object.entries(registry).flatMap(([name, wf]) => workflowItems(executionId, name, wf));
    const written = new Set(items.map((i) => String(i.sk)));
    await this.table.batchWrite(
      items,
      stale.filter((k) => !written.has(k.sk)),
    );
  }

  async getWorkflowsRegistry(executionId: string): Promise<WorkflowsRegistry | null> {
    const pk = executionPk(executionId);
    const items = await this.table.queryPartition(pk, SK.workflow);
    if (!items.length) return null;
    const chunked = items.some((i) => typeof i.cn === 'string');
    const chunks = chunked
      ? new Map((await this.table.queryPartition(pk, `${SK.chunk}${SK.workflow}`)).map((c) => [String(c.sk), c]))
      : undefined;
    const reg: WorkflowsRegistry = {};
    for (const item of items) reg[String(item.sk).slice(SK.workflow.length)] = workflowFromItem(item, (sk) => chunks?.get(sk));
    return reg;
  }

  async saveCurrentWorkflowName(executionId: string, name: string): Promise<void> {
    await this.table.put({ pk: executionPk(executionId), sk: SK.currentWorkflow, v: name });
  }

  async getCurrentWorkflowName(executionId: string): Promise<string | null> {
    const item = await this.table.get(executionPk(executionId), SK.currentWorkflow);
    return typeof item?.v === 'string' ? item.v : null;
  }

  async putWorkflow(executionId: string, name: string, workflow: Workflow): Promise<void> {
    await this.table.changeRecord<WorkflowPayload>(executionPk(executionId), workflowSk(name), legacy, () => workflowPayload(workflow));
  }

  /** Adds or replaces one node: replacing keeps the node's place, a new node goes last. */
  async putNode(executionId: string, workflowName: string, nodeName: string, node: NodeConfig): Promise<void> {
    await this.table.changeRecord<WorkflowPayload>(executionPk(executionId), workflowSk(workflowName), legacy, (current) => {
      const nodes = [...(current ?? [])];
      const at = nodes.findIndex(([n]) => n === nodeName);
      if (at >= 0) nodes[at] = [nodeName, node];
      else nodes.push([nodeName, node]);
      return nodes;
    });
  }

  async deleteWorkflow(executionId: string, name: string): Promise<boolean> {
    return this.table.deleteRecord(executionPk(executionId), workflowSk(name));
  }

  /** Removes a node and its place in the order. */
  async deleteNode(executionId: string, workflowName: string, nodeName: string): Promise<boolean> {
    return this.table.changeRecord<WorkflowPayload>(executionPk(executionId), workflowSk(workflowName), legacy, (current) => {
      if (!current?.some(([n]) => n === nodeName)) return undefined;
      return current.filter(([n]) => n !== nodeName);
    });
  }
}
