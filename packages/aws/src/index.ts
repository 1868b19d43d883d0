/**
 * `@soe/aws`: SOE on AWS Lambda — DynamoDB backends, SQS signal dispatch, the handler factories the
 * Lambda entry points call, model providers and the environment contract (also `@soe/aws/env`). The
 * local runtime on embedded emulators is `@soe/aws/local`; its exports are repeated here for the
 * contract of API.md (`createLocalRuntime` from the main entry), and a bundler drops them from a
 * function that does not call them.
 */
export type { ProcessorOptions, ProcessResult, WorkerHooks } from './broadcast-processor.js';
export {
  DEFAULT_FOLLOW_NODES,
  DEFAULT_FOLLOW_ROUTERS,
  DEFAULT_MAX_VALUE_BYTES,
  deterministicExecutionId,
  processSignalMessage,
  recordRetriesExhausted,
} from './broadcast-processor.js';
export type { DynamoBackends, DynamoBackendsOptions } from './create-dynamo-backends.js';
export { createDynamoBackends } from './create-dynamo-backends.js';
export type { DeadLetterDeps, DeadLetterHandler, DeadLetterOutcome } from './dead-letter-handler.js';
export { createDeadLetterHandler, deadLetterReason, recordDeadLetter } from './dead-letter-handler.js';
export { DynamoContextBackend } from './dynamo-context-backend.js';
export { DynamoContextSchemaBackend } from './dynamo-context-schema-backend.js';
export { DynamoConversationHistoryBackend } from './dynamo-conversation-history-backend.js';
export { DynamoIdentityBackend } from './dynamo-identity-backend.js';
export type { DynamoTelemetryOptions } from './dynamo-telemetry-backend.js';
export { BufferedTelemetry, DEFAULT_TELEMETRY_TTL_DAYS, DynamoTelemetryBackend, TTL_ATTRIBUTE } from './dynamo-telemetry-backend.js';
export { DynamoWorkflowBackend } from './dynamo-workflow-backend.js';
export type { ModelProvider, RuntimeEnvSettings, SoeEnvName } from './env-contract.js';
export {
  DEFAULT_MAX_RECEIVE_COUNT,
  ENV,
  MODEL_PROVIDERS,
  runtimeEnvironment,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  WORKFLOW_FILE_EXTENSIONS,
} from './env-contract.js';
export type { ErrorClass } from './errors.js';
export {
  ContentionError,
  classifyError,
  describeError,
  InconsistentReadError,
  LimitExceededError,
  MalformedMessageError,
  QueueSendError,
  RequestValidationError,
  SimulatedCrashError,
  SoeAwsError,
  UnknownExecutionError,
  ValueTooLargeError,
} from './errors.js';
export type { CancelResult, RedrivenBroadcast, RedriveResult } from './execution-control.js';
export { cancelExecution, checkSignalRequest, redriveExecution } from './execution-control.js';
export type { CommitRecord, RecordedFailure } from './execution-log.js';
export { appendAtTail, LARGE_VALUE_BYTES, LogFold, readLogAfter } from './execution-log.js';
export { ExecutionRecords } from './execution-records.js';
export type { ExecutionConfig } from './execution-state.js';
export { DEFAULT_STATE_CACHE_BYTES, ExecutionState, fieldsUsedBy, SNAPSHOT_EVERY, StateCache } from './execution-state.js';
export type { ExecutionStatus, ExecutionStatusValue } from './execution-status.js';
export { EXECUTION_STATUS, getExecutionStatus } from './execution-status.js';
export type { HandlerError } from './handler-error.js';
export type { Chaos, ChaosOptions } from './local/chaos.js';
export { createChaos, seededRandom } from './local/chaos.js';
export type { LocalEmulators, LocalEmulatorsOptions } from './local/local-emulators.js';
export { createSoeTable, startLocalEmulators } from './local/local-emulators.js';
export type { IdleResult, LocalLogEntry, LocalRuntime, LocalRuntimeOptions } from './local/local-runtime.js';
export { createLocalRuntime } from './local/local-runtime.js';
export type { RequestCounter, RequestCounts, ServiceCounts } from './local/request-counter.js';
export { createRequestCounter } from './local/request-counter.js';
export type { LocalSqsEventSourceOptions } from './local/sqs-event-source.js';
export { LocalSqsEventSource } from './local/sqs-event-source.js';
export type { BedrockCallerOptions, ConverseClient } from './providers/bedrock.js';
export { createBedrockCaller } from './providers/bedrock.js';
export type { BedrockModelSpec, CallLlmFromEnvDeps, CallLlmSpec, OpenAiModelSpec } from './providers/create-call-llm.js';
export { createCallLlm, createCallLlmFromEnv, modelSpecFromEnv } from './providers/create-call-llm.js';
export type { SecretApiKeyReaderOptions, SecretValueClient } from './providers/secret-api-key.js';
export { apiKeyFromSecret, createSecretApiKeyReader, DEFAULT_SECRET_TTL_MS } from './providers/secret-api-key.js';
export type {
  ChildSpec,
  CommitPayload,
  InitPayload,
  LogKind,
  OutboxEntry,
  ReceiptPayload,
  SnapshotPayload,
  ValueRef,
} from './record-types.js';
export { LOG_KIND } from './record-types.js';
export type { RuntimeEnv } from './runtime-env.js';
export { readRuntimeEnv } from './runtime-env.js';
export type { RuntimeDeps, RuntimeServices, SoeLogger } from './runtime-services.js';
export { createRuntimeServices, silentLogger } from './runtime-services.js';
export type { SignalRequest, SignalResponse } from './signal-handler.js';
export { createSignalHandler } from './signal-handler.js';
export type { SignalMessage } from './signal-message.js';
export {
  DUE_TOLERANCE_MS,
  delaySecondsOf,
  dueOf,
  MAX_DELAY_SECONDS,
  MAX_MESSAGE_BYTES,
  parseSignalMessage,
  remainingDelaySeconds,
} from './signal-message.js';
export type { SendOptions } from './signal-sender.js';
export { createSignalSender } from './signal-sender.js';
export type { SoeTableOptions, TableItem } from './soe-table.js';
export { isConditionFailed, SoeTable, TABLE_TTL_ATTRIBUTE } from './soe-table.js';
export type { StartDeps, StartRequest, StartResponse } from './start-handler.js';
export { createStartHandler } from './start-handler.js';
export type { StartLimits } from './start-limits.js';
export { checkStartLimits, DEFAULT_START_VALUE_BYTES, MAX_NAME_BYTES } from './start-limits.js';
export type { StatusRequest, StatusResponse, StatusTruncation } from './status-handler.js';
export { createStatusHandler } from './status-handler.js';
export type { ContextPage, ContextSelection, EventsPage, OmittedValue } from './status-pages.js';
export { contextPage, DEFAULT_EVENTS_LIMIT, eventsPage, MAX_ANSWER_BYTES } from './status-pages.js';
export { executionPk, historyPk, logSk, SK, snapshotSk, telemetryPk } from './table-keys.js';
export { GroupBlockedError, GroupOrderedBatch } from './worker-batch-order.js';
export type { WorkerDeps, WorkerHandler } from './worker-handler.js';
export { createWorkerHandler } from './worker-handler.js';
export type { RedeliveryOptions } from './worker-redelivery.js';
export { defaultBackoffSeconds, RedeliveryPolicy, receiveCountOf } from './worker-redelivery.js';
export type { TimeBudgetOptions } from './worker-time-budget.js';
export { defaultNodeReserveMs, TimeBudget, TimeBudgetExhaustedError } from './worker-time-budget.js';
