/**
 * Defaults of {@link SoeOrchestratorProps}, in one place so the docs, the construct and the tests agree.
 * Units are in the names; durations are plain numbers here and become `Duration`s in the construct.
 * What the functions must agree on (variable names, maxReceiveCount, the table's keys and TTL
 * attribute, the model providers) is the runtime's environment contract, `@soe/aws/env`, re-exported
 * here and not re-declared.
 */
export {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_TELEMETRY_TTL_DAYS,
  ENV,
  MODEL_PROVIDERS,
  type ModelProvider,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TABLE_TTL_ATTRIBUTE,
  WORKFLOW_FILE_EXTENSIONS,
} from '@soe/aws/env';

/** Worker Lambda timeout. Long enough for a few model calls with retries (see docs/models: 60 s per attempt). */
export const DEFAULT_WORKER_TIMEOUT_SECONDS = 300;
/** Worker memory. Mostly waiting on DynamoDB, SQS and models; arm64. */
export const DEFAULT_WORKER_MEMORY_MB = 512;
/** Memory of the start, signal and status functions. */
export const API_FUNCTION_MEMORY_MB = 256;
/** Timeout of the start, signal and status functions (one validation, a few reads and writes, one send). */
export const API_FUNCTION_TIMEOUT_SECONDS = 30;

/** Records per worker invocation. FIFO event sources accept at most 10. */
export const DEFAULT_BATCH_SIZE = 10;
export const MAX_BATCH_SIZE = 10;
/**
 * Concurrent worker invocations per event source. Lambda accepts 2–1000. On the FIFO signal queue the
 * worker runs min(message groups, this) invocations at once, and each execution is one message group:
 * this many executions make progress at the same time, the rest wait their turn. 100 keeps the two
 * event sources (200 at most) well inside the default account pool of 1,000 while letting a hundred
 * runs proceed; it also caps the load on the model provider.
 */
export const DEFAULT_MAX_CONCURRENCY = 100;
export const MIN_MAX_CONCURRENCY = 2;
export const MAX_MAX_CONCURRENCY = 1000;

/** Concurrency of the dead-letter consumer per dead-letter queue: the lowest Lambda accepts; dead letters are rare. */
export const DEAD_LETTER_MAX_CONCURRENCY = 2;

/**
 * Queue visibility timeout = this × worker timeout. AWS guidance for SQS event sources: at least six
 * times the function timeout, so a message is not handed to a second worker while Lambda still retries
 * a throttled invocation of the first.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** How long an unhandled message is kept in the signal and delay queues. */
export const DEFAULT_RETENTION_DAYS = 4;
/** Dead-letter queues keep messages as long as SQS allows, for inspection and redrive. */
export const DLQ_RETENTION_DAYS = 14;

/** Worker model calls give up this share of the worker timeout (SOE_MODEL_MAX_ELAPSED_MS), leaving time to commit. */
export const MODEL_ELAPSED_SHARE = 0.8;

/** Where the functions find files the construct copies into their bundle (relative to the Lambda task root). */
export const BUNDLED_WORKFLOWS_DIR = 'workflows';
export const BUNDLED_SCRIPTED_MODEL_BASENAME = 'scripted-model';
