/**
 * The worker against the emulators, on the ways an invocation runs out of time: the time budget before
 * each record, node deadlines from the Lambda context, `timeout_seconds`, chained long delays, and the
 * dead-letter consumer that marks FAILED whatever reached a dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { ToolsRegistry } from '@soe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createDeadLetterHandler,
  createDynamoBackends,
  createRuntimeServices,
  createStartHandler,
  createWorkerHandler,
  getExecutionStatus,
  type LocalEmulators,
  RedeliveryPolicy,
  startLocalEmulators,
  type WorkerDeps,
} from '../src/index.js';
import { lambdaContext, recordingLogger, signalBody, sqsEvent, sqsRecord, store } from './helpers.js';

let emulators: LocalEmulators;
let queueUrl: string;
let delayQueueUrl: string;

beforeAll(async () => {
  emulators = await startLocalEmulators();
  queueUrl = (await emulators.sqs.send(new CreateQueueCommand({ QueueName: 'timeouts-test' }))).QueueUrl!;
  delayQueueUrl = (await emulators.sqs.send(new CreateQueueCommand({ QueueName: 'timeouts-test-delayed' }))).QueueUrl!;
});
afterAll(async () => {
  await emulators?.close();
});
beforeEach(async () => {
  await emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  await emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: delayQueueUrl }));
});

const CONFIG = (node = '') => `
workflows:
  main:
    Step:
      node_type: tool
      event_triggers: [START]
      tool_name: work
      output_field: result
      event_emissions: [{ signal_name: WORKED }]${node}
`;

function setup(tools: ToolsRegistry, extra: Partial<WorkerDeps> = {}) {
  const logger = recordingLogger();
  const deps: WorkerDeps = {
    dynamo: emulators.dynamo,
    sqs: emulators.sqs,
    tableName: emulators.tableName,
    queueUrl,
    toolsRegistry: tools,
    logger,
    ...extra,
  };
  const backends = createDynamoBackends({ client: emulators.dynamo, tableName: emulators.tableName });
  const start = (config = CONFIG()) => store({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends });
  return { handler: createWorkerHandler(deps), logger, backends, start, deps };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function receive(url: string, wait = 0) {
  const res = await emulators.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }));
  return (res.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

describe('time budget', () => {
  it('hands a record back unstarted when too little time remains, without failing the execution', async () => {
    let calls = 0;
    const { handler, backends, start, logger } = setup({ work: () => ++calls });
    const id = await start();
    const record = sqsRecord(signalBody(id, ['START']), { groupId: id });
    // 300 ms left: less than the record reserve (2 × 200 ms).
    const res = await handler(sqsEvent(record), lambdaContext(300));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(calls).toBe(0);
    expect((await getExecutionStatus(backends.table, id)).status).not.toBe('FAILED');
    expect(logger.entries).toContainEqual(expect.objectContaining({ message: 'message handed back unprocessed' }));
    // A fresh invocation runs it.
    const again = await handler(sqsEvent(sqsRecord(record.body, { groupId: id, receiveCount: 2 })), lambdaContext(60_000));
    expect(again.batchItemFailures).toEqual([]);
    expect(calls).toBe(1);
  });

  it('on the last receive, a record handed back is recorded as the failure before it goes to the DLQ', async () => {
    const { handler, backends, start } = setup({ work: () => 1 }, { maxReceiveCount: 3 });
    const id = await start();
    await handler(sqsEvent(sqsRecord(signalBody(id, ['START']), { receiveCount: 3 })), lambdaContext(300));
    expect(await getExecutionStatus(backends.table, id)).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/not started: .* ms left in the invocation.*gave up after 3 attempts/),
    });
  });
});

describe('node deadlines', () => {
  it('a node still running at the invocation deadline fails retryably, then FAILED with "timed out" on the last receive', async () => {
    let signal: AbortSignal | undefined;
    const tools: ToolsRegistry = {
      work: (_a: unknown, ctx: { signal: AbortSignal }) => {
        signal = ctx.signal;
        return sleep(30_000);
      },
    };
    const { handler, backends, start, logger } = setup(tools, { maxReceiveCount: 2, backoffSeconds: () => 0 });
    const id = await start();
    const body = signalBody(id, ['START']);
    const first = await handler(sqsEvent(sqsRecord(body, { receiveCount: 1 })), lambdaContext(1_000));
    expect(first.batchItemFailures).toHaveLength(1);
    expect(signal?.aborted).toBe(true);
    expect((await getExecutionStatus(backends.table, id)).status).not.toBe('FAILED');
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', error: expect.stringContaining('DeadlineExceededError') }),
    );
    await handler(sqsEvent(sqsRecord(body, { receiveCount: 2 })), lambdaContext(1_000));
    expect(await getExecutionStatus(backends.table, id)).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/DeadlineExceededError: .*node 'Step' timed out.*gave up after 2 attempts/),
    });
  });

  it('timeout_seconds on the AWS path: FAILED with "timed out after N s", or the failure signal', async () => {
    const hang = () => new Promise(() => undefined);
    const plain = setup({ work: hang });
    const id = await plain.start(CONFIG('\n      timeout_seconds: 0.3'));
    const res = await plain.handler(sqsEvent(sqsRecord(signalBody(id, ['START']))), lambdaContext(60_000));
    expect(res.batchItemFailures).toEqual([]);
    expect(await getExecutionStatus(plain.backends.table, id)).toMatchObject({
      status: 'FAILED',
      failedNode: 'Step',
      error: expect.stringContaining("node 'Step' timed out after 0.3 s"),
    });

    const routed = setup({ work: { fn: hang, failureSignal: 'WORK_FAILED' } });
    const id2 = await routed.start(CONFIG('\n      timeout_seconds: 0.3'));
    await routed.handler(sqsEvent(sqsRecord(signalBody(id2, ['START']))), lambdaContext(60_000));
    const ctx = await routed.backends.context.getContext(id2);
    expect(ctx.__operational__?.signals).toEqual(['START', 'WORK_FAILED']);
    expect(ctx.result).toEqual([expect.stringContaining('timed out after 0.3 s')]);
    expect((await getExecutionStatus(routed.backends.table, id2)).status).toBe('IDLE');
  });
});

describe('delays longer than SQS allows', () => {
  it('puts a message that came due early back on the delay queue, and forwards it once due', async () => {
    const { handler, backends, start, logger } = setup({ work: () => 1 }, { delayQueueUrl, maxDelaySeconds: 1 });
    const id = await start();
    const delayedArn = 'arn:aws:sqs:us-east-1:000000000000:timeouts-test-delayed';
    const early = { ...signalBody(id, ['START']), due: Date.now() + 3_000 };
    await handler(sqsEvent(sqsRecord(early, { eventSourceARN: delayedArn })), lambdaContext());
    expect(logger.entries).toContainEqual(expect.objectContaining({ message: 're-delayed a signal message', remainingSeconds: 3 }));
    expect(await receive(queueUrl)).toEqual([]);
    // Re-delayed by at most maxDelaySeconds, carrying the same due time.
    const back = await receive(delayQueueUrl, 3);
    expect(back).toEqual([early]);
    const due = { ...early, due: Date.now() - 1 };
    await handler(sqsEvent(sqsRecord(due, { eventSourceARN: delayedArn })), lambdaContext());
    expect(await receive(queueUrl)).toEqual([{ v: 1, id: early.id, executionId: id, signals: ['START'] }]);
    expect((await backends.context.getContext(id)).__operational__?.nodes).toEqual({});
  });
});

describe('dead-letter consumer', () => {
  const dlq = (extra: { maxReceiveCount?: number } = {}) => {
    const logger = recordingLogger();
    const handler = createDeadLetterHandler({
      dynamo: emulators.dynamo,
      sqs: emulators.sqs,
      tableName: emulators.tableName,
      logger,
      ...extra,
    });
    return { handler, logger };
  };

  it('marks FAILED with a generic reason when the worker recorded none, once', async () => {
    const { start, backends } = setup({ work: () => 1 });
    const id = await start();
    const { handler } = dlq({ maxReceiveCount: 4 });
    const body = signalBody(id, ['START']);
    const res = await handler(sqsEvent(sqsRecord(body)));
    expect(res.batchItemFailures).toEqual([]);
    const status = await getExecutionStatus(backends.table, id);
    expect(status).toMatchObject({
      status: 'FAILED',
      error: `DeadLetterError: broadcast ${body.id} (signals START) reached the dead-letter queue after 4 receives: the worker timed out, ran out of memory or crashed`,
      inFlight: 0,
    });
    await handler(sqsEvent(sqsRecord(body)));
    expect(await getExecutionStatus(backends.table, id)).toEqual(status);
  });

  it('keeps the more specific failure the worker recorded', async () => {
    const {
      start,
      backends,
      handler: worker,
    } = setup({ work: () => Promise.reject(Object.assign(new Error('throttled'), { retryable: true })) }, { maxReceiveCount: 1 });
    const id = await start();
    const body = signalBody(id, ['START']);
    await worker(sqsEvent(sqsRecord(body, { receiveCount: 1 })), lambdaContext());
    const { handler, logger } = dlq();
    await handler(sqsEvent(sqsRecord(body)));
    expect(await getExecutionStatus(backends.table, id)).toMatchObject({ status: 'FAILED', error: expect.stringContaining('throttled') });
    expect(logger.entries).toContainEqual(expect.objectContaining({ message: expect.stringContaining('already FAILED') }));
  });

  it('logs and drops malformed messages and messages of unknown executions', async () => {
    const { handler, logger } = dlq();
    const res = await handler(sqsEvent(sqsRecord('not json'), sqsRecord(signalBody(randomUUID(), ['X']))));
    expect(res.batchItemFailures).toEqual([]);
    expect(logger.entries.map((e) => e.message)).toEqual([
      'dropped a malformed dead letter',
      'dropped a dead letter for an unknown execution',
    ]);
  });

  it('marks FAILED even when the broadcast itself was handled (the invocation died later)', async () => {
    const { start, backends, handler: worker } = setup({ work: () => 1 });
    const id = await start();
    const body = signalBody(id, ['START']);
    await worker(sqsEvent(sqsRecord(body)), lambdaContext());
    const { handler } = dlq();
    await handler(sqsEvent(sqsRecord(body)));
    expect(await getExecutionStatus(backends.table, id)).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('dead-letter queue'),
    });
    expect((await backends.context.getContext(id)).result).toEqual([1]);
  });
});

describe('start request limits', () => {
  it('takes limits.max_node_runs per start request, checks it, and stores nothing when it is bad', async () => {
    const startHandler = createStartHandler({
      dynamo: emulators.dynamo,
      sqs: emulators.sqs,
      tableName: emulators.tableName,
      queueUrl,
      logger: recordingLogger(),
    });
    const backends = createDynamoBackends({ client: emulators.dynamo, tableName: emulators.tableName });
    const request = { config: CONFIG(), initialWorkflowName: 'main', initialSignals: ['START'] };
    const ok = await startHandler({ ...request, limits: { max_node_runs: 3 } });
    expect(ok).toEqual({ executionId: expect.any(String) });
    const ctx = await backends.context.getContext((ok as { executionId: string }).executionId);
    expect(ctx.__operational__?.max_node_runs).toBe(3);
    const before = (await backends.context.listContexts()).length;
    const bad = await startHandler({ ...request, limits: { max_node_runs: 0 } });
    expect(bad).toMatchObject({ error: { type: 'WorkflowValidationError', message: expect.stringContaining('limits.max_node_runs') } });
    expect(await startHandler({ ...request, limits: 5 as never })).toMatchObject({ error: { type: 'RequestValidationError' } });
    expect((await backends.context.listContexts()).length).toBe(before);
  });
});

describe('redelivery policy', () => {
  /** Sends a message and receives it, as the event source would, into an SQS record. */
  async function received(body: unknown) {
    await emulators.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
    const res = await emulators.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
    );
    const m = res.Messages![0]!;
    return sqsRecord(m.Body!, { receiptHandle: m.ReceiptHandle!, receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1) });
  }
  const policy = (backoffSeconds: (n: number) => number, maxReceiveCount = 3) => {
    const logger = recordingLogger();
    const services = createRuntimeServices(
      { dynamo: emulators.dynamo, sqs: emulators.sqs, tableName: emulators.tableName, queueUrl, logger },
      'test',
    );
    return { logger, policy: new RedeliveryPolicy(services, { maxReceiveCount, backoffSeconds, queueOf: () => queueUrl }) };
  };

  it('keeps a transiently failed record invisible for its backoff, and hands back a record at once', async () => {
    const { policy: slow } = policy(() => 30);
    const record = await received(signalBody(randomUUID(), ['A']));
    expect(slow.isLastReceive(record)).toBe(false);
    await slow.retryLater(record, {}, new Error('throttled'));
    expect(await receive(queueUrl)).toEqual([]);
    await emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));

    // The same 30 s backoff does not apply: a record handed back unstarted is visible again at once.
    const { policy: sameBackoff, logger } = policy(() => 30);
    const again = await received(signalBody(randomUUID(), ['B']));
    await sameBackoff.handBack(again, 'time budget');
    expect(await receive(queueUrl)).toEqual([expect.objectContaining({ signals: ['B'] })]);
    expect(logger.entries).toContainEqual(expect.objectContaining({ message: 'message handed back unprocessed', reason: 'time budget' }));
  });

  it('on the last receive, records the failure and lets the record go at once', async () => {
    const { policy: p, logger } = policy(() => 30, 1);
    const { start, backends } = setup({ work: () => 1 });
    const id = await start();
    const record = await received(signalBody(id, ['START']));
    expect(p.isLastReceive(record)).toBe(true);
    await p.retryLater(record, { executionId: id }, new Error('throttled'));
    expect(await getExecutionStatus(backends.table, id)).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('Error: throttled (gave up after 1 attempts'),
    });
    expect(await receive(queueUrl)).toHaveLength(1);
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'error', marked: true }));
  });
});
