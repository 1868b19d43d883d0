/** The public surface of `@soe/core`. */
export { applyUpdate, contextFromInit, isEmptyUpdate, newOperational } from './backends/apply-update.js';
export { createLocalBackends } from './backends/file.js';
export type { InMemoryBackends, SimpleBackends } from './backends/memory.js';
export { createInMemoryBackends, createStoreBackends } from './backends/memory.js';
export type { RecordStore } from './backends/store.js';
export { FileStore, MemoryStore } from './backends/store.js';
export type { BuiltinToolName } from './builtins/index.js';
export { BUILTIN_TOOL_NAMES, createBuiltinTools, exploreDocs, isBuiltinToolName } from './builtins/index.js';
export type { ParseConfigOptions } from './config.js';
export {
  checkMaxNodeRuns,
  checkNode,
  checkSchemaField,
  checkWorkflow,
  isError,
  MAX_ITERATIONS,
  MAX_NODE_RUNS_LIMIT,
  MAX_RETRIES,
  MAX_TIMEOUT_SECONDS,
  parseConfig,
  validateConfig,
} from './config.js';
export { didYouMean, isPrototypeName, nearMiss } from './config-keys.js';
export { mergeUpdates, templateVars } from './context-view.js';
export type { BroadcastSink, EngineOptions, NodeOptions, Nodes, TriggeredNode } from './engine.js';
export {
  createChildExecution,
  createEngine,
  Engine,
  inProcessSink,
  loadExecution,
  processBroadcast,
  readContext,
  resolveToolEntry,
  runNode,
  triggeredNodes,
} from './engine.js';
export type { ConfigLocation, ErrorKind, ValidationIssue } from './errors.js';
export {
  BuiltinToolError,
  DeadlineExceededError,
  describeLocation,
  errorKind,
  isInvalidInput,
  isNetworkError,
  isPermanentModelError,
  isRetryable,
  isSoeError,
  LlmResponseError,
  ModelProviderError,
  markErrorClass,
  NodeExecutionError,
  NodeRunLimitError,
  NodeTimeoutError,
  namesItsLocation,
  OperationalValidationError,
  SoeError,
  TemplateError,
  TokenBudgetError,
  ToolNodeConfigurationError,
  ToolParameterError,
  ToolResultError,
  TransientError,
  WorkflowValidationError,
} from './errors.js';
export { cancelExecution, checkExternalSignals, isCancelled } from './execution-control.js';
export type {
  Broadcast,
  NodeExecutor,
  NodeOutcome,
  NodeRun,
  NodeServices,
  ResolvedTool,
  SpawnedExecution,
  ToolContext,
} from './nodes/types.js';
export type { OrchestrateOptions, PreparedExecution } from './orchestrate.js';
export { findUnserialisable, MAX_INITIAL_SIGNALS, orchestrate, prepareExecution, storeExecution } from './orchestrate.js';
export type { ChatParts, ModelSettings } from './providers/messages.js';
export { modelSettings, splitSystemPrompt } from './providers/messages.js';
export type {
  BedrockProviderSpec,
  ModelProviderName,
  ModelProviderSpec,
  OpenAiProviderSpec,
  ScriptedProviderSpec,
} from './providers/model-provider.js';
export { createModelProvider, loadScriptedLlm, MODEL_PROVIDERS, parseModelProviderSpec } from './providers/model-provider.js';
export type { OpenAiCallerOptions } from './providers/openai.js';
export { createOpenAiCaller, DEFAULT_OPENAI_BASE_URL } from './providers/openai.js';
export type { AttemptFailure, RetryCall, RetryPolicy } from './providers/retry.js';
export {
  backoffDelayMs,
  DEFAULT_MODEL_BASE_DELAY_MS,
  DEFAULT_MODEL_MAX_ATTEMPTS,
  DEFAULT_MODEL_MAX_DELAY_MS,
  DEFAULT_MODEL_TIMEOUT_MS,
  parseRetryAfterMs,
  withRetries,
} from './providers/retry.js';
export type { ScriptedLlm, ScriptedModelSpec, ScriptedRule } from './providers/scripted-llm.js';
export { checkScriptedSpec, createScriptedLlm, promptHead, promptStage } from './providers/scripted-llm.js';
export type { UsageSummary } from './providers/usage.js';
export { summarizeUsage } from './providers/usage.js';
export type { SetupOptions } from './setup.js';
export { broadcastSignals, createAllNodes, defaultBuiltins, setupOrchestration } from './setup.js';
export type { SignalRefusal } from './signal-checks.js';
export { checkSignalsListened, endedExecutionError, listenedSignals, nearestName, SignalRefusedError } from './signal-checks.js';
export type { RedactFunction, StepCaptureOptions, TruncatedValue } from './step-capture.js';
export { CAPTURED_FIELDS, captureEventData, captureValue, DEFAULT_CAPTURE_CHARS, REDACTED, registerStepCapture } from './step-capture.js';
export { compileTemplate, evaluateCondition, isTemplate, renderTemplate, renderValue, validateTemplate } from './templates/index.js';
export type {
  Backends,
  BroadcastSignalsCaller,
  CallLlm,
  CallLlmOptions,
  ConfigLimits,
  ContextBackend,
  ContextInit,
  ContextSchema,
  ContextSchemaBackend,
  ContextUpdate,
  ConversationHistoryBackend,
  ConversationMessage,
  EventEmission,
  ExecutionLimits,
  Identities,
  IdentityBackend,
  JSONSchema,
  LlmAnswer,
  LlmUsage,
  NodeConfig,
  NodeType,
  OperationalCounter,
  OperationalState,
  ParentLink,
  ParsedConfig,
  StoredContext,
  TelemetryBackend,
  TelemetryEvent,
  TelemetryNode,
  TemplateVars,
  ToolCallContext,
  ToolEntry,
  ToolFn,
  ToolsRegistry,
  Workflow,
  WorkflowBackend,
  WorkflowsRegistry,
} from './types.js';
export { NODE_TYPES } from './types.js';
