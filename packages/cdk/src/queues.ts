/**
 * The queues of a {@link SoeOrchestrator}: the FIFO signal queue (one message group per execution)
 * with its dead-letter queue, and the standard delay queue (`spawn_interval`) with its own — or the
 * user's signal queue and dead-letter queue, given as `existingQueueObj` / `existingDeadLetterQueueObj`.
 */
import { Duration } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { DeduplicationScope, FifoThroughputLimit, type IQueue, Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { API_FUNCTION_TIMEOUT_SECONDS, DLQ_RETENTION_DAYS, VISIBILITY_TIMEOUT_FACTOR } from './defaults.js';
import type { Settings } from './settings.js';
import type { SoeOrchestratorProps } from './soe-orchestrator-props.js';

/** The four queues the functions use. */
export interface SoeQueues {
  /** The FIFO signal queue the worker consumes. */
  readonly queue: IQueue;
  /** Its dead-letter queue (FIFO). */
  readonly deadLetterQueue: IQueue;
  /** Where delayed broadcasts wait (standard: FIFO queues take no per-message delay). */
  readonly delayQueue: IQueue;
  /** Its dead-letter queue. */
  readonly delayDeadLetterQueue: IQueue;
}

/**
 * FIFO, grouped by execution: the broadcasts of one execution are handled one at a time and in order,
 * different executions in parallel; the broadcast id is the deduplication id (no content-based
 * deduplication). High-throughput mode: limits apply per message group.
 */
const FIFO = {
  fifo: true,
  contentBasedDeduplication: false,
  deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
  fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
} as const;

/** Creates the queues (or takes the user's signal queue and its dead-letter queue) in `scope`. */
export function createQueues(scope: Construct, props: SoeOrchestratorProps, settings: Settings): SoeQueues {
  const encryption = encryptionOf(props.encryptionKey);
  const visibilityTimeout = Duration.seconds(settings.workerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR);
  const dlqRetention = Duration.days(DLQ_RETENTION_DAYS);
  // Lambda refuses an event source whose queue hides a message for less than the function's timeout.
  const dlqVisibilityTimeout = Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS * VISIBILITY_TIMEOUT_FACTOR);
  const dlq = (id: string, fifo: boolean) =>
    new Queue(scope, id, {
      ...(fifo ? FIFO : {}),
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: dlqVisibilityTimeout,
      retentionPeriod: dlqRetention,
      removalPolicy: settings.removalPolicy,
    });

  let deadLetterQueue: IQueue;
  let queue: IQueue;
  if (props.existingQueueObj && props.existingDeadLetterQueueObj) {
    queue = props.existingQueueObj;
    deadLetterQueue = props.existingDeadLetterQueueObj;
  } else {
    const ownDlq = dlq('SignalDeadLetterQueue', true);
    deadLetterQueue = ownDlq;
    queue = new Queue(scope, 'SignalQueue', {
      ...FIFO,
      ...encryption,
      enforceSSL: true,
      visibilityTimeout,
      retentionPeriod: settings.retentionPeriod,
      ...(props.queueProps as QueueProps | undefined),
      deadLetterQueue: { queue: ownDlq, maxReceiveCount: settings.maxReceiveCount },
    });
  }
  // FIFO queues have no per-message delay: delayed broadcasts wait here (DelaySeconds ≤ 900).
  const delayDeadLetterQueue = dlq('DelayDeadLetterQueue', false);
  const delayQueue = new Queue(scope, 'DelayQueue', {
    ...encryption,
    enforceSSL: true,
    visibilityTimeout,
    retentionPeriod: settings.retentionPeriod,
    deadLetterQueue: { queue: delayDeadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
  });
  return { queue, deadLetterQueue, delayQueue, delayDeadLetterQueue };
}

/** SSE-KMS with the user's key, else SSE-SQS. */
function encryptionOf(key: IKey | undefined): Pick<QueueProps, 'encryption' | 'encryptionMasterKey'> {
  return key ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key } : { encryption: QueueEncryption.SQS_MANAGED };
}

/**
 * A metric of any queue, created or imported (IQueue has no `metricNumberOfMessagesReceived`): the
 * AWS/SQS metric by queue name, as `Queue.metric` builds it.
 */
export function queueMetric(queue: IQueue, metricName: string, options: MetricOptions): Metric {
  return new Metric({ namespace: 'AWS/SQS', metricName, dimensionsMap: { QueueName: queue.queueName }, ...options }).attachTo(queue);
}
