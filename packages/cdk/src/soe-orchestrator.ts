/**
 * The `SoeOrchestrator` construct: SOE on AWS in one construct — table, queues, the five functions,
 * their exact grants and the alarms. Its props live in soe-orchestrator-props.ts, their checks in
 * settings.ts, the table and the queues in table.ts and queues.ts, the model settings in model.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ENV, runtimeEnvironment } from '@soe/aws/env';
import { Duration, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, type Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, RecursiveLoop, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FilterPattern, LogGroup, MetricFilter, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_TOOLS_ENTRY, findLockFile, functionEntry, nodejsBundling, type SoeBundling, type SoeFunctionName } from './bundling.js';
import {
  API_FUNCTION_MEMORY_MB,
  API_FUNCTION_TIMEOUT_SECONDS,
  BUNDLED_WORKFLOWS_DIR,
  DEAD_LETTER_MAX_CONCURRENCY,
  MAX_BATCH_SIZE,
} from './defaults.js';
import { checkScriptedModelFile, type DeployedWorkflow, loadDeployedWorkflows } from './deployed-files.js';
import { bedrockModelArns, modelEnvironment, scriptedModelBundlePath } from './model.js';
import {
  CONSUME_ACTIONS,
  KEY_DECRYPT_ACTIONS,
  KEY_ENCRYPT_ACTIONS,
  SEND_ACTIONS,
  TABLE_ACTIONS,
  VISIBILITY_ACTIONS,
  WRITES_EXECUTION_ITEMS,
} from './permissions.js';
import { createQueues, queueMetric } from './queues.js';
import { resolveSettings } from './settings.js';
import type { SoeOrchestratorProps } from './soe-orchestrator-props.js';
import { createTable } from './table.js';

export { bedrockModelArns } from './model.js';
export type { SoeOrchestratorProps } from './soe-orchestrator-props.js';

/**
 * SOE on AWS: the DynamoDB table, the signal queues, the worker, the start, signal and status
 * functions and the dead-letter consumer, wired with exact grants (permissions.ts) and alarms.
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
  /** Executions, context records, workflows, telemetry (`pk`/`sk`, TTL on `ttl`): the construct's, or `existingTableObj`. */
  public readonly table: ITable;
  /** The FIFO signal queue the worker consumes; one message group per execution (the construct's, or `existingQueueObj`). */
  public readonly queue: IQueue;
  /** Dead-letter queue of {@link queue} (FIFO). */
  public readonly deadLetterQueue: IQueue;
  /** Standard queue where delayed broadcasts (`spawn_interval`) wait; the worker forwards them when due. */
  public readonly delayQueue: IQueue;
  /** Dead-letter queue of {@link delayQueue}. */
  public readonly delayDeadLetterQueue: IQueue;
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
    const toolsEntry = props.toolsEntry !== undefined ? resolve(props.toolsEntry) : DEFAULT_TOOLS_ENTRY;
    if (!existsSync(toolsEntry)) throw new Error(`SoeOrchestrator: toolsEntry '${props.toolsEntry}' does not exist`);
    this.deployedWorkflows = workflows.map((w) => w.name);

    // ---- state ------------------------------------------------------------------------------
    this.table = createTable(this, props, settings);
    const queues = createQueues(this, props, settings);
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.delayQueue = queues.delayQueue;
    this.delayDeadLetterQueue = queues.delayDeadLetterQueue;

    // ---- functions ---------------------------------------------------------------------------
    const bundling: SoeBundling = { toolsEntry, sourceMaps: settings.sourceMaps, bundleAwsSdk: settings.bundleAwsSdk };
    // The environment contract of `@soe/aws/env`: the functions read exactly these names.
    const common = {
      ...runtimeEnvironment({ tableName: this.table.tableName, queueUrl: this.queue.queueUrl }),
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
            ? { [ENV.executionRetentionDays]: String(settings.executionRetentionDays) }
            : {}),
        },
      });
    // What the worker and the dead-letter consumer both read: they handle the same messages.
    const workerEnvironment = {
      ...common,
      ...runtimeEnvironment({
        tableName: this.table.tableName,
        delayQueueUrl: this.delayQueue.queueUrl,
        maxReceiveCount: settings.maxReceiveCount,
        telemetryTtlDays: settings.telemetryTtlDays,
        captureMaxChars: settings.captureMaxChars,
        redactFields: settings.redactFields,
      }),
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
        ...runtimeEnvironment({
          tableName: this.table.tableName,
          telemetryTtlDays: settings.telemetryTtlDays,
          workflowsDir: workflows.length ? BUNDLED_WORKFLOWS_DIR : undefined,
        }),
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

    // ---- permissions: exactly the calls each function's code makes (permissions.ts) ------------
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
    const dlqAlarm = (alarmId: string, dlq: IQueue, what: string) =>
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
            received: queueMetric(dlq, 'NumberOfMessagesReceived', { period: Duration.minutes(1), statistic: 'Sum' }),
            visible: queueMetric(dlq, 'ApproximateNumberOfMessagesVisible', { period: Duration.minutes(1), statistic: 'Maximum' }),
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
    const lockFile = findLockFile();
    const role = new Role(this, `${name}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `SOE ${name} function`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, name, {
      entry: functionEntry(name),
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
      // esbuild runs in the project root the lock file marks: the user's project, or SOE's workspace.
      projectRoot: dirname(lockFile),
      depsLockFilePath: lockFile,
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
