/**
 * The execution log against the emulator: concurrent writers claim gap-free positions, a reader that
 * holds a fold and reads only what is new ends where a cold full read ends, and a cold worker starts
 * from a snapshot without reading large values no node uses.
 */
import { randomBytes } from 'node:crypto';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import type { ToolsRegistry } from '@soe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDynamoBackends,
  createRequestCounter,
  createWorkerHandler,
  ExecutionState,
  executionPk,
  fieldsUsedBy,
  type LocalEmulators,
  SK,
  SNAPSHOT_EVERY,
  startLocalEmulators,
  type WorkerDeps,
} from '../src/index.js';
import { lambdaContext, recordingLogger, signalBody, sqsEvent, sqsRecord, store } from './helpers.js';

let emulators: LocalEmulators;
let queueUrl: string;

beforeAll(async () => {
  emulators = await startLocalEmulators();
  queueUrl = (await emulators.sqs.send(new CreateQueueCommand({ QueueName: 'log-test' }))).QueueUrl!;
});
afterAll(async () => {
  await emulators?.close();
});

/** A fresh worker (a cold container: its own empty cache of execution states). */
function worker(tools: ToolsRegistry, extra: Partial<WorkerDeps> = {}) {
  return createWorkerHandler({
    dynamo: emulators.dynamo,
    sqs: emulators.sqs,
    tableName: emulators.tableName,
    queueUrl,
    toolsRegistry: tools,
    logger: recordingLogger(),
    ...extra,
  });
}
const backends = () => createDynamoBackends({ client: emulators.dynamo, tableName: emulators.tableName });
const deliver = (handler: ReturnType<typeof worker>, id: string, signals: string[], receiveCount = 1) =>
  handler(sqsEvent(sqsRecord(signalBody(id, signals), { receiveCount })), lambdaContext());

describe('execution log', () => {
  it('a warm reader that reads only what is new ends where a cold full read ends, under concurrent writers and duplicates', async () => {
    const b = backends();
    const config = `
workflows:
  main:
    Hit: { node_type: tool, event_triggers: [HIT], tool_name: hit, output_field: hits, event_emissions: [{ signal_name: COUNTED }] }
    Count: { node_type: router, event_triggers: [COUNTED], event_emissions: [{ signal_name: NOTED }] }
`;
    let n = 0;
    const id = await store({ config, initialWorkflowName: 'main', initialSignals: ['BEGIN'], backends: b });
    const warm = (await ExecutionState.load(b, id))!;
    // Four containers, each with its own cache; every message delivered twice (duplicates), plus
    // direct appends from outside, all at once. The warm reader catches up while they write.
    const handlers = Array.from({ length: 4 }, () => worker({ hit: () => ++n }));
    const bodies = Array.from({ length: 8 }, () => signalBody(id, ['HIT']));
    const writes = [
      ...bodies.flatMap((body, i) => [
        handlers[i % 4]!(sqsEvent(sqsRecord(body)), lambdaContext()),
        handlers[(i + 1) % 4]!(sqsEvent(sqsRecord(body)), lambdaContext()),
      ]),
      ...Array.from({ length: 6 }, (_, i) => b.context.updateContext(id, { fields: { notes: [i] } })),
    ];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        await warm.catchUp();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all(writes);
    reading = false;
    await reader;
    // Then one after another (as FIFO delivers them), past a snapshot.
    for (let i = 0; i < 12; i++) expect((await deliver(handlers[i % 4]!, id, ['HIT'])).batchItemFailures).toEqual([]);
    await warm.catchUp();

    const full = await b.context.getContext(id);
    expect(warm.fold.context()).toEqual(full);
    expect((full.hits as number[]).length).toBe(20);
    expect([...(full.notes as number[])].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(full.__operational__).toMatchObject({ nodes: { Hit: 20, Count: 20 }, tool_calls: 20 });
    // Gap-free: positions 1 … head, each once.
    const log = await b.table.queryPartition(executionPk(id), SK.log);
    expect(log.map((item) => item.q)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
    expect(warm.fold.head).toBe(log.length);
    // A cold reader starting from the newest snapshot ends at the same fold.
    expect(log.length).toBeGreaterThan(SNAPSHOT_EVERY);
    expect((await b.table.queryPartition(executionPk(id), SK.snapshot)).length).toBeGreaterThan(0);
    const cold = (await ExecutionState.load(b, id))!;
    expect(cold.fold.context()).toEqual(full);
  });

  it('starts a cold worker from a snapshot and loads a large value only for the node that reads it', async () => {
    const b = backends();
    const blob = randomBytes(150_000).toString('base64');
    const steps = SNAPSHOT_EVERY + 5;
    const config = `
workflows:
  main:
    Big: { node_type: tool, event_triggers: [START], tool_name: big, output_field: blob, event_emissions: [{ signal_name: S0 }] }
${Array.from({ length: steps }, (_, i) => `    N${i}: { node_type: tool, event_triggers: [S${i}], tool_name: inc, output_field: count, event_emissions: [{ signal_name: S${i + 1} }] }`).join('\n')}
    Skim: { node_type: tool, event_triggers: [SKIM], tool_name: inc, output_field: count }
    Read: { node_type: tool, event_triggers: [READ], tool_name: size, context_parameter_field: blob, output_field: size }
`;
    let count = 0;
    const tools: ToolsRegistry = { big: () => blob, inc: () => ++count, size: (v: string) => v.length };
    const id = await store({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends: b });
    expect((await deliver(worker(tools, { followRouters: steps + 5 }), id, ['START'])).batchItemFailures).toEqual([]);
    expect(count).toBe(steps);

    const counter = createRequestCounter();
    counter.attach(emulators.dynamo);
    counter.reset();
    expect((await deliver(worker(tools), id, ['SKIM'])).batchItemFailures).toEqual([]);
    // Cold, from the snapshot: the 150 KB value (about 110 KB deflated) is not read.
    expect(counter.counts().dynamodb.bytesRead).toBeLessThan(40_000);
    counter.reset();
    expect((await deliver(worker(tools), id, ['READ'])).batchItemFailures).toEqual([]);
    expect(counter.counts().dynamodb.bytesRead).toBeGreaterThan(100_000);
    const ctx = await b.context.getContext(id);
    expect(ctx.size).toEqual([blob.length]);
    expect(ctx.blob).toEqual([blob]);
    expect((ctx.count as number[]).length).toBe(steps + 1);
  });

  it('tells which fields a node may read, and says "all" when unsure', () => {
    const fields = new Set(['blob', 'notes']);
    expect(fieldsUsedBy({ node_type: 'tool', event_triggers: ['X'], tool_name: 't', output_field: 'o' } as never, fields)).toEqual(
      new Set(),
    );
    expect(
      fieldsUsedBy({ node_type: 'tool', event_triggers: ['X'], tool_name: 't', context_parameter_field: 'blob' } as never, fields),
    ).toEqual(new Set(['blob']));
    expect(
      fieldsUsedBy(
        { node_type: 'llm', event_triggers: ['X'], prompt: "Sum up {{ context.notes | last }} and {{ context['blob'] }}" } as never,
        fields,
      ),
    ).toEqual(new Set(['notes', 'blob']));
    expect(fieldsUsedBy({ node_type: 'llm', event_triggers: ['X'], prompt: '{{ context | tojson }}' } as never, fields)).toBeUndefined();
    expect(fieldsUsedBy({ node_type: 'agent', event_triggers: ['X'], prompt: 'hi' } as never, fields)).toBeUndefined();
    expect(fieldsUsedBy({ node_type: 'tool', event_triggers: ['X'], tool_name: 'soe_get_context' } as never, fields)).toBeUndefined();
  });
});
