/** The engine: runs the nodes a broadcast triggers and returns their outcomes, for every runtime. */

import { type DirectStore, directStore } from './backends/direct.js';
import { eventSubject, materializeEmissions, NodeEmissions } from './backends/telemetry-log.js';
import { isBuiltinFunction } from './builtin-mark.js';
import {
  errorKind,
  NodeExecutionError,
  NodeRunLimitError,
  namesItsLocation,
  OperationalValidationError,
  TokenBudgetError,
  ToolNodeConfigurationError,
} from './errors.js';
import {
  countedNodeRuns,
  countNodeRunsBefore,
  countNodeRunsNow,
  giveBackNodeRun,
  mainExecutionOf,
  type NodeClock,
  type NodeRunCount,
  nodeRunLimit,
  openTreeCounter,
  startNodeClock,
} from './node-clock.js';
import { executeAgent } from './nodes/agent.js';
import { executeChild } from './nodes/child.js';
import { emissionsOf, selectionMode, unconditionalSignals } from './nodes/emissions.js';
import { executeLlm, executeLlmNow } from './nodes/llm.js';
import { executeRouter, routeNow } from './nodes/router.js';
import { executeTool, executeToolNow } from './nodes/tool.js';
import type { NodeExecutor, NodeMemo, NodeOutcome, NodeRun, NodeServices, ResolvedTool, SpawnedExecution } from './nodes/types.js';
import { addTo, appendField, isThenable, startOutcome } from './nodes/types.js';
import { captureEventData, registeredStepCapture, type StepCaptureOptions } from './step-capture.js';
import { newUuid } from './strings.js';
import type {
  Backends,
  BroadcastSignalsCaller,
  CallLlm,
  ContextInit,
  EventEmission,
  NodeConfig,
  NodeType,
  ParentLink,
  StoredContext,
  TelemetryBackend,
  TelemetryNode,
  ToolEntry,
  ToolsRegistry,
  Workflow,
  WorkflowsRegistry,
} from './types.js';

/** Options of {@link createAllNodes}. */
export interface NodeOptions {
  callLlm?: CallLlm;
  toolsRegistry?: ToolsRegistry;
  /** How step I/O (prompts, answers, tool arguments and results) is capped and redacted in telemetry. */
  capture?: StepCaptureOptions;
}

/** Extra engine options for runtimes (the AWS worker). */
export interface EngineOptions extends NodeOptions {
  /** Tools every tool node can use without registration (the `soe_*` built-ins). */
  builtinTools?: Record<string, ToolEntry>;
  /** Rethrow retryable errors instead of treating them as node failures (a queue will retry). */
  propagateTransient?: boolean;
  /** Makes child execution ids; deterministic runtimes derive them from the seed. */
  newExecutionId?: (seed: string) => string;
  /** Executors by node type (defaults to the built-in ones). */
  executors?: Partial<Record<NodeType, NodeExecutor>>;
  /**
   * The runtime's deadline (epoch ms) for nodes starting now, if it has one: the AWS worker's remaining
   * time less a reserve. A node still running then fails with a retryable DeadlineExceededError.
   */
  deadline?: () => number | undefined;
  /** Node runs per execution when its config and start options set no limit. @default 10000 */
  maxNodeRuns?: number;
}

/** Node executors by node type, as returned by {@link createAllNodes}. Pass it to {@link broadcastSignals}. */
export type Nodes = Record<NodeType, NodeExecutor> & { readonly engine: Engine };

/** A triggered node of a workflow. */
export interface TriggeredNode {
  name: string;
  config: NodeConfig;
  /** What the node's runs keep between them (see {@link NodeMemo}). */
  memo: NodeMemo;
}

/** How a runtime commits node outcomes and sends broadcasts. */
export interface BroadcastSink {
  /** Applies an outcome's effects (atomically, where the runtime can) and sends what it emits. */
  commit(executionId: string, run: NodeRun, outcome: NodeOutcome): Promise<void>;
  /**
   * Consulted before a node runs: true skips it. A runtime under at-least-once delivery answers true
   * for a run whose key it has already committed, so a redelivered broadcast runs nothing twice.
   */
  skip?(executionId: string, run: NodeRun): Promise<boolean>;
}

/**
 * A node executor that returns its outcome at once when it waits for nothing (a router always; a tool
 * or an llm node when its function or model answers synchronously), else a promise of it.
 */
type ImmediateExecutor = (run: NodeRun, services: NodeServices) => NodeOutcome | Promise<NodeOutcome>;

/** The built-in executors that have an immediate form, used while the built-in one is in place. */
const immediateForms = new Map<NodeExecutor, ImmediateExecutor>([
  [executeRouter, routeNow],
  [executeTool, executeToolNow],
  [executeLlm, executeLlmNow],
]);

const builtinExecutors: Readonly<Partial<Record<NodeType, NodeExecutor>>> = {
  router: executeRouter,
  tool: executeTool,
  llm: executeLlm,
  agent: executeAgent,
  child: executeChild,
};

/**
 * Checks and normalizes a registry entry (a function, or an entry with `fn`).
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function resolveToolEntry(name: string, raw: unknown, builtin = false): ResolvedTool {
  if (typeof raw === 'function') return { name, fn: raw as ToolEntry['fn'], maxRetries: 0, processAccumulated: false, builtin };
  if (typeof raw === 'object' && raw !== null && typeof (raw as ToolEntry).fn === 'function') {
    const e = raw as ToolEntry;
    if (e.maxRetries !== undefined && !(Number.isInteger(e.maxRetries) && e.maxRetries >= 0)) {
      throw new ToolNodeConfigurationError(
        `tool '${name}': maxRetries must be a whole number of at least 0, got ${JSON.stringify(e.maxRetries)}`,
      );
    }
    return { ...e, name, maxRetries: e.maxRetries ?? 0, processAccumulated: e.processAccumulated ?? false, builtin };
  }
  throw new ToolNodeConfigurationError(
    `tool '${name}' is not callable: a registry entry must be a function or an object with a function in 'fn', got ${raw === null ? 'null' : typeof raw}`,
  );
}

/**
 * The engine: backends, model, tools and the in-process broadcast caller. Node executors get its
 * services; runtimes drive it through {@link processBroadcast}.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export class Engine {
  readonly backends: Backends;
  readonly options: EngineOptions;
  readonly services: NodeServices;
  readonly executors: Record<string, NodeExecutor>;
  /** Per node type, the immediate form of its executor when it has one (no promise per run). */
  readonly immediateExecutors: Record<string, ImmediateExecutor | undefined>;
  private readonly userTools: Record<string, unknown>;
  private readonly builtinTools: Record<string, ToolEntry>;
  private readonly resolved = new Map<string, ResolvedTool>();
  /** Run keys of runtimes that give none (in process): one random base per engine and a count, not a UUID per run. */
  readonly runKeyBase = newUuid();
  private runCount = 0;
  /** The number of a new run, for its key (see {@link EngineRun.runKey}). */
  nextRunNumber(): number {
    return ++this.runCount;
  }
  /** Commits in process and sends through the in-process caller. */
  readonly inProcessSink: BroadcastSink;

  constructor(backends: Backends, opts: EngineOptions = {}) {
    this.backends = backends;
    this.options = opts;
    this.userTools = opts.toolsRegistry ?? {};
    this.builtinTools = opts.builtinTools ?? {};
    this.executors = { ...builtinExecutors, ...(opts.executors ?? {}) } as Record<string, NodeExecutor>;
    this.immediateExecutors = {};
    for (const [type, executor] of Object.entries(this.executors)) this.immediateExecutors[type] = immediateForms.get(executor);
    const telemetry = backends.telemetry;
    this.services = {
      backends,
      callLlm: opts.callLlm,
      resolveTool: (name) => this.resolveTool(name),
      toolNames: () => [...new Set([...Object.keys(this.userTools), ...Object.keys(this.builtinTools)])],
      newExecutionId: opts.newExecutionId ?? newUuid,
      propagateTransient: opts.propagateTransient ?? false,
      // The capture options are read at each event, so orchestrate({ capture }) applies to an engine built before it.
      telemetry: telemetryOf(telemetry, () => opts.capture ?? registeredStepCapture(telemetry)),
    };
    this.inProcessSink = inProcessSink(this, (id, signals) => drainBroadcast(this, id, signals));
  }

  /** A tool by name: the user's registry first (a user tool may shadow a built-in), then the built-ins. */
  resolveTool(name: string): ResolvedTool | undefined {
    const hit = this.resolved.get(name);
    if (hit) return hit;
    let tool: ResolvedTool | undefined;
    if (Object.hasOwn(this.userTools, name)) {
      // A copy of a built-in's entry (to give it a failureSignal) is still that built-in.
      const raw = this.userTools[name];
      tool = resolveToolEntry(name, raw, isBuiltinFunction(typeof raw === 'function' ? raw : (raw as ToolEntry | null)?.fn));
    } else if (Object.hasOwn(this.builtinTools, name)) tool = resolveToolEntry(name, this.builtinTools[name], true);
    if (tool) this.resolved.set(name, tool);
    return tool;
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The engine's telemetry call: a synchronous `record` where the backend has one (no promise, no event
 * object per event), else `logEvent`, whose failures never fail a node.
 */
function telemetryOf(telemetry: TelemetryBackend | undefined, capture: () => StepCaptureOptions | undefined): NodeServices['telemetry'] {
  if (!telemetry) return () => RESOLVED;
  if (typeof telemetry.record === 'function') {
    const record = telemetry.record.bind(telemetry);
    return (id, type, data, handedOver) => {
      try {
        const captured = captureEventData(data, capture(), true);
        // The caller's own record is copied, unless it is handed over (see NodeServices.telemetry).
        record(id, type, Date.now(), undefined, -1, captured === data && !handedOver && data ? { ...data } : captured);
      } catch {
        // Telemetry never fails a node.
      }
      return RESOLVED;
    };
  }
  return (id, type, data) => telemetry.logEvent(id, type, captureEventData(data, capture())).catch(() => undefined);
}

/**
 * The subjects of a node's telemetry events, made once per node and shared by all its events: kept
 * on its memo (the fields of {@link NodeMemo}), or by config for a run without one.
 */
interface NodeSubjects {
  workflowName: string;
  nodeName: string;
  /** node_name, node_type, workflow_name: what `node_execution` says. */
  started: TelemetryNode;
  /** node_name, node_type: what `node_completed` and `node_error` say. */
  completed: TelemetryNode;
  /**
   * A frozen config's emissions, and how a run of it that ends well chose its signals (see
   * {@link selectedBy}); undefined for a config that may change, read again at each run.
   */
  emissions: EventEmission[] | undefined;
  selection: string | undefined;
  /** With `emissions`: their signals when none has a condition (see NodeMemo). */
  unconditional: readonly string[] | undefined;
}
// By config, for runs without a memo (an executor called directly).
const subjects = new WeakMap<NodeConfig, NodeSubjects>();

function subjectsOf(run: NodeRun): NodeSubjects {
  const memo = run.memo;
  const s = memo ?? subjects.get(run.node);
  if (s && s.workflowName === run.workflowName && s.nodeName === run.nodeName) return s as NodeSubjects;
  const node = { node_name: run.nodeName, node_type: run.node.node_type };
  const frozen = Object.isFrozen(run.node);
  const emissions = frozen ? emissionsOf(run.node) : undefined;
  const made: NodeSubjects = {
    workflowName: run.workflowName,
    nodeName: run.nodeName,
    completed: eventSubject('node_completed', node),
    started: eventSubject('node_execution', { ...node, workflow_name: run.workflowName }),
    emissions,
    selection: emissions && configSelection(run.node, emissions),
    unconditional: emissions && unconditionalSignals(emissions),
  };
  if (!memo) {
    subjects.set(run.node, made);
    return made;
  }
  memo.workflowName = made.workflowName;
  memo.nodeName = made.nodeName;
  memo.started = made.started;
  memo.completed = made.completed;
  memo.emissions = made.emissions;
  memo.selection = made.selection;
  memo.unconditional = made.unconditional;
  return memo as NodeSubjects;
}

/**
 * Records one of the engine's own node events: through the backend's `record` with the node's shared
 * subject, or as a `logEvent` with the node's fields spread in (the same event either way).
 */
function recordNodeEvent(
  engine: Engine,
  run: NodeRun,
  type: string,
  subject: TelemetryNode,
  durationMs: number,
  data: Record<string, unknown> | undefined,
): void {
  const telemetry = engine.backends.telemetry;
  if (!telemetry) return;
  // A node_execution says only what triggered it: no step I/O to cap or redact.
  const capture = type === 'node_execution' ? undefined : (engine.options.capture ?? registeredStepCapture(telemetry) ?? {});
  if (typeof telemetry.record === 'function') {
    if (capture) data = captureEventData(data, capture, true);
    try {
      telemetry.record(run.executionId, type, Date.now(), subject, durationMs, data);
    } catch {
      // Telemetry never fails a node.
    }
    return;
  }
  if (capture) data = captureEventData(data, capture);
  const plain = data && materializeEmissions(data);
  const fields = durationMs >= 0 ? { ...subject, duration_ms: durationMs, ...plain } : { ...subject, ...plain };
  telemetry.logEvent(run.executionId, type, fields).catch(() => undefined);
}

/**
 * Reads the context for the engine (read-only, uncopied where the backend allows).
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function readContext(backends: Backends, executionId: string): Promise<StoredContext> {
  return backends.context.readContext ? backends.context.readContext(executionId) : backends.context.getContext(executionId);
}

/** A workflow's trigger index: its nodes in the order written, and per signal the indexes and nodes it triggers. */
interface TriggerIndex {
  entries: TriggeredNode[];
  bySignal: Map<string, number[]>;
  /** Per signal, the nodes it triggers: one frozen list, handed out for every one-signal broadcast. */
  nodesBySignal: Map<string, readonly TriggeredNode[]>;
}

/** Per workflow object (registries are replaced, never mutated). */
const triggerIndex = new WeakMap<Workflow, TriggerIndex>();

function indexWorkflow(workflow: Workflow): TriggerIndex {
  let idx = triggerIndex.get(workflow);
  if (!idx) {
    const entries = Object.entries(workflow).map(([name, config]) => new IndexedNode(name, config));
    const bySignal = new Map<string, number[]>();
    entries.forEach(({ config }, i) => {
      for (const t of Array.isArray(config.event_triggers) ? config.event_triggers : []) {
        const list = bySignal.get(t) ?? [];
        if (!list.includes(i)) list.push(i);
        bySignal.set(t, list);
      }
    });
    const nodesBySignal = new Map<string, readonly TriggeredNode[]>();
    for (const [signal, list] of bySignal) {
      // Kept for the workflow's life: copied to their size (a list grown by push keeps room for 16 more).
      bySignal.set(signal, list.slice());
      nodesBySignal.set(signal, Object.freeze(list.map((i) => entries[i]!)));
    }
    idx = { entries, bySignal, nodesBySignal };
    triggerIndex.set(workflow, idx);
  }
  return idx;
}

/**
 * A node of a trigger index, which is also its own {@link NodeMemo} (filled on the node's first run):
 * a run reads one record for both, rather than one and then the other.
 */
class IndexedNode implements TriggeredNode, NodeMemo {
  workflowName: string | undefined = undefined;
  nodeName: string | undefined = undefined;
  started: TelemetryNode | undefined = undefined;
  completed: TelemetryNode | undefined = undefined;
  emissions: EventEmission[] | undefined = undefined;
  selection: string | undefined = undefined;
  unconditional: readonly string[] | undefined = undefined;
  llm: unknown = undefined;
  /** The nodes that the frozen list of signals it last emitted triggers in that workflow (see {@link triggeredAfter}). */
  nextSignals: readonly string[] | undefined = undefined;
  nextIn: Workflow | undefined = undefined;
  nextNodes: readonly TriggeredNode[] | undefined = undefined;
  constructor(
    readonly name: string,
    readonly config: NodeConfig,
  ) {}
  get memo(): NodeMemo {
    return this;
  }
}

/** What a signal that triggers nothing triggers. */
const NO_NODES: readonly TriggeredNode[] = Object.freeze([]);

/**
 * The nodes of a workflow that any of the signals triggers, in the order written (read-only: a
 * one-signal broadcast gets the index's own list).
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function triggeredNodes(workflow: Workflow, signals: readonly string[]): readonly TriggeredNode[] {
  // Indexed so that a broadcast costs the same whatever the workflow's size.
  const { entries, bySignal, nodesBySignal } = indexWorkflow(workflow);
  if (signals.length === 1) return nodesBySignal.get(signals[0]!) ?? NO_NODES;
  const hit = new Set<number>();
  for (const s of signals) for (const i of bySignal.get(s) ?? []) hit.add(i);
  return hit.size ? [...hit].sort((a, b) => a - b).map((i) => entries[i]!) : NO_NODES;
}

/** What a broadcast needs of its execution. */
interface LoadedExecution {
  context: StoredContext;
  workflowName: string;
  workflow: Workflow;
}

/** Checks an execution's stored state: throws for an unknown execution or a missing workflow. */
function loadedExecution(
  executionId: string,
  context: StoredContext | undefined,
  registry: WorkflowsRegistry | null | undefined,
  workflowName: string | null | undefined,
): LoadedExecution {
  if (!context?.__operational__) {
    throw new OperationalValidationError(`execution '${executionId}' not found: it has no stored context with __operational__`);
  }
  const workflow = workflowName ? registry?.[workflowName] : undefined;
  if (!registry || !workflowName || !workflow) {
    throw new OperationalValidationError(`execution '${executionId}' has no workflow '${workflowName ?? ''}' in its stored registry`);
  }
  return { context, workflowName, workflow };
}

/**
 * Loads what a broadcast needs: the execution's context and current workflow. Throws for an unknown execution.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export async function loadExecution(backends: Backends, executionId: string): Promise<LoadedExecution> {
  const context = await readContext(backends, executionId);
  if (!context?.__operational__) return loadedExecution(executionId, context, null, null);
  // Both requests are sent before either is awaited (a remote backend answers them in parallel); no
  // Promise.all, whose array and per-promise closures cost more than an in-memory read.
  const registryRead = backends.workflow.getWorkflowsRegistry(executionId);
  const nameRead = backends.workflow.getCurrentWorkflowName(executionId);
  // Read together, so a failure of the second is not left unhandled while the first is awaited.
  nameRead.catch(() => undefined);
  const registry = await registryRead;
  return loadedExecution(executionId, context, registry, await nameRead);
}

/** A failed outcome: nothing but the error and its count (the node did not run, or is abandoned). */
function failedOutcome(nodeName: string, error: Error, countRun = true): NodeOutcome {
  const outcome = startOutcome(nodeName);
  if (!countRun) outcome.update = {};
  outcome.update.counters = { errors: 1 };
  outcome.error = error;
  return outcome;
}

/**
 * The outcome of a node abandoned because its time was up: like any failure of its type, it takes its
 * failure signal if it has one (`llm_failure_signal`, the tool's `failureSignal`, which also writes the
 * error to `output_field`), and fails the execution otherwise.
 */
function timedOutOutcome(engine: Engine, run: NodeRun, error: Error): NodeOutcome {
  const node = run.node;
  let failureSignal: string | undefined;
  const outcome = startOutcome(run.nodeName);
  if (node.node_type === 'tool') {
    failureSignal = engine.resolveTool(String(node.tool_name))?.failureSignal;
    if (typeof node.output_field === 'string') appendField(outcome, node.output_field, error.message);
    // As executeTool does: a tool failure counts, routed or not.
    outcome.update.counters = { errors: 1 };
  } else if (typeof node.llm_failure_signal === 'string') failureSignal = node.llm_failure_signal;
  if (failureSignal) {
    outcome.emit = [failureSignal];
    return outcome;
  }
  outcome.update.counters = { errors: 1 };
  outcome.error = error;
  return outcome;
}

/**
 * A run as the engine makes it for a triggered node. Its key is written out when read (only a child
 * node and the AWS runtime read it), and its clock is set when it starts: one record per node run.
 */
class EngineRun implements NodeRun {
  clock: NodeClock | undefined = undefined;
  #runKey: string | undefined = undefined;
  constructor(
    readonly executionId: string,
    readonly workflowName: string,
    readonly nodeName: string,
    readonly node: NodeConfig,
    readonly context: StoredContext,
    readonly signals: string[],
    readonly memo: NodeMemo,
    /** The key's prefix: the broadcast's id where the runtime gives one, else the engine's base… */
    private readonly keyPrefix: string,
    /** …and then the run's number in the engine (0 with a broadcast id). */
    private readonly keyNumber: number,
  ) {}
  /** Deterministic for a broadcast id (`id#node`); else unique to the engine's run (`base:n#node`). */
  get runKey(): string {
    this.#runKey ??= this.keyNumber ? `${this.keyPrefix}:${this.keyNumber}#${this.nodeName}` : `${this.keyPrefix}#${this.nodeName}`;
    return this.#runKey;
  }
  /** The clock's signal (see NodeClock): made only if the node reads it. */
  get signal(): AbortSignal | undefined {
    return this.clock?.signal;
  }
}

/** A node run made elsewhere, under its clock: `signal` is the clock's, made only if the node reads it (see NodeClock). */
class ClockedRun implements NodeRun {
  readonly executionId: string;
  readonly workflowName: string;
  readonly nodeName: string;
  readonly node: NodeRun['node'];
  readonly context: NodeRun['context'];
  readonly signals: string[];
  readonly runKey: string;
  readonly memo: NodeMemo | undefined;
  constructor(
    run: NodeRun,
    readonly clock: NodeClock,
  ) {
    this.executionId = run.executionId;
    this.workflowName = run.workflowName;
    this.nodeName = run.nodeName;
    this.node = run.node;
    this.context = run.context;
    this.signals = run.signals;
    this.runKey = run.runKey;
    this.memo = run.memo;
  }
  get signal(): AbortSignal {
    return this.clock.signal;
  }
}

/**
 * Runs one node, turning a thrown error into a failed outcome (errors counted, the node named). The
 * node runs under its clock (timeout_seconds, the runtime's deadline) and only while the execution is
 * under its node-run limit.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export async function runNode(engine: Engine, run: NodeRun, direct?: DirectStore): Promise<NodeOutcome> {
  const contexts = engine.services.backends.context;
  const count = direct
    ? countNodeRunsNow(direct, run.executionId, run.context)
    : await countNodeRunsBefore(contexts, run.executionId, run.context);
  const refused = refusal(engine, run, count);
  if (refused) {
    // Not run, not counted as a run: the execution ends here with an error that names the limit.
    await giveBackNodeRun(contexts, count);
    return refusedOutcome(engine, run, count, refused);
  }
  return runCounted(engine, run, count);
}

/**
 * {@link runNode} on a direct store: the same steps, and no promise at all when the node's executor
 * answers at once (a router; a tool or llm node whose function or model answers synchronously) and
 * its effects need not reach further (children, fields passed up).
 */
function runNodeNow(engine: Engine, run: NodeRun, direct: DirectStore): NodeOutcome | Promise<NodeOutcome> {
  const count = countNodeRunsNow(direct, run.executionId, run.context);
  const refused = refusal(engine, run, count);
  if (refused) {
    if (count.treeOf !== undefined) direct.treeRuns(count.treeOf, -1);
    return refusedOutcome(engine, run, count, refused);
  }
  return runCounted(engine, run, count);
}

/**
 * A node run once counted: its events, its executor under its clock (a thrown error becomes a failed
 * outcome), then its effects beyond its execution. The outcome itself when the executor answers at
 * once, else a promise of it.
 */
function runCounted(engine: Engine, run: NodeRun, count: NodeRunCount): NodeOutcome | Promise<NodeOutcome> {
  const subjects = startRun(engine, run);
  const at = Date.now();
  const type = run.node.node_type;
  let ran: NodeOutcome | PromiseLike<NodeOutcome>;
  let clock: NodeClock | undefined;
  try {
    const executor = engine.immediateExecutors[type] ?? engine.executors[type];
    if (!executor) throw new Error(`no executor for node_type '${type}'`);
    clock = startNodeClock(run, engine.options.deadline?.());
    if (run instanceof EngineRun) run.clock = clock;
    ran = executor(run instanceof EngineRun ? run : new ClockedRun(run, clock), engine.services);
  } catch (e) {
    // Disposed first: a transient error is rethrown by thrownOutcome on a runtime that retries.
    clock?.dispose();
    return finishNow(engine, run, count, subjects, at, thrownOutcome(engine, run, e, clock));
  }
  if (isThenable(ran)) return finishLater(engine, run, count, subjects, at, Promise.resolve(ran), clock);
  clock.dispose();
  return finishNow(engine, run, count, subjects, at, ran);
}

/** A run's end once its outcome is known: its effects beyond its execution, then its events. */
function finishNow(
  engine: Engine,
  run: NodeRun,
  count: NodeRunCount,
  subjects: NodeSubjects,
  at: number,
  outcome: NodeOutcome,
): NodeOutcome | Promise<NodeOutcome> {
  const after = afterRun(engine, run, count, outcome);
  return after ? after.then(() => finishRun(engine, run, subjects, at, outcome)) : finishRun(engine, run, subjects, at, outcome);
}

/** The rest of {@link runCounted} for an executor that answered with a promise. */
async function finishLater(
  engine: Engine,
  run: NodeRun,
  count: NodeRunCount,
  subjects: NodeSubjects,
  at: number,
  work: Promise<NodeOutcome>,
  clock: NodeClock | undefined,
): Promise<NodeOutcome> {
  let outcome: NodeOutcome;
  try {
    // Raced against the clock's backstop, when it has one (see NodeClock.backstop).
    outcome = await (clock?.backstop ? Promise.race([work, clock.backstop]) : work);
  } catch (e) {
    outcome = thrownOutcome(engine, run, e, clock);
  } finally {
    clock?.dispose();
  }
  const after = afterRun(engine, run, count, outcome);
  if (after) await after;
  return finishRun(engine, run, subjects, at, outcome);
}

/** Why a node may not run now: over its execution's node-run limit or token budget (undefined: it may). */
function refusal(engine: Engine, run: NodeRun, count: NodeRunCount): 'limit' | 'budget' | undefined {
  const op = run.context.__operational__;
  const tokenBudget = typeof op?.max_tokens === 'number' ? op.max_tokens : undefined;
  const spent = typeof op?.tokens === 'number' ? op.tokens : 0;
  if (tokenBudget !== undefined && spent >= tokenBudget) return 'budget';
  return count.counted >= nodeRunLimit(run.context, engine.options.maxNodeRuns) ? 'limit' : undefined;
}

/** The outcome of a node refused by {@link refusal} (its run already given back), with its `node_error`. */
function refusedOutcome(engine: Engine, run: NodeRun, count: NodeRunCount, reason: 'limit' | 'budget'): NodeOutcome {
  const op = run.context.__operational__;
  const error =
    reason === 'budget'
      ? new TokenBudgetError(run.executionId, run.nodeName, op?.max_tokens as number, typeof op?.tokens === 'number' ? op.tokens : 0)
      : new NodeRunLimitError(
          run.executionId,
          run.nodeName,
          nodeRunLimit(run.context, engine.options.maxNodeRuns),
          count.treeOf !== undefined ? { mainExecutionId: count.treeOf, counted: count.counted } : undefined,
        );
  const outcome = failedOutcome(run.nodeName, error, false);
  recordNodeEvent(engine, run, 'node_error', subjectsOf(run).completed, -1, { error: error.message, error_type: error.name });
  return outcome;
}

/** A node run's start: its `node_execution` event; returns its subjects. */
function startRun(engine: Engine, run: NodeRun): NodeSubjects {
  const subjects = subjectsOf(run);
  recordNodeEvent(engine, run, 'node_execution', subjects.started, -1, { triggered_by: run.signals });
  return subjects;
}

/** The outcome of an executor that threw: a timeout takes its node's failure route; a transient error is rethrown if the runtime retries. */
function thrownOutcome(engine: Engine, run: NodeRun, e: unknown, clock: NodeClock | undefined): NodeOutcome {
  if (engine.services.propagateTransient && errorKind(e) === 'transient') throw e;
  const error = e instanceof Error ? e : new Error(String(e));
  return clock?.reason !== undefined && e === clock.reason ? timedOutOutcome(engine, run, error) : failedOutcome(run.nodeName, error);
}

/**
 * What a run's outcome sets off beyond its own execution: a main execution's first children open its
 * tree counter; a child's signals and fields go to its parents. Undefined when nothing is to be awaited.
 */
function afterRun(engine: Engine, run: NodeRun, count: NodeRunCount, outcome: NodeOutcome): Promise<void> | undefined {
  const link = run.context.__parent__;
  // A child never opens a counter (its tree's is open), so at most one of the two applies.
  if (outcome.spawns.length > 0 && count.treeOf === undefined && !link) {
    // A main execution starts its first children: from now on its runs are counted with theirs.
    const contexts = engine.services.backends.context;
    return openTreeCounter(contexts, mainExecutionOf(run.executionId, run.context), countedNodeRuns(run.context) + 1);
  }
  return link ? propagateToParents(engine, link, outcome) : undefined;
}

/** A node run's end: its `node_completed` (and `node_error`) events; a failure gets the workflow and node named. */
function finishRun(engine: Engine, run: NodeRun, subject: NodeSubjects, at: number, outcome: NodeOutcome): NodeOutcome {
  const emissions = subject.emissions ?? emissionsOf(run.node);
  // Fields set in this order on one record, rather than spread from records made for them.
  const data: Record<string, unknown> = {
    emitted: outcome.emit,
    ok: !outcome.error,
    llm_calls: outcome.update.counters?.llm_calls ?? 0,
    tool_calls: outcome.update.counters?.tool_calls ?? 0,
    selected_by: selectedBy(outcome, subject.selection ?? configSelection(run.node, emissions)),
  };
  // Each emission of the config, with its condition and whether it fired.
  if (emissions.length) data.emissions = new NodeEmissions(emissions, outcome.emit);
  if (outcome.update.fields) data.outputs = outcome.update.fields;
  recordNodeEvent(engine, run, 'node_completed', subject.completed, Date.now() - at, data);
  if (outcome.handledError) {
    recordNodeEvent(engine, run, 'node_error', subject.completed, -1, {
      error: outcome.handledError.message,
      error_type: outcome.handledError.name,
      handled_by: outcome.emit,
      ...causeOf(outcome.handledError),
    });
  }
  if (outcome.error) {
    const err = outcome.error;
    recordNodeEvent(engine, run, 'node_error', subject.completed, -1, { error: err.message, error_type: err.name, ...causeOf(err) });
    // An error that already says where it happened keeps its words; any other gets the workflow and node.
    if (!namesItsLocation(err)) {
      outcome.error = new NodeExecutionError(
        run.nodeName,
        `workflow '${run.workflowName}', node '${run.nodeName}' failed: ${err.message}`,
        run.workflowName,
        { cause: err },
      );
    }
  }
  return outcome;
}

/** An error's cause chain (`Name: message` each), for the `cause` field of a `node_error` event. */
function causeOf(err: Error): { cause?: string[] } {
  const chain: string[] = [];
  for (let c: unknown = err.cause; c !== undefined && chain.length < 5; c = c instanceof Error ? c.cause : undefined) {
    chain.push(c instanceof Error ? `${c.name}: ${c.message}` : String(c));
  }
  return chain.length ? { cause: chain } : {};
}

/**
 * How a node's signals were chosen, for `node_completed`: `conditions` evaluated by the engine,
 * `model` selection, its `failure` signal, or `none`. `selection` is the config's (see {@link configSelection}).
 */
function selectedBy(outcome: NodeOutcome, selection: string): string {
  if (outcome.handledError || (outcome.error && !outcome.emit.length)) return outcome.handledError ? 'failure' : 'none';
  return selection;
}

/** How a run of this node config that ends well chooses its signals: `model`, `conditions` or `none`. */
function configSelection(node: NodeConfig, emissions: EventEmission[]): string {
  const type = node.node_type;
  if (type === 'llm' || type === 'agent') return selectionMode(emissions) === 'model' ? 'model' : emissions.length ? 'conditions' : 'none';
  return emissions.length ? 'conditions' : 'none';
}

/**
 * A child's effects that reach its ancestors: emitted signals listed in `signals_to_parent` go to the
 * parent; fields listed in `context_updates_to_parent` are appended to the parent, and on up through
 * every ancestor that lists them too.
 */
function propagateToParents(engine: Engine, link: ParentLink, outcome: NodeOutcome): Promise<void> | undefined {
  // A loop, not `filter`: the emitted list is often a node's shared frozen one, which `filter` takes slowly.
  const emit = outcome.emit;
  let up: string[] | undefined;
  for (let i = 0; i < emit.length; i++) {
    const signal = emit[i]!;
    if (link.signals_to_parent.includes(signal)) up === undefined ? (up = [signal]) : up.push(signal);
  }
  if (up) addTo(outcome, 'outbox', { executionId: link.parent_execution_id, signals: up });
  const fields = pick(outcome.update.fields, link.context_updates_to_parent);
  // Only fields going up need the ancestors' links read: most child runs finish here, without a promise.
  return fields ? propagateFields(engine, link, fields, outcome) : undefined;
}

/** Appends the fields a child passes up to its parent, and on up through each ancestor that passes them too. */
async function propagateFields(engine: Engine, link: ParentLink, up: Record<string, unknown[]>, outcome: NodeOutcome): Promise<void> {
  let fields: Record<string, unknown[]> | undefined = up;
  let target: string | undefined = link.parent_execution_id;
  for (let hops = 0; fields && target && hops < 100; hops++) {
    addTo(outcome, 'foreignUpdates', { executionId: target, update: { fields } });
    const next: StoredContext['__parent__'] = (await readContext(engine.backends, target)).__parent__;
    fields = next ? pick(fields, next.context_updates_to_parent) : undefined;
    target = next?.parent_execution_id;
  }
}

function pick(fields: Record<string, unknown[]> | undefined, names: string[]): Record<string, unknown[]> | undefined {
  if (!fields || !names.length) return undefined;
  const out: Record<string, unknown[]> = {};
  for (const n of names) if (fields[n]) out[n] = fields[n];
  return Object.keys(out).length ? out : undefined;
}

/** A broadcast once started: its signals recorded, the nodes it triggers known, the next one to run. */
interface StartedBroadcast {
  workflowName: string;
  nodes: readonly TriggeredNode[];
  next: number;
}

/** Starts a broadcast: loads the execution, records the signals (unless the runtime does) and logs it. */
async function beginBroadcast(engine: Engine, executionId: string, signals: string[], recordSignals: boolean): Promise<StartedBroadcast> {
  const { backends } = engine;
  const loaded = await loadExecution(backends, executionId);
  if (recordSignals) await backends.context.updateContext(executionId, { signals });
  return startedBroadcast(engine, executionId, signals, loaded);
}

/** {@link beginBroadcast} on a direct store: the same reads, checks and writes, without promises. */
function beginBroadcastNow(
  engine: Engine,
  direct: DirectStore,
  executionId: string,
  signals: string[],
  from: NodeMemo | undefined,
): StartedBroadcast {
  const loaded = loadedExecution(executionId, direct.read(executionId), direct.registry(executionId), direct.workflowName(executionId));
  direct.update(executionId, { signals }, loaded.context);
  return startedBroadcast(engine, executionId, signals, loaded, from);
}

/** Logs a broadcast and finds the nodes it triggers (both start paths end here). */
function startedBroadcast(
  engine: Engine,
  executionId: string,
  signals: string[],
  loaded: LoadedExecution,
  from?: NodeMemo,
): StartedBroadcast {
  const telemetry = engine.backends.telemetry;
  // Recorded straight through the backend where it can (no step I/O to capture, no copy of a fresh object).
  if (typeof telemetry?.record === 'function') {
    try {
      telemetry.record(executionId, 'signals_broadcast', Date.now(), undefined, -1, { signals });
    } catch {
      // Telemetry never fails a broadcast.
    }
  } else engine.services.telemetry(executionId, 'signals_broadcast', { signals });
  return { workflowName: loaded.workflowName, nodes: triggeredAfter(loaded.workflow, signals, from), next: 0 };
}

/**
 * {@link triggeredNodes}, for the signals a node emitted: a node that emits the same frozen list at
 * every run (its emissions have no conditions: see NodeMemo.unconditional) keeps the nodes they
 * trigger on its memo, so its runs do not look them up by signal name again.
 */
function triggeredAfter(workflow: Workflow, signals: readonly string[], from: NodeMemo | undefined): readonly TriggeredNode[] {
  if (!(from instanceof IndexedNode)) return triggeredNodes(workflow, signals);
  if (from.nextSignals === signals && from.nextIn === workflow) return from.nextNodes!;
  const nodes = triggeredNodes(workflow, signals);
  // A list made for one run is not kept: the next run's is another list.
  if (Object.isFrozen(signals)) {
    from.nextSignals = signals;
    from.nextIn = workflow;
    from.nextNodes = nodes;
  }
  return nodes;
}

/**
 * The run of a broadcast's next triggered node, against the freshest context: undefined when the
 * execution was cancelled (no further node runs), else the run, ready for the sink's skip check.
 */
async function nextRun(
  engine: Engine,
  executionId: string,
  signals: string[],
  started: StartedBroadcast,
  runKeyPrefix: string | undefined,
): Promise<NodeRun | undefined> {
  return runOf(engine, executionId, signals, started, runKeyPrefix, await readContext(engine.backends, executionId));
}

/** The run of a broadcast's next triggered node against `context`; undefined when the execution was cancelled. */
function runOf(
  engine: Engine,
  executionId: string,
  signals: string[],
  started: StartedBroadcast,
  runKeyPrefix: string | undefined,
  context: StoredContext,
): NodeRun | undefined {
  const { name, config, memo } = started.nodes[started.next++]!;
  // Cancelled (in process or on a file runtime; see execution-control.ts): no further node runs.
  if (context.__operational__?.cancelled) return undefined;
  return runKeyPrefix === undefined
    ? new EngineRun(executionId, started.workflowName, name, config, context, signals, memo, engine.runKeyBase, engine.nextRunNumber())
    : new EngineRun(executionId, started.workflowName, name, config, context, signals, memo, runKeyPrefix, 0);
}

/**
 * Handles one broadcast: records the signals (unless the sink records them itself), runs each
 * triggered node in order against the freshest context and hands each outcome to the sink.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export async function processBroadcast(
  engine: Engine,
  executionId: string,
  signals: string[],
  sink: BroadcastSink,
  opts: { recordSignals: boolean; runKeyPrefix?: string } = { recordSignals: true },
): Promise<void> {
  const started = await beginBroadcast(engine, executionId, signals, opts.recordSignals);
  while (started.next < started.nodes.length) {
    const run = await nextRun(engine, executionId, signals, started, opts.runKeyPrefix);
    if (!run) return;
    if (sink.skip && (await sink.skip(executionId, run))) continue;
    const outcome = await runNode(engine, run);
    await sink.commit(executionId, run, outcome);
  }
}

/**
 * {@link applyInProcess} on a direct store that can create executions (or for a run that started no
 * children). A failed run throws.
 */
function applyNow(direct: DirectStore, executionId: string, outcome: NodeOutcome): void {
  direct.update(executionId, outcome.update);
  // Indexed: the lists are mostly the shared frozen empty one, which `for…of` iterates the slow way.
  const { foreignUpdates, spawns } = outcome;
  for (let i = 0; i < foreignUpdates.length; i++) direct.update(foreignUpdates[i]!.executionId, foreignUpdates[i]!.update);
  for (let i = 0; i < spawns.length; i++) createChildNow(direct, spawns[i]!);
  if (outcome.error) throw outcome.error;
}

/** Applies a node run's effects in process: its updates, its ancestors' updates, its children. A failed run rejects. */
async function applyInProcess(engine: Engine, executionId: string, outcome: NodeOutcome): Promise<void> {
  const { backends } = engine;
  await backends.context.updateContext(executionId, outcome.update);
  for (const f of outcome.foreignUpdates) await backends.context.updateContext(f.executionId, f.update);
  for (const child of outcome.spawns) await createChildExecution(backends, child);
  if (outcome.error) throw outcome.error;
}

/** A broadcast a node run sends, with how long to wait before it starts. */
interface Send {
  executionId: string;
  signals: string[];
  delayMs: number;
}

/**
 * What a committed node run sends, in order: its own signals, then those to its parents, then its
 * children's initial signals. spawn_interval delays are offsets from the first spawn, so each child
 * waits only the difference from the one before.
 */
function sendsOf(executionId: string, outcome: NodeOutcome): Send[] {
  const out: Send[] = [];
  if (outcome.emit.length) out.push({ executionId, signals: outcome.emit, delayMs: 0 });
  for (const b of outcome.outbox) out.push({ executionId: b.executionId, signals: b.signals, delayMs: 0 });
  let waited = 0;
  for (const child of outcome.spawns) {
    const delay = child.delaySeconds ?? 0;
    out.push({ executionId: child.executionId, signals: child.signals, delayMs: delay > waited ? (delay - waited) * 1000 : 0 });
    waited = Math.max(waited, delay);
  }
  return out;
}

/**
 * The in-process sink: applies updates, creates children, then sends what the node emits through the
 * caller. With the in-process caller that runs depth-first, as the upstream engine does: everything a
 * node's signals cause happens before the next triggered node runs. A failed node rejects.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function inProcessSink(engine: Engine, caller: BroadcastSignalsCaller): BroadcastSink {
  return {
    async commit(executionId, _run, outcome) {
      await applyInProcess(engine, executionId, outcome);
      for (const send of sendsOf(executionId, outcome)) {
        if (send.delayMs) await sleep(send.delayMs);
        await caller(send.executionId, send.signals);
      }
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stores a child execution: its registry (copied from the parent), workflow name and context.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export async function createChildExecution(backends: Backends, child: SpawnedExecution): Promise<void> {
  const registry = await backends.workflow.getWorkflowsRegistry(child.sourceExecutionId);
  await backends.workflow.saveWorkflowsRegistry(child.executionId, registry ?? {});
  await backends.workflow.saveCurrentWorkflowName(child.executionId, child.workflowName);
  await backends.context.createContext(child.executionId, childInit(child));
}

/** {@link createChildExecution} on a direct store that can create executions: the same writes, without promises. */
function createChildNow(direct: DirectStore, child: SpawnedExecution): void {
  direct.create!(child.executionId, direct.registry(child.sourceExecutionId) ?? {}, child.workflowName, childInit(child));
}

/** The context of a new child execution. */
function childInit(child: SpawnedExecution): ContextInit {
  return {
    fields: child.fields,
    mainExecutionId: child.mainExecutionId,
    parent: child.parent,
    ...(child.limits ? { limits: child.limits } : {}),
  };
}

/** Creates an engine and its in-process caller. */
export function createEngine(
  backends: Backends,
  opts: EngineOptions = {},
): { engine: Engine; nodes: Nodes; broadcastSignalsCaller: BroadcastSignalsCaller } {
  const engine = new Engine(backends, opts);
  const nodes = { ...engine.executors, engine } as unknown as Nodes;
  Object.defineProperty(nodes, 'engine', { value: engine, enumerable: false });
  const broadcastSignalsCaller: BroadcastSignalsCaller = (executionId, signals) => drainBroadcast(engine, executionId, signals);
  return { engine, nodes, broadcastSignalsCaller };
}

/**
 * A broadcast on the in-process drain's stack: not started yet, or started with nodes left to run. The
 * sends of a node run are pushed as they are: their signal lists are the engine's own and never change.
 */
/** A broadcast on the drain's stack; `started` once its signals are recorded and its nodes found. */
class PendingBroadcast implements Send {
  started: StartedBroadcast | undefined = undefined;
  constructor(
    readonly executionId: string,
    readonly signals: string[],
    readonly delayMs: number,
    /** The node whose own signals these are, when they are (see {@link triggeredAfter}). */
    readonly from: NodeMemo | undefined = undefined,
  ) {}
}

/**
 * Runs a broadcast and, depth-first, everything it leads to, in process: everything a node's signals
 * cause happens before the next node of the same broadcast runs, as the upstream engine's recursion
 * does. An explicit stack instead of recursion, so a finished broadcast is dropped at once rather than
 * kept alive (with its context reads and outcomes) until every broadcast it led to has finished.
 */
export async function drainBroadcast(engine: Engine, executionId: string, signals: string[]): Promise<void> {
  const stack: PendingBroadcast[] = [new PendingBroadcast(executionId, [...signals], 0)];
  const direct = directStore(engine.backends);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (!top.started) {
      if (top.delayMs) await sleep(top.delayMs);
      top.started = direct
        ? beginBroadcastNow(engine, direct, top.executionId, top.signals, top.from)
        : await beginBroadcast(engine, top.executionId, top.signals, true);
    }
    if (top.started.next >= top.started.nodes.length) {
      stack.pop();
      continue;
    }
    const run = direct
      ? runOf(engine, top.executionId, top.signals, top.started, undefined, direct.read(top.executionId) ?? {})
      : await nextRun(engine, top.executionId, top.signals, top.started, undefined);
    if (!run) {
      stack.pop();
      continue;
    }
    const ran = direct ? runNodeNow(engine, run, direct) : runNode(engine, run);
    const outcome = ran instanceof Promise ? await ran : ran;
    if (direct && (direct.create || !outcome.spawns.length)) applyNow(direct, top.executionId, outcome);
    else await applyInProcess(engine, top.executionId, outcome);
    if (outcome.outbox.length === 0 && outcome.spawns.length === 0) {
      // The usual run: its own signals only, with no list of sends made for them.
      if (outcome.emit.length) stack.push(new PendingBroadcast(top.executionId, outcome.emit, 0, run.memo));
      continue;
    }
    // Pushed last first, so the node's own signals run first, then the parents', then the children's.
    const sends = sendsOf(top.executionId, outcome);
    for (let i = sends.length - 1; i >= 0; i--)
      stack.push(new PendingBroadcast(sends[i]!.executionId, sends[i]!.signals, sends[i]!.delayMs));
  }
}
