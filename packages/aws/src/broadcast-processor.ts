/**
 * The worker's core: handles one broadcast of one execution with exactly-once state effects under
 * at-least-once delivery.
 *
 * 1. Take the execution's state: from the container's warm cache, catching up with one Query of the
 *    log records written since (usually none), or cold from the newest snapshot (execution-state.ts).
 * 2. Run the triggered nodes in order. A node whose run key (`<broadcast id>#<node>`) is already
 *    committed (in the fold) is skipped: a redelivery runs nothing twice.
 * 3. Commit each run as ONE record at the next log position, with a conditional put: its appends,
 *    counters, emitted signals, its outbox (broadcasts with ids derived from the run key, appends to
 *    other executions, children to create) and the telemetry events it logged. A writer that loses the
 *    position folds the record that took it; if that is its own run (a duplicate delivery), it adopts
 *    it, else it claims the next position (execution-log.ts).
 * 4. After the commits, apply the outbox: appends to other partitions and child creations (conditional
 *    puts under deterministic keys, so applying twice changes nothing), then send the messages.
 *    A worker that dies between 3 and 4 loses nothing: the message comes back, every run is skipped,
 *    and the recorded outboxes are applied and sent again with the same ids.
 *
 * Broadcasts a run emits to its own execution are followed in the same invocation, depth-first as in
 * process, while time and the node budget allow (few hops); SQS carries only what buys something:
 * children and other executions (parallel work), delays, and what is left when time runs short.
 * Emitted signals that trigger nothing are marked handled in the emitting commit itself.
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
import { buildCommit } from './commit-builder.js';
import { initRecord, mainOfInit } from './dynamo-context-backend.js';
import type { BufferedTelemetry } from './dynamo-telemetry-backend.js';
import { DynamoWorkflowBackend } from './dynamo-workflow-backend.js';
import { classifyError, describeError, UnknownExecutionError } from './errors.js';
import { appendAtTail, type CommitRecord } from './execution-log.js';
import { ExecutionState, stateCacheOf } from './execution-state.js';
import { createPartitionBackends } from './partition-backends.js';
import { type ChildSpec, LOG_KIND, type OutboxEntry, type ReceiptPayload } from './record-types.js';
import type { RuntimeServices } from './runtime-services.js';
import { sendSignalMessages } from './signal-message.js';
import type { TableItem } from './soe-table.js';
import { type StatusFact, writeStatusFact } from './status-facts.js';
import { executionPk, foreignSk, handledSk, nowMicros, SK } from './table-keys.js';
import { TreeNodeRunTally } from './tree-node-runs.js';

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
  /**
   * How many broadcasts of the execution itself one invocation may follow without an SQS hop (0: none):
   * a safety cap on the node runs of one invocation, next to the time check of {@link remainingMs}.
   * @default {@link DEFAULT_FOLLOW_NODES}
   */
  followNodes?: number;
  /** Former name of {@link followNodes} (it once counted router-only broadcasts); used when `followNodes` is absent. */
  followRouters?: number;
  hooks?: WorkerHooks;
  /**
   * Keep telemetry events: a node run's events in its commit record, the others in one item per
   * message (with a TTL). Off drops them. @default true
   */
  telemetry?: boolean;
  /** Time left in the invocation; a broadcast is followed only while more than a reserve is left. */
  remainingMs?: () => number;
  /** Epoch ms every node must end by (the invocation's end less a reserve); past it a node fails, retryably. */
  nodeDeadline?: number;
}

/** Default {@link ProcessorOptions.maxValueBytes}: 4 MiB (larger values are split across items up to this). */
export const DEFAULT_MAX_VALUE_BYTES = 4 * 1024 * 1024;
/** Default {@link ProcessorOptions.followNodes}: broadcasts one invocation follows before it hands the rest to SQS. */
export const DEFAULT_FOLLOW_NODES = 100;
/** Former name of {@link DEFAULT_FOLLOW_NODES}. */
export const DEFAULT_FOLLOW_ROUTERS = DEFAULT_FOLLOW_NODES;
/**
 * A broadcast is followed only while more than this is left of the invocation: enough to run its
 * nodes and send what is pending. Model calls take longer than routers and tools, so they need more.
 */
const FOLLOW_RESERVE_MS = { quick: 10_000, model: 60_000 } as const;

/** How a message ended. */
export type ProcessResult = { status: 'done' } | { status: 'failed'; error: string };

/** A UUID-shaped execution id derived from a seed: a re-run creates the very same child. */
export function deterministicExecutionId(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Telemetry that is dropped (`telemetry: false`). */
const NO_TELEMETRY: Pick<BufferedTelemetry, 'logEvent' | 'flush' | 'take'> = {
  logEvent: async () => undefined,
  flush: async () => undefined,
  take: () => [],
};

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
  const cache = stateCacheOf(services);
  const warm = cache.take(message.executionId);
  if (warm) await warm.catchUp();
  const state = warm ?? (await ExecutionState.load(services.backends, message.executionId));
  if (!state) throw new UnknownExecutionError(message.executionId);
  const proc = new BroadcastProcessor(services, state, opts);
  try {
    await proc.handle(message.id, message.signals);
    await proc.flush();
    // Only a state that handled its message to the end goes back: it matches the log up to its position.
    cache.put(state);
    return proc.nodeFailure ? { status: 'failed', error: proc.nodeFailure } : { status: 'done' };
  } catch (e) {
    if (classifyError(e) === 'transient') {
      // The runs committed so far are skipped when the message comes back: count them now.
      await proc.flushTreeCount().catch(() => undefined);
      await proc.flushTelemetry();
      throw e;
    }
    // A failure outside any node run (no workflow, an unusable write): record it on the broadcast so
    // the status shows FAILED, then settle what was committed so nothing stays in flight.
    const error = describeError(e);
    const record = failureRecord(message.id, error);
    await appendAtTail(table, state.pk, record, undefined);
    proc.noteFailure(message.id, error, Number(record.ord));
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
  const init = await table.get(pk, SK.init);
  if (!init) return false;
  // In the log, so a worker holding the execution sees the failure too; it marks the broadcast handled.
  const record = failureRecord(broadcastId, error);
  await appendAtTail(table, pk, record, undefined);
  const main = mainOfInit(executionId, init);
  await writeStatusFact(table, main, { executionId, handled: [broadcastId], error: { error, ord: Number(record.ord) } });
  return true;
}

/** The log record of a broadcast that failed outside a node run. */
function failureRecord(broadcastId: string, error: string): TableItem {
  return { k: LOG_KIND.failure, b: broadcastId, h: [broadcastId], e: error, ord: nowMicros() };
}

interface Effect {
  record: CommitRecord;
  /** Committed by an earlier delivery: its effects may already be applied, so check before creating children. */
  existing: boolean;
}

/** Handles the broadcasts of one message (the message's own and the ones it follows). */
class BroadcastProcessor {
  private readonly engine: Engine;
  private readonly telemetry: Pick<BufferedTelemetry, 'logEvent' | 'flush' | 'take'>;
  private readonly effects: Effect[] = [];
  private readonly sends: OutboxEntry[] = [];
  private readonly markers = new Set<string>();
  /** Status facts gathered since the last write of them (see status-facts.ts). */
  private fact: StatusFact;
  private followBudget: number;
  private readonly own: string;
  /** The node runs of the execution tree this invocation sees and adds to (one ADD when it ends). */
  private readonly tree: TreeNodeRunTally;
  /** Set when a node of this message failed without a failure signal (the execution is now FAILED). */
  nodeFailure: string | undefined;

  constructor(
    private readonly services: RuntimeServices,
    private readonly state: ExecutionState,
    private readonly opts: ProcessorOptions,
  ) {
    this.own = state.executionId;
    this.fact = { executionId: this.own };
    // Events of a node run ride in its commit record; the rest is written as one item at the end.
    this.telemetry = opts.telemetry === false ? NO_TELEMETRY : services.backends.telemetry.buffer();
    this.tree = new TreeNodeRunTally(services.backends.table, state.mainExecutionId(), state.treeNodeRuns);
    const backends = createPartitionBackends(services.backends, state, this.telemetry, this.tree);
    this.engine = createEngine(backends, {
      callLlm: services.deps.callLlm,
      toolsRegistry: services.deps.toolsRegistry,
      capture: services.deps.capture,
      builtinTools: defaultBuiltins(),
      // Throttling and timeouts inside tools and models go back to SQS instead of failing the node.
      propagateTransient: true,
      newExecutionId: deterministicExecutionId,
      ...(opts.nodeDeadline !== undefined ? { deadline: () => opts.nodeDeadline } : {}),
    }).engine;
    this.followBudget = opts.followNodes ?? opts.followRouters ?? DEFAULT_FOLLOW_NODES;
  }

  private workflow(): Workflow | undefined {
    const { registry, workflowName } = this.state.config;
    return workflowName ? registry?.[workflowName] : undefined;
  }

  /**
   * Runs (or skips) the nodes a broadcast triggers and commits each run. Broadcasts a run emits to
   * this execution are followed right after its commit, before the next triggered node runs: the
   * depth-first order of the in-process engine. A skipped (already committed) run re-follows and
   * re-sends its outbox the same way, so a redelivery retraces the first delivery's steps.
   */
  async handle(broadcastId: string, signals: string[]): Promise<void> {
    const fold = this.state.fold;
    const settled = new Set<number>();
    const settleEarlier = async () => {
      for (const c of await this.state.commitsOf(broadcastId)) {
        if (settled.has(c.seq)) continue;
        settled.add(c.seq);
        await this.settle(c, true);
      }
    };
    try {
      if (fold.failure || fold.cancelled) {
        // The execution failed or was cancelled: later broadcasts are dropped, as the in-process
        // engine stops at the first failure (a redrive clears the failure; nothing clears a cancel).
        await settleEarlier();
        if (!fold.handled.has(broadcastId)) this.markers.add(broadcastId);
        return;
      }
      const workflow = this.workflow();
      if (!workflow) {
        throw new OperationalValidationError(
          `execution '${this.own}' has no workflow '${this.state.config.workflowName ?? ''}' in its stored registry`,
        );
      }
      if (!fold.recorded.has(broadcastId)) await this.recordReceived(broadcastId, signals);
      const triggered = triggeredNodes(workflow, signals);
      if (triggered.length) {
        const last = triggered[triggered.length - 1]!.name;
        const sink: BroadcastSink = {
          skip: async (_id, run) => {
            const committed = await this.state.commitOf(run.runKey);
            if (!committed) {
              // About to run: load the large values it may read (into the context it was given).
              await this.state.loadFor(run.node);
              return false;
            }
            if (!settled.has(committed.seq)) {
              settled.add(committed.seq);
              await this.settle(committed, true);
            }
            return true;
          },
          commit: (_id, run, outcome) => this.commit(broadcastId, run, outcome, run.nodeName === last, settled),
        };
        await processBroadcast(this.engine, this.own, signals, sink, { recordSignals: false, runKeyPrefix: broadcastId });
      }
      // Commits of runs the workflow no longer triggers (it changed since an earlier delivery) still send their outbox.
      await settleEarlier();
    } catch (e) {
      if (!(e instanceof StopBroadcast)) throw e;
    }
    // Normally the last run's commit marks the broadcast handled; a marker covers broadcasts that
    // triggered nothing, were stopped by a failure, or whose triggered set changed since an earlier delivery.
    if (!fold.handled.has(broadcastId)) this.markers.add(broadcastId);
  }

  /**
   * Records signals that came from outside (another execution, the start, an external sender) in the
   * log, once, together with the appends from other executions that travel with them.
   */
  private async recordReceived(broadcastId: string, signals: string[]): Promise<void> {
    const table = this.services.backends.table;
    const foreign = await table.queryPartition(this.state.pk, `${SK.foreign}${broadcastId}#`);
    const updates = await Promise.all(foreign.map((f) => table.payloadOf<ContextUpdate>(f)));
    const payload: ReceiptPayload = updates.length ? { u: updates } : {};
    await this.state.append({ k: LOG_KIND.receipt, b: broadcastId, s: [...signals] }, payload, () =>
      this.state.fold.recorded.has(broadcastId),
    );
  }

  /** Commits one node run as one record at the next log position (see {@link ExecutionState.append}). */
  private async commit(broadcastId: string, run: NodeRun, outcome: NodeOutcome, isLast: boolean, settled: Set<number>): Promise<void> {
    const state = this.state;
    const { attributes, payload } = buildCommit({
      executionId: this.own,
      broadcastId,
      nodeName: run.nodeName,
      runKey: run.runKey,
      outcome,
      workflow: this.workflow(),
      isLast,
      maxValueBytes: this.opts.maxValueBytes,
      events: this.telemetry.take(this.own),
    });
    // A concurrent delivery that committed this run first wins: its record is the truth, ours is discarded.
    const written = await state.append(attributes, payload, () => state.fold.runs.has(run.runKey));
    const committed = (await state.commitOf(run.runKey))!;
    settled.add(committed.seq);
    if (written) {
      await this.opts.hooks?.afterCommit?.({ executionId: this.own, broadcastId, runKey: run.runKey });
    }
    if (typeof committed.item.e === 'string') {
      this.effects.push({ record: committed, existing: !written });
      this.nodeFailure = committed.item.e;
      throw new StopBroadcast();
    }
    await this.settle(committed, !written);
    // Cancelled while this node ran (its commit folded the cancel record): no further node runs.
    if (state.fold.cancelled) throw new StopBroadcast();
  }

  /** Does what a commit's outbox asks for: follow it now, send it later, or nothing (already handled). */
  private async settle(c: CommitRecord, existing: boolean): Promise<void> {
    this.effects.push({ record: c, existing });
    for (const o of c.payload().o ?? []) {
      if (o.t === this.own) {
        if (c.handles.includes(o.i)) continue;
        if (this.followable(o)) {
          await this.follow(o);
          continue;
        }
        // Re-sending what an earlier delivery sent is harmless but cascades duplicates: skip it when
        // this partition shows the broadcast already arrived.
        if (existing && this.state.fold.evidence.has(o.i)) continue;
      }
      this.sends.push(o);
    }
  }

  /**
   * True when a broadcast to this execution is handled in this invocation instead of an SQS hop: it
   * triggers nodes, is not delayed (spawn_interval), the invocation's node budget is not spent, and
   * enough time is left for the kind of nodes it triggers.
   */
  private followable(o: OutboxEntry): boolean {
    if (this.followBudget <= 0 || o.d) return false;
    const wf = this.workflow();
    if (!wf) return false;
    const nodes = triggeredNodes(wf, o.s);
    if (!nodes.length) return false;
    if (!this.opts.remainingMs) return true;
    const model = nodes.some((n) => n.config.node_type === 'llm' || n.config.node_type === 'agent');
    return this.opts.remainingMs() >= (model ? FOLLOW_RESERVE_MS.model : FOLLOW_RESERVE_MS.quick);
  }

  /** Handles a broadcast of this execution now (depth-first), after sending what earlier runs emitted elsewhere. */
  private async follow(o: OutboxEntry): Promise<void> {
    this.followBudget--;
    // Children and other executions start working while this invocation goes on.
    if (this.sends.length) await this.applyPending();
    try {
      await this.handle(o.i, o.s);
    } catch (e) {
      if (!(e instanceof OperationalValidationError)) throw e;
      this.sends.push(o);
      return;
    }
    // A node of the followed broadcast failed: stop the broadcasts that led to it too.
    if (this.nodeFailure || this.state.fold.cancelled) throw new StopBroadcast();
  }

  /** Records a failure outside any node run in the status facts (written with the next flush). */
  noteFailure(broadcastId: string, error: string, ord: number): void {
    (this.fact.handled ??= []).push(broadcastId);
    this.fact.error ??= { error, ord };
  }

  /** Adds what a commit says for the status (handled marks, outbox, children, failure) to the pending fact. */
  private factOf(record: CommitRecord): void {
    const f = this.fact;
    const p = record.payload();
    if (record.handles.length) (f.handled ??= []).push(...record.handles);
    for (const o of p.o ?? []) (f.sent ??= []).push([o.i, o.t]);
    for (const c of p.c ?? []) (f.children ??= []).push(c.id);
    const e = record.item.e;
    if (typeof e === 'string' && !f.error) f.error = { error: e, node: record.nodeName, ord: Number(record.item.ord ?? 0) };
  }

  /** Writes the pending status fact into the main execution's partition (before anything it lists is sent). */
  private async writeFact(): Promise<void> {
    const fact = this.fact;
    this.fact = { executionId: this.own };
    await writeStatusFact(this.services.backends.table, this.state.mainExecutionId(), fact);
  }

  /** Applies the outbox effects of the commits so far (appends elsewhere, children), then sends their messages. */
  private async applyPending(): Promise<void> {
    const table = this.services.backends.table;
    const writes: Array<Promise<unknown>> = [];
    for (const { record } of this.effects) this.factOf(record);
    writes.push(this.writeFact());
    for (const { record, existing } of this.effects) {
      const p = record.payload();
      // Written before the broadcast they travel with is sent; the key is deterministic, so applying twice changes nothing.
      (p.f ?? []).forEach((f, n) => {
        writes.push(table.putRecord({ pk: executionPk(f.t), sk: foreignSk(f.w, String(n).padStart(3, '0')) }, f.u, { ifAbsent: true }));
      });
      for (const child of p.c ?? []) writes.push(this.createChild(child, existing));
    }
    this.effects.length = 0;
    await Promise.all(writes);
    const seen = new Set<string>();
    const sends = this.sends.filter((o) => !seen.has(o.i) && seen.add(o.i));
    this.sends.length = 0;
    await sendSignalMessages(this.services.sqs, this.services.queues, sends);
  }

  /** Applies and sends what is pending, writes handled markers and the telemetry. */
  async flush(): Promise<void> {
    // Handled markers go into the same fact as the last commits (one write for both).
    if (this.markers.size) (this.fact.handled ??= []).push(...this.markers);
    // Counted before the last messages go out: the executions they wake see these runs.
    await this.flushTreeCount();
    await this.applyPending();
    const table = this.services.backends.table;
    const markers = [...this.markers];
    this.markers.clear();
    await Promise.all(markers.map((id) => table.putIfAbsent({ pk: this.state.pk, sk: handledSk(id), ord: nowMicros() })));
    for (const id of markers) this.state.fold.handled.add(id);
    await this.flushTelemetry();
  }

  /** Adds this invocation's node runs to its execution tree's count (one UpdateItem ADD; nothing outside a tree). */
  async flushTreeCount(): Promise<void> {
    const total = await this.tree.flush();
    // The next invocation of this execution (warm) starts from this total instead of reading it.
    if (total !== undefined) this.state.treeNodeRuns = total;
  }

  /** Writes the collected telemetry (best effort: telemetry never fails a broadcast). */
  async flushTelemetry(): Promise<void> {
    await this.telemetry.flush().catch((e) => this.services.logger.warn('telemetry write failed', { error: describeError(e) }));
  }

  /**
   * Creates a child execution: a reference to its registry version, its workflow name, then its first
   * context record — the commit point, written only if absent. When re-applying an earlier delivery's
   * outbox, an existing child is left alone (it may have changed its registry since).
   */
  private async createChild(child: ChildSpec, existing: boolean): Promise<void> {
    const table = this.services.backends.table;
    const pk = executionPk(child.id);
    if (existing && (await table.get(pk, SK.init))) return;
    const workflows = this.services.backends.workflow;
    const registry = child.src === this.own ? this.state.config.registry : await workflows.getWorkflowsRegistry(child.src);
    // The child references an immutable version of the registry (written once per container and
    // content) instead of getting a copy of every workflow.
    const version = registry ? await workflows.publishVersion(registry) : undefined;
    await table.batchWrite([
      ...(version ? [DynamoWorkflowBackend.referenceItem(child.id, version)] : []),
      { pk, sk: SK.currentWorkflow, v: child.wf },
    ]);
    const { item, payload } = initRecord(
      child.id,
      { fields: child.f, mainExecutionId: child.m, parent: child.p, signals: child.s, ...(child.l ? { limits: child.l } : {}) },
      child.b,
    );
    if (await table.putRecord(item, payload, { ifAbsent: true })) {
      // This container knows the new child exactly: its start message often lands here, warm.
      const config = { registry: structuredClone(registry), workflowName: child.wf, identities: null, schema: null };
      stateCacheOf(this.services).put(ExecutionState.seed(this.services.backends, child.id, item, payload, config));
    }
  }
}
