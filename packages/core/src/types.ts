/**
 * Public types of the engine: the config shapes a workflow author writes, the stored context,
 * the backend interfaces and the user-supplied functions (tools, model).
 */

/** The JSON Schema of a tool's argument object, or of a model answer. */
export type JSONSchema = Record<string, unknown>;

/** One entry of `event_emissions`. */
export interface EventEmission {
  signal_name: string;
  /** `{{ … }}` is evaluated by the engine; plain text is a description the model chooses by. */
  condition?: string;
}

/** The node types of the SOE format. */
export const NODE_TYPES = ['router', 'tool', 'llm', 'agent', 'child'] as const;
/** One of {@link NODE_TYPES}. */
export type NodeType = (typeof NODE_TYPES)[number];

/** A node as written in YAML (snake_case keys are the format's own). */
export interface NodeConfig {
  node_type: NodeType;
  event_triggers: string[];
  event_emissions?: EventEmission[];
  [key: string]: unknown;
}

/** A workflow: node name → node config, in the order written. */
export type Workflow = Record<string, NodeConfig>;
/** Every workflow of a config, by name. */
export type WorkflowsRegistry = Record<string, Workflow>;
/** `context_schema`: field name → type description. */
export type ContextSchema = Record<string, Record<string, unknown>>;
/** `identities`: identity name → system prompt. */
export type Identities = Record<string, string>;

/** The config's `limits:` section: bounds on a run. */
export interface ConfigLimits {
  /**
   * Node runs an execution tree (the main execution and all its descendants) may make; on a backend
   * without a tree counter, an execution and its ancestors up to its start. @default 10000
   */
  max_node_runs?: number;
  /**
   * Model tokens (input + output, as providers report them) the execution may spend. Checked before
   * every node run: once reached, the execution ends FAILED naming the limit. @default no limit
   */
  max_tokens?: number;
}

/** A config after parsing and validation. */
export interface ParsedConfig {
  workflows: WorkflowsRegistry;
  contextSchema?: ContextSchema;
  identities?: Identities;
  limits?: ConfigLimits;
  /** What was accepted but is worth reporting (unknown keys that are no near miss), with where it is. */
  warnings?: import('./errors.js').ValidationIssue[];
}

/** `__operational__` of a stored context. */
export interface OperationalState {
  signals: string[];
  nodes: Record<string, number>;
  llm_calls: number;
  tool_calls: number;
  errors: number;
  main_execution_id: string;
  /** The execution's limit on node runs, when it is not the engine's default. */
  max_node_runs?: number;
  /**
   * Node runs of the ancestors when this child started: they count against the limit. Set only where
   * the backend has no tree counter (`ContextBackend.addTreeNodeRuns`), which counts them otherwise.
   */
  ancestor_node_runs?: number;
  [key: string]: unknown;
}

/** `__parent__` of a child execution. */
export interface ParentLink {
  parent_execution_id: string;
  main_execution_id: string;
  signals_to_parent: string[];
  context_updates_to_parent: string[];
}

/** The stored context: every field is its history (newest last), plus the operational record. */
export interface StoredContext {
  __operational__?: OperationalState;
  __parent__?: ParentLink;
  [field: string]: unknown;
}

/** Counters of `__operational__` that updates add to. */
/** `cancelled` is set (to 1) by a cancel of the in-process and file runtimes: see execution-control.ts. */
export type OperationalCounter = 'llm_calls' | 'tool_calls' | 'errors' | 'tokens' | 'cancelled';

/**
 * What a node run (or a broadcast) changes in one execution's context, expressed as commutative
 * operations: appends to field histories, additions to counters, appended signals. Backends apply
 * an update atomically; two updates applied in either order give the same counters and the same
 * set of history entries, so concurrent workers lose nothing.
 */
export interface ContextUpdate {
  /** Values appended to each field's history, in order. */
  fields?: Record<string, unknown[]>;
  /** Signals appended to `__operational__.signals`. */
  signals?: string[];
  /**
   * Added to `__operational__.nodes[name]`. The engine's updates make it a record without a
   * prototype: read it with `Object.entries` or `Object.hasOwn`, not its own `hasOwnProperty`.
   */
  nodes?: Record<string, number>;
  /** Added to the counters of `__operational__`. */
  counters?: Partial<Record<OperationalCounter, number>>;
}

/** What a new execution's context starts with. */
export interface ContextInit {
  /** Field histories. */
  fields: Record<string, unknown[]>;
  mainExecutionId: string;
  parent?: ParentLink;
  /** Signals already recorded (normally none). */
  signals?: string[];
  /** Limits kept in `__operational__` (a child inherits its parent's and counts its ancestors' runs). */
  limits?: ExecutionLimits;
  /**
   * The caller gives `fields` away: the record and its lists were built for this context alone and
   * are never touched again, so a backend may keep them instead of copying. Set by `storeExecution`.
   */
  handOver?: boolean;
}

/** Limits stored with an execution. */
export interface ExecutionLimits {
  /** See {@link ConfigLimits.max_node_runs}. */
  maxNodeRuns?: number;
  /** Node runs of the ancestors when the execution started. */
  ancestorNodeRuns?: number;
  /** See {@link ConfigLimits.max_tokens}. */
  maxTokens?: number;
}

/** Stores execution contexts. */
export interface ContextBackend {
  /** Creates the context of a new execution. */
  createContext(executionId: string, init: ContextInit): Promise<void>;
  /** The stored context (a copy the caller may keep), or `{}` when the execution is unknown. */
  getContext(executionId: string): Promise<StoredContext>;
  /**
   * The stored context for reading only: the engine's hot path uses it to avoid copying.
   * Callers must not mutate the result. Falls back to {@link getContext} when absent.
   */
  readContext?(executionId: string): Promise<StoredContext>;
  /** Applies an update atomically. */
  updateContext(executionId: string, update: ContextUpdate): Promise<void>;
  /**
   * Ids of stored executions (for `soe_list_contexts`). With `mainExecutionId`, a backend may list only
   * the executions of that run (a store shared by many runs should: it need not read the others).
   */
  listContexts?(mainExecutionId?: string): Promise<string[]>;
  /** Removes everything stored for an execution (a start that failed midway is undone with it). */
  deleteContext?(executionId: string): Promise<void>;
  /**
   * Adds `n` (0 to read, negative to give back) to the node runs counted for the execution tree of
   * `mainExecutionId` and resolves to the new total. A backend that has it bounds `limits.max_node_runs`
   * per tree (the main execution and all its descendants); without it the limit applies per lineage.
   */
  addTreeNodeRuns?(mainExecutionId: string, n: number): Promise<number>;
}

/** Stores each execution's workflows and the name of the workflow it runs. */
export interface WorkflowBackend {
  saveWorkflowsRegistry(executionId: string, registry: WorkflowsRegistry): Promise<void>;
  /** The registry, or `null` when the execution has none. Callers must not mutate it. */
  getWorkflowsRegistry(executionId: string): Promise<WorkflowsRegistry | null>;
  saveCurrentWorkflowName(executionId: string, name: string): Promise<void>;
  getCurrentWorkflowName(executionId: string): Promise<string | null>;
  /** Adds or replaces one workflow without rewriting the others (concurrent injections keep each other). */
  putWorkflow(executionId: string, name: string, workflow: Workflow): Promise<void>;
  /** Adds or replaces one node of a workflow. */
  putNode(executionId: string, workflowName: string, nodeName: string, node: NodeConfig): Promise<void>;
  /** Removes a workflow; resolves to false when it did not exist. */
  deleteWorkflow(executionId: string, name: string): Promise<boolean>;
  /** Removes a node; resolves to false when it did not exist. */
  deleteNode(executionId: string, workflowName: string, nodeName: string): Promise<boolean>;
}

/** One telemetry event. `event_type` uses the SOE format's names (`node_execution`, `llm_call`, …). */
export interface TelemetryEvent {
  event_type: string;
  timestamp: string;
  [key: string]: unknown;
}

/** The node a telemetry event is about: one object per node, shared by all its events. */
export interface TelemetryNode {
  readonly node_name: string;
  readonly node_type: string;
  readonly workflow_name?: string;
}

/** Receives telemetry events. */
export interface TelemetryBackend {
  logEvent(executionId: string, eventType: string, data?: Record<string, unknown>): Promise<void>;
  /** Every event of an execution, oldest first. */
  getEvents?(executionId: string): Promise<TelemetryEvent[]>;
  /**
   * Records an event synchronously, without building the event object: the engine's hot path uses it
   * when a backend has it, and {@link logEvent} otherwise. `at` is epoch milliseconds (formatted as the
   * ISO `timestamp` when read); `node`'s fields and `data`'s (extra data a call site adds included)
   * are the event's fields; `durationMs` is a `node_completed`'s `duration_ms` (-1 for none). The
   * backend keeps `data` as given: the caller builds it for this event and does not change it. Some
   * values are lazy (a node's emissions, a prompt kept as its parts): their `toJSON` gives what users read.
   */
  record?(
    executionId: string,
    eventType: string,
    at: number,
    node: TelemetryNode | undefined,
    durationMs: number,
    data: Record<string, unknown> | undefined,
  ): void;
}

/** One message of a conversation history. */
export interface ConversationMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

/** Conversation history per identity key. */
export interface ConversationHistoryBackend {
  getConversationHistory(key: string): Promise<ConversationMessage[]>;
  appendToConversationHistory(key: string, entry: ConversationMessage): Promise<void>;
  saveConversationHistory(key: string, history: ConversationMessage[]): Promise<void>;
  deleteConversationHistory(key: string): Promise<void>;
}

/** The context schema of an execution (keyed by main execution id). */
export interface ContextSchemaBackend {
  saveContextSchema(executionId: string, schema: ContextSchema): Promise<void>;
  getContextSchema(executionId: string): Promise<ContextSchema | null>;
  /** Adds or replaces one field's type. */
  putContextSchemaField(executionId: string, field: string, definition: Record<string, unknown>): Promise<void>;
  /** Removes one field's type; false when absent. */
  deleteContextSchemaField(executionId: string, field: string): Promise<boolean>;
  deleteContextSchema(executionId: string): Promise<boolean>;
}

/** Identities (system prompts) of an execution (keyed by main execution id). */
export interface IdentityBackend {
  saveIdentities(executionId: string, identities: Identities): Promise<void>;
  getIdentities(executionId: string): Promise<Identities | null>;
  getIdentity(executionId: string, name: string): Promise<string | null>;
  /** Adds or replaces one identity. */
  putIdentity(executionId: string, name: string, systemPrompt: string): Promise<void>;
  /** Removes one identity; false when absent. */
  deleteIdentity(executionId: string, name: string): Promise<boolean>;
  deleteIdentities(executionId: string): Promise<boolean>;
}

/** The storage an engine runs on. */
export interface Backends {
  context: ContextBackend;
  workflow: WorkflowBackend;
  telemetry?: TelemetryBackend;
  conversationHistory?: ConversationHistoryBackend;
  contextSchema?: ContextSchemaBackend;
  identity?: IdentityBackend;
}

/** Sends signals to an execution: a function call in-process, an SQS message on AWS. */
export type BroadcastSignalsCaller = (executionId: string, signals: string[]) => Promise<void>;

/** Token counts a provider reports for one call. */
export interface LlmUsage {
  input_tokens?: number;
  output_tokens?: number;
}

/** A model answer with its usage, for providers that report it (plain text is fine too). */
export interface LlmAnswer {
  text: string;
  usage?: LlmUsage;
  /** The model that answered. */
  model?: string;
}

/** What a model call gets besides the prompt: `signal` is aborted when the node's time is up. */
export interface CallLlmOptions {
  signal?: AbortSignal;
}

/**
 * The model: receives the full prompt and the node's config, answers with text (or text with usage).
 * The optional third argument carries an `AbortSignal`: stop when it fires (the node timed out).
 */
export type CallLlm = (
  prompt: string,
  nodeConfig: Record<string, unknown>,
  options?: CallLlmOptions,
) => string | LlmAnswer | Promise<string | LlmAnswer>;

/**
 * What every tool gets as its second argument: who calls, and `signal`, aborted when the node's time is
 * up (`timeout_seconds`, or the worker's deadline). A tool that does slow work should pass it on
 * (`fetch(url, { signal })`); one that ignores it is abandoned when the time is up anyway.
 */
export interface ToolCallContext {
  signal: AbortSignal;
  executionId: string;
  workflowName: string;
  nodeName: string;
}

/** A tool: one argument (the parameters object, or the history list with `processAccumulated`), then a {@link ToolCallContext}. */
// biome-ignore lint/suspicious/noExplicitAny: tools are user code and accept whatever their schema says
export type ToolFn = (args: any, context?: any) => unknown;

/** A tool with options. */
export interface ToolEntry {
  fn: ToolFn;
  /** Extra attempts after a failure (default 0). */
  maxRetries?: number;
  /** Signal emitted when every attempt failed (instead of failing the execution). */
  failureSignal?: string;
  /** Pass the whole history of `context_parameter_field` instead of its newest value. */
  processAccumulated?: boolean;
  /** Shown to agents. */
  description?: string;
  /** JSON Schema of the argument object; arguments are validated against it. */
  parameters?: JSONSchema;
}

/** Tools by name. */
export type ToolsRegistry = Record<string, ToolFn | ToolEntry>;

/**
 * Variables a template renders with. `context` holds each field's newest value (plus
 * `__operational__` as stored); `history` maps each field to its full history, which
 * `context.<field> | accumulated` reads. Any other key (e.g. `result` in a tool node's conditions) is
 * visible to the template under its own name.
 */
export type TemplateVars = { context: Record<string, unknown>; history?: Record<string, unknown[]>; [k: string]: unknown };

/** A template compiled once; render it as often as needed. */
export interface CompiledTemplate {
  /** Renders the template with `vars`. Always returns a string; errors are `TemplateError`s. */
  render(vars: TemplateVars): string;
}
