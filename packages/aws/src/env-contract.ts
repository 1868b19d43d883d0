/**
 * The environment contract between the deployment (`@soe/cdk`, or any stack a user writes) and the
 * functions it runs: every variable's name, its default, and the defaults both sides must agree on.
 * The construct writes these names, `functions/` and the runtime read them (readRuntimeEnv,
 * createCallLlmFromEnv); nothing else spells them. Dependency-free, so a CDK app imports it as
 * `@soe/aws/env` without loading the AWS SDK.
 */

/** The variables the functions read, by meaning. */
export const ENV = {
  /** The DynamoDB table (required). */
  tableName: 'TABLE_NAME',
  /** The FIFO signal queue's URL (required by the functions that send). */
  queueUrl: 'QUEUE_URL',
  /** The standard queue where `spawn_interval` broadcasts wait. */
  delayQueueUrl: 'DELAY_QUEUE_URL',
  /** The queues' redrive `maxReceiveCount`: the worker marks FAILED on the last receive. */
  maxReceiveCount: 'MAX_RECEIVE_COUNT',
  /** Days telemetry items are kept (DynamoDB TTL). */
  telemetryTtlDays: 'TELEMETRY_TTL_DAYS',
  /** Days every item of an execution is kept (DynamoDB TTL); unset: kept until deleted. */
  executionRetentionDays: 'SOE_EXECUTION_RETENTION_DAYS',
  /** The start function's folder of deployed workflow files, relative to the task root. */
  workflowsDir: 'WORKFLOWS_DIR',
  /** `bedrock`, `openai` or `scripted:FILE` (`bedrock:ID` / `openai:MODEL` also name the model). */
  modelProvider: 'SOE_MODEL_PROVIDER',
  /** The model of nodes that name none. */
  modelId: 'SOE_MODEL_ID',
  /** openai: the Secrets Manager secret holding the API key. */
  modelSecretArn: 'SOE_MODEL_SECRET_ARN',
  /** openai: the API root (`…/v1`). */
  openAiBaseUrl: 'SOE_OPENAI_BASE_URL',
  /** bedrock: the model's region, when not the function's own. */
  bedrockRegion: 'SOE_BEDROCK_REGION',
  /** The model retry policy: one attempt's timeout, attempts, and the total time they may take. */
  modelTimeoutMs: 'SOE_MODEL_TIMEOUT_MS',
  modelMaxAttempts: 'SOE_MODEL_MAX_ATTEMPTS',
  modelMaxElapsedMs: 'SOE_MODEL_MAX_ELAPSED_MS',
  /** Step I/O in telemetry: characters kept per captured value (0 keeps none). */
  captureMaxChars: 'SOE_CAPTURE_MAX_CHARS',
  /** Step I/O in telemetry: comma-separated field names whose values are replaced by "[redacted]". */
  redactFields: 'SOE_REDACT_FIELDS',
} as const;

/** A variable of the contract. */
export type SoeEnvName = (typeof ENV)[keyof typeof ENV];

/**
 * Receives before a message moves to its dead-letter queue: the construct's redrive policy, the local
 * emulators' and the worker's default (the worker must know the queue's value to fail on the last receive).
 */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;
/** Days until a telemetry item expires. */
export const DEFAULT_TELEMETRY_TTL_DAYS = 30;
/** The TTL attribute of the table (telemetry, and every item of an execution with a retention). */
export const TABLE_TTL_ATTRIBUTE = 'ttl';
/** Key names of the single table. */
export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_SORT_KEY = 'sk';
/** Model providers a deployment can configure by `SOE_MODEL_PROVIDER`. */
export const MODEL_PROVIDERS = ['scripted', 'openai', 'bedrock'] as const;
/** One of {@link MODEL_PROVIDERS}. */
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];
/** File extensions the start handler reads from a workflows directory. */
export const WORKFLOW_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

/** What the deployment tells the functions; {@link runtimeEnvironment} writes it as variables. */
export interface RuntimeEnvSettings {
  tableName: string;
  queueUrl?: string;
  delayQueueUrl?: string;
  maxReceiveCount?: number;
  telemetryTtlDays?: number;
  executionRetentionDays?: number;
  workflowsDir?: string;
  /** Characters kept per captured step value in telemetry (0 keeps none). */
  captureMaxChars?: number;
  /** Field names redacted from captured step values. */
  redactFields?: readonly string[];
}

/**
 * The environment variables of {@link RuntimeEnvSettings}, as the functions' `readRuntimeEnv` reads
 * them; unset settings are left out.
 * @example new NodejsFunction(this, 'Worker', { environment: runtimeEnvironment({ tableName: table.tableName, queueUrl }) })
 */
export function runtimeEnvironment(s: RuntimeEnvSettings): Record<string, string> {
  const out: Record<string, string> = { [ENV.tableName]: s.tableName };
  const put = (name: SoeEnvName, v: string | number | undefined) => {
    if (v !== undefined) out[name] = String(v);
  };
  put(ENV.queueUrl, s.queueUrl);
  put(ENV.delayQueueUrl, s.delayQueueUrl);
  put(ENV.maxReceiveCount, s.maxReceiveCount);
  put(ENV.telemetryTtlDays, s.telemetryTtlDays);
  put(ENV.executionRetentionDays, s.executionRetentionDays);
  put(ENV.workflowsDir, s.workflowsDir);
  put(ENV.captureMaxChars, s.captureMaxChars);
  if (s.redactFields?.length) put(ENV.redactFields, s.redactFields.join(','));
  return out;
}
