/**
 * The worker handler called with fixture SQS events against the emulators: exactly-once commits,
 * redelivery, crashes between commit and send, and how errors are sorted.
 */
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { type ToolsRegistry, TransientError } from '@soe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createDynamoBackends,
  createWorkerHandler,
  getExecutionStatus,
  type LocalEmulators,
  SimulatedCrashError,
  startLocalEmulators,
  type WorkerDeps,
} from '../src/index.js';
import { lambdaContext, recordingLogger, signalBody, sqsEvent, sqsRecord, store } from './helpers.js';

let emulators: LocalEmulators;
/** A standard queue: nothing consumes it here, so the tests can read what the worker sent. */
let queueUrl: string;

beforeAll(async () => {
  emulators = await startLocalEmulators();
  queueUrl = (await emulators.sqs.send(new CreateQueueCommand({ QueueName: 'worker-test' }))).QueueUrl!;
});
afterAll(async () => {
  await emulators?.close();
});
beforeEach(async () => {
  await emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
});

const CONFIG = `
workflows:
  main:
    Step:
      node_type: tool
      event_triggers: [START]
      tool_name: work
      context_parameter_field: input
      output_field: result
      event_emissions: [{ signal_name: WORKED }]
    Next:
      node_type: tool
      event_triggers: [WORKED]
      tool_name: work
      context_parameter_field: input
      output_field: second
`;

/** A worker; by default one broadcast per message (no following), so the tests see every hop. */
function setup(tools: ToolsRegistry, extra: Partial<WorkerDeps> = {}) {
  const logger = recordingLogger();
  const deps: WorkerDeps = {
    dynamo: emulators.dynamo,
    sqs: emulators.sqs,
    tableName: emulators.tableName,
    queueUrl,
    toolsRegistry: tools,
    logger,
    followRouters: 0,
    ...extra,
  };
  const backends = createDynamoBackends({ client: emulators.dynamo, tableName: emulators.tableName });
  const start = (initialContext: Record<string, unknown> = { input: { n: 1 } }, config = CONFIG) =>
    store({ config, initialWorkflowName: 'main', initialSignals: ['START'], initialContext, backends });
  return { handler: createWorkerHandler(deps), logger, backends, start };
}

async function sent(max = 10): Promise<Array<{ v: number; id: string; executionId: string; signals: string[] }>> {
  const res = await emulators.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: max, WaitTimeSeconds: 0 }));
  return (res.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

describe('worker handler', () => {
  it('runs the triggered node, commits it, and sends its emitted signals as a small message', async () => {
    let calls = 0;
    const { handler, backends, start } = setup({ work: (a: { n: number }) => ({ doubled: a.n * 2, call: ++calls }) });
    const id = await start();
    const res = await handler(sqsEvent(sqsRecord(signalBody(id, ['START']))), lambdaContext());
    expect(res.batchItemFailures).toEqual([]);
    const ctx = await backends.context.getContext(id);
    expect(ctx.result).toEqual([{ doubled: 2, call: 1 }]);
    expect(ctx.__operational__).toMatchObject({ signals: ['START', 'WORKED'], nodes: { Step: 1 }, tool_calls: 1 });
    const messages = await sent();
    expect(messages).toEqual([{ v: 1, id: expect.any(String), executionId: id, signals: ['WORKED'] }]);
  });

  it('runs nothing twice for a redelivered message, and re-sends the same broadcast id', async () => {
    let calls = 0;
    const { handler, backends, start } = setup({ work: () => ++calls });
    const id = await start();
    const record = sqsRecord(signalBody(id, ['START']));
    await handler(sqsEvent(record), lambdaContext());
    const [first] = await sent();
    await handler(sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }), lambdaContext());
    const [again] = await sent();
    expect(calls).toBe(1);
    expect(again!.id).toBe(first!.id);
    const ctx = await backends.context.getContext(id);
    expect(ctx.result).toEqual([1]);
    expect(ctx.__operational__).toMatchObject({ signals: ['START', 'WORKED'], nodes: { Step: 1 }, tool_calls: 1 });
  });

  it('counts once when two deliveries of one message run at the same time', async () => {
    const { handler, backends, start } = setup({ work: async () => new Promise((r) => setTimeout(() => r('done'), 30)) });
    const id = await start();
    const body = signalBody(id, ['START']);
    const results = await Promise.all([
      handler(sqsEvent(sqsRecord(body)), lambdaContext()),
      handler(sqsEvent(sqsRecord(body)), lambdaContext()),
    ]);
    expect(results.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    const ctx = await backends.context.getContext(id);
    expect(ctx.result).toEqual(['done']);
    expect(ctx.__operational__).toMatchObject({ signals: ['START', 'WORKED'], nodes: { Step: 1 }, tool_calls: 1 });
  });

  it('loses nothing when a worker dies between commit and send: the redelivery sends from the outbox', async () => {
    let calls = 0;
    let crash = true;
    const { handler, backends, start } = setup(
      { work: () => ++calls },
      {
        backoffSeconds: () => 0,
        hooks: {
          afterCommit: () => {
            if (crash) {
              crash = false;
              throw new SimulatedCrashError();
            }
          },
        },
      },
    );
    const id = await start();
    const record = sqsRecord(signalBody(id, ['START']));
    const first = await handler(sqsEvent(record), lambdaContext());
    // The only record failed: reported as a batch item failure, never thrown (Lambda's Errors metric counts crashes only).
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect((await backends.context.getContext(id)).__operational__?.nodes).toEqual({ Step: 1 });
    // Nothing was sent by the dead worker (the queue is empty apart from the redelivery we simulate).
    expect(await sent()).toEqual([]);
    const again = await handler(
      sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }),
      lambdaContext(),
    );
    expect(again.batchItemFailures).toEqual([]);
    expect(calls).toBe(1);
    expect(await sent()).toEqual([{ v: 1, id: expect.any(String), executionId: id, signals: ['WORKED'] }]);
  });

  it('follows a chain of tool nodes in one invocation, and a redelivery after a crash mid-chain runs nothing twice', async () => {
    const chain = `
workflows:
  main:
${Array.from({ length: 6 }, (_, i) => `    T${i}: { node_type: tool, event_triggers: [S${i}], tool_name: work, output_field: out, event_emissions: [{ signal_name: S${i + 1} }] }`).join('\n')}
`;
    const calls: string[] = [];
    let commits = 0;
    const { handler, backends } = setup(
      { work: () => calls.push('run') },
      {
        followRouters: 50,
        backoffSeconds: () => 0,
        hooks: {
          // The worker dies right after the third commit of the chain.
          afterCommit: () => {
            if (++commits === 3) throw new SimulatedCrashError();
          },
        },
      },
    );
    const id = await store({ config: chain, initialWorkflowName: 'main', initialSignals: ['S0'], backends });
    const record = sqsRecord(signalBody(id, ['S0']));
    await handler(sqsEvent(record), lambdaContext()).catch((e) => e);
    expect((await backends.context.getContext(id)).out).toEqual([1, 2, 3]);
    const again = await handler(
      sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }),
      lambdaContext(),
    );
    expect(again.batchItemFailures).toEqual([]);
    const ctx = await backends.context.getContext(id);
    expect(ctx.out).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ctx.__operational__).toMatchObject({ signals: ['S0', 'S1', 'S2', 'S3', 'S4', 'S5', 'S6'], tool_calls: 6 });
    expect(calls).toHaveLength(6);
    // No hop: the whole chain ran inside the two deliveries of the first message.
    expect(await sent()).toEqual([]);
    expect((await getExecutionStatus(backends.table, id)).status).toBe('IDLE');
  });

  it('keeps every append and every count when 50 workers handle broadcasts of one execution at once', async () => {
    let calls = 0;
    const config = `
workflows:
  main:
    Hit:
      node_type: tool
      event_triggers: [HIT]
      tool_name: hit
      output_field: hits
`;
    const { handler, backends, start } = setup({ hit: async () => ++calls });
    const id = await store({ config, initialWorkflowName: 'main', initialSignals: ['HIT'], backends });
    void start;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => handler(sqsEvent(sqsRecord(signalBody(id, ['HIT']))), lambdaContext())),
    );
    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);
    const ctx = await backends.context.getContext(id);
    expect([...(ctx.hits as number[])].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(ctx.__operational__).toMatchObject({ nodes: { Hit: 50 }, tool_calls: 50 });
    expect(ctx.__operational__!.signals).toEqual(Array(50).fill('HIT'));
    expect((await getExecutionStatus(backends.table, id)).status).toBe('IDLE');
  });

  it('acknowledges and logs a message for an unknown execution (permanent: not retried)', async () => {
    const { handler, logger } = setup({});
    const missing = randomUUID();
    const res = await handler(sqsEvent(sqsRecord(signalBody(missing, ['START']))), lambdaContext());
    expect(res.batchItemFailures).toEqual([]);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'error', executionId: missing, error: expect.stringContaining('UnknownExecutionError') }),
    );
    expect(await sent()).toEqual([]);
  });

  it('acknowledges and logs a malformed message body', async () => {
    const { handler, logger } = setup({});
    const res = await handler(
      sqsEvent(sqsRecord('{"not": "a signal message"'), sqsRecord({ v: 1, id: 'x', executionId: 'e', signals: 'START' })),
      lambdaContext(),
    );
    expect(res.batchItemFailures).toEqual([]);
    const errors = logger.entries.filter((e) => e.level === 'error' && e.message.includes('malformed'));
    expect(errors).toHaveLength(2);
    expect(errors.map((e) => e.error)).toEqual([expect.stringContaining('not JSON'), expect.stringContaining('signals must be a list')]);
  });

  it('marks the execution FAILED on a permanent error and does not retry the message', async () => {
    const { handler, backends, start, logger } = setup({ other: () => 1 });
    const id = await start();
    const res = await handler(sqsEvent(sqsRecord(signalBody(id, ['START']))), lambdaContext());
    expect(res.batchItemFailures).toEqual([]);
    const status = await getExecutionStatus(backends.table, id);
    expect(status).toMatchObject({
      status: 'FAILED',
      failedNode: 'Step',
      error: expect.stringMatching(/^ToolNodeConfigurationError: .*'work' not found in the tools registry/),
    });
    expect((await backends.context.getContext(id)).__operational__).toMatchObject({ errors: 1, nodes: { Step: 1 } });
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'error', executionId: id }));
    expect(await sent()).toEqual([]);
  });

  it('fails the record on a transient error so SQS retries it, and leaves no trace of the failed attempt', async () => {
    let calls = 0;
    const { handler, backends, start, logger } = setup({
      work: () => {
        if (++calls === 1) throw new TransientError('model endpoint throttled');
        return 'ok';
      },
    });
    const id = await start();
    const record = sqsRecord(signalBody(id, ['START']));
    const other = sqsRecord(signalBody(randomUUID(), ['START']));
    const first = await handler(sqsEvent(record, other), lambdaContext());
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('retried'), retryInSeconds: 5 }),
    );
    expect((await backends.context.getContext(id)).__operational__?.nodes).toEqual({});
    const second = await handler(
      sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }),
      lambdaContext(),
    );
    expect(second.batchItemFailures).toEqual([]);
    expect((await backends.context.getContext(id)).result).toEqual(['ok']);
  });

  it('marks the execution FAILED before the last attempt of a transient error goes to the DLQ', async () => {
    const { handler, backends, start, logger } = setup(
      { work: () => Promise.reject(new TransientError('still throttled')) },
      { maxReceiveCount: 3 },
    );
    const id = await start();
    const record = sqsRecord(signalBody(id, ['START']), { receiveCount: 3 });
    const res = await handler(sqsEvent(record), lambdaContext());
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await getExecutionStatus(backends.table, id)).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/still throttled.*gave up after 3 attempts/),
    });
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('dead-letter') }));
  });

  it('handles the records of one FIFO group in order and fails the rest of the group after a failure', async () => {
    let calls = 0;
    const { handler, start } = setup({
      work: () => {
        calls++;
        throw new TransientError('busy');
      },
    });
    const id = await start();
    const a = sqsRecord(signalBody(id, ['START']), { groupId: id });
    const b = sqsRecord(signalBody(id, ['START']), { groupId: id });
    const res = await handler(sqsEvent(a, b), lambdaContext());
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([a.messageId, b.messageId]);
    expect(calls).toBe(1);
  });

  it('marks the execution FAILED when a record skipped behind a failed one reaches the last receive', async () => {
    const { handler, backends, start } = setup({ work: () => Promise.reject(new TransientError('busy')) }, { maxReceiveCount: 3 });
    const id = await start();
    const a = sqsRecord(signalBody(id, ['START']), { groupId: id, receiveCount: 1 });
    const b = sqsRecord(signalBody(id, ['START']), { groupId: id, receiveCount: 3 });
    await handler(sqsEvent(a, b), lambdaContext()).catch(() => undefined);
    expect(await getExecutionStatus(backends.table, id)).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('not processed: an earlier message'),
    });
  });
});
