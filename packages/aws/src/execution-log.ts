/**
 * The execution log: every record that changes an execution's context sits at a position
 * `L#<seq>` (1, 2, …; the init record `C#0` is position 0), and the context is the fold of the log
 * in position order.
 *
 * The order argument (why a reader that folded up to position n and then reads `sk > L#n` never
 * misses a record):
 *
 * 1. A position is claimed with a conditional put (`attribute_not_exists`), so it holds exactly one
 *    record forever (records are never deleted or rewritten).
 * 2. A writer claims position n only after it has seen position n − 1 (it folded it, or read it as
 *    the log's tail). By induction every position below an existing one exists: the log has no gaps.
 * 3. So once a strongly consistent read has seen positions 1 … n, nothing can ever commit at a
 *    position ≤ n: those are all taken. Every later record lands above n, where the next read looks.
 *
 * A writer that loses its claim (another record took the position) reads what it missed, folds it,
 * and checks whether the winner is the very record it meant to write (a duplicate delivery of the same
 * node run: it adopts the winner's record) before it claims the next position. A run is committed at
 * most once because a writer claims a position only after folding every position below it, so it
 * would have seen an earlier commit of its run key.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ContextUpdate, StoredContext } from '@soe/core';
import { applyUpdate, contextFromInit } from '@soe/core';
import { ContentionError, InconsistentReadError } from './errors.js';
import {
  type CommitPayload,
  type InitPayload,
  LOG_KIND,
  type ReceiptPayload,
  type SnapshotPayload,
  type ValueRef,
} from './record-types.js';
import type { SoeTable, TableItem } from './soe-table.js';
import { LOG_END, logSk, SK, seqOfSk } from './table-keys.js';

/** Values at least this large (bytes of JSON) are kept out of snapshots and loaded when a node uses them. */
export const LARGE_VALUE_BYTES = 16 * 1024;

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
  seq: number;
  /** The broadcast that triggered the run. */
  broadcastId: string;
  nodeName: string;
  runKey: string;
  /** Broadcast ids this record marks handled (its own broadcast when it was the last run, and emitted signals nothing listens to). */
  handles: string[];
  payload(): CommitPayload;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));
/** A list attribute (the document client returns string sets as Sets). */
export const strList = (v: unknown): string[] => {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (v instanceof Set) return [...v].filter((x): x is string => typeof x === 'string');
  return [];
};

/** The log position of a log item. */
export const seqOf = (item: TableItem): number => (typeof item.q === 'number' ? item.q : seqOfSk(String(item.sk)));

/** A log read shows a gap: the order argument is broken (transient: a read may have raced a page boundary). */
function logGap(executionId: string, expected: number, got: number): InconsistentReadError {
  return new InconsistentReadError(`execution '${executionId}': log position ${expected} expected, found ${got}`);
}

/**
 * The fold of an execution's log: the context, plus what a worker needs to handle broadcasts exactly
 * once (committed run keys, broadcasts whose signals are recorded, the first failure). Records are
 * applied strictly in position order, each exactly once.
 */
export class LogFold {
  /** Last position folded. */
  head: number;
  private readonly ctx: StoredContext;
  /** Committed run keys → their positions. */
  readonly runs: Map<string, number>;
  /** Broadcasts whose signals are in the context. */
  readonly recorded: Set<string>;
  /** Broadcasts marked handled by records folded here (not complete after a snapshot: used only to save writes). */
  readonly handled = new Set<string>();
  /** Broadcasts that records folded here started or ended (not complete after a snapshot: used only to save sends). */
  readonly evidence = new Set<string>();
  /** Commits folded by this instance (a snapshot's earlier commits are found through {@link runs}). */
  readonly commits = new Map<number, CommitRecord>();
  failure: RecordedFailure | undefined;
  /** Set once a cancel record was folded: the worker drops every broadcast from then on. */
  cancelled = false;
  /** Large values: `field\0index` → where they live. */
  readonly large = new Map<string, ValueRef>();
  /** Large values not loaded (a snapshot left them out): `field\0index` → where they live. */
  readonly unloaded = new Map<string, ValueRef>();
  /** Set when a config record was folded: the registry, identities or schema changed. */
  configChanged = false;
  /** Rough bytes held (for the warm cache's budget). */
  bytes = 0;

  private constructor(
    readonly executionId: string,
    ctx: StoredContext,
    head: number,
    runs: Map<string, number>,
    recorded: Set<string>,
  ) {
    this.ctx = ctx;
    this.head = head;
    this.runs = runs;
    this.recorded = recorded;
  }

  /** A fold at position 0: the init record only. */
  static fromInit(executionId: string, init: InitPayload, initItem: TableItem): LogFold {
    const ctx = contextFromInit({ fields: init.f ?? {}, mainExecutionId: init.m, parent: init.p, signals: init.s, limits: init.l });
    const recorded = new Set<string>();
    const sb = str(initItem.sb);
    if (sb) recorded.add(sb);
    const fold = new LogFold(executionId, ctx, 0, new Map(), recorded);
    fold.bytes = jsonSize(init);
    return fold;
  }

  /** A fold restored from a snapshot; its large values stay unloaded until {@link load} is asked for them. */
  static fromSnapshot(executionId: string, snap: SnapshotPayload): LogFold {
    const fold = new LogFold(executionId, snap.c, snap.q, new Map(snap.r), new Set(snap.s));
    for (const [field, index, ref] of snap.l) {
      fold.large.set(largeKey(field, index), ref);
      fold.unloaded.set(largeKey(field, index), ref);
    }
    if (snap.e) fold.failure = { executionId, ...snap.e };
    if (snap.x) fold.cancelled = true;
    fold.bytes = jsonSize(snap);
    return fold;
  }

  /** The folded context (large values of a snapshot are `null` until loaded). Do not change it. */
  context(): StoredContext {
    return this.ctx;
  }

  /** Applies the next log record. `payload` is its decoded payload. */
  apply(item: TableItem, payload: unknown): void {
    const seq = seqOf(item);
    if (seq <= this.head) return;
    if (seq !== this.head + 1) throw logGap(this.executionId, this.head + 1, seq);
    this.head = seq;
    this.bytes += 200 + (typeof item.d === 'string' ? item.d.length : 0) + (item.dz instanceof Uint8Array ? item.dz.length * 3 : 0);
    const b = str(item.b);
    for (const h of strList(item.h)) {
      this.handled.add(h);
      this.evidence.add(h);
    }
    switch (item.k) {
      case LOG_KIND.run: {
        const p = payload as CommitPayload;
        this.update(seq, p.u);
        const runKey = String(item.rk);
        this.runs.set(runKey, seq);
        if (b) this.evidence.add(b);
        for (const o of p.o ?? []) if (o.t === this.executionId) this.recorded.add(o.i);
        const record = commitRecord(item, () => p);
        this.commits.set(seq, record);
        if (typeof item.e === 'string') this.fail({ executionId: this.executionId, error: item.e, node: str(item.n), ord: num(item.ord) });
        break;
      }
      case LOG_KIND.receipt: {
        for (const u of (payload as ReceiptPayload | undefined)?.u ?? []) this.update(seq, u);
        this.update(seq, { signals: strList(item.s) });
        if (b) {
          this.recorded.add(b);
          this.evidence.add(b);
        }
        break;
      }
      case LOG_KIND.update:
        this.update(seq, payload as ContextUpdate);
        break;
      case LOG_KIND.config:
        this.configChanged = true;
        break;
      case LOG_KIND.failure:
        if (typeof item.e === 'string') this.fail({ executionId: this.executionId, error: item.e, ord: num(item.ord) });
        break;
      case LOG_KIND.cancel:
        this.cancelled = true;
        break;
      case LOG_KIND.redrive:
        // The failures before it are cleared; the re-sent broadcast's signals are already in the context.
        this.failure = undefined;
        if (b) {
          this.recorded.add(b);
          this.evidence.add(b);
        }
        break;
    }
  }

  private fail(f: RecordedFailure): void {
    if (!f.node) delete f.node;
    this.failure ??= f;
  }

  /** Applies an update, noting where each large value it appends lives. */
  private update(seq: number, u: ContextUpdate | undefined): void {
    if (!u) return;
    for (const [field, values] of Object.entries(u.fields ?? {})) {
      const at = Array.isArray(this.ctx[field]) ? (this.ctx[field] as unknown[]).length : 0;
      values.forEach((v, j) => {
        if (v !== null && typeof v === 'object' ? jsonSize(v) >= LARGE_VALUE_BYTES : typeof v === 'string' && v.length >= LARGE_VALUE_BYTES)
          this.large.set(largeKey(field, at + j), { q: seq, f: field, j });
      });
    }
    applyUpdate(this.ctx, u);
  }

  /** The snapshot of this fold: large values by reference, so a snapshot's size does not grow with them. */
  snapshot(): SnapshotPayload {
    const c: StoredContext = { ...this.ctx };
    const l: SnapshotPayload['l'] = [];
    const copied = new Set<string>();
    for (const [key, ref] of this.large) {
      const [field, index] = splitLargeKey(key);
      if (!copied.has(field)) {
        c[field] = [...((c[field] as unknown[]) ?? [])];
        copied.add(field);
      }
      (c[field] as unknown[])[index] = null;
      l.push([field, index, ref]);
    }
    const snap: SnapshotPayload = { q: this.head, c, l, r: [...this.runs], s: [...this.recorded] };
    if (this.failure) {
      const { executionId: _, ...e } = this.failure;
      snap.e = e;
    }
    if (this.cancelled) snap.x = 1;
    return snap;
  }

  /** Fields holding values a snapshot left out. */
  unloadedFields(): Set<string> {
    return new Set([...this.unloaded.keys()].map((k) => splitLargeKey(k)[0]));
  }

  /** Loads the left-out values of some fields (all when `fields` is undefined) from their log records. */
  async load(table: SoeTable, pk: string, fields?: Set<string>): Promise<void> {
    const wanted = [...this.unloaded].filter(([key]) => !fields || fields.has(splitLargeKey(key)[0]));
    const bySeq = new Map<number, Array<[string, ValueRef]>>();
    for (const [key, ref] of wanted) bySeq.set(ref.q, [...(bySeq.get(ref.q) ?? []), [key, ref]]);
    await Promise.all(
      [...bySeq].map(async ([seq, refs]) => {
        const item = await table.get(pk, logSk(seq));
        if (!item) throw new Error(`execution '${this.executionId}': log record ${seq} holding a large value is missing`);
        const payload = await table.payloadOf<unknown>(item);
        const update = updateOfRecord(item, payload);
        for (const [key, ref] of refs) {
          const [field, index] = splitLargeKey(key);
          const value = findValue(update, ref);
          (this.ctx[field] as unknown[])[index] = value;
          this.unloaded.delete(key);
          this.bytes += jsonSize(value);
        }
      }),
    );
  }
}

/** The update a log record applies to its field histories (for finding a large value again). */
function updateOfRecord(item: TableItem, payload: unknown): ContextUpdate[] {
  switch (item.k) {
    case LOG_KIND.run:
      return [(payload as CommitPayload).u];
    case LOG_KIND.receipt:
      return (payload as ReceiptPayload | undefined)?.u ?? [];
    case LOG_KIND.update:
      return [payload as ContextUpdate];
    default:
      return [];
  }
}

function findValue(updates: ContextUpdate[], ref: ValueRef): unknown {
  // A receipt may carry several updates of the same field; `j` counts across them in order.
  let j = ref.j;
  for (const u of updates) {
    const values = u.fields?.[ref.f] ?? [];
    if (j < values.length) return values[j];
    j -= values.length;
  }
  return null;
}

const largeKey = (field: string, index: number): string => `${field}\u0000${index}`;
const splitLargeKey = (key: string): [string, number] => {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
};
const jsonSize = (v: unknown): number => JSON.stringify(v ?? null).length;

/** A commit record view of a run item. */
export function commitRecord(item: TableItem, payload: () => CommitPayload): CommitRecord {
  return {
    item,
    seq: seqOf(item),
    broadcastId: String(item.b ?? ''),
    nodeName: String(item.n ?? ''),
    runKey: String(item.rk ?? ''),
    handles: strList(item.h),
    payload,
  };
}

/** Every log record after position `after`, in order, with decoded payloads (strongly consistent, all pages). */
export async function readLogAfter(table: SoeTable, pk: string, after: number): Promise<Array<{ item: TableItem; payload: unknown }>> {
  const items = await table.queryPartition(pk, undefined, {
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': pk, ':from': logSk(after + 1), ':to': LOG_END },
  });
  return Promise.all(items.map(async (item) => ({ item, payload: await table.payloadOf<unknown>(item) })));
}

/** The position of the log's last record (0 when the log is empty). */
export async function logTail(table: SoeTable, pk: string): Promise<number> {
  const item = await lastItem(table, pk, logSk(1), LOG_END, 'sk');
  return item ? seqOfSk(String(item.sk)) : 0;
}

/**
 * Appends a record at the log's tail without holding the fold (a direct update, a failure recorded
 * from outside a worker): reads the tail position, claims the next one, and on a lost claim reads
 * the tail again. Resolves the position written.
 */
export async function appendAtTail(table: SoeTable, pk: string, attributes: TableItem, payload: unknown): Promise<number> {
  let tail = await logTail(table, pk);
  for (let attempt = 0; attempt < 50; attempt++) {
    const seq = tail + 1;
    if (await table.putRecord({ ...attributes, pk, sk: logSk(seq), q: seq }, payload, { ifAbsent: true })) return seq;
    tail = await logTail(table, pk);
  }
  throw new ContentionError(`could not append to the log of ${pk}: too much contention`);
}

/** The last item (by sort key) between two sort keys: one request, strongly consistent. */
export async function lastItem(table: SoeTable, pk: string, from: string, to: string, projection?: string): Promise<TableItem | undefined> {
  const res = await table.doc.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
      ...(projection ? { ProjectionExpression: projection } : {}),
    }),
  );
  return res.Items?.[0];
}

/** True for a sort key of the log. */
export const isLogSk = (sk: string): boolean => sk.startsWith(SK.log);
