/**
 * One execution's partition as read by one Query: the context (the fold of its records), its
 * workflows, and the facts the status is derived from (broadcasts sent, broadcasts handled, failures).
 */

import type { ContextSchema, ContextUpdate, Identities, StoredContext, WorkflowsRegistry } from '@soe/core';
import { applyUpdate, contextFromInit } from '@soe/core';
import type { ChildSpec, CommitPayload, InitPayload } from './record-types.js';
import { decodePayload, type TableItem } from './soe-table.js';
import { contextSchemaFromItem, identitiesFromItem, workflowFromItem } from './stored-config.js';
import { executionPk, SK } from './table-keys.js';

/** A failure recorded in an execution: a node failed without a failure signal, or a broadcast could not be handled. */
export interface RecordedFailure {
  executionId: string;
  error: string;
  node?: string;
  ord: number;
}

/** A node run's commit record. */
export interface CommitRecord {
  item: TableItem;
  /** The broadcast that triggered the run. */
  broadcastId: string;
  nodeName: string;
  /** Broadcast ids this record marks handled (its own broadcast when it was the last run, and emitted signals nothing listens to). */
  handles: string[];
  payload(): CommitPayload;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));
const strList = (v: unknown): string[] => {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (v instanceof Set) return [...v].filter((x): x is string => typeof x === 'string');
  return [];
};

export { jsonMapFromItem, workflowFromItem } from './stored-config.js';

/**
 * The records of one execution. The context is cached and kept current as the worker adds its own
 * commits, so the nodes of one broadcast read it once.
 */
export class ExecutionRecords {
  readonly executionId: string;
  readonly pk: string;
  private readonly items = new Map<string, TableItem>();
  private readonly payloads = new Map<string, unknown>();
  /** Every context record (`C#…`), gated ones included. */
  private contextRecords: TableItem[] = [];
  /** The fold so far, and the last record folded into it (new records after it are applied incrementally). */
  private folded: StoredContext | undefined;
  private lastFolded: TableItem | undefined;
  private pending: TableItem[] = [];
  private registryCache: WorkflowsRegistry | null | undefined;
  /** Largest fold position seen: a new commit is placed after it. */
  maxOrd = 0;

  constructor(executionId: string, items: TableItem[]) {
    this.executionId = executionId;
    this.pk = executionPk(executionId);
    for (const item of items) this.addItem(item);
  }

  /** True when the execution has been created. */
  get exists(): boolean {
    return this.items.has(SK.init);
  }

  /** Adds an item read or written later (a commit, a received-signals record, a marker). */
  addItem(item: TableItem, payload?: unknown): void {
    const sk = String(item.sk);
    const had = this.items.has(sk);
    this.items.set(sk, item);
    if (payload !== undefined) this.payloads.set(sk, payload);
    else this.payloads.delete(sk);
    if (sk.startsWith(SK.workflow) || sk === SK.currentWorkflow) this.registryCache = undefined;
    const ord = num(item.ord);
    if (ord > this.maxOrd) this.maxOrd = ord;
    if (sk.startsWith(SK.handled) || sk.startsWith(SK.received)) {
      // An activation: records gated on this broadcast become visible, at its position.
      const id = sk.slice(sk.startsWith(SK.handled) ? SK.handled.length : SK.received.length);
      if (this.contextRecords.some((r) => r.w === id)) this.folded = undefined;
    }
    if (!sk.startsWith(SK.context)) return;
    if (had) {
      this.contextRecords = this.contextRecords.map((r) => (String(r.sk) === sk ? item : r));
      this.folded = undefined;
      return;
    }
    this.contextRecords.push(item);
    if (!this.folded || !this.visible(item)) return;
    const last = this.pending[this.pending.length - 1] ?? this.lastFolded;
    if (last && this.compare(last, item) > 0) this.folded = undefined;
    else this.pending.push(item);
  }

  /** The activation record of a gated record (the receipt of the broadcast it travels with), if any. */
  private activation(rec: TableItem): TableItem | undefined {
    if (typeof rec.w !== 'string') return undefined;
    return this.items.get(`${SK.received}${rec.w}`) ?? this.items.get(`${SK.handled}${rec.w}`);
  }

  /** True when a record is part of the context: ungated, or its broadcast has arrived. */
  private visible(rec: TableItem): boolean {
    return typeof rec.w !== 'string' || this.activation(rec) !== undefined;
  }

  /** Fold position: a gated record counts from its activation on. */
  private position(rec: TableItem): number {
    const act = this.activation(rec);
    return act ? Math.max(num(rec.ord), num(act.ord)) : num(rec.ord);
  }

  /** Fold order: position, then sort key (ties are concurrent records; any fixed order will do). */
  private compare(a: TableItem, b: TableItem): number {
    const d = this.position(a) - this.position(b);
    if (d !== 0) return d;
    const sa = String(a.sk);
    const sb = String(b.sk);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }

  /** Removes an item (a deleted workflow). */
  removeItem(sk: string): void {
    this.items.delete(sk);
    this.payloads.delete(sk);
    if (sk.startsWith(SK.workflow) || sk === SK.currentWorkflow) this.registryCache = undefined;
  }

  /** Every sort key read or added. */
  keys(): string[] {
    return [...this.items.keys()];
  }

  /** The item under a sort key. */
  item(sk: string): TableItem | undefined {
    return this.items.get(sk);
  }

  /** The decoded payload of a record of this partition. */
  payload<T>(sk: string): T {
    if (this.payloads.has(sk)) return this.payloads.get(sk) as T;
    const item = this.items.get(sk);
    if (!item) throw new Error(`no record '${sk}' in execution '${this.executionId}'`);
    const value = decodePayload<T>(item, (chunkSk) => this.items.get(chunkSk));
    this.payloads.set(sk, value);
    return value;
  }

  /** The init record's payload. */
  init(): InitPayload | undefined {
    return this.exists ? this.payload<InitPayload>(SK.init) : undefined;
  }

  /** The context as stored: the fold of the context records in commit order. `{}` for an unknown execution. */
  context(): StoredContext {
    if (!this.exists) return {};
    if (!this.folded) {
      const init = this.init()!;
      this.folded = contextFromInit({ fields: init.f ?? {}, mainExecutionId: init.m, parent: init.p, signals: init.s, limits: init.l });
      this.lastFolded = undefined;
      this.pending = this.contextRecords.filter((r) => this.visible(r)).sort((a, b) => this.compare(a, b));
    }
    // Records added in order since the last fold are applied incrementally.
    for (const rec of this.pending) {
      const update = this.updateOf(rec);
      if (update) applyUpdate(this.folded, update);
      this.lastFolded = rec;
    }
    this.pending = [];
    return this.folded;
  }

  private updateOf(rec: TableItem): ContextUpdate | undefined {
    const sk = String(rec.sk);
    if (sk === SK.init) return undefined;
    if (sk.startsWith(SK.run)) return this.payload<CommitPayload>(sk).u;
    if (sk.startsWith(SK.received)) return { signals: strList(rec.s) };
    return this.payload<ContextUpdate>(sk);
  }

  /** Main execution id (the execution itself for a main one). */
  mainExecutionId(): string {
    return this.init()?.m ?? this.executionId;
  }

  /** The workflow registry, or null when none is stored. */
  registry(): WorkflowsRegistry | null {
    if (this.registryCache !== undefined) return this.registryCache;
    let reg: WorkflowsRegistry | null = null;
    for (const [sk, item] of this.items) {
      if (!sk.startsWith(SK.workflow)) continue;
      reg ??= {};
      reg[sk.slice(SK.workflow.length)] = workflowFromItem(item, (chunkSk) => this.items.get(chunkSk));
    }
    this.registryCache = reg;
    return reg;
  }

  /** The name of the workflow the execution runs. */
  currentWorkflowName(): string | null {
    return str(this.items.get(SK.currentWorkflow)?.v) ?? null;
  }

  /** Identities stored on this (main) execution. */
  identities(): Identities | null {
    return identitiesFromItem(this.items.get(SK.identities), (chunkSk) => this.items.get(chunkSk));
  }

  /** Context schema stored on this (main) execution. */
  contextSchema(): ContextSchema | null {
    return contextSchemaFromItem(this.items.get(SK.schema), (chunkSk) => this.items.get(chunkSk));
  }

  /** Every commit record. */
  *commits(): Generator<CommitRecord> {
    for (const [sk, item] of this.items) if (sk.startsWith(SK.run)) yield this.commitRecord(sk, item);
  }

  /** The commit record of a run key, if committed. */
  commit(runSk: string): CommitRecord | undefined {
    const item = this.items.get(runSk);
    return item ? this.commitRecord(runSk, item) : undefined;
  }

  private commitRecord(sk: string, item: TableItem): CommitRecord {
    return {
      item,
      broadcastId: String(item.b ?? ''),
      nodeName: String(item.n ?? ''),
      handles: strList(item.h),
      payload: () => this.payload<CommitPayload>(sk),
    };
  }

  /** Commits of the runs a broadcast triggered. */
  commitsOf(broadcastId: string): CommitRecord[] {
    return [...this.commits()].filter((c) => c.broadcastId === broadcastId);
  }

  /** Ids of every broadcast marked handled here. */
  handledIds(): Set<string> {
    const out = new Set<string>();
    for (const [sk, item] of this.items) {
      if (sk.startsWith(SK.handled)) out.add(sk.slice(SK.handled.length));
      else if (sk.startsWith(SK.run)) for (const h of strList(item.h)) out.add(h);
    }
    return out;
  }

  /** True when a broadcast's processing has started or ended here (a commit of it, or a handled marker). */
  hasEvidenceOf(broadcastId: string): boolean {
    if (this.items.has(`${SK.handled}${broadcastId}`)) return true;
    for (const c of this.commits()) if (c.broadcastId === broadcastId || c.handles.includes(broadcastId)) return true;
    return false;
  }

  /**
   * True when a broadcast's signals are already in `__operational__.signals`: signals the execution
   * emitted itself are recorded by the emitting commit, a child's start signals by its init record,
   * anything from outside by the sender's `C#S#` record.
   */
  signalsRecorded(broadcastId: string): boolean {
    if (this.items.has(`${SK.received}${broadcastId}`)) return true;
    if (str(this.items.get(SK.init)?.sb) === broadcastId) return true;
    for (const c of this.commits()) if (c.payload().o?.some((o) => o.i === broadcastId && o.t === this.executionId)) return true;
    return false;
  }

  /** Broadcasts recorded as sent by this partition's records, with their targets. */
  sentBroadcasts(): Map<string, string> {
    const out = new Map<string, string>();
    const sb = str(this.items.get(SK.init)?.sb);
    if (sb) out.set(sb, this.executionId);
    for (const [sk] of this.items) if (sk.startsWith(SK.received)) out.set(sk.slice(SK.received.length), this.executionId);
    for (const c of this.commits()) for (const o of c.payload().o ?? []) out.set(o.i, o.t);
    return out;
  }

  /** Child executions created by this execution's runs. */
  children(): string[] {
    const out: string[] = [];
    for (const c of this.commits()) for (const child of c.payload().c ?? []) out.push(child.id);
    return out;
  }

  /** Every child spec (for the worker re-creating children after a crash). */
  childSpecs(): ChildSpec[] {
    return [...this.commits()].flatMap((c) => c.payload().c ?? []);
  }

  /** The earliest recorded failure, if any. */
  failure(): RecordedFailure | undefined {
    let first: RecordedFailure | undefined;
    for (const [sk, item] of this.items) {
      if (typeof item.e !== 'string' || !(sk.startsWith(SK.run) || sk.startsWith(SK.handled))) continue;
      const f: RecordedFailure = { executionId: this.executionId, error: item.e, ord: num(item.ord) };
      if (typeof item.n === 'string') f.node = item.n;
      if (!first || f.ord < first.ord) first = f;
    }
    return first;
  }
}
