/** Shared test helpers: emulators, event factories, a recording logger. */
import { randomUUID } from 'node:crypto';
import { type OrchestrateOptions, prepareExecution, storeExecution } from '@soe/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LocalLogEntry, SoeLogger } from '../src/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** A logger that keeps what it is told. */
export function recordingLogger(): SoeLogger & { entries: LocalLogEntry[] } {
  const entries: LocalLogEntry[] = [];
  const log =
    (level: LocalLogEntry['level']) =>
    (message: string, ...extra: Array<Record<string, unknown>>) => {
      entries.push({ ...Object.assign({}, ...extra), level, message });
    };
  return { entries, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** An SQS record as the Lambda event source delivers it. */
export function sqsRecord(body: unknown, overrides: Partial<SQSRecord> & { receiveCount?: number; groupId?: string } = {}): SQSRecord {
  const { receiveCount, groupId, ...rest } = overrides;
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: '000000000000',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      ...(groupId ? { MessageGroupId: groupId } : {}),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:soe-signals.fifo',
    awsRegion: 'us-east-1',
    ...rest,
  };
}

/** An SQS event of records. */
export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** A fake Lambda context. */
export function lambdaContext(timeoutMs = 60_000): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'soe-worker-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:soe-worker-test',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/soe-worker-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A signal message body. */
export const signalBody = (executionId: string, signals: string[], id: string = randomUUID()) => ({ v: 1, id, executionId, signals });

/** Waits until `check` holds (polling), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stores an execution without sending its signals: the test delivers them to the handler itself. */
export async function store(opts: OrchestrateOptions): Promise<string> {
  const prepared = await prepareExecution(opts);
  await storeExecution(opts.backends, prepared);
  return prepared.executionId;
}
