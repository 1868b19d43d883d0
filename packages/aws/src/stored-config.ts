/**
 * How an execution's configuration is stored: each workflow (`W#<name>`), the identities (`IDENT`) and
 * the context schema (`SCHEMA`) is one record whose payload goes through the chunking codec of
 * soe-table.ts, so none of them is bound by DynamoDB's 400 KB item limit (a 438 KB workflow, a
 * workflow that node injection grows, a long system prompt). Items of the older layout — plain map
 * attributes, one entry per node, identity or field — are still read.
 */
import type { ContextSchema, Identities, NodeConfig, Workflow } from '@soe/core';
import { decodePayload, hasEncodedPayload, recordItems, type TableItem } from './soe-table.js';
import { executionPk, workflowSk } from './table-keys.js';

/** Finds a chunk item by sort key (from the same partition read). */
export type ChunkLookup = (sk: string) => TableItem | undefined;

/** A workflow's payload: its nodes as `[name, config]` pairs, so the node order survives JSON. */
export type WorkflowPayload = Array<[string, NodeConfig]>;

const strList = (v: unknown): string[] => {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (v instanceof Set) return [...v].filter((x): x is string => typeof x === 'string');
  return [];
};

/** Parses a workflow item of the older layout: node map of JSON strings plus the node order. */
export function legacyWorkflow(item: TableItem): Workflow {
  const nodes = (item.nodes ?? {}) as Record<string, string>;
  const order = strList(item.order);
  const wf: Workflow = {};
  for (const name of order) if (typeof nodes[name] === 'string') wf[name] = JSON.parse(nodes[name]) as NodeConfig;
  // Nodes missing from the order list (should not happen) still count, after the ordered ones.
  for (const [name, json] of Object.entries(nodes)) if (!(name in wf)) wf[name] = JSON.parse(json) as NodeConfig;
  return wf;
}

/** The payload of a workflow record. */
export function workflowPayload(workflow: Workflow): WorkflowPayload {
  return Object.entries(workflow);
}

/** The workflow a payload holds. */
export function workflowOfPayload(payload: WorkflowPayload | null | undefined): Workflow {
  if (!payload) return {};
  const wf: Workflow = {};
  for (const [name, cfg] of payload) wf[name] = cfg;
  return wf;
}

/** Decodes a stored workflow item (either layout); `chunkOf` finds its chunks when it has any. */
export function workflowFromItem(item: TableItem, chunkOf: ChunkLookup = () => undefined): Workflow {
  return hasEncodedPayload(item) ? workflowOfPayload(decodePayload<WorkflowPayload>(item, chunkOf)) : legacyWorkflow(item);
}

/** The items that store one workflow of an execution: its chunks (when large), then the record. */
export function workflowItems(executionId: string, name: string, workflow: Workflow): TableItem[] {
  return recordItems({ pk: executionPk(executionId), sk: workflowSk(name) }, workflowPayload(workflow));
}

/** Identities of an item of the older layout (`m`: name → prompt). */
export function legacyIdentities(item: TableItem): Identities {
  return { ...((item.m ?? {}) as Identities) };
}

/** Decodes the identities item (either layout), or null when there is none. */
export function identitiesFromItem(item: TableItem | undefined, chunkOf: ChunkLookup = () => undefined): Identities | null {
  if (!item) return null;
  return hasEncodedPayload(item) ? { ...(decodePayload<Identities>(item, chunkOf) ?? {}) } : legacyIdentities(item);
}

/** Parses a map item whose values are JSON strings (the context schema's older layout). */
export function jsonMapFromItem<T>(item: TableItem | undefined): Record<string, T> | null {
  if (!item) return null;
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries((item.m ?? {}) as Record<string, unknown>)) out[k] = (typeof v === 'string' ? JSON.parse(v) : v) as T;
  return out;
}

/** Context schema of an item of the older layout. */
export function legacyContextSchema(item: TableItem): ContextSchema {
  return jsonMapFromItem<Record<string, unknown>>(item) as ContextSchema;
}

/** Decodes the context schema item (either layout), or null when there is none. */
export function contextSchemaFromItem(item: TableItem | undefined, chunkOf: ChunkLookup = () => undefined): ContextSchema | null {
  if (!item) return null;
  return hasEncodedPayload(item) ? { ...(decodePayload<ContextSchema>(item, chunkOf) ?? {}) } : legacyContextSchema(item);
}
