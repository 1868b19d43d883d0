/** The properties of {@link SoeOrchestrator}: what a user may set, with each one's default and valid range. */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable, TableProps } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue, QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { ModelProvider } from './defaults.js';

/** Properties of {@link SoeOrchestrator}. Every one is optional: `new SoeOrchestrator(this, 'Soe')` deploys a working engine. */
export interface SoeOrchestratorProps {
  /**
   * A folder of workflow files (`*.yaml`, `*.yml`, `*.json`) to deploy with the start function, started
   * by file name: `{ workflowName: 'support', initialWorkflowName: 'main', initialSignals: ['START'] }`.
   * Every file is validated at synth time; a broken one fails the synth, naming the file, workflow,
   * node and field.
   * @default - no deployed workflows: start requests carry their `config` inline
   */
  readonly workflowsDir?: string;

  /**
   * The user's TypeScript module, bundled into the functions as `soe-user-tools` (an esbuild alias). It
   * may export `toolsRegistry`, `callLlm` (wins over `modelProvider`) and `workflows`; see
   * functions/README.md.
   * @default - functions/default-user-tools.ts: no tools beyond the `soe_*` built-ins
   */
  readonly toolsEntry?: string;

  /**
   * The model of llm and agent nodes, when the tools module exports no `callLlm`:
   * `scripted` (rules from {@link scriptedModelFile}), `openai` (an OpenAI-compatible API, key in
   * {@link modelSecret}) or `bedrock` (Converse API, `bedrock:InvokeModel` granted on {@link modelId} only).
   * @default - none: llm and agent nodes fail unless the tools module exports `callLlm`
   */
  readonly modelProvider?: ModelProvider;

  /**
   * The model of nodes that name none. Required for `bedrock`: a foundation-model id
   * (`anthropic.claude-3-5-haiku-20241022-v1:0`), an inference-profile id (`us.anthropic…`) or an ARN;
   * the worker may invoke that model and nothing else. For `openai`, a model name (`gpt-4o-mini`).
   * @default - none: each llm or agent node must name its `model`
   */
  readonly modelId?: string;

  /**
   * The Secrets Manager secret holding the API key of the `openai` provider (plain text, or JSON
   * `{"api_key": "…"}`). The worker gets its ARN (`SOE_MODEL_SECRET_ARN`) and read access; the key
   * itself never appears in the template or the environment.
   * @default - no key: only valid with an `openAiBaseUrl` that needs none
   */
  readonly modelSecret?: ISecret;

  /**
   * The API root of the `openai` provider (`https://…/v1`): Azure OpenAI, OpenRouter, a LiteLLM proxy…
   * @default - https://api.openai.com/v1
   */
  readonly openAiBaseUrl?: string;

  /**
   * The rules file (JSON or YAML) of the `scripted` provider: copied into the worker bundle and checked
   * at synth time.
   * @default - none; required when `modelProvider` is `scripted`
   */
  readonly scriptedModelFile?: string;

  /**
   * Worker Lambda timeout. The queues' visibility timeout is six times this (AWS guidance for SQS event
   * sources), and model calls stop retrying after 80% of it.
   *
   * Minimum: 1 second. Maximum: 15 minutes (Lambda's limit); with a queue of your own
   * ({@link existingQueueObj}), at most its visibility timeout. Whole seconds only.
   * @default Duration.minutes(5)
   */
  readonly workerTimeout?: Duration;

  /**
   * Worker Lambda memory, in MB.
   *
   * Minimum: 128 MB. Maximum: 10,240 MB (Lambda's limits). Whole numbers only.
   * @default 512
   */
  readonly workerMemorySize?: number;

  /**
   * Messages per worker invocation.
   *
   * Minimum: 1. Maximum: 10 (the limit of an event source on a FIFO queue).
   * @default 10
   */
  readonly batchSize?: number;

  /**
   * Most concurrent worker invocations per event source (2–1000; the worker has two: the signal queue
   * and the delay queue). The signal queue is FIFO with one message group per execution, so the worker
   * runs min(executions with work waiting, maxConcurrency) invocations at once: this is how many
   * executions make progress at the same time; the others wait, none is lost. Higher lets more runs
   * proceed in parallel, and puts more load on the model provider (rate limits become transient
   * errors, retried with backoff) and on the account's Lambda concurrency (1,000 by default, shared by
   * every function of the account and region). Lambda bills invocation time, not this setting.
   *
   * Minimum: 2. Maximum: 1000 (Lambda's limits for an SQS event source's maximum concurrency).
   * @default 100
   */
  readonly maxConcurrency?: number;

  /**
   * Reserved concurrency of the worker: that many concurrent executions are set aside for it — the
   * worker can always scale to it, and never beyond it. They are taken from the account's pool (other
   * functions can no longer use them, and AWS keeps at least 100 unreserved), and reserving costs
   * nothing in itself. Must be at least twice {@link maxConcurrency}: both event sources may run that
   * many invocations, and an invocation throttled by a lower reservation returns its messages to the
   * queue with their receive count raised — enough throttling sends them to the dead-letter queue.
   *
   * Minimum: 2 × maxConcurrency. Maximum: the account's concurrency quota less the 100 AWS keeps unreserved.
   * @default - none: the worker draws on the account's unreserved pool, bounded by maxConcurrency
   */
  readonly reservedConcurrency?: number;

  /**
   * Receives before a message moves to its dead-letter queue. The worker marks the execution FAILED on
   * the last receive, so no message reaches the DLQ silently. Given to the worker as
   * `MAX_RECEIVE_COUNT` (the environment contract of `@soe/aws/env`), which must equal the queues' redrive.
   *
   * Minimum: 1. Maximum: 1000 (SQS's limits for a redrive policy).
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * How long the signal and delay queues keep a message. Dead-letter queues keep 14 days.
   *
   * Minimum: 1 minute. Maximum: 14 days (SQS's limits). Whole seconds only.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;

  /**
   * How long telemetry events are kept (DynamoDB TTL).
   *
   * Minimum: 1 day. Whole days only.
   * @default Duration.days(30)
   */
  readonly telemetryTtl?: Duration;

  /**
   * A customer managed KMS key for the table and the queues; the functions are granted its use.
   * @default - the table uses the AWS managed key (aws/dynamodb), the queues SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;

  /** What happens to the table and the dead-letter queues when they leave the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;

  /** Retention of the functions' log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;

  /**
   * How long the items of an execution are kept, in whole days: every item an execution writes gets
   * the table's TTL attribute that far ahead, and DynamoDB deletes expired items (within a few days of
   * expiry, at no cost). The functions that write execution items get it as
   * `SOE_EXECUTION_RETENTION_DAYS`. Make it longer than your longest run: an execution whose items
   * expire while it still runs loses its state.
   *
   * Minimum: 1 day. Whole days only.
   * @default - kept until deleted (telemetry still expires after telemetryTtl)
   */
  readonly executionRetention?: Duration;

  /**
   * Step inputs and outputs the worker keeps in telemetry (prompts, answers, tool arguments and
   * results): `maxChars` per captured value (a longer one keeps its prefix and full size; 0 keeps
   * none) and `redactFields`, names whose values are stored as "[redacted]" at any depth. The worker
   * gets them as `SOE_CAPTURE_MAX_CHARS` and `SOE_REDACT_FIELDS`.
   *
   * `maxChars`: a whole number, 0 to 1,000,000. `redactFields`: names without commas.
   * @default - 4,000 characters per value, nothing redacted
   */
  readonly stepCapture?: { readonly maxChars?: number; readonly redactFields?: readonly string[] };

  /**
   * Emit source maps and run the functions with `--enable-source-maps`: stack traces name the
   * TypeScript sources, at the cost of a larger asset and a slower cold start (Node.js loads and parses
   * the map at start).
   * @default false
   */
  readonly sourceMaps?: boolean;

  /**
   * Bundle the AWS SDK into each function instead of loading the AWS SDK for JavaScript v3 that the
   * Lambda Node.js runtime ships. Bundled, a deployment runs the exact SDK version it was tested with;
   * from the runtime, the bundles are several hundred KB smaller (the worker ~0.6 MB instead of ~1.1 MB,
   * signal and status ~45 KB instead of ~475 KB; `npm run bundle-sizes`).
   * @default false
   */
  readonly bundleAwsSdk?: boolean;

  /**
   * A table of your own instead of the one the construct creates (Solutions Constructs' `existingTableObj`):
   * string keys `pk` (partition) and `sk` (sort), TTL on `ttl` (see `@soe/aws/env`). The functions
   * are granted their actions on it; its encryption key, if customer managed, must also be given as
   * {@link encryptionKey}. Not with {@link tableProps}.
   * @default - a new table (pay per request, point-in-time recovery, TTL on `ttl`)
   */
  readonly existingTableObj?: ITable;

  /**
   * Overrides of the table the construct creates, merged over its defaults (e.g. `{ tableName,
   * deletionProtection: true, billingMode: BillingMode.PROVISIONED, … }`). The key schema and the TTL
   * attribute are the runtime's contract and cannot be changed. Not with {@link existingTableObj}.
   * @default - the defaults above
   */
  readonly tableProps?: Partial<TableProps>;

  /**
   * A FIFO signal queue of your own instead of the one the construct creates. Its redrive policy must
   * send a message to {@link existingDeadLetterQueueObj} after {@link maxReceiveCount} receives (the
   * worker marks the execution FAILED on that last receive), its visibility timeout must be at least
   * the worker's timeout, and it should not use content-based deduplication (the broadcast id is the
   * deduplication id). Needs {@link existingDeadLetterQueueObj}; not with {@link queueProps}.
   * @default - a new FIFO queue (high throughput per message group, SSE, TLS only)
   */
  readonly existingQueueObj?: IQueue;

  /**
   * The dead-letter queue of {@link existingQueueObj} (FIFO): the dead-letter consumer reads it and
   * marks each message's execution FAILED. Only with {@link existingQueueObj}.
   * @default - a new FIFO dead-letter queue
   */
  readonly existingDeadLetterQueueObj?: IQueue;

  /**
   * Overrides of the signal queue the construct creates, merged over its defaults (e.g. `{ queueName }`).
   * It stays FIFO, and its dead-letter queue is the construct's. Not with {@link existingQueueObj}.
   * @default - the defaults above
   */
  readonly queueProps?: Partial<QueueProps>;
}
