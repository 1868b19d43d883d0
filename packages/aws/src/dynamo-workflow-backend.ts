import type { NodeConfig, Workflow, WorkflowBackend, WorkflowsRegistry } from '@soe/core';
import { workflowFromItem } from './execution-records.js';
import type { SoeTable, TableItem } from './soe-table.js';
import { executionPk, SK, workflowSk } from './table-keys.js';

/** The item of one workflow: nodes as JSON strings (no DynamoDB type quirks), and their order (a map has none). */
export function workflowItem(executionId: string, name: string, workflow: Workflow): TableItem {
  const nodes: Record<string, string> = {};
  for (const [n, cfg] of Object.entries(workflow)) nodes[n] = JSON.stringify(cfg);
  return { pk: executionPk(executionId), sk: workflowSk(name), nodes, order: Object.keys(workflow) };
}

/**
 * Workflow registries in DynamoDB: one item per workflow in the execution's partition, so injecting a
 * workflow or a node rewrites that workflow only, and concurrent injections keep each other.
 */
export class DynamoWorkflowBackend implements WorkflowBackend {
  constructor(private readonly table: SoeTable) {}

  async saveWorkflowsRegistry(executionId: string, registry: WorkflowsRegistry): Promise<void> {
    const pk = executionPk(executionId);
    const stale = (await this.table.queryPartition(pk, SK.workflow, { ProjectionExpression: 'pk, sk' }))
      .map((i) => String(i.sk))
      .filter((sk) => !Object.hasOwn(registry, sk.slice(SK.workflow.length)));
    await this.table.batchWrite(
      Object.entries(registry).map(([name, wf]) => workflowItem(executionId, name, wf)),
      stale.map((sk) => ({ pk, sk })),
    );
  }

  async getWorkflowsRegistry(executionId: string): Promise<WorkflowsRegistry | null> {
    const items = await this.table.queryPartition(executionPk(executionId), SK.workflow);
    if (!items.length) return null;
    const reg: WorkflowsRegistry = {};
    for (const item of items) reg[String(item.sk).slice(SK.workflow.length)] = workflowFromItem(item);
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
    await this.table.put(workflowItem(executionId, name, workflow));
  }

  /**
   * Adds or replaces one node with UpdateItem: replacing keeps the node's place; a new node is appended
   * to the order in the same write, conditioned on the node still being new (two injections of
   * different nodes both land; two of the same node leave one entry in the order).
   */
  async putNode(executionId: string, workflowName: string, nodeName: string, node: NodeConfig): Promise<void> {
    const Key = { pk: executionPk(executionId), sk: workflowSk(workflowName) };
    const json = JSON.stringify(node);
    const names = { '#n': nodeName };
    for (let attempt = 0; attempt < 5; attempt++) {
      if (
        await this.table.update({
          Key,
          UpdateExpression: 'SET nodes.#n = :j',
          ConditionExpression: 'attribute_exists(nodes.#n)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':j': json },
        })
      )
        return;
      if (
        await this.table.update({
          Key,
          UpdateExpression: 'SET nodes.#n = :j, #o = list_append(#o, :l)',
          ConditionExpression: 'attribute_exists(nodes) AND attribute_not_exists(nodes.#n)',
          ExpressionAttributeNames: { ...names, '#o': 'order' },
          ExpressionAttributeValues: { ':j': json, ':l': [nodeName] },
        })
      )
        return;
      if (await this.table.putIfAbsent({ ...Key, nodes: { [nodeName]: json }, order: [nodeName] })) return;
    }
    throw Object.assign(new Error(`could not put node '${nodeName}' into workflow '${workflowName}': too much contention`), {
      name: 'ThrottlingException',
    });
  }

  async deleteWorkflow(executionId: string, name: string): Promise<boolean> {
    return this.table.delete(executionPk(executionId), workflowSk(name), 'attribute_exists(pk)');
  }

  /** Removes a node and its place in the order, conditioned on the order not having moved meanwhile. */
  async deleteNode(executionId: string, workflowName: string, nodeName: string): Promise<boolean> {
    const pk = executionPk(executionId);
    const sk = workflowSk(workflowName);
    for (let attempt = 0; attempt < 5; attempt++) {
      const item = await this.table.get(pk, sk);
      const nodes = (item?.nodes ?? {}) as Record<string, unknown>;
      if (!item || !Object.hasOwn(nodes, nodeName)) return false;
      const index = Array.isArray(item.order) ? item.order.indexOf(nodeName) : -1;
      const removed =
        index >= 0
          ? await this.table.update({
              Key: { pk, sk },
              UpdateExpression: `REMOVE nodes.#n, #o[${index}]`,
              ConditionExpression: `attribute_exists(nodes.#n) AND #o[${index}] = :n`,
              ExpressionAttributeNames: { '#n': nodeName, '#o': 'order' },
              ExpressionAttributeValues: { ':n': nodeName },
            })
          : await this.table.update({
              Key: { pk, sk },
              UpdateExpression: 'REMOVE nodes.#n',
              ConditionExpression: 'attribute_exists(nodes.#n)',
              ExpressionAttributeNames: { '#n': nodeName },
            });
      if (removed) return true;
    }
    throw Object.assign(new Error(`could not delete node '${nodeName}' of workflow '${workflowName}': too much contention`), {
      name: 'ThrottlingException',
    });
  }
}
