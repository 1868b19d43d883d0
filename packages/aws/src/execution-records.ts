/**
 * One execution's partition as read by one Query: the context (the fold of its log), its workflows,
 * and the facts the status is derived from (broadcasts sent, broadcasts handled, failures). Status
 * reads and `getContext` use it; the worker keeps an {@link ExecutionState} instead and reads only
 * what is new.
 */

import type { ContextSchema, Identities, StoredContext, WorkflowsRegistry } from '@soe/core';
import { applyUpdate } from '@soe/core';
import { type CommitRecord, commitRecord, isLogSk, LogFold, type RecordedFailure, seqOf, strList } from './execution-log.js';
import { type ChildSpec, type CommitPayload, type InitPayload, LOG_KIND } from './record-types.js';
import { decodePayload, type TableItem } from './soe-table.js';
import { contextSchemaFromItem, identitiesFromItem, workflowFromItem } from './stored-config.js';
import { executionPk, SK } from './table-keys.js';

export type { CommitRecord, RecordedFailure } from './execution-log.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));

export { jsonMapFromItem, workflowFromItem } from './stored-config.js';

/** The records of one execution, read whole. */
export class ExecutionRecords {
  readonly executionId: string;
  readonly pk: string;
  private readonly items = new Map<string, TableItem>();
  private readonly payloads = new Map<string, unknown>();
  /** Log items in position order. */
  private readonly log: TableItem[] = [];
  private folded: LogFold | undefined;
  private registryCache: WorkflowsRegistry | null | undefined;

  constructor(executionId: string, items: TableItem[]) {
    this.executionId = executionId;
    this.pk = executionPk(executionId);
    for (const item of items) this.items.set(String(item.sk), item);
    for (const [sk, item] of this.items) if (isLogSk(sk)) this.log.push(item);
    this.log.sort((a, b) => seqOf(a) - seqOf(b));
  }

  /** True when the execution has been created. */
  get exists(): boolean {
    return this.items.has(SK.init);
  }

  /** Every sort key read. */
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

  /** The fold of the log (without signals sent from outside and not received yet). */
  fold(): LogFold | undefined {
    if (!this.exists) return undefined;
    if (!this.folded) {
      const fold = LogFold.fromInit(this.executionId, this.init()!, this.items.get(SK.init)!);
      for (const item of this.log) fold.apply(item, this.payload(String(item.sk)));
      this.folded = fold;
    }
    return this.folded;
  }

  /**
   * The context as stored: the fold of the log, then signals sent from outside that no worker has
   * received yet (so a just-sent signal shows at once). `{}` for an unknown execution.
   */
  context(): StoredContext {
    const fold = this.fold();
    if (!fold) return {};
    const ctx = structuredClone(fold.context());
    for (const [sk, item] of this.items) {
      if (!sk.startsWith(SK.received)) continue;
      if (!fold.recorded.has(sk.slice(SK.received.length))) applyUpdate(ctx, { signals: strList(item.s) });
    }
    return ctx;
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

  /** Every commit record, in log order. */
  *commits(): Generator<CommitRecord> {
    for (const item of this.log) if (item.k === LOG_KIND.run) yield commitRecord(item, () => this.payload<CommitPayload>(String(item.sk)));
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
      else if (isLogSk(sk)) for (const h of strList(item.h)) out.add(h);
    }
    return out;
  }

  /** Broadcasts recorded as sent by this partition's records, with their targets. */
  sentBroadcasts(): Map<string, string> {
    const out = new Map<string, string>();
    const sb = str(this.items.get(SK.init)?.sb);
    if (sb) out.set(sb, this.executionId);
    for (const [sk] of this.items) if (sk.startsWith(SK.received)) out.set(sk.slice(SK.received.length), this.executionId);
    for (const item of this.log)
      if ((item.k === LOG_KIND.receipt || item.k === LOG_KIND.redrive) && typeof item.b === 'string') out.set(item.b, this.executionId);
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

  /** The earliest failure not cleared by a redrive, if any. */
  failure(): RecordedFailure | undefined {
    return this.failures()[0];
  }

  /**
   * Failures not cleared by a redrive, earliest first. A redrive clears the log's failures below its
   * position and the markers written before it (`ord`): what failed after it counts again.
   */
  failures(): Array<RecordedFailure & { broadcastId: string }> {
    const redrive = this.lastOfKind(LOG_KIND.redrive);
    const clearedSeq = redrive ? seqOf(redrive) : 0;
    const clearedOrd = redrive ? num(redrive.ord) : 0;
    const out: Array<RecordedFailure & { broadcastId: string }> = [];
    for (const [sk, item] of this.items) {
      if (typeof item.e !== 'string') continue;
      let broadcastId: string;
      if (isLogSk(sk)) {
        if (seqOf(item) < clearedSeq) continue;
        broadcastId = str(item.b) ?? '';
      } else if (sk.startsWith(SK.handled)) {
        if (num(item.ord) < clearedOrd) continue;
        broadcastId = sk.slice(SK.handled.length).replace(/#dead-letter$/, '');
      } else continue;
      const f: RecordedFailure & { broadcastId: string } = {
        executionId: this.executionId,
        error: item.e,
        ord: num(item.ord),
        broadcastId,
      };
      if (typeof item.n === 'string') f.node = item.n;
      out.push(f);
    }
    return out.sort((a, b) => a.ord - b.ord);
  }

  /** True once the execution was cancelled. */
  cancelled(): boolean {
    return this.lastOfKind(LOG_KIND.cancel) !== undefined;
  }

  /** Redrive records, in log order. */
  redrives(): TableItem[] {
    return this.log.filter((item) => item.k === LOG_KIND.redrive);
  }

  /** The largest `ord` of any record read (a later record must sort after it). */
  maxOrd(): number {
    let max = 0;
    for (const item of this.items.values()) max = Math.max(max, num(item.ord));
    return max;
  }

  /** The signals a broadcast addressed to this execution carried, when a record of it is here. */
  broadcastSignals(broadcastId: string): string[] | undefined {
    for (const item of this.log)
      if ((item.k === LOG_KIND.receipt || item.k === LOG_KIND.redrive) && item.b === broadcastId) return strList(item.s);
    const received = this.items.get(`${SK.received}${broadcastId}`);
    if (received) return strList(received.s);
    if (str(this.items.get(SK.init)?.sb) === broadcastId) return this.init()?.s ?? [];
    for (const c of this.commits()) for (const o of c.payload().o ?? []) if (o.i === broadcastId) return [...o.s];
    return undefined;
  }

  private lastOfKind(kind: string): TableItem | undefined {
    for (let i = this.log.length - 1; i >= 0; i--) if (this.log[i]!.k === kind) return this.log[i];
    return undefined;
  }
}
