import { existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { Arn, ArnFormat, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, type Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, RecursiveLoop, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_ENTRIES, nodejsBundling, REPO_ROOT, type SoeBundling, type SoeFunctionName } from './bundling.js';
import {
  API_FUNCTION_MEMORY_MB,
  API_FUNCTION_TIMEOUT_SECONDS,
  BUNDLED_SCRIPTED_MODEL_BASENAME,
  BUNDLED_WORKFLOWS_DIR,
  DEAD_LETTER_MAX_CONCURRENCY,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_TELEMETRY_TTL_DAYS,
  DEFAULT_WORKER_MEMORY_MB,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
  DLQ_RETENTION_DAYS,
  MAX_BATCH_SIZE,
  MAX_MAX_CONCURRENCY,
  MIN_MAX_CONCURRENCY,
  MODEL_ELAPSED_SHARE,
  MODEL_PROVIDERS,
  type ModelProvider,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TABLE_TTL_ATTRIBUTE,
  VISIBILITY_TIMEOUT_FACTOR,
} from './defaults.js';
import { checkScriptedModelFile, type DeployedWorkflow, loadDeployedWorkflows } from './deployed-files.js';
import {
  CONSUME_ACTIONS,
  KEY_DECRYPT_ACTIONS,
  KEY_ENCRYPT_ACTIONS,
  SEND_ACTIONS,
  TABLE_ACTIONS,
  VISIBILITY_ACTIONS,
  WRITES_EXECUTION_ITEMS,
} from './permissions.js';

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
   * @default Duration.minutes(5)
   */
  readonly workerTimeout?: Duration;

  /** Worker Lambda memory, in MB. @default 512 */
  readonly workerMemorySize?: number;

  /** Messages per worker invocation, 1–10 (the FIFO event source limit). @default 10 */
  readonly batchSize?: number;

  /**
   * Most concurrent worker invocations per event source (2–1000; the worker has two: the signal queue
   * and the delay queue). The signal queue is FIFO with one message group per execution, so the worker
   * runs min(executions with work waiting, maxConcurrency) invocations at once: this is how many
   * executions make progress at the same time; the others wait, none is lost. Higher lets more runs
   * proceed in parallel, and puts more load on the model provider (rate limits become transient
   * errors, retried with backoff) and on the account's Lambda concurrency (1,000 by default, shared by
   * every function of the account and region). Lambda bills invocation time, not this setting.
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
   * @default - none: the worker draws on the account's unreserved pool, bounded by maxConcurrency
   */
  readonly reservedConcurrency?: number;

  /**
   * Receives before a message moves to its dead-letter queue. The worker marks the execution FAILED on
   * the last receive, so no message reaches the DLQ silently.
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /** How long the signal and delay queues keep a message (1 minute – 14 days). Dead-letter queues keep 14 days. @default Duration.days(4) */
  readonly retentionPeriod?: Duration;

  /** How long telemetry events are kept (DynamoDB TTL), at least one day. @default Duration.days(30) */
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
   * @default - kept until deleted (telemetry still expires after telemetryTtl)
   */
  readonly executionRetention?: Duration;

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
}

/**
 * SOE on AWS: the DynamoDB table, the signal queues, the worker, the start, signal and status
 * functions and the dead-letter consumer, wired with exact grants (lib/permissions.ts) and alarms.
 *
 * ```
 * start ──▶ table ◀── worker ◀── FIFO signal queue (one message group per execution) ──▶ DLQ ─┐
 *   └────────── send ─────────────────▲   │  └─ delay queue (spawn_interval) ──▶ DLQ ──────────┤
 *                                     └───┘ emitted broadcasts                               │
 *             table ◀── dead-letter consumer: marks the execution FAILED, with the reason ◀──┘
 * ```
 *
 * @example
 * const soe = new SoeOrchestrator(this, 'Soe', {
 *   workflowsDir: 'workflows',
 *   toolsEntry: 'src/tools.ts',
 *   modelProvider: 'bedrock',
 *   modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0',
 * });
 * soe.grantStart(myApiFunction);
 */
export class SoeOrchestrator extends Construct {
  /** Executions, context records, workflows, telemetry (`pk`/`sk`, TTL on `ttl`). */
  public readonly table: Table;
  /** The FIFO signal queue the worker consumes; one message group per execution. */
  public readonly queue: Queue;
  /** Dead-letter queue of {@link queue} (FIFO). */
  public readonly deadLetterQueue: Queue;
  /** Standard queue where delayed broadcasts (`spawn_interval`) wait; the worker forwards them when due. */
  public readonly delayQueue: Queue;
  /** Dead-letter queue of {@link delayQueue}. */
  public readonly delayDeadLetterQueue: Queue;
  /** Runs the triggered nodes of each broadcast. */
  public readonly workerFunction: NodejsFunction;
  /** `{ config | workflowName, initialWorkflowName, initialSignals, … }` → `{ executionId }`. */
  public readonly startFunction: NodejsFunction;
  /** `{ executionId, signals }` → `{ executionId, broadcastId }`. */
  public readonly signalFunction: NodejsFunction;
  /** `{ executionId, includeContext?, events? }` → `{ status, error?, context?, events? }`. */
  public readonly statusFunction: NodejsFunction;
  /**
   * The dead-letter consumer: an SQS event source on both dead-letter queues. For every message that
   * lands there — retries exhausted, a worker killed by its timeout or out of memory — it marks the
   * execution FAILED with the reason, so no run stays RUNNING forever.
   */
  public readonly deadLetterFunction: NodejsFunction;
  /** A message reached the signal queue's DLQ (received by the dead-letter consumer, or waiting there). */
  public readonly deadLetterQueueAlarm: Alarm;
  /** A message reached the delay queue's DLQ. */
  public readonly delayDeadLetterQueueAlarm: Alarm;
  /** Real worker failures in 5 minutes: crashed invocations, and broadcasts the worker gave up on (never transient retries). */
  public readonly workerErrorsAlarm: Alarm;
  /** Worker log lines at ERROR level (a metric filter): each is a broadcast given up on, an execution marked FAILED, a dropped message. */
  public readonly workerGaveUpMetric: Metric;
  /** The deployed workflow files, by the name a start request uses. */
  public readonly deployedWorkflows: readonly string[];

  constructor(scope: Construct, id: string, props: SoeOrchestratorProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    const workflows = props.workflowsDir !== undefined ? loadDeployedWorkflows(props.workflowsDir) : [];
    const scriptedModel = props.scriptedModelFile !== undefined ? checkScriptedModelFile(props.scriptedModelFile) : undefined;
    const toolsEntry = props.toolsEntry !== undefined ? resolve(props.toolsEntry) : join(REPO_ROOT, 'functions', 'default-user-tools.ts');
    if (!existsSync(toolsEntry)) throw new Error(`SoeOrchestrator: toolsEntry '${props.toolsEntry}' does not exist`);
    this.deployedWorkflows = workflows.map((w) => w.name);

    // ---- state -------------------------------------------------------------------------------
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: TABLE_SORT_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey
        ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: TableEncryption.AWS_MANAGED }),
      removalPolicy: settings.removalPolicy,
    });

    // ---- queues ------------------------------------------------------------------------------
    const encryption = props.encryptionKey
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: QueueEncryption.SQS_MANAGED };
    const visibilityTimeout = Duration.seconds(settings.workerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR);
    const dlqRetention = Duration.days(DLQ_RETENTION_DAYS);
    // Lambda refuses an event source whose queue hides a message for less than the function's timeout.
    const dlqVisibilityTimeout = Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS * VISIBILITY_TIMEOUT_FACTOR);
    // FIFO, grouped by execution: the broadcasts of one execution are handled one at a time and in
    // order, different executions in parallel; the broadcast id is the deduplication id (no
    // content-based deduplication). High-throughput mode: limits apply per message group.
    const fifo = {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    };
    this.deadLetterQueue = new Queue(this, 'SignalDeadLetterQueue', {
      ...fifo,
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: dlqVisibilityTimeout,
      retentionPeriod: dlqRetention,
      removalPolicy: settings.removalPolicy,
    });
    this.queue = new Queue(this, 'SignalQueue', {
      ...fifo,
      ...encryption,
      enforceSSL: true,
      visibilityTimeout,
      retentionPeriod: settings.retentionPeriod,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });
    // FIFO queues have no per-message delay: delayed broadcasts wait here (DelaySeconds ≤ 900).
    this.delayDeadLetterQueue = new Queue(this, 'DelayDeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: dlqVisibilityTimeout,
      retentionPeriod: dlqRetention,
      removalPolicy: settings.removalPolicy,
    });
    this.delayQueue = new Queue(this, 'DelayQueue', {
      ...encryption,
      enforceSSL: true,
      visibilityTimeout,
      retentionPeriod: settings.retentionPeriod,
      deadLetterQueue: { queue: this.delayDeadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });

    // ---- functions ---------------------------------------------------------------------------
    const bundling: SoeBundling = { toolsEntry, sourceMaps: settings.sourceMaps, bundleAwsSdk: settings.bundleAwsSdk };
    const common = {
      TABLE_NAME: this.table.tableName,
      QUEUE_URL: this.queue.queueUrl,
      ...(settings.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
    };
    const fn = (name: SoeFunctionName, opts: FunctionOptions) =>
      this.createFunction(name, {
        ...opts,
        bundling,
        logRetention: settings.logRetention,
        environment: {
          ...opts.environment,
          ...(settings.executionRetentionDays !== undefined && WRITES_EXECUTION_ITEMS.includes(name)
            ? { SOE_EXECUTION_RETENTION_DAYS: String(settings.executionRetentionDays) }
            : {}),
        },
      });
    // What the worker and the dead-letter consumer both read: they handle the same messages.
    const workerEnvironment = {
      ...common,
      DELAY_QUEUE_URL: this.delayQueue.queueUrl,
      MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
      TELEMETRY_TTL_DAYS: String(settings.telemetryTtlDays),
    };

    this.workerFunction = fn('Worker', {
      description: 'SOE worker: runs the nodes each signal broadcast triggers',
      timeout: settings.workerTimeout,
      memorySize: settings.workerMemorySize,
      environment: { ...workerEnvironment, ...modelEnvironment(props, settings, scriptedModel) },
      copyFiles: scriptedModel ? [{ from: scriptedModel, to: scriptedModelBundlePath(scriptedModel) }] : [],
      sqsDriven: true,
      reservedConcurrency: settings.reservedConcurrency,
    });
    this.startFunction = fn('Start', {
      description: 'SOE start: validates a config and starts an execution',
      environment: {
        ...common,
        TELEMETRY_TTL_DAYS: String(settings.telemetryTtlDays),
        ...(workflows.length ? { WORKFLOWS_DIR: BUNDLED_WORKFLOWS_DIR } : {}),
      },
      copyFiles: workflows.map((w: DeployedWorkflow) => ({ from: w.path, to: `${BUNDLED_WORKFLOWS_DIR}/${w.fileName}` })),
    });
    this.signalFunction = fn('Signal', {
      description: 'SOE signal: sends signals to a running execution',
      environment: { ...common },
    });
    this.statusFunction = fn('Status', {
      description: 'SOE status: RUNNING, IDLE or FAILED, and optionally the context',
      environment: { ...common },
    });
    this.deadLetterFunction = fn('DeadLetter', {
      description: 'SOE dead-letter consumer: marks the execution of every dead-lettered message FAILED, with the reason',
      environment: workerEnvironment,
      sqsDriven: true,
    });

    // ---- event sources -----------------------------------------------------------------------
    // Explicit mappings (not SqsEventSource, which also grants GetQueueUrl and ChangeMessageVisibility):
    // the roles get exactly the consume actions below. Only the failed records of a batch come back
    // (the handlers answer { batchItemFailures }).
    for (const [sourceId, queue] of [
      ['SignalQueue', this.queue],
      ['DelayQueue', this.delayQueue],
    ] as const) {
      this.workerFunction.addEventSourceMapping(sourceId, {
        eventSourceArn: queue.queueArn,
        batchSize: settings.batchSize,
        maxConcurrency: settings.maxConcurrency,
        reportBatchItemFailures: true,
      });
    }
    for (const [sourceId, queue] of [
      ['SignalDeadLetterQueue', this.deadLetterQueue],
      ['DelayDeadLetterQueue', this.delayDeadLetterQueue],
    ] as const) {
      this.deadLetterFunction.addEventSourceMapping(sourceId, {
        eventSourceArn: queue.queueArn,
        batchSize: MAX_BATCH_SIZE,
        maxConcurrency: DEAD_LETTER_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      });
    }

    // ---- permissions: exactly the calls each function's code makes (lib/permissions.ts) --------
    const functions: Record<SoeFunctionName, NodejsFunction> = {
      Worker: this.workerFunction,
      Start: this.startFunction,
      Signal: this.signalFunction,
      Status: this.statusFunction,
      DeadLetter: this.deadLetterFunction,
    };
    for (const [name, f] of Object.entries(functions) as Array<[SoeFunctionName, NodejsFunction]>) {
      allow(f, TABLE_ACTIONS[name], [this.table.tableArn]);
    }
    // The worker consumes both queues, resets visibility on both, and sends to both: emitted
    // broadcasts, delayed ones (spawn_interval) and the forwarding of delayed ones when due.
    const workerQueues = [this.queue.queueArn, this.delayQueue.queueArn];
    allow(this.workerFunction, [...CONSUME_ACTIONS, ...VISIBILITY_ACTIONS, ...SEND_ACTIONS], workerQueues);
    // Start and signal send the initial and external signals to the FIFO queue only.
    allow(this.startFunction, SEND_ACTIONS, [this.queue.queueArn]);
    allow(this.signalFunction, SEND_ACTIONS, [this.queue.queueArn]);
    allow(this.deadLetterFunction, CONSUME_ACTIONS, [this.deadLetterQueue.queueArn, this.delayDeadLetterQueue.queueArn]);
    this.grantModel(props);
    if (props.encryptionKey) {
      // One key for the table and the queues. Writers encrypt (items, messages) and decrypt; status
      // only reads items.
      for (const [name, f] of Object.entries(functions) as Array<[SoeFunctionName, NodejsFunction]>) {
        const writes = name !== 'Status';
        props.encryptionKey.grant(f, ...(writes ? KEY_ENCRYPT_ACTIONS : KEY_DECRYPT_ACTIONS));
        if (writes) {
          Validations.of(f.role!).acknowledge(
            { id: nagRule('AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'), reason: KMS_GRANT_REASON },
            { id: nagRule('AwsSolutions-IAM5[Action::kms:ReEncrypt*]'), reason: KMS_GRANT_REASON },
          );
        }
      }
    }

    // ---- alarms ------------------------------------------------------------------------------
    const dlqAlarm = (alarmId: string, dlq: Queue, what: string) =>
      new Alarm(this, alarmId, {
        alarmDescription:
          `SOE: a message reached the ${what} dead-letter queue. The dead-letter consumer marks its execution FAILED with the reason ` +
          `(its log group: ${this.deadLetterFunction.logGroup.logGroupName}, field executionId). ` +
          '`soe status <executionId>` shows the error; fix the cause, then `soe redrive <executionId>` re-sends the failed broadcast ' +
          'and clears FAILED (no need to move the dead-lettered message back: it would be dropped).',
        // The consumer empties the queue within seconds, so "messages visible" alone would rarely see
        // a dead letter: count what the consumer received, plus what still waits (a failing consumer).
        metric: new MathExpression({
          expression: 'FILL(received, 0) + FILL(visible, 0)',
          usingMetrics: {
            received: dlq.metricNumberOfMessagesReceived({ period: Duration.minutes(1), statistic: 'Sum' }),
            visible: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
          },
          period: Duration.minutes(1),
          label: `messages reaching the ${what} dead-letter queue`,
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.deadLetterQueueAlarm = dlqAlarm('DeadLetterQueueAlarm', this.deadLetterQueue, 'signal');
    this.delayDeadLetterQueueAlarm = dlqAlarm('DelayDeadLetterQueueAlarm', this.delayDeadLetterQueue, 'delay');

    // Real failures only. The worker logs a transient error (throttling, a model's 429, a timeout that
    // will be retried) at WARN and hands the record back; it logs at ERROR only what it gives up on: an
    // execution marked FAILED (permanent error, retries exhausted), a message dropped as malformed or
    // permanently failing. Lambda's Errors metric counts invocations that crashed — the function
    // timeout, out of memory, an unhandled error — since the worker reports record failures as batch
    // item failures instead of throwing. Either is a failure someone should look at; neither counts
    // retries.
    const gaveUp = new MetricFilter(this, 'WorkerGaveUpFilter', {
      logGroup: this.workerFunction.logGroup as LogGroup,
      filterPattern: FilterPattern.stringValue('$.level', '=', 'ERROR'),
      metricNamespace: `SOE/${Names.uniqueId(this)}`,
      metricName: 'WorkerGaveUp',
      metricValue: '1',
    });
    this.workerGaveUpMetric = gaveUp.metric({ period: Duration.minutes(5), statistic: 'Sum' });
    this.workerErrorsAlarm = new Alarm(this, 'WorkerErrorsAlarm', {
      alarmDescription:
        'SOE: the worker failed for real (not a retry): an invocation crashed (function timeout, out of memory) or the worker gave up ' +
        'on a broadcast and marked its execution FAILED. Search its ERROR lines (level = ERROR) in ' +
        `${this.workerFunction.logGroup.logGroupName}; \`soe status <executionId>\` shows the error.`,
      metric: new MathExpression({
        expression: 'FILL(crashed, 0) + FILL(gaveUp, 0)',
        usingMetrics: {
          crashed: this.workerFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          gaveUp: this.workerGaveUpMetric,
        },
        period: Duration.minutes(5),
        label: 'worker invocations crashed + broadcasts given up',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /** Lets `grantee` start executions (lambda:InvokeFunction on the start function). */
  public grantStart(grantee: IGrantable): Grant {
    return this.startFunction.grantInvoke(grantee);
  }

  /** Lets `grantee` send signals to executions (lambda:InvokeFunction on the signal function). */
  public grantSignal(grantee: IGrantable): Grant {
    return this.signalFunction.grantInvoke(grantee);
  }

  /** Lets `grantee` read the status and context of executions (lambda:InvokeFunction on the status function). */
  public grantStatus(grantee: IGrantable): Grant {
    return this.statusFunction.grantInvoke(grantee);
  }

  /** Bedrock: InvokeModel (which the Converse API needs) on the configured model only. OpenAI: read the key's secret. */
  private grantModel(props: SoeOrchestratorProps): void {
    if (props.modelProvider === 'bedrock') {
      const stack = Stack.of(this);
      const arns = bedrockModelArns(stack, props.modelId!);
      Grant.addToPrincipal({ grantee: this.workerFunction, actions: ['bedrock:InvokeModel'], resourceArns: arns });
      // The region wildcard of an inference profile's foundation model (see bedrockModelArns), as
      // cdk-nag names the finding: tokens shown as <AWS::Partition>.
      const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
      for (const arn of arns.filter((a) => a.includes(':bedrock:*:'))) {
        const shown = arn.replace(/^arn:[^:]+:/, `arn:${partition}:`);
        Validations.of(this.workerFunction.role!).acknowledge({
          id: nagRule(`AwsSolutions-IAM5[Resource::${shown}]`),
          reason: INFERENCE_PROFILE_REASON,
        });
      }
    }
    props.modelSecret?.grantRead(this.workerFunction);
  }

  private createFunction(
    name: SoeFunctionName,
    opts: FunctionOptions & { bundling: SoeBundling; logRetention: RetentionDays },
  ): NodejsFunction {
    // An explicit log group and role: the role can write to this log group and nothing else
    // (instead of AWSLambdaBasicExecutionRole, which allows every log group of the account).
    const logGroup = new LogGroup(this, `${name}Logs`, { retention: opts.logRetention });
    const role = new Role(this, `${name}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `SOE ${name} function`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, name, {
      entry: join(REPO_ROOT, 'functions', FUNCTION_ENTRIES[name]),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: opts.memorySize ?? API_FUNCTION_MEMORY_MB,
      timeout: opts.timeout ?? Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS),
      description: opts.description,
      environment: opts.environment,
      role,
      logGroup,
      // SQS → function → SQS is a loop to Lambda's recursion detection, which stops it after ~16 hops
      // and dead-letters the message unprocessed: every longer run would stop there. The engine's own
      // limit on node runs per execution is the guard against runaway loops instead.
      ...(opts.sqsDriven ? { recursiveLoop: RecursiveLoop.ALLOW } : {}),
      ...(opts.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: opts.reservedConcurrency } : {}),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: nodejsBundling(opts.bundling, opts.copyFiles ?? []),
    });
    Validations.of(fn).acknowledge({ id: NAG_LATEST_RUNTIME, reason: NODE_22_REASON });
    return fn;
  }
}

/**
 * cdk-nag findings as the CDK validation framework names them (`<plugin>::<rule>`): acknowledged
 * there, they appear in `cdk.out/validation-report.json` under `suppressedViolations` with their reason.
 */
const nagRule = (rule: string) => `AwsSolutions::${rule}`;
const NAG_LATEST_RUNTIME = nagRule('AwsSolutions-L1');
const NODE_22_REASON =
  'Node.js 22 on purpose: the runtime the SOE packages are built and tested for (the bundles target node22), ' +
  'and one LocalStack runs; nodejs22.x is a supported Lambda runtime. Move to the next LTS with the test suite, not ahead of it.';

const KMS_GRANT_REASON =
  'SSE-KMS with the customer key given as encryptionKey: DynamoDB and SQS need the kms:GenerateDataKey* and kms:ReEncrypt* ' +
  'families, which the table and queue grants allow on that one key and no other.';
const INFERENCE_PROFILE_REASON =
  'A cross-region inference profile sends each request to the foundation model in one of several regions that AWS picks, ' +
  'and Bedrock authorizes the model in that region: the region is a wildcard, the model id is fixed, and the profile itself is ' +
  'named with this account and region.';

/** What differs between the functions. */
interface FunctionOptions {
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  /** Files copied into the bundle after esbuild ran (`to` is relative to the bundle root). */
  readonly copyFiles?: ReadonlyArray<{ from: string; to: string }>;
  /** An SQS event source drives it: recursive loops allowed. */
  readonly sqsDriven?: boolean;
  readonly reservedConcurrency?: number;
}

/** Allows `actions` on `resources` to a function's role, nothing implied (no KMS, no describe calls). */
function allow(fn: NodejsFunction, actions: readonly string[], resources: string[]): void {
  Grant.addToPrincipal({ grantee: fn, actions: [...actions], resourceArns: resources });
}

function scriptedModelBundlePath(file: string): string {
  return `${BUNDLED_SCRIPTED_MODEL_BASENAME}${extname(file).toLowerCase()}`;
}

/** The `SOE_MODEL_*` environment of the worker (packages/aws/src/providers/create-call-llm.ts). */
function modelEnvironment(props: SoeOrchestratorProps, settings: Settings, scriptedModel: string | undefined): Record<string, string> {
  if (!props.modelProvider) return {};
  const env: Record<string, string> = {
    // Lambda runs handlers with /var/task as the working directory: the rules file sits there.
    SOE_MODEL_PROVIDER: props.modelProvider === 'scripted' ? `scripted:${scriptedModelBundlePath(scriptedModel!)}` : props.modelProvider,
    SOE_MODEL_MAX_ELAPSED_MS: String(Math.floor(settings.workerTimeout.toMilliseconds() * MODEL_ELAPSED_SHARE)),
  };
  if (props.modelId) env.SOE_MODEL_ID = props.modelId;
  if (props.modelSecret) env.SOE_MODEL_SECRET_ARN = props.modelSecret.secretArn;
  if (props.openAiBaseUrl) env.SOE_OPENAI_BASE_URL = props.openAiBaseUrl;
  return env;
}

/** Cross-region inference profiles carry a geography prefix (`us.anthropic…`, `eu.`, `apac.`, `global.`…). */
const INFERENCE_PROFILE_ID = /^(us|us-gov|eu|apac|jp|au|ca|global)\.(.+)$/;

/**
 * The ARNs `bedrock:InvokeModel` must name for a model id. A foundation model: its ARN in this region.
 * A cross-region inference profile: the profile in this account and region, and the foundation model
 * in every region the profile may route to — Bedrock checks both, and the profile's regions are
 * chosen by AWS, hence the region wildcard there (and only there).
 */
export function bedrockModelArns(stack: Stack, modelId: string): string[] {
  if (modelId.startsWith('arn:')) return [modelId];
  const profile = INFERENCE_PROFILE_ID.exec(modelId);
  if (profile) {
    return [
      Arn.format(
        { service: 'bedrock', resource: 'inference-profile', resourceName: modelId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
        stack,
      ),
      Arn.format(
        {
          service: 'bedrock',
          region: '*',
          account: '',
          resource: 'foundation-model',
          resourceName: profile[2],
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        },
        stack,
      ),
    ];
  }
  return [
    Arn.format(
      { service: 'bedrock', account: '', resource: 'foundation-model', resourceName: modelId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
      stack,
    ),
  ];
}

/** Props with defaults applied, checked. */
interface Settings {
  workerTimeout: Duration;
  workerMemorySize: number;
  batchSize: number;
  maxConcurrency: number;
  maxReceiveCount: number;
  retentionPeriod: Duration;
  telemetryTtlDays: number;
  removalPolicy: RemovalPolicy;
  logRetention: RetentionDays;
  reservedConcurrency?: number;
  executionRetentionDays?: number;
  sourceMaps: boolean;
  bundleAwsSdk: boolean;
}

/** Applies the defaults and validates eagerly: a bad prop fails the synth with what was given and what is accepted. */
function resolveSettings(props: SoeOrchestratorProps): Settings {
  const fail = (message: string): never => {
    throw new Error(`SoeOrchestrator: ${message}`);
  };
  const integer = (name: string, value: number, min: number, max: number): number => {
    if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < min || value > max)) {
      fail(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
    return value;
  };
  const seconds = (name: string, value: Duration, min: number, max: number, unit: string): Duration => {
    if (!value.isUnresolved()) {
      const s = value.toSeconds({ integral: false });
      if (!Number.isInteger(s) || s < min || s > max)
        fail(`${name} must be whole seconds from ${min} s to ${max} s (${unit}), got ${value.toHumanString()}`);
    }
    return value;
  };

  const workerTimeout = seconds(
    'workerTimeout',
    props.workerTimeout ?? Duration.seconds(DEFAULT_WORKER_TIMEOUT_SECONDS),
    1,
    900,
    'the Lambda limit',
  );
  const settings: Settings = {
    workerTimeout,
    workerMemorySize: integer('workerMemorySize', props.workerMemorySize ?? DEFAULT_WORKER_MEMORY_MB, 128, 10_240),
    batchSize: integer('batchSize', props.batchSize ?? DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE),
    maxConcurrency: integer('maxConcurrency', props.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY, MIN_MAX_CONCURRENCY, MAX_MAX_CONCURRENCY),
    maxReceiveCount: integer('maxReceiveCount', props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT, 1, 1000),
    retentionPeriod: seconds(
      'retentionPeriod',
      props.retentionPeriod ?? Duration.days(DEFAULT_RETENTION_DAYS),
      60,
      1_209_600,
      'the SQS limits',
    ),
    telemetryTtlDays: DEFAULT_TELEMETRY_TTL_DAYS,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    sourceMaps: props.sourceMaps ?? false,
    bundleAwsSdk: props.bundleAwsSdk ?? false,
  };
  if (props.reservedConcurrency !== undefined) {
    const least = 2 * settings.maxConcurrency;
    if (
      !Token.isUnresolved(props.reservedConcurrency) &&
      (!Number.isInteger(props.reservedConcurrency) || props.reservedConcurrency < least)
    ) {
      fail(
        `reservedConcurrency must be a whole number of at least ${least} (twice maxConcurrency ${settings.maxConcurrency}: ` +
          `both worker event sources may run that many invocations, and throttled messages count as receives), got ${props.reservedConcurrency}`,
      );
    }
    settings.reservedConcurrency = props.reservedConcurrency;
  }
  if (props.executionRetention !== undefined) {
    const days = props.executionRetention.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1)
      fail(`executionRetention must be whole days, at least one, got ${props.executionRetention.toHumanString()}`);
    settings.executionRetentionDays = days;
  }
  if (props.telemetryTtl !== undefined) {
    const days = props.telemetryTtl.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1)
      fail(`telemetryTtl must be whole days, at least one, got ${props.telemetryTtl.toHumanString()}`);
    settings.telemetryTtlDays = days;
  }

  const provider = props.modelProvider;
  if (provider !== undefined && !(MODEL_PROVIDERS as readonly string[]).includes(provider)) {
    fail(`modelProvider must be one of ${MODEL_PROVIDERS.join(', ')}, got '${provider}'`);
  }
  if (provider === 'bedrock' && !props.modelId) {
    fail(`modelProvider 'bedrock' needs modelId: the worker is allowed to invoke that model and no other`);
  }
  if (provider === 'scripted' && props.scriptedModelFile === undefined)
    fail(`modelProvider 'scripted' needs scriptedModelFile (a JSON or YAML rules file)`);
  if (provider !== 'scripted' && props.scriptedModelFile !== undefined)
    fail(`scriptedModelFile is only used with modelProvider 'scripted', got ${provider ? `'${provider}'` : 'none'}`);
  if (provider !== 'openai' && props.modelSecret)
    fail(`modelSecret is only read by modelProvider 'openai', got ${provider ? `'${provider}'` : 'none'}`);
  if (provider !== 'openai' && props.openAiBaseUrl !== undefined) fail(`openAiBaseUrl is only used with modelProvider 'openai'`);
  if (provider === 'openai' && !props.modelSecret && props.openAiBaseUrl === undefined) {
    fail(
      `modelProvider 'openai' needs modelSecret (the Secrets Manager secret holding the API key), or an openAiBaseUrl that needs no key`,
    );
  }
  if (props.openAiBaseUrl !== undefined && !Token.isUnresolved(props.openAiBaseUrl) && !/^https?:\/\/\S+$/.test(props.openAiBaseUrl)) {
    fail(`openAiBaseUrl must be an http(s) URL, got '${props.openAiBaseUrl}'`);
  }
  if (provider === undefined && props.modelId !== undefined) fail(`modelId is set but modelProvider is not`);
  return settings;
}
