/**
 * What a worker holds of an execution between messages: the fold of its log up to a position, and
 * its configuration (workflows, identities, schema). A warm container keeps it in a cache bounded in
 * bytes, so a message costs one Query of what is new since (usually nothing); a cold container starts
 * from the newest snapshot plus the log after it. See execution-log.ts for why reading `sk > L#head`
 * never misses a record.
 */
import type { ContextSchema, Identities, NodeConfig, WorkflowsRegistry } from '@soe/core';
import type { DynamoBackends } from './create-dynamo-backends.js';
import { ContentionError } from './errors.js';
import { type CommitRecord, commitRecord, LogFold, lastItem, readLogAfter } from './execution-log.js';
import { type CommitPayload, type InitPayload, LOG_KIND, type SnapshotPayload } from './record-types.js';
import type { TableItem } from './soe-table.js';
import { executionPk, logSk, SK, snapshotSk } from './table-keys.js';

/** A snapshot is written every this many log positions: a cold start reads at most this many records after it. */
export const SNAPSHOT_EVERY = 64;
/** Default byte budget of the warm cache of execution states (per container). */
export const DEFAULT_STATE_CACHE_BYTES = 64 * 1024 * 1024;

/** An execution's workflows, identities and schema, as the worker uses them. */
export interface ExecutionConfig {
  registry: WorkflowsRegistry | null;
  workflowName: string | null;
  identities: Identities | null;
  schema: ContextSchema | null;
}

/** The worker's view of one execution. */
export class ExecutionState {
  readonly pk: string;
  config: ExecutionConfig = { registry: null, workflowName: null, identities: null, schema: null };
  /** Position of the newest snapshot this state knows of. */
  private snapshotAt: number;
  /** The execution tree's node runs as the last invocation's ADD returned them (tree-node-runs.ts); unknown when cold. */
  treeNodeRuns: number | undefined;

  private constructor(
    readonly executionId: string,
    readonly fold: LogFold,
    private readonly backends: DynamoBackends,
  ) {
    this.pk = executionPk(executionId);
    this.snapshotAt = fold.head;
  }

  /** Reads an execution cold: the newest snapshot (or the init record), the log after it, and the configuration. Undefined when unknown. */
  static async load(backends: DynamoBackends, executionId: string): Promise<ExecutionState | undefined> {
    const table = backends.table;
    const pk = executionPk(executionId);
    const [initItem, snapItem] = await Promise.all([table.get(pk, SK.init), lastItem(table, pk, SK.snapshot, `${SK.snapshot}~`)]);
    if (!initItem) return undefined;
    const fold = snapItem
      ? LogFold.fromSnapshot(executionId, await table.payloadOf<SnapshotPayload>(snapItem))
      : LogFold.fromInit(executionId, await table.payloadOf<InitPayload>(initItem), initItem);
    const state = new ExecutionState(executionId, fold, backends);
    await Promise.all([state.reloadConfig(), state.catchUp()]);
    return state;
  }

  /** The state of an execution just created by this worker (its init record and configuration, nothing else yet). */
  static seed(
    backends: DynamoBackends,
    executionId: string,
    initItem: TableItem,
    init: InitPayload,
    config: ExecutionConfig,
  ): ExecutionState {
    const state = new ExecutionState(executionId, LogFold.fromInit(executionId, init, initItem), backends);
    state.config = config;
    return state;
  }

  /** Main execution id (the execution itself for a main one). */
  mainExecutionId(): string {
    return this.fold.context().__operational__?.main_execution_id ?? this.executionId;
  }

  /** Reads and folds the log records after the held position (strongly consistent). */
  async catchUp(): Promise<void> {
    for (const { item, payload } of await readLogAfter(this.backends.table, this.pk, this.fold.head)) this.fold.apply(item, payload);
    if (this.fold.configChanged) {
      this.fold.configChanged = false;
      await this.reloadConfig();
    }
  }

  /** Reads the workflows, the current workflow name, identities and schema again. */
  async reloadConfig(): Promise<void> {
    const b = this.backends;
    const id = this.executionId;
    const [registry, workflowName, identities, schema] = await Promise.all([
      b.workflow.getWorkflowsRegistry(id),
      b.workflow.getCurrentWorkflowName(id),
      b.identity.getIdentities(id),
      b.contextSchema.getContextSchema(id),
    ]);
    this.config = { registry, workflowName, identities, schema };
  }

  /**
   * Writes a record at the next log position. On a lost claim, folds what it missed and asks
   * `alreadyThere` whether the record it meant to write is now in the fold (a duplicate delivery
   * won): then it writes nothing and resolves false.
   */
  async append(attributes: TableItem, payload: unknown, alreadyThere?: () => boolean): Promise<boolean> {
    const table = this.backends.table;
    for (let attempt = 0; attempt < 50; attempt++) {
      const seq = this.fold.head + 1;
      const item: TableItem = { ...attributes, pk: this.pk, sk: logSk(seq), q: seq };
      if (await table.putRecord(item, payload, { ifAbsent: true })) {
        // The stored form is JSON: fold exactly that.
        const json = JSON.stringify(payload ?? null);
        this.fold.apply(item, JSON.parse(json));
        this.fold.bytes += json.length;
        if (this.fold.head - this.snapshotAt >= SNAPSHOT_EVERY) await this.writeSnapshot();
        return true;
      }
      await this.catchUp();
      if (alreadyThere?.()) return false;
      // Many writers on one log at once (a fan-in under load): spread their next claims a little.
      if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
    }
    throw new ContentionError(`could not append to the log of execution '${this.executionId}': too much contention`);
  }

  /** Records that the configuration changed (after the worker changed it), so other holders reload it. */
  async configChanged(): Promise<void> {
    await this.reloadConfig();
    await this.append({ k: LOG_KIND.config }, undefined);
    this.fold.configChanged = false;
  }

  /** The commit of a run key, if committed (read from the table when only a snapshot knew it). */
  async commitOf(runKey: string): Promise<CommitRecord | undefined> {
    const seq = this.fold.runs.get(runKey);
    if (seq === undefined) return undefined;
    const held = this.fold.commits.get(seq);
    if (held) return held;
    const table = this.backends.table;
    const item = await table.get(this.pk, logSk(seq));
    if (!item) throw new Error(`execution '${this.executionId}': commit of '${runKey}' at log position ${seq} is missing`);
    const payload = await table.payloadOf<CommitPayload>(item);
    const record = commitRecord(item, () => payload);
    this.fold.commits.set(seq, record);
    return record;
  }

  /** Commits of the runs a broadcast triggered. */
  async commitsOf(broadcastId: string): Promise<CommitRecord[]> {
    const keys = [...this.fold.runs.keys()].filter((k) => k.startsWith(`${broadcastId}#`));
    const out: CommitRecord[] = [];
    for (const k of keys) out.push((await this.commitOf(k))!);
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Writes a snapshot of the fold at its position (idempotent: the fold at a position is always the same). */
  async writeSnapshot(): Promise<void> {
    await this.backends.table.putRecord({ pk: this.pk, sk: snapshotSk(this.fold.head) }, this.fold.snapshot(), { ifAbsent: false });
    this.snapshotAt = this.fold.head;
  }

  /** Loads the large values a node may read (all of them when unsure). */
  async loadFor(node: NodeConfig | undefined): Promise<void> {
    if (!this.fold.unloaded.size) return;
    await this.fold.load(this.backends.table, this.pk, node ? fieldsUsedBy(node, this.fold.unloadedFields()) : undefined);
  }

  /** Loads every large value left out by a snapshot. */
  async loadAll(): Promise<void> {
    if (this.fold.unloaded.size) await this.fold.load(this.backends.table, this.pk);
  }
}

/**
 * Which of `candidates` a node may read: a field named anywhere in its config (a parameter field,
 * a template, a fan-out or parent-update list). Undefined means all: a template that uses the context
 * as a whole, an agent (its tools may read anything), or a built-in tool (it sees the whole context).
 */
export function fieldsUsedBy(node: NodeConfig, candidates: Set<string>): Set<string> | undefined {
  const type = node.node_type;
  if (type === 'agent') return undefined;
  const tool = (node as { tool_name?: unknown }).tool_name;
  if (typeof tool === 'string' && tool.startsWith('soe_')) return undefined;
  const text = JSON.stringify(node);
  // `context` not followed by `.name` or `['name']` (e.g. `context | tojson`, `context[key]`): the whole context.
  if (/\bcontext\b(?!\s*\.\s*\w|\s*\[\s*['"])/.test(text)) return undefined;
  const out = new Set<string>();
  for (const field of candidates)
    if (new RegExp(`(^|[^\\w])${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w])`).test(text)) out.add(field);
  return out;
}

/** Execution states of warm containers, least recently used first, within a byte budget. */
export class StateCache {
  private readonly states = new Map<string, { state: ExecutionState; bytes: number }>();
  private bytes = 0;
  constructor(private readonly budget = DEFAULT_STATE_CACHE_BYTES) {}

  /** Takes an execution's state out (two invocations never share one). */
  take(executionId: string): ExecutionState | undefined {
    const hit = this.states.get(executionId);
    if (!hit) return undefined;
    this.states.delete(executionId);
    this.bytes -= hit.bytes;
    return hit.state;
  }

  /** Puts a state back after a message was handled (keeps the further one when two were out). */
  put(state: ExecutionState): void {
    const held = this.states.get(state.executionId);
    if (held) {
      if (held.state.fold.head >= state.fold.head) return;
      this.take(state.executionId);
    }
    const bytes = state.fold.bytes;
    if (bytes > this.budget) return;
    this.states.set(state.executionId, { state, bytes });
    this.bytes += bytes;
    for (const [id, s] of this.states) {
      if (this.bytes <= this.budget) break;
      this.states.delete(id);
      this.bytes -= s.bytes;
    }
  }

  /** Forgets every state (tests). */
  clear(): void {
    this.states.clear();
    this.bytes = 0;
  }
}

const caches = new WeakMap<object, StateCache>();
/** The warm cache of one worker (keyed by its services object: one per handler, as one per container on Lambda). */
export function stateCacheOf(owner: object): StateCache {
  let cache = caches.get(owner);
  if (!cache) caches.set(owner, (cache = new StateCache()));
  return cache;
}
