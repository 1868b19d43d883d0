/** What a node executor gets (the run, the services) and returns (its outcome). */
import type { TemplateSite } from '../templates/index.js';
import type {
  Backends,
  CallLlm,
  ContextUpdate,
  EventEmission,
  ExecutionLimits,
  NodeConfig,
  StoredContext,
  TelemetryNode,
  ToolEntry,
} from '../types.js';

/** A tool as the engine holds it: the registry entry with its defaults filled in. */
export interface ResolvedTool extends ToolEntry {
  name: string;
  maxRetries: number;
  processAccumulated: boolean;
  builtin: boolean;
}

/** Signals for one execution, sent after the node run commits. */
export interface Broadcast {
  executionId: string;
  signals: string[];
  /** Delivery delay (a fan-out's spawn_interval). */
  delaySeconds?: number;
}

/** A new execution a node run creates (a child workflow). Created when the run commits. */
export interface SpawnedExecution {
  executionId: string;
  workflowName: string;
  /** Copied from the parent's registry at creation. */
  sourceExecutionId: string;
  fields: Record<string, unknown[]>;
  mainExecutionId: string;
  parent: NonNullable<StoredContext['__parent__']>;
  signals: string[];
  delaySeconds?: number;
  /** The parent's node-run limit and the runs made before the child (they count against its limit). */
  limits?: ExecutionLimits;
}

/**
 * Everything a node run changes, returned rather than applied, so a runtime can commit it atomically
 * under the run's key (and, on AWS, record the broadcasts in an outbox before sending them).
 */
export interface NodeOutcome {
  /** Changes to the node's own execution (its run count included). */
  update: ContextUpdate;
  /** Signals the node emits to its own execution. */
  emit: string[];
  /** Changes to other executions (a child's updates to its parent and grandparents). */
  foreignUpdates: Array<{ executionId: string; update: ContextUpdate }>;
  /** Signals to other executions (to the parent). */
  outbox: Broadcast[];
  /** Child executions to create and start. */
  spawns: SpawnedExecution[];
  /** Signals a built-in tool asked to emit (added to `emit` when the node succeeds). */
  extraEmit: string[];
  /** Set when the node failed without a failure signal: the runtime commits the rest, then fails. */
  error?: Error;
  /** The error a failure signal handled: the run goes on, and the error is recorded (telemetry `node_error`). */
  handledError?: Error;
}

/** The running clock of one node run. */
export interface NodeClock {
  /**
   * Aborted with a NodeTimeoutError or DeadlineExceededError when the node's time is up. Made when first
   * read (a tool that takes it, a model call): an AbortSignal and its listeners cost more than many a
   * node run, and most nodes never look at theirs.
   */
  readonly signal: AbortSignal;
  /** The error the time ran out with; undefined while there is time left. */
  readonly reason: Error | undefined;
  /** Rejects with {@link reason} as soon as the time is up; never resolves. Undefined without a time limit. */
  expired: Promise<never> | undefined;
  /**
   * Rejects with the signal's reason `NODE_ABORT_GRACE_MS` after it fires; never resolves.
   * Undefined when the node has no time limit: there is nothing to race.
   */
  backstop: Promise<never> | undefined;
  /** Stops the timers. */
  dispose(): void;
}

/** What a node executor gets. */
export interface NodeRun {
  executionId: string;
  workflowName: string;
  nodeName: string;
  node: NodeConfig;
  /** The context as it was when the run started (read-only). */
  context: StoredContext;
  /** The signals of the broadcast that triggered the run. */
  signals: string[];
  /** Deterministic key of this run (broadcast id + node name on AWS). */
  runKey: string;
  /** Aborted when the node's time is up (`timeout_seconds` or the runtime's deadline); set by runNode. */
  signal?: AbortSignal;
  /** The run's clock (its signal, made on first read, and a promise that rejects when time is up); set by runNode. */
  clock?: NodeClock;
  /** What the runs of this node keep between them; set by the engine (see {@link NodeMemo}). */
  memo?: NodeMemo;
}

/**
 * What the runs of one node of a workflow keep between them, filled on first use and held by the
 * workflow's trigger index. A run finds it on its own record: a lookup by node config would search a
 * table per kind of record, and with many distinct node configs each search reads memory that is no
 * longer in the CPU's caches. Each holder checks that what it finds is still for this node.
 */
export interface NodeMemo {
  /** The workflow and node names the subjects below were made for. */
  workflowName: string | undefined;
  nodeName: string | undefined;
  /** The engine's telemetry subjects for the node: of its `node_execution`, and of its `node_completed` and `node_error`. */
  started: TelemetryNode | undefined;
  completed: TelemetryNode | undefined;
  /** A frozen config's emissions and how a run that ends well chose among them (see the engine's `finishRun`). */
  emissions: EventEmission[] | undefined;
  selection: string | undefined;
  /** With `emissions`: their signals when none has a condition (one frozen list), else undefined. */
  unconditional: readonly string[] | undefined;
  /** An llm node's compiled prompt, the fields it reads and its answer contract. */
  llm: unknown;
}

/** Services available to node executors. */
export interface NodeServices {
  backends: Backends;
  callLlm?: CallLlm;
  resolveTool(name: string): ResolvedTool | undefined;
  /** Every tool name a node can use (user and built-in). */
  toolNames(): string[];
  /** A new execution id (deterministic from the seed on AWS, so redelivery creates the same child). */
  newExecutionId(seed: string): string;
  /** When true, retryable errors (throttling, timeouts) propagate instead of being handled as node failures. */
  propagateTransient: boolean;
  /**
   * Logs a telemetry event. `handedOver`: the caller never changes `data` afterwards (an event built
   * for this call), so a backend may keep it as it is rather than a copy.
   */
  telemetry(executionId: string, eventType: string, data?: Record<string, unknown>, handedOver?: boolean): Promise<void>;
}

/**
 * What a tool gets as its second argument: who is calling, and ways to change state that go through
 * the node's outcome (so they commit atomically with the node run). Built-in tools use it; user tools
 * may ignore it.
 */
export interface ToolContext {
  executionId: string;
  mainExecutionId: string;
  workflowName: string;
  nodeName: string;
  /** The context when the node started (read-only). */
  context: StoredContext;
  backends: Backends;
  services: NodeServices;
  /** Adds changes to the calling execution to the node's outcome. */
  update(update: ContextUpdate): void;
  /** Adds changes to another execution to the node's outcome. */
  updateOther(executionId: string, update: ContextUpdate): void;
  /** Adds signals for the calling execution to what the node emits. */
  emit(signals: string[]): void;
  /** Aborted when the node's time is up. */
  signal: AbortSignal;
}

/** Runs one node type. */
export type NodeExecutor = (run: NodeRun, services: NodeServices) => Promise<NodeOutcome>;

/** Where a template field of the node being run sits, so a run-time template error names it. */
export function siteOf(run: NodeRun, field: string): TemplateSite {
  return { workflow: run.workflowName, node: run.nodeName, field };
}

/** An empty outcome with the node's run counted. */
export function startOutcome(nodeName: string): NodeOutcome {
  // A record without a prototype is a hash table from the start. On a plain `{}`, each node name is a
  // hidden class, found on every run among the transitions of `{}`'s own: a process that has run a few
  // thousand distinct node names fills that table, and from then on every run makes a class of its own.
  const nodes = Object.create(null) as Record<string, number>;
  nodes[nodeName] = 1;
  // The lists start as one shared empty list (most runs add to none of them): see addTo.
  return { update: { nodes }, emit: NONE, extraEmit: NONE, foreignUpdates: NONE, outbox: NONE, spawns: NONE };
}

/** The empty list an outcome starts with; frozen, so a run that forgets {@link addTo} fails loudly. */
const NONE: never[] = Object.freeze([]) as unknown as never[];

/** Appends to one of an outcome's lists, giving it a list of its own first. */
export function addTo<K extends 'extraEmit' | 'foreignUpdates' | 'outbox' | 'spawns'>(
  outcome: NodeOutcome,
  list: K,
  ...items: NodeOutcome[K]
): void {
  let own = outcome[list];
  if (own === NONE) outcome[list] = own = [] as unknown as NodeOutcome[K];
  (own as unknown[]).push(...items);
}

/** True for a promise or any other thenable: what a tool, a model or an executor may answer with instead of a value. */
export const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';

/** Appends a value to a field in an outcome's update. */
export function appendField(outcome: NodeOutcome, field: string, value: unknown): void {
  const fields = (outcome.update.fields ??= {});
  // A literal rather than [] and push: the first push reserves 17 slots, and telemetry keeps this array.
  if (Object.hasOwn(fields, field)) fields[field]!.push(value);
  else fields[field] = [value];
}

/** Adds to a counter in an outcome's update. */
export function addCounter(outcome: NodeOutcome, counter: 'llm_calls' | 'tool_calls' | 'errors' | 'tokens', n = 1): void {
  const counters = (outcome.update.counters ??= {});
  counters[counter] = (counters[counter] ?? 0) + n;
}
