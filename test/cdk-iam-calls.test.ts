/**
 * The IAM actions the construct grants (packages/cdk/src/permissions.ts) against the calls the handlers really make:
 * each handler of `@soe/aws` runs on clients of its own, against the embedded emulators, through runs
 * that reach every kind of write (node runs, injection, identities and history, children with a
 * spawn_interval, soe_list_contexts, inheritance, signals, status with events). Every operation seen
 * must be one its role is allowed: a call a handler starts making fails here before it fails on AWS
 * with AccessDenied.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalEmulators, LocalSqsEventSource, RequestCounter } from '@soe/aws';
import { CONSUME_ACTIONS, SEND_ACTIONS, type SoeFunctionName, TABLE_ACTIONS, VISIBILITY_ACTIONS } from '@soe/cdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './cdk-helpers.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

type Aws = typeof import('@soe/aws');
type Called = Record<'Worker' | 'Start' | 'Signal' | 'Status', RequestCounter>;

/** The IAM action that authorizes an SDK operation (the batch forms share their single form's action). */
const IAM_ACTION: Record<string, string> = { SendMessageBatch: 'sqs:SendMessage' };
const iamAction = (service: 'dynamodb' | 'sqs', operation: string) => IAM_ACTION[operation] ?? `${service}:${operation}`;

/** What a role may call on SQS from its own code (the event source's receive and delete are Lambda's). */
const SQS_ALLOWED: Record<keyof Called, readonly string[]> = {
  Worker: [...SEND_ACTIONS, ...VISIBILITY_ACTIONS],
  Start: SEND_ACTIONS,
  Signal: SEND_ACTIONS,
  Status: [],
};

const CHILDREN = `
workflows:
  main:
    List:
      node_type: tool
      event_triggers: [START]
      tool_name: soe_list_contexts
      output_field: executions
      event_emissions:
        - signal_name: LISTED
    Fan:
      node_type: child
      event_triggers: [LISTED]
      child_workflow_name: sub
      child_initial_signals: [GO]
      fan_out_field: items
      child_input_field: item
      spawn_interval: 1
      signals_to_parent: [SUB_DONE]
      context_updates_to_parent: [done]
  sub:
    Work:
      node_type: tool
      event_triggers: [GO]
      tool_name: shout
      parameters:
        text: "{{ context.item }}"
      output_field: done
      event_emissions:
        - signal_name: SUB_DONE
`;

let aws: Aws;
let emulators: LocalEmulators;
let sources: LocalSqsEventSource[] = [];
const called = {} as Called;
let handlers: {
  start: (e: unknown) => Promise<Record<string, unknown>>;
  signal: (e: unknown) => Promise<Record<string, unknown>>;
  status: (e: unknown) => Promise<Record<string, unknown>>;
};

beforeAll(async () => {
  aws = await import('@soe/aws');
  const core = await import('@soe/core');
  emulators = await aws.startLocalEmulators();
  const e = emulators;
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  /** Clients of one function, counted on their own. */
  const clientsOf = (fn: keyof Called) => {
    const dynamo = new DynamoDBClient({ endpoint: e.dynamoEndpoint, region: 'us-east-1', credentials });
    const sqs = new SQSClient({ endpoint: e.sqsEndpoint, region: 'us-east-1', credentials, useQueueUrlAsEndpoint: false });
    called[fn] = aws.createRequestCounter();
    called[fn].attach(dynamo);
    called[fn].attach(sqs);
    return { dynamo, sqs, tableName: e.tableName, queueUrl: e.queueUrl, logger: aws.silentLogger };
  };
  const example = (file: string) => readFileSync(join(ROOT, 'examples', file), 'utf8');
  const selfEvolving = core.createScriptedLlm(JSON.parse(example('self-evolving/model.json')));
  const identities = core.createScriptedLlm(example('llm-identities/model.yaml'));
  const worker = aws.createWorkerHandler({
    ...clientsOf('Worker'),
    delayQueueUrl: e.delayQueueUrl,
    toolsRegistry: {
      // As examples/self-evolving/run.mjs: a refused design routes back to the designer.
      soe_inject_node: { ...core.defaultBuiltins().soe_inject_node!, failureSignal: 'INJECTION_REFUSED' },
      count_words: ({ text }: { text: string }) => String(text).split(/\s+/).filter(Boolean).length,
      publish: ({ text }: { text: string }) => ({ chars: String(text).length }),
      shout: ({ text }: { text: string }) => `${text}!`,
    },
    // Each example's nodes have names of their own: ask the model whose rules know the node.
    callLlm: (prompt, nodeConfig) => (nodeConfig.node_name === 'Design' ? selfEvolving : identities).callLlm(prompt, nodeConfig),
  });
  handlers = {
    start: aws.createStartHandler(clientsOf('Start')) as never,
    signal: aws.createSignalHandler(clientsOf('Signal')) as never,
    status: aws.createStatusHandler(clientsOf('Status')) as never,
  };
  sources = [e.queueUrl, e.delayQueueUrl].map(
    (queueUrl) => new aws.LocalSqsEventSource({ sqs: e.sqs, queueUrl, handler: worker as never, batchSize: 10, concurrency: 2 }),
  );
  for (const s of sources) s.start();
}, 60_000);

afterAll(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await emulators?.close();
});

/** Polls the status handler until the run settles. */
async function settled(executionId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    const answer = await handlers.status({ executionId, includeContext: true, history: true, events: true });
    if (answer.status !== 'RUNNING') return answer;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`execution ${executionId} still RUNNING`);
}

describe('every AWS call a handler makes is one its role is allowed', () => {
  it('runs that reach every kind of write settle as the examples say', async () => {
    const started = async (request: Record<string, unknown>) => {
      const answer = await handlers.start(request);
      expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
      return answer.executionId as string;
    };
    const evolving = await started({
      config: readFileSync(join(ROOT, 'examples/self-evolving/workflow.yaml'), 'utf8'),
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { task: 'count the words of context.text', text: 'signals wake nodes and nodes emit signals' },
    });
    const copy = await started({
      config: readFileSync(join(ROOT, 'examples/llm-identities/workflow.yaml'), 'utf8'),
      initialWorkflowName: 'copywriting',
      initialSignals: ['START'],
      initialContext: { product: 'Trailhead 30' },
    });
    const fan = await started({
      config: CHILDREN,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { items: ['a', 'b'] },
    });
    const answers = { evolving: await settled(evolving), copy: await settled(copy), fan: await settled(fan) };
    for (const [name, a] of Object.entries(answers)) expect(a.status, `${name}: ${JSON.stringify(a.error)}`).toBe('IDLE');
    expect((answers.evolving.context as Record<string, unknown[]>).word_count).toEqual([7]);
    expect((answers.fan.context as Record<string, unknown[]>).done?.length).toBe(2);

    // Inheritance reads another execution's config, context, schema and identities.
    const inherited = await started({
      inheritConfigFromId: copy,
      inheritContextFromId: copy,
      initialWorkflowName: 'copywriting',
      initialSignals: ['NOTHING'],
    });
    expect((await settled(inherited)).status).toBe('IDLE');
    expect((await handlers.signal({ executionId: inherited, signals: ['ACCEPTED'], signalId: 'once' })).broadcastId).toEqual(
      expect.any(String),
    );
    expect((await handlers.signal({ executionId: inherited, signals: ['PING'] })).error).toBeDefined();
    expect((await handlers.signal({ executionId: 'no-such-execution', signals: ['PING'] })).error).toBeDefined();
    expect((await settled(inherited)).status).toBe('IDLE');
    // Cancel and redrive: a refused redrive reads, a cancel appends to the log.
    expect((await handlers.signal({ action: 'redrive', executionId: inherited })).error).toBeDefined();
    expect((await handlers.signal({ action: 'cancel', executionId: inherited })).status).toBe('CANCELLED');
  }, 60_000);

  it.each(['Worker', 'Start', 'Signal', 'Status'] as const)('%s', (fn: keyof Called & SoeFunctionName) => {
    const counts = called[fn].counts();
    const seen = [
      ...Object.keys(counts.dynamodb.byOperation).map((op) => iamAction('dynamodb', op)),
      ...Object.keys(counts.sqs.byOperation).map((op) => iamAction('sqs', op)),
    ];
    expect(seen.length, `${fn} made no call: the runs above did not reach it`).toBeGreaterThan(0);
    const allowed = new Set([...TABLE_ACTIONS[fn], ...SQS_ALLOWED[fn]]);
    expect(
      seen.filter((a) => !allowed.has(a)),
      `${fn} calls what its role does not allow`,
    ).toEqual([]);
  });

  it('the runs reach the actions granted for rare paths too (so the grants are not guesses)', () => {
    const ops = (fn: keyof Called) => new Set(Object.keys(called[fn].counts().dynamodb.byOperation));
    // (The worker's GetItem and DeleteItem serve races and failures: a lost conditional put, a run
    // marked FAILED, soe_delete_*; worker-handler tests reach them.)
    expect([...ops('Worker')]).toEqual(expect.arrayContaining(['Query', 'PutItem', 'BatchWriteItem']));
    // soe_list_contexts is a Query of the run's facts: no table scan.
    expect([...ops('Worker')]).not.toContain('Scan');
    expect([...ops('Start')]).toEqual(expect.arrayContaining(['Query', 'GetItem', 'PutItem', 'BatchWriteItem']));
    expect([...ops('Signal')]).toEqual(expect.arrayContaining(['GetItem', 'PutItem', 'Query']));
    expect([...ops('Status')]).toEqual(['Query']);
    expect(Object.keys(called.Worker.counts().sqs.byOperation)).toEqual(expect.arrayContaining(['SendMessage']));
    // The event source's calls are Lambda's, made with the role: the consume actions cover them.
    expect(CONSUME_ACTIONS).toEqual(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
  });
});
