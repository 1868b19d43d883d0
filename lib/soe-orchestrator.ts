import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  API_FUNCTION_MEMORY_MB,
  API_FUNCTION_TIMEOUT_SECONDS,
  BUNDLED_SCRIPTED_MODEL_BASENAME,
  BUNDLED_WORKFLOWS_DIR,
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

/** The repository root: `functions/`, `packages/` and `package-lock.json` live here. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

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
   * Most concurrent worker invocations per queue (2–1000): bounds the load on the model provider and
   * on the account's Lambda concurrency.
   * @default 10
   */
  readonly maxConcurrency?: number;

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
}

/**
 * SOE on AWS: the DynamoDB table, the signal queues, the worker and the start, signal and status
 * functions, wired with least-privilege grants and alarms.
 *
 * ```
 * start ──▶ table ◀── worker ◀── FIFO signal queue (one message group per execution) ──▶ DLQ
 *   └────────── send ─────────────────▲   │  └─ delay queue (spawn_interval) ──▶ DLQ
 *                                     └───┘ emitted broadcasts
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
  /** Messages in the signal queue's DLQ (> 0). */
  public readonly deadLetterQueueAlarm: Alarm;
  /** Messages in the delay queue's DLQ (> 0). */
  public readonly delayDeadLetterQueueAlarm: Alarm;
  /** Worker invocations that failed as a whole (> 0 in 5 minutes). */
  public readonly workerErrorsAlarm: Alarm;
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
    const common = { TABLE_NAME: this.table.tableName, QUEUE_URL: this.queue.queueUrl, NODE_OPTIONS: '--enable-source-maps' };
    const fn = (fnId: string, file: string, opts: FunctionOptions) =>
      this.createFunction(fnId, file, { ...opts, toolsEntry, logRetention: settings.logRetention });

    this.workerFunction = fn('Worker', 'worker.ts', {
      description: 'SOE worker: runs the nodes each signal broadcast triggers',
      timeout: settings.workerTimeout,
      memorySize: settings.workerMemorySize,
      environment: {
        ...common,
        DELAY_QUEUE_URL: this.delayQueue.queueUrl,
        MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
        TELEMETRY_TTL_DAYS: String(settings.telemetryTtlDays),
        ...modelEnvironment(props, settings, scriptedModel),
      },
      copyFiles: scriptedModel ? [{ from: scriptedModel, to: scriptedModelBundlePath(scriptedModel) }] : [],
    });
    this.startFunction = fn('Start', 'start.ts', {
      description: 'SOE start: validates a config and starts an execution',
      environment: {
        ...common,
        TELEMETRY_TTL_DAYS: String(settings.telemetryTtlDays),
        ...(workflows.length ? { WORKFLOWS_DIR: BUNDLED_WORKFLOWS_DIR } : {}),
      },
      copyFiles: workflows.map((w: DeployedWorkflow) => ({ from: w.path, to: `${BUNDLED_WORKFLOWS_DIR}/${w.fileName}` })),
    });
    this.signalFunction = fn('Signal', 'signal.ts', {
      description: 'SOE signal: sends signals to a running execution',
      environment: { ...common },
    });
    this.statusFunction = fn('Status', 'status.ts', {
      description: 'SOE status: RUNNING, IDLE or FAILED, and optionally the context',
      environment: { ...common },
    });

    // ---- event sources -----------------------------------------------------------------------
    for (const queue of [this.queue, this.delayQueue]) {
      this.workerFunction.addEventSource(
        new SqsEventSource(queue, {
          batchSize: settings.batchSize,
          maxConcurrency: settings.maxConcurrency,
          // Only the failed records of a batch come back (the worker answers { batchItemFailures }).
          reportBatchItemFailures: true,
        }),
      );
    }

    // ---- permissions: grants only, on this table and these queues ---------------------------
    // The worker reads and folds an execution's records, commits node runs (conditional puts),
    // marks broadcasts handled, deletes chunk leftovers, scans for soe_list_contexts.
    this.table.grantReadWriteData(this.workerFunction);
    this.queue.grantSendMessages(this.workerFunction); // emitted broadcasts, forwarded delayed ones
    this.delayQueue.grantSendMessages(this.workerFunction); // emitted broadcasts with a spawn_interval
    // Start reads inherited configs and contexts and checks the execution before sending; signal
    // checks that the execution exists (GetItem), records the signals, and takes the record back
    // if the send fails (DeleteItem). Both send to the FIFO queue only.
    this.table.grantReadWriteData(this.startFunction);
    this.queue.grantSendMessages(this.startFunction);
    this.table.grantReadWriteData(this.signalFunction);
    this.queue.grantSendMessages(this.signalFunction);
    this.table.grantReadData(this.statusFunction);
    this.grantModel(props);
    if (props.encryptionKey) {
      // The SSE-KMS grants of DynamoDB and SQS (through table.grant*/queue.grant*) allow the
      // kms:GenerateDataKey* and kms:ReEncrypt* families, on this one key only.
      for (const writer of [this.workerFunction, this.startFunction, this.signalFunction]) {
        Validations.of(writer.role!).acknowledge(
          { id: nagRule('AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'), reason: KMS_GRANT_REASON },
          { id: nagRule('AwsSolutions-IAM5[Action::kms:ReEncrypt*]'), reason: KMS_GRANT_REASON },
        );
      }
    }

    // ---- alarms ------------------------------------------------------------------------------
    const dlqAlarm = (alarmId: string, dlq: Queue, what: string) =>
      new Alarm(this, alarmId, {
        alarmDescription: `SOE: messages in the ${what} dead-letter queue. Their executions are marked FAILED; inspect and redrive.`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.deadLetterQueueAlarm = dlqAlarm('DeadLetterQueueAlarm', this.deadLetterQueue, 'signal');
    this.delayDeadLetterQueueAlarm = dlqAlarm('DelayDeadLetterQueueAlarm', this.delayDeadLetterQueue, 'delay');
    this.workerErrorsAlarm = new Alarm(this, 'WorkerErrorsAlarm', {
      alarmDescription: 'SOE: worker invocations failed as a whole (crash, timeout, out of memory, or every record failed).',
      metric: this.workerFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
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
    id: string,
    file: string,
    opts: FunctionOptions & { toolsEntry: string; logRetention: RetentionDays },
  ): NodejsFunction {
    // An explicit log group and role: the role can write to this log group and nothing else
    // (instead of AWSLambdaBasicExecutionRole, which allows every log group of the account).
    const logGroup = new LogGroup(this, `${id}Logs`, { retention: opts.logRetention });
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `SOE ${id} function`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, id, {
      entry: join(REPO_ROOT, 'functions', file),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: opts.memorySize ?? API_FUNCTION_MEMORY_MB,
      timeout: opts.timeout ?? Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS),
      description: opts.description,
      environment: opts.environment,
      role,
      logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: bundlingOptions(opts.toolsEntry, opts.copyFiles ?? []),
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

/** What differs between the four functions. */
interface FunctionOptions {
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  /** Files copied into the bundle after esbuild ran (`to` is relative to the bundle root). */
  readonly copyFiles?: ReadonlyArray<{ from: string; to: string }>;
}

/**
 * esbuild, locally (esbuild is a root devDependency, so no Docker): CommonJS, because nunjucks is
 * CommonJS and requires Node built-ins; the AWS SDK bundled too, so the deployed code runs the SDK
 * version the tests ran, not the one the runtime happens to ship. The workspace packages resolve to
 * their TypeScript sources, so a synth never bundles a stale `dist/`, and a fresh clone synthesizes
 * without `npm run build`.
 */
function bundlingOptions(toolsEntry: string, copyFiles: ReadonlyArray<{ from: string; to: string }>): BundlingOptions {
  return {
    format: OutputFormat.CJS,
    target: 'node22',
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    bundleAwsSDK: true,
    logLevel: LogLevel.WARNING,
    esbuildArgs: {
      '--alias': [
        `soe-user-tools=${toolsEntry}`,
        `@soe/core=${join(REPO_ROOT, 'packages', 'core', 'src', 'index.ts')}`,
        `@soe/aws=${join(REPO_ROOT, 'packages', 'aws', 'src', 'index.ts')}`,
      ],
    },
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) =>
        copyFiles.map(({ from, to }) => {
          const target = join(outputDir, to);
          return `mkdir -p ${sh(dirname(target))} && cp ${sh(from)} ${sh(target)}`;
        }),
    },
  };
}

/** POSIX shell quoting for the copy commands of {@link bundlingOptions}. */
function sh(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
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
  };
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
