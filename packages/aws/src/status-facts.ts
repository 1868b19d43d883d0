/**
 * Status facts: small items under `S#` in the MAIN execution's partition that say, for the whole run
 * tree, which broadcasts were sent (with their targets), which were handled, which children were
 * created and which failure happened. A status poll is one strongly consistent Query of that range,
 * whatever the size of the contexts and however many children the run has.
 *
 * Who writes them, always BEFORE the messages they list as sent go to SQS:
 * - the signal sender (start, `soe send`): the broadcast it is about to send;
 * - the worker, before each batch of sends and at the end of a message: for every commit it wrote or
 *   retraced, the broadcasts the commit marks handled and its outbox (in ONE item: a broadcast never
 *   counts as handled while what its run emitted is not counted as sent), the children it created, a
 *   failure; plus handled markers and failures outside node runs;
 * - `createContext` (orchestrate, `soe_copy_context`): the execution exists in the run;
 * - the dead-letter consumer and the retry-exhaustion path: the failure.
 *
 * Facts are sets, read as a union: a redelivered message writes the same facts again under a new key,
 * which changes nothing (sent and handled are sets of broadcast ids). A worker that dies after a commit
 * and before its fact leaves the message it handled sent and not handled, so the run stays RUNNING
 * until the redelivery retraces the commit and writes the fact.
 */
import { randomUUID } from 'node:crypto';
import type { SoeTable, TableItem } from './soe-table.js';
import { executionPk, SK } from './table-keys.js';

/** What one status fact says (every part optional). */
export interface StatusFact {
  /** The execution the fact is about (its sender, for sent broadcasts). */
  executionId: string;
  /** Broadcasts sent: `[broadcastId, targetExecutionId]`. */
  sent?: Array<[string, string]>;
  /** Broadcasts handled. */
  handled?: string[];
  /** Child executions created. */
  children?: string[];
  /** A failure: `Name: message`, the node (if any) and the order it happened in. */
  error?: { error: string; node?: string; ord: number };
  /** The execution was cancelled (execution-control.ts). */
  cancelled?: boolean;
  /** A redrive cleared the execution's failures recorded before this order (execution-control.ts). */
  clearedBefore?: number;
}

/** Sent entries per item: keeps a fact far below the 400 KB item limit even for a wide fan-out. */
const SENT_PER_ITEM = 2000;

/** Sort key of a status fact about `executionId`. */
export const statusFactSk = (executionId: string, id: string): string => `${SK.statusFact}${executionId}#${id}`;

/** The items of a fact; a large fan-out's sends come first, the handled marks with the last item. */
export function statusFactItems(mainExecutionId: string, fact: StatusFact, id: string = randomUUID()): TableItem[] {
  const pk = executionPk(mainExecutionId);
  const sent = (fact.sent ?? []).map(([b, t]) => `${b} ${t}`);
  const items: TableItem[] = [];
  for (let i = 0; i + SENT_PER_ITEM < sent.length; i += SENT_PER_ITEM) {
    items.push({ pk, sk: statusFactSk(fact.executionId, `${id}#${i}`), x: fact.executionId, o: sent.slice(i, i + SENT_PER_ITEM) });
  }
  const last: TableItem = { pk, sk: statusFactSk(fact.executionId, id), x: fact.executionId };
  const rest = sent.slice(items.length * SENT_PER_ITEM);
  if (rest.length) last.o = rest;
  if (fact.handled?.length) last.h = [...new Set(fact.handled)];
  if (fact.children?.length) last.c = [...new Set(fact.children)];
  if (fact.error) {
    last.e = fact.error.error;
    last.ord = fact.error.ord;
    if (fact.error.node) last.n = fact.error.node;
  }
  if (fact.cancelled) last.z = 1;
  if (fact.clearedBefore !== undefined) last.cl = fact.clearedBefore;
  items.push(last);
  return items;
}

/** True when a fact says nothing (no item needed). */
export const isEmptyFact = (f: StatusFact): boolean =>
  !f.sent?.length && !f.handled?.length && !f.children?.length && !f.error && !f.cancelled && f.clearedBefore === undefined;

/**
 * Writes a fact into the main execution's partition (sent-only items first, so a reader that sees the
 * handled marks sees the sends that go with them). An empty fact with `always` still marks the
 * execution as part of the run (for listing).
 */
export async function writeStatusFact(
  table: SoeTable,
  mainExecutionId: string,
  fact: StatusFact,
  opts: { id?: string; always?: boolean } = {},
): Promise<string[]> {
  if (isEmptyFact(fact) && !opts.always) return [];
  const items = statusFactItems(mainExecutionId, fact, opts.id);
  for (const item of items.slice(0, -1)) await table.put(item);
  await table.put(items[items.length - 1]!);
  return items.map((i) => String(i.sk));
}

/** The status facts of one run, read with one Query (paged at 1 MB) of the main execution's `S#` range. */
export class RunFacts {
  /** Sent broadcast id → target execution. */
  readonly sent = new Map<string, string>();
  readonly handled = new Set<string>();
  /** Execution → its children. */
  readonly children = new Map<string, Set<string>>();
  /** Every execution a fact is about. */
  readonly executions = new Set<string>();
  /** Executions cancelled. */
  readonly cancelled = new Set<string>();
  /** Execution → the order before which a redrive cleared its failures. */
  readonly cleared = new Map<string, number>();
  /** Failures, by execution. */
  readonly failures: Array<{ executionId: string; error: string; node?: string; ord: number }> = [];
  /** Items read. */
  count = 0;

  /** Reads a run's facts (`projection`: only these attributes, e.g. `x, c` to list the executions). */
  static async read(table: SoeTable, mainExecutionId: string, projection?: string): Promise<RunFacts> {
    const facts = new RunFacts();
    const extra = projection ? { ProjectionExpression: projection } : {};
    for (const item of await table.queryPartition(executionPk(mainExecutionId), SK.statusFact, extra)) facts.add(item);
    return facts;
  }

  private add(item: TableItem): void {
    this.count++;
    const x = String(item.x);
    this.executions.add(x);
    for (const entry of (item.o as string[] | undefined) ?? []) {
      const at = entry.indexOf(' ');
      this.sent.set(entry.slice(0, at), entry.slice(at + 1));
    }
    for (const h of (item.h as string[] | undefined) ?? []) this.handled.add(h);
    for (const c of (item.c as string[] | undefined) ?? []) {
      let set = this.children.get(x);
      if (!set) this.children.set(x, (set = new Set()));
      set.add(c);
      this.executions.add(c);
    }
    if (item.z === 1) this.cancelled.add(x);
    if (typeof item.cl === 'number') this.cleared.set(x, Math.max(this.cleared.get(x) ?? 0, item.cl));
    if (typeof item.e === 'string') {
      const f: RunFacts['failures'][number] = { executionId: x, error: item.e, ord: Number(item.ord ?? 0) };
      if (typeof item.n === 'string') f.node = item.n;
      this.failures.push(f);
    }
  }

  /** The execution and its descendants. */
  subtree(executionId: string): Set<string> {
    const out = new Set<string>();
    let queue = [executionId];
    while (queue.length) {
      const next: string[] = [];
      for (const id of queue) {
        if (out.has(id)) continue;
        out.add(id);
        next.push(...(this.children.get(id) ?? []));
      }
      queue = next;
    }
    return out;
  }
}
