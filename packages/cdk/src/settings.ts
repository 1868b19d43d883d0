/**
 * The settings of a {@link SoeOrchestrator}: its props with the defaults applied, checked eagerly so a
 * bad prop fails the synth with what was given and what is accepted.
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_TELEMETRY_TTL_DAYS,
  DEFAULT_WORKER_MEMORY_MB,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
  MAX_BATCH_SIZE,
  MAX_MAX_CONCURRENCY,
  MIN_MAX_CONCURRENCY,
  MODEL_PROVIDERS,
  TABLE_PARTITION_KEY,
  TABLE_SORT_KEY,
  TABLE_TTL_ATTRIBUTE,
} from './defaults.js';
import type { SoeOrchestratorProps } from './soe-orchestrator-props.js';

/** Props with defaults applied, checked. */
export interface Settings {
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
  captureMaxChars?: number;
  redactFields?: readonly string[];
  sourceMaps: boolean;
  bundleAwsSdk: boolean;
}

/** Applies the defaults and validates eagerly: a bad prop fails the synth with what was given and what is accepted. */
export function resolveSettings(props: SoeOrchestratorProps): Settings {
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
  const capture = props.stepCapture;
  if (capture?.maxChars !== undefined) {
    if (!Number.isInteger(capture.maxChars) || capture.maxChars < 0 || capture.maxChars > 1_000_000)
      fail(`stepCapture.maxChars must be a whole number from 0 to 1,000,000, got ${capture.maxChars}`);
    settings.captureMaxChars = capture.maxChars;
  }
  if (capture?.redactFields?.length) {
    const bad = capture.redactFields.find((f) => !f.trim() || f.includes(','));
    if (bad !== undefined) fail(`stepCapture.redactFields must be non-empty names without commas, got '${bad}'`);
    settings.redactFields = capture.redactFields;
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
  checkExistingResources(props, settings, fail);
  return settings;
}

/** The existing-resource props: which go together, which exclude each other (Solutions Constructs' rules). */
function checkExistingResources(props: SoeOrchestratorProps, settings: Settings, fail: (message: string) => never): void {
  if (props.existingTableObj && props.tableProps)
    fail('give existingTableObj or tableProps, not both: tableProps shape the table the construct creates');
  const keys = props.tableProps as
    | { partitionKey?: { name: string }; sortKey?: { name: string }; timeToLiveAttribute?: string }
    | undefined;
  if (keys?.partitionKey && keys.partitionKey.name !== TABLE_PARTITION_KEY)
    fail(`tableProps.partitionKey must be '${TABLE_PARTITION_KEY}' (the runtime's key schema), got '${keys.partitionKey.name}'`);
  if (keys?.sortKey && keys.sortKey.name !== TABLE_SORT_KEY)
    fail(`tableProps.sortKey must be '${TABLE_SORT_KEY}' (the runtime's key schema), got '${keys.sortKey.name}'`);
  if (keys?.timeToLiveAttribute !== undefined && keys.timeToLiveAttribute !== TABLE_TTL_ATTRIBUTE)
    fail(
      `tableProps.timeToLiveAttribute must be '${TABLE_TTL_ATTRIBUTE}' (the attribute the runtime writes), got '${keys.timeToLiveAttribute}'`,
    );
  if (props.existingQueueObj && props.queueProps)
    fail('give existingQueueObj or queueProps, not both: queueProps shape the queue the construct creates');
  if (props.existingQueueObj && !props.existingDeadLetterQueueObj)
    fail('existingQueueObj needs existingDeadLetterQueueObj: the dead-letter consumer reads the queue its redrive policy sends to');
  if (props.existingDeadLetterQueueObj && !props.existingQueueObj) fail('existingDeadLetterQueueObj is only used with existingQueueObj');
  for (const [name, q] of [
    ['existingQueueObj', props.existingQueueObj],
    ['existingDeadLetterQueueObj', props.existingDeadLetterQueueObj],
  ] as const) {
    if (q && !q.fifo)
      fail(`${name} must be a FIFO queue (one message group per execution keeps its broadcasts in order), got ${q.node.path}`);
  }
  // A queue defined in this app says where it redrives: it must be the given dead-letter queue, after
  // the receives the worker is told (it marks the execution FAILED on the last one).
  const redrive = props.existingQueueObj instanceof Queue ? props.existingQueueObj.deadLetterQueue : undefined;
  if (props.existingQueueObj instanceof Queue && !redrive)
    fail('existingQueueObj has no dead-letter queue: give it deadLetterQueue { queue: existingDeadLetterQueueObj, maxReceiveCount }');
  if (redrive && redrive.queue !== props.existingDeadLetterQueueObj)
    fail(`existingQueueObj redrives to ${redrive.queue.node.path}, not to existingDeadLetterQueueObj`);
  if (redrive && !Token.isUnresolved(redrive.maxReceiveCount) && redrive.maxReceiveCount !== settings.maxReceiveCount) {
    fail(
      `existingQueueObj redrives after ${redrive.maxReceiveCount} receives but maxReceiveCount is ${settings.maxReceiveCount}: ` +
        `set maxReceiveCount: ${redrive.maxReceiveCount} (the worker marks the execution FAILED on the last receive)`,
    );
  }
  if (props.queueProps?.fifo === false) fail('queueProps.fifo cannot be false: the signal queue is FIFO');
  if (props.queueProps?.deadLetterQueue)
    fail('queueProps.deadLetterQueue cannot be set: the construct wires the signal queue to its own dead-letter queue and consumer');
}
