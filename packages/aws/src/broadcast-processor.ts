/**
 * The worker's core: handles one broadcast of one execution with exactly-once state effects under
 * at-least-once delivery.
 *
 * 1. Read the execution's partition once (context records, workflows, status facts).
 * 2. Run the triggered nodes in order. A node whose run key (`<broadcast id>#<node>`) is already
 *    committed is skipped: a redelivery runs nothing twice.
 * 3. Commit each run as ONE record, with a conditional put under its run key: its appends, counters,
 *    emitted signals and its outbox (broadcasts with ids derived from the run key, appends to other
 *    executions, children to create). A duplicate that loses the race reads the winner's record instead.
 * 4. After the commits, apply the outbox: appends to other partitions and child creations (conditional
 *    puts under deterministic keys, so applying twice changes nothing), then send the messages.
 *    A worker that dies between 3 and 4 loses nothing: the message comes back, every run is skipped,
 *    and the recorded outboxes are applied and sent again with the same ids.
 *
 * Broadcasts whose triggered nodes are all routers are followed in the same invocation (few hops),
 * and emitted signals that trigger nothing are marked handled in the emitting commit itself.
 */
import { createHash } from 'node:crypto';
import {
  type BroadcastSink,
  type ContextUpdate,
  createEngine,
  defaultBuiltins,
  type Engine,
  type NodeOutcome,
  type NodeRun,
  OperationalValidationError,
  processBroadcast,
  triggeredNodes,
  type Workflow,
} from '@soe/core';
import { initRecord } from './dynamo-context-backend.js';
import type { BufferedTelemetry } from './dynamo-telemetry-backend.js';
import { workflowItems } from './dynamo-workflow-backend.js';
import { classifyError, describeError, UnknownExecutionError, ValueTooLargeError } from './errors.js';
import { type CommitRecord, ExecutionRecords } from './execution-records.js';
import { createPartitionBackends } from './partition-backends.js';
import type { ChildSpec, CommitPayload, OutboxEntry } from './record-types.js';
import type { RuntimeServices } from './runtime-services.js';
import { sendSignalMessages } from './signal-message.js';
import type { TableItem } from './soe-table.js';
import { commitOrd, derivedId, executionPk, handledSk, nowMicros, receivedSk, runSk, SK } from './table-keys.js';

/** Fault-injection and observation points of the worker. */
export interface WorkerHooks {
  /**
   * Called right after a node run's commit record is written and before anything it emits is sent.
   * Throwing here stands for a worker that dies at the worst moment (the local runtime's chaos mode).
   */
  afterCommit?(info: { executionId: string; broadcastId: string; runKey: string }): void | Promise<void>;
}

/** Options of {@link processSignalMessage}. */
export interface ProcessorOptions {
  /** Largest single context value, in bytes of JSON. Larger ones fail the node with an error naming the field. */
  maxValueBytes: number;
  /** How many broadcasts of router-only nodes one invocation may follow without an SQS hop (0: none). */
  followRouters: number;
  hooks?: WorkerHooks;
  /** Write telemetry events (one item per message, with a TTL). Off saves a write per message. @default true */
  telemetry?: boolean;
  /** Time left in the invocation; following stops while enough remains to send what is pending. */
  remainingMs?: () => number;
  /** Epoch ms every node must end by (the invocation's end less a reserve); past it a node fails, retryably. */
  nodeDeadline?: number;
}

/** Default {@link ProcessorOptions.maxValueBytes}: 4 MiB (larger values are split across items up to this). */
export const DEFAULT_MAX_VALUE_BYTES = 4 * 1024 * 1024;
/** Default {@link ProcessorOptions.followRouters}. */
export const DEFAULT_FOLLOW_ROUTERS = 50;
/** Following stops when less than this is left of the invocation. */
const FOLLOW_RESERVE_MS = 10_000;

/** How a message ended. */
export type ProcessResult = { status: 'done' } | { status: 'failed'; error: string };

/** A UUID-shaped execution id derived from a seed: a re-run creates the very same child. */
export function deterministicExecutionId(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Telemetry that is dropped (`telemetry: false`). */
const NO_TELEMETRY: Pick<BufferedTelemetry, 'logEvent' | 'flush'> = { logEvent: async () => undefined, flush: async () => undefined };

/** Thrown by the sink to stop a broadcast after a node failed (as the in-process engine stops its drain). */
class StopBroadcast extends Error {}

/**
 * Handles one signal message. Resolves `failed` for permanent errors (recorded on the execution, the
 * message must not be retried); rejects with transient errors (the message must come back).
 */
export async function processSignalMessage(
  services: RuntimeServices,
  message: { id: string; executionId: string; signals: string[] },
  opts: ProcessorOptions,
): Promise<ProcessResult> {
  const table = services.backends.table;
  const records = new ExecutionRecords(message.executionId, await table.queryPartition(executionPk(message.executionId)));
  if (!records.exists) throw new UnknownExecutionError(message.executionId);
  const proc = new BroadcastProcessor(services, records, opts);
  try {
    await proc.handle(message.id, message.signals);
    await proc.flush();
    return proc.nodeFailure ? { status: 'failed', error: proc.nodeFailure } : { status: 'done' };
  } catch (e) {
    if (classifyError(e) === 'transient') {
      await proc.flushTelemetry();
      throw e;
    }
    // A failure outside any node run (no workflow, an unusable write): record it on the broadcast so
    // the status shows FAILED, then settle what was committed so nothing stays in flight.
    const error = describeError(e);
    await table.put({ pk: records.pk, sk: handledSk(message.id), ord: nowMicros(), e: error });
    await proc.flush().catch(() => undefined);
    return { status: 'failed', error };
  }
}

/** Records that a transient failure of a broadcast used up its retries (just before SQS moves it to the DLQ). */
export async function recordRetriesExhausted(
  services: RuntimeServices,
  executionId: string,
  broadcastId: string,
  error: string,
): Promise<boolean> {
  const table = services.backends.table;
  const pk = executionPk(executionId);
  if (!(await table.get(pk, SK.init))) return false;
  await table.put({ pk, sk: handledSk(broadcastId), ord: nowMicros(), e: error });
  return true;
}

interface Effect {
  record: CommitRecord;
  /** Committed by an earlier delivery: its effects may already be applied, so check before creating children. */
  existing: boolean;
}

/** Handles the broadcasts of one message (the message's own and the router-only ones it follows). */
class BroadcastProcessor {
  private readonly engine: Engine;
  private readonly telemetry: Pick<BufferedTelemetry, 'logEvent' | 'flush'>;
  private readonly effects: Effect[] = [];
  private readonly sends: OutboxEntry[] = [];
  private readonly follow: OutboxEntry[] = [];
  private readonly markers = new Set<string>();
  private followBudget: number;
  private readonly own: string;
  /** Set when a node of this message failed without a failure signal (the execution is now FAILED). */
  nodeFailure: string | undefined;

  constructor(
    private readonly services: RuntimeServices,
    private readonly records: ExecutionRecords,
    private readonly opts: ProcessorOptions,
  ) {
    this.own = records.executionId;
    // Events are collected and written as one item at the end: a node run logs several, and each item costs a request.
    this.telemetry = opts.telemetry === false ? NO_TELEMETRY : services.backends.telemetry.buffer();
    const backends = createPartitionBackends(services.backends, records, this.telemetry);
    this.engine = createEngine(backends, {
      callLlm: services.deps.callLlm,
      toolsRegistry: services.deps.toolsRegistry,
      builtinTools: defaultBuiltins(),
      // Throttling and timeouts inside tools and models go back to SQS instead of failing the node.
      propagateTransient: true,
      newExecutionId: deterministicExecutionId,
      ...(opts.nodeDeadline !== undefined ? { deadline: () => opts.nodeDeadline } : {}),
    }).engine;
    this.followBudget = opts.followRouters;
  }

  private workflow(): Workflow | undefined {
    const name = this.records.currentWorkflowName();
    return name ? this.records.registry()?.[name] : undefined;
  }

  /** Runs (or skips) the nodes a broadcast triggers and commits each run. */
  async handle(broadcastId: string, signals: string[]): Promise<void> {
    const records = this.records;
    for (const c of records.commitsOf(broadcastId)) this.settle(c, true);
    if (records.failure()) {
      // The execution failed: later broadcasts are dropped, as the in-process engine stops at the first failure.
      if (!records.handledIds().has(broadcastId)) this.markers.add(broadcastId);
      return;
    }
    const workflow = this.workflow();
    if (!workflow) {
      throw new OperationalValidationError(
        `execution '${this.own}' has no workflow '${records.currentWorkflowName() ?? ''}' in its stored registry`,
      );
    }
    if (!records.signalsRecorded(broadcastId)) await this.recordReceived(broadcastId, signals);
    const triggered = triggeredNodes(workflow, signals);
    if (triggered.length) {
      const last = triggered[triggered.length - 1]!.name;
      const sink: BroadcastSink = {
        skip: async (_id, run) => records.item(runSk(run.runKey)) !== undefined,
        commit: (_id, run, outcome) => this.commit(broadcastId, run, outcome, run.nodeName === last),
      };
      try {
        await processBroadcast(this.engine, this.own, signals, sink, { recordSignals: false, runKeyPrefix: broadcastId });
      } catch (e) {
        if (e instanceof StopBroadcast) return;
        throw e;
      }
    }
    // Normally the last run's commit marks the broadcast handled; a marker covers broadcasts that
    // triggered nothing (and the rare redelivery whose triggered set changed meanwhile).
    if (!records.handledIds().has(broadcastId)) this.markers.add(broadcastId);
  }

  /** Records signals that came from outside (no sender recorded them): once, under the broadcast id. */
  private async recordReceived(broadcastId: string, signals: string[]): Promise<void> {
    const item = { pk: this.records.pk, sk: receivedSk(broadcastId), ord: commitOrd(this.records.maxOrd), s: signals };
    if (await this.services.backends.table.putIfAbsent(item)) this.records.addItem(item);
    else {
      const winner = await this.services.backends.table.get(this.records.pk, item.sk);
      if (winner) this.records.addItem(winner);
    }
  }

  /** The first appended value over the size limit, if any. */
  private oversized(updates: Array<[string, ContextUpdate]>): ValueTooLargeError | undefined {
    for (const [executionId, u] of updates) {
      for (const [field, values] of Object.entries(u.fields ?? {})) {
        for (const v of values) {
          const bytes = Buffer.byteLength(JSON.stringify(v ?? null));
          if (bytes > this.opts.maxValueBytes) return new ValueTooLargeError(executionId, field, bytes, this.opts.maxValueBytes);
        }
      }
    }
    return undefined;
  }

  /** Commits one node run as one record (conditional put under its run key). */
  private async commit(broadcastId: string, run: NodeRun, outcome: NodeOutcome, isLast: boolean): Promise<void> {
    const records = this.records;
    let error = outcome.error;
    let update: ContextUpdate = { ...outcome.update };
    let foreign = outcome.foreignUpdates;
    const tooBig = this.oversized([[this.own, update], ...foreign.map((f) => [f.executionId, f.update] as [string, ContextUpdate])]);
    if (tooBig) {
      // The value cannot be stored: the node fails with an error that names the field, and nothing it appended is kept.
      error = tooBig;
      update = { nodes: update.nodes, counters: { ...update.counters, errors: (update.counters?.errors ?? 0) + (outcome.error ? 0 : 1) } };
      foreign = [];
    }
    const entries: OutboxEntry[] = [];
    const children: ChildSpec[] = [];
    const handles: string[] = [];
    if (!error) {
      if (outcome.emit.length) {
        const id = derivedId(run.runKey, 'emit');
        update.signals = [...(update.signals ?? []), ...outcome.emit];
        entries.push({ i: id, t: this.own, s: [...outcome.emit] });
        const wf = this.workflow();
        if (wf && triggeredNodes(wf, outcome.emit).length === 0) handles.push(id);
      }
      outcome.outbox.forEach((b, n) => {
        entries.push({
          i: derivedId(run.runKey, 'out', n),
          t: b.executionId,
          s: [...b.signals],
          ...(b.delaySeconds ? { d: b.delaySeconds } : {}),
        });
      });
      outcome.spawns.forEach((c, n) => {
        const id = derivedId(run.runKey, 'child', n);
        entries.push({ i: id, t: c.executionId, s: [...c.signals], ...(c.delaySeconds ? { d: c.delaySeconds } : {}) });
        children.push({
          id: c.executionId,
          wf: c.workflowName,
          src: c.sourceExecutionId,
          f: c.fields,
          m: c.mainExecutionId,
          p: c.parent,
          b: id,
          s: [...c.signals],
          ...(c.limits ? { l: c.limits } : {}),
        });
      });
    }
    if (isLast || error) handles.push(broadcastId);
    const payload: CommitPayload = { u: update };
    if (entries.length) payload.o = entries;
    if (foreign.length) payload.f = foreign.map((f) => ({ t: f.executionId, u: f.update }));
    if (children.length) payload.c = children;
    const sk = runSk(run.runKey);
    const item: TableItem = { pk: records.pk, sk, ord: commitOrd(records.maxOrd), b: broadcastId, n: run.nodeName };
    if (handles.length) item.h = handles;
    if (error) item.e = describeError(error);
    const table = this.services.backends.table;
    const written = await table.putRecord(item, payload, { ifAbsent: true });
    if (written) {
      // The stored form is JSON: keep exactly that in the local fold.
      records.addItem(item, JSON.parse(JSON.stringify(payload)));
      await this.opts.hooks?.afterCommit?.({ executionId: this.own, broadcastId, runKey: run.runKey });
    } else {
      // A concurrent delivery committed this run first: its record is the truth, ours is discarded.
      const winner = await table.get(records.pk, sk);
      if (!winner)
        throw Object.assign(new Error(`commit '${sk}' failed its condition but cannot be read`), {
          name: 'InternalError',
          retryable: true,
        });
      records.addItem(winner, await table.payloadOf(winner));
    }
    const committed = records.commit(sk)!;
    this.settle(committed, !written);
    if (typeof committed.item.e === 'string') {
      this.nodeFailure = committed.item.e;
      throw new StopBroadcast();
    }
  }

  /** Queues what a commit's outbox asks for: follow, send, or nothing (already handled). */
  private settle(c: CommitRecord, existing: boolean): void {
    this.effects.push({ record: c, existing });
    for (const o of c.payload().o ?? []) {
      if (o.t === this.own) {
        if (c.handles.includes(o.i)) continue;
        if (this.routersOnly(o.s)) {
          this.follow.push(o);
          continue;
        }
        // Re-sending what an earlier delivery sent is harmless but cascades duplicates: skip it when
        // this partition shows the broadcast already arrived.
        if (existing && this.records.hasEvidenceOf(o.i)) continue;
      }
      this.sends.push(o);
    }
  }

  private routersOnly(signals: string[]): boolean {
    if (this.opts.followRouters <= 0) return false;
    const wf = this.workflow();
    if (!wf) return false;
    const nodes = triggeredNodes(wf, signals);
    return nodes.length > 0 && nodes.every((n) => n.config.node_type === 'router');
  }

  /** Follows router-only broadcasts, applies the outbox effects, sends, and writes handled markers. */
  async flush(): Promise<void> {
    while (this.follow.length) {
      const o = this.follow.shift()!;
      const timeLeft = this.opts.remainingMs ? this.opts.remainingMs() : Number.POSITIVE_INFINITY;
      if (this.followBudget <= 0 || timeLeft < FOLLOW_RESERVE_MS) {
        this.sends.push(o);
        continue;
      }
      this.followBudget--;
      try {
        await this.handle(o.i, o.s);
      } catch (e) {
        if (e instanceof OperationalValidationError) {
          this.sends.push(o);
          continue;
        }
        throw e;
      }
    }
    const table = this.services.backends.table;
    const writes: Array<Promise<unknown>> = [];
    for (const { record, existing } of this.effects) {
      const p = record.payload();
      const childIds = new Set((p.c ?? []).map((c) => c.id));
      (p.f ?? []).forEach((f, n) => {
        const item: TableItem = { pk: executionPk(f.t), sk: `${SK.foreign}${derivedId(String(record.item.sk), n)}`, ord: nowMicros() };
        // Appends that travel with signals to the same execution (a child's context_updates_to_parent
        // with its signals_to_parent) are gated on that broadcast: the target sees them when it handles
        // the signals, as in process, not earlier. A fan-in router then counts its inputs one by one.
        const gate = (p.o ?? []).find((o) => o.t === f.t && !childIds.has(o.t));
        if (gate) item.w = gate.i;
        writes.push(table.putRecord(item, f.u, { ifAbsent: true }));
      });
      for (const child of p.c ?? []) writes.push(this.createChild(child, existing));
    }
    await Promise.all(writes);
    this.effects.length = 0;
    const seen = new Set<string>();
    const sends = this.sends.filter((o) => !seen.has(o.i) && seen.add(o.i));
    this.sends.length = 0;
    await sendSignalMessages(this.services.sqs, this.services.queues, sends);
    const markers = [...this.markers];
    this.markers.clear();
    await Promise.all(markers.map((id) => table.putIfAbsent({ pk: this.records.pk, sk: handledSk(id), ord: nowMicros() })));
    await this.flushTelemetry();
  }

  /** Writes the collected telemetry (best effort: telemetry never fails a broadcast). */
  async flushTelemetry(): Promise<void> {
    await this.telemetry.flush().catch((e) => this.services.logger.warn('telemetry write failed', { error: describeError(e) }));
  }

  /**
   * Creates a child execution: its registry (copied from the parent), workflow name, then its first
   * context record — the commit point, written only if absent. When re-applying an earlier delivery's
   * outbox, an existing child is left alone (it may have changed its registry since).
   */
  private async createChild(child: ChildSpec, existing: boolean): Promise<void> {
    const table = this.services.backends.table;
    const pk = executionPk(child.id);
    if (existing && (await table.get(pk, SK.init))) return;
    const registry =
      child.src === this.own ? this.records.registry() : await this.services.backends.workflow.getWorkflowsRegistry(child.src);
    await table.batchWrite([
      ...Object.entries(registry ?? {}).flatMap(([name, wf]) => workflowItems(child.id, name, wf)),
      { pk, sk: SK.currentWorkflow, v: child.wf },
    ]);
    const { item, payload } = initRecord(
      child.id,
      { fields: child.f, mainExecutionId: child.m, parent: child.p, signals: child.s, ...(child.l ? { limits: child.l } : {}) },
      child.b,
    );
    await table.putRecord(item, payload, { ifAbsent: true });
  }
}
