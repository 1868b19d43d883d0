/** Workflow registries in DynamoDB: `W#` records per execution, immutable content-addressed versions under `V#<hash>`. */
import { createHash } from 'node:crypto';
import type { NodeConfig, Workflow, WorkflowBackend, WorkflowsRegistry } from '@soe/core';
import { recordItems, type SoeTable, type TableItem } from './soe-table.js';
import { legacyWorkflow, type WorkflowPayload, workflowFromItem, workflowItems, workflowPayload } from './stored-config.js';
import { executionPk, registryVersionPk, SK, workflowSk } from './table-keys.js';

export { workflowItems } from './stored-config.js';

const legacy = (item: TableItem): WorkflowPayload => workflowPayload(legacyWorkflow(item));

/** Registry versions this container has read or written (immutable: content-addressed), newest last. */
const versions = new Map<string, WorkflowsRegistry>();
/** Versions being written by this container, so concurrent children wait for one write. */
const publishing = new Map<string, Promise<void>>();
/** Versions kept per container: a version is read once per container, not once per execution. */
const VERSIONS_KEPT = 64;

function keepVersion(hash: string, registry: WorkflowsRegistry): void {
  versions.delete(hash);
  versions.set(hash, registry);
  if (versions.size > VERSIONS_KEPT) versions.delete(versions.keys().next().value!);
}

/** The content hash that names a registry version. */
export function registryVersionOf(registry: WorkflowsRegistry): string {
  return createHash('sha256')
    .update(JSON.stringify(Object.entries(registry).map(([name, wf]) => [name, workflowPayload(wf)])))
    .digest('base64url')
    .slice(0, 32);
}

/**
 * Workflow registries in DynamoDB: one record per workflow in the execution's partition, so injecting a
 * workflow or a node rewrites that workflow only. A workflow's payload goes through the chunking codec
 * (a workflow may be larger than one 400 KB item, and node injection may grow it past that later); a
 * node is put or deleted by compare-and-swap on the workflow's version, so concurrent injections of
 * different nodes both land.
 */
export class DynamoWorkflowBackend implements WorkflowBackend {
  constructor(private readonly table: SoeTable) {}

  /**
   * Stores a registry as an immutable version (`V#<hash>`, once per container and content) and
   * answers its hash: children reference it instead of getting a copy.
   */
  async publishVersion(registry: WorkflowsRegistry): Promise<string> {
    const hash = registryVersionOf(registry);
    if (versions.has(hash)) return hash;
    // A fan-out creates its children at once: they share one write of the version.
    let pending = publishing.get(hash);
    if (!pending) {
      pending = this.storeVersion(hash, registry).finally(() => publishing.delete(hash));
      publishing.set(hash, pending);
    }
    await pending;
    return hash;
  }

  private async storeVersion(hash: string, registry: WorkflowsRegistry): Promise<void> {
    const pk = registryVersionPk(hash);
    const [present] = await this.table.queryPartition(pk, SK.workflow, { Limit: 1, ProjectionExpression: 'sk' });
    if (!present) {
      await this.table.batchWrite(
        Object.entries(registry).flatMap(([name, wf]) => recordItems({ pk, sk: workflowSk(name) }, workflowPayload(wf))),
      );
    }
    keepVersion(hash, structuredClone(registry));
  }

  /** The items that make an execution use a registry version (no `W#` records of its own). */
  static referenceItem(executionId: string, hash: string): TableItem {
    return { pk: executionPk(executionId), sk: SK.registryVersion, rv: hash };
  }

  /** Reads a version (from the container's cache when it was read or written here). */
  private async readVersion(hash: string): Promise<WorkflowsRegistry | null> {
    const cached = versions.get(hash);
    if (cached) return structuredClone(cached);
    const reg = await this.readRecords(registryVersionPk(hash));
    if (reg) keepVersion(hash, structuredClone(reg));
    return reg;
  }

  /** The version an execution references, if it has no records of its own. */
  private async referencedVersion(executionId: string): Promise<string | undefined> {
    const ref = await this.table.get(executionPk(executionId), SK.registryVersion);
    return typeof ref?.rv === 'string' ? ref.rv : undefined;
  }

  /**
   * Before a change to an execution that references a version: copies the version into its own
   * records (each only if absent, so a concurrent change that already landed is kept), then drops the
   * reference. The version itself never changes.
   */
  private async materialize(executionId: string): Promise<void> {
    const hash = await this.referencedVersion(executionId);
    if (!hash) return;
    const reg = (await this.readVersion(hash)) ?? {};
    await Promise.all(
      Object.entries(reg).map(async ([name, wf]) => {
        const items = workflowItems(executionId, name, wf);
        const record = items[items.length - 1]!;
        if (items.length > 1) await this.table.batchWrite(items.slice(0, -1));
        await this.table.putIfAbsent(record);
      }),
    );
    await this.table.delete(executionPk(executionId), SK.registryVersion);
  }

  async saveWorkflowsRegistry(executionId: string, registry: WorkflowsRegistry): Promise<void> {
    const pk = executionPk(executionId);
    // Whatever a registry held before (records and their chunks) goes; a fresh execution has nothing.
    const stale = [
      ...(await this.table.queryPartition(pk, SK.workflow, { ProjectionExpression: 'pk, sk' })),
      ...(await this.table.queryPartition(pk, `${SK.chunk}${SK.workflow}`, { ProjectionExpression: 'pk, sk' })),
    ].map((i) => ({ pk, sk: String(i.sk) }));
    const items = Object.entries(registry).flatMap(([name, wf]) => workflowItems(executionId, name, wf));
    const written = new Set(items.map((i) => String(i.sk)));
    // A replaced registry no longer uses the version it referenced.
    const dropRef = stale.length === 0 && (await this.referencedVersion(executionId)) !== undefined;
    await this.table.batchWrite(items, [...stale.filter((k) => !written.has(k.sk)), ...(dropRef ? [{ pk, sk: SK.registryVersion }] : [])]);
  }

  /**
   * The execution's registry: its referenced version (if any) overlaid with its own records. While a
   * change copies the version into records, both exist; the overlay reads the same registry at every
   * moment of that copy.
   */
  async getWorkflowsRegistry(executionId: string): Promise<WorkflowsRegistry | null> {
    const [own, hash] = await Promise.all([this.readRecords(executionPk(executionId)), this.referencedVersion(executionId)]);
    if (!hash) return own;
    const version = await this.readVersion(hash);
    return version || own ? { ...(version ?? {}), ...(own ?? {}) } : null;
  }

  /** The `W#` records of a partition (an execution's or a version's) as a registry, or null. */
  private async readRecords(pk: string): Promise<WorkflowsRegistry | null> {
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
    await this.materialize(executionId);
    await this.table.changeRecord<WorkflowPayload>(executionPk(executionId), workflowSk(name), legacy, () => workflowPayload(workflow));
  }

  /** Adds or replaces one node: replacing keeps the node's place, a new node goes last. */
  async putNode(executionId: string, workflowName: string, nodeName: string, node: NodeConfig): Promise<void> {
    await this.materialize(executionId);
    await this.table.changeRecord<WorkflowPayload>(executionPk(executionId), workflowSk(workflowName), legacy, (current) => {
      const nodes = [...(current ?? [])];
      const at = nodes.findIndex(([n]) => n === nodeName);
      if (at >= 0) nodes[at] = [nodeName, node];
      else nodes.push([nodeName, node]);
      return nodes;
    });
  }

  async deleteWorkflow(executionId: string, name: string): Promise<boolean> {
    await this.materialize(executionId);
    return this.table.deleteRecord(executionPk(executionId), workflowSk(name));
  }

  /** Removes a node and its place in the order. */
  async deleteNode(executionId: string, workflowName: string, nodeName: string): Promise<boolean> {
    await this.materialize(executionId);
    return this.table.changeRecord<WorkflowPayload>(executionPk(executionId), workflowSk(workflowName), legacy, (current) => {
      if (!current?.some(([n]) => n === nodeName)) return undefined;
      return current.filter(([n]) => n !== nodeName);
    });
  }
}
