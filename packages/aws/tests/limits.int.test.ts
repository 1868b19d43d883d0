/**
 * AWS limits the emulators do not enforce on their own, seen through the local runtime and the real
 * handlers: 6 MB answers (status pages), 400 KB items (the chunking codec for history entries,
 * workflows, identities and schema), 256 KiB messages, a rejected start that stores nothing, and the
 * retention TTL on every item an execution writes.
 */
import { randomBytes } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_INITIAL_SIGNALS, orchestrate, type StoredContext } from '@soe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLocalRuntime,
  createSignalHandler,
  createStartHandler,
  createStatusHandler,
  type LocalRuntime,
  type LocalRuntimeOptions,
  MAX_ANSWER_BYTES,
  MAX_MESSAGE_BYTES,
  SoeTable,
  type StartResponse,
  type StatusResponse,
  silentLogger,
  TABLE_TTL_ATTRIBUTE,
  type TableItem,
} from '../src/index.js';

const SIX_MB = 6 * 1024 * 1024;

async function withRuntime<T>(opts: LocalRuntimeOptions, fn: (rt: LocalRuntime) => Promise<T>): Promise<T> {
  const rt = await createLocalRuntime(opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

const depsOf = (rt: LocalRuntime) => ({
  dynamo: rt.emulators.dynamo,
  sqs: rt.emulators.sqs,
  tableName: rt.emulators.tableName,
  queueUrl: rt.emulators.queueUrl,
  delayQueueUrl: rt.emulators.delayQueueUrl,
  logger: silentLogger,
});

/** Every item of the table. */
async function scanAll(rt: LocalRuntime): Promise<TableItem[]> {
  const out: TableItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await rt.backends.table.doc.send(new ScanCommand({ TableName: rt.emulators.tableName, ExclusiveStartKey: start }));
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}

type StatusOk = Exclude<StatusResponse, { error: { type: string } }>;
const ok = (r: StatusResponse): StatusOk => {
  if ('error' in r && typeof r.error === 'object') throw new Error(`status failed: ${JSON.stringify(r.error)}`);
  return r as StatusOk;
};

/** A tool node that appends a 1.4 MB value six times (8.4 MB of history in one field). */
const BIG_HISTORY = `
main:
  Grow:
    node_type: tool
    event_triggers: [START, MORE]
    tool_name: blob
    output_field: big
    event_emissions:
      - signal_name: MORE
        condition: "{{ context.big | accumulated | length < 6 }}"
      - signal_name: DONE
        condition: "{{ context.big | accumulated | length >= 6 }}"
`;

describe('status answers stay under 6 MB', () => {
  let rt: LocalRuntime;
  const written: string[] = [];
  let id: string;
  beforeAll(async () => {
    rt = await createLocalRuntime({
      toolsRegistry: {
        blob: () => {
          const v = randomBytes(700_000).toString('hex');
          written.push(v);
          return v;
        },
      },
    });
    id = await orchestrate({
      config: BIG_HISTORY,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { note: 'small' },
      backends: rt.backends,
      broadcastSignalsCaller: rt.broadcastSignalsCaller,
    });
    expect(await rt.waitForIdle(id, 60_000)).toEqual({ status: 'idle' });
  }, 90_000);
  afterAll(() => rt?.close());

  it('answers with the newest value of each field by default, under the cap, after 8 MB of history', async () => {
    expect(written.join('').length).toBeGreaterThan(8_000_000);
    const status = createStatusHandler(depsOf(rt));
    const answer = ok(await status({ executionId: id, includeContext: true, events: true }));
    expect(Buffer.byteLength(JSON.stringify(answer))).toBeLessThan(SIX_MB);
    expect(answer.status).toBe('IDLE');
    expect(answer.context?.big).toEqual([written[5]]);
    expect(answer.context?.note).toEqual(['small']);
    expect(answer.contextRanges?.big).toEqual({ from: 5, total: 6 });
    expect(answer.context?.__operational__?.nodes).toEqual({ Grow: 6 });
    expect(answer.contextCursor).toBeUndefined();
    expect(answer.truncated).toBeUndefined();
  });

  it('pages the full history with a cursor, each page under the cap, and returns all of it', async () => {
    const status = createStatusHandler(depsOf(rt));
    const collected: StoredContext = {};
    let pages = 0;
    let cursor: string | undefined;
    do {
      const page = ok(await status({ executionId: id, ...(cursor ? { contextCursor: cursor } : { history: ['big'] }) }));
      pages++;
      expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
      for (const [field, values] of Object.entries(page.context ?? {})) {
        if (field.startsWith('__')) continue;
        const list = (collected[field] ??= []) as unknown[];
        expect(page.contextRanges?.[field]?.from).toBe(list.length);
        list.push(...(values as unknown[]));
      }
      if (page.contextCursor) expect(page.truncated?.message).toMatch(/contextCursor/);
      cursor = page.contextCursor;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    expect(collected.big).toEqual(written);
    // Only the asked-for history: fields not named are not listed without includeContext.
    expect(collected.note).toBeUndefined();
  });

  it('keeps to a smaller maxBytes and pages events with eventsLimit', async () => {
    const status = createStatusHandler(depsOf(rt));
    const all = await rt.backends.telemetry.getEvents(id);
    const seen: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = ok(await status({ executionId: id, events: true, eventsLimit: 10, ...(cursor ? { eventsCursor: cursor } : {}) }));
      expect(page.events!.length).toBeLessThanOrEqual(10);
      seen.push(...page.events!);
      cursor = page.eventsCursor;
    } while (cursor);
    expect(seen).toEqual(all);
    const small = ok(await status({ executionId: id, history: true, maxBytes: 2_000_000 }));
    expect(Buffer.byteLength(JSON.stringify(small))).toBeLessThanOrEqual(2_000_000);
    expect(small.contextCursor).toBeDefined();
  });

  it('refuses a bad cursor with an error naming the field', async () => {
    const status = createStatusHandler(depsOf(rt));
    const answer = (await status({ executionId: id, contextCursor: 'nonsense' })) as { error: { type: string; message: string } };
    expect(answer.error.type).toBe('RequestValidationError');
    expect(answer.error.message).toMatch(/contextCursor/);
  });
});

/** An llm node with an identity: its prompt (the whole document) goes into the conversation history. */
const LLM_WITH_IDENTITY = `
workflows:
  main:
    Summarize:
      node_type: llm
      event_triggers: [START]
      identity: reviewer
      prompt: "Summarize: {{ context.doc }}"
      output_field: summary
      event_emissions: [{ signal_name: DONE }]
identities:
  reviewer: "You are a careful reviewer."
`;

describe('items past 400 KB', () => {
  it('runs an llm node with an identity and a 450 KB prompt to IDLE, its history stored and read back', async () => {
    const doc = randomBytes(340_000).toString('base64'); // ~450 KB, barely compressible
    await withRuntime({ callLlm: () => '{"summary": "fine"}' }, async (rt) => {
      const id = await orchestrate({
        config: LLM_WITH_IDENTITY,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { doc },
        backends: rt.backends,
        broadcastSignalsCaller: rt.broadcastSignalsCaller,
      });
      expect(await rt.waitForIdle(id, 30_000)).toEqual({ status: 'idle' });
      expect((await rt.backends.context.getContext(id)).summary).toEqual(['fine']);
      const history = await rt.backends.conversationHistory.getConversationHistory(id);
      expect(history.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(history[0]!.content).toContain(doc);
      expect(Buffer.byteLength(history[0]!.content)).toBeGreaterThan(450_000);
    });
  }, 60_000);

  it('starts a 600 KB config through the start handler and runs it to IDLE', async () => {
    const payload = randomBytes(450_000).toString('base64'); // 600 KB of parameter text
    const config = {
      workflows: {
        main: {
          Echo: {
            node_type: 'tool',
            event_triggers: ['START'],
            tool_name: 'measure',
            parameters: { text: payload },
            output_field: 'length',
            event_emissions: [{ signal_name: 'DONE' }],
          },
        },
      },
      identities: { long: randomBytes(330_000).toString('base64') },
      context_schema: { length: { type: 'integer', description: randomBytes(330_000).toString('base64') } },
    };
    expect(Buffer.byteLength(JSON.stringify(config))).toBeGreaterThan(600_000);
    await withRuntime({ toolsRegistry: { measure: ({ text }: { text: string }) => text.length } }, async (rt) => {
      const start = createStartHandler(depsOf(rt));
      const answer = (await start({ config, initialWorkflowName: 'main', initialSignals: ['START'] })) as { executionId: string };
      expect(answer.executionId).toBeTypeOf('string');
      expect(await rt.waitForIdle(answer.executionId, 30_000)).toEqual({ status: 'idle' });
      expect((await rt.backends.context.getContext(answer.executionId)).length).toEqual([payload.length]);
      expect((await rt.backends.workflow.getWorkflowsRegistry(answer.executionId))?.main?.Echo?.parameters).toEqual({ text: payload });
      expect((await rt.backends.identity.getIdentities(answer.executionId))?.long).toBe(config.identities.long);
      expect((await rt.backends.contextSchema.getContextSchema(answer.executionId))?.length).toEqual(config.context_schema.length);
    });
  }, 60_000);

  it('reads and changes workflows, identities and schema stored in the older map layout', async () => {
    await withRuntime({}, async (rt) => {
      const { table, workflow, identity, contextSchema } = rt.backends;
      const pk = 'E#legacy';
      await table.put({
        pk,
        sk: 'W#main',
        nodes: {
          B: JSON.stringify({ node_type: 'router', event_triggers: ['X'] }),
          A: JSON.stringify({ node_type: 'router', event_triggers: ['Y'] }),
        },
        order: ['B', 'A'],
      });
      await table.put({ pk, sk: 'IDENT', m: { helper: 'You help.' } });
      await table.put({ pk, sk: 'SCHEMA', m: { score: JSON.stringify({ type: 'integer' }) } });
      expect(Object.keys((await workflow.getWorkflowsRegistry('legacy'))!.main!)).toEqual(['B', 'A']);
      await workflow.putNode('legacy', 'main', 'C', { node_type: 'router', event_triggers: ['Z'] });
      expect(Object.keys((await workflow.getWorkflowsRegistry('legacy'))!.main!)).toEqual(['B', 'A', 'C']);
      await identity.putIdentity('legacy', 'critic', 'You criticise.');
      expect(await identity.getIdentities('legacy')).toEqual({ helper: 'You help.', critic: 'You criticise.' });
      await contextSchema.putContextSchemaField('legacy', 'label', { type: 'string' });
      expect(await contextSchema.getContextSchema('legacy')).toEqual({ score: { type: 'integer' }, label: { type: 'string' } });
      expect(await identity.deleteIdentity('legacy', 'helper')).toBe(true);
      expect(await identity.deleteIdentity('legacy', 'helper')).toBe(false);
      expect(await identity.getIdentities('legacy')).toEqual({ critic: 'You criticise.' });
    });
  }, 30_000);

  it('keeps working when node injection grows a workflow past 400 KB, and the injected node runs', async () => {
    const big = randomBytes(330_000).toString('base64'); // 440 KB
    const config = `
main:
  Inject:
    node_type: tool
    event_triggers: [START]
    tool_name: soe_inject_node
    context_parameter_field: design
    output_field: injection
    event_emissions: [{ signal_name: RUN_NEW }]
`;
    const design = {
      workflow_name: 'main',
      node_name: 'Heavy',
      node_config_data: {
        node_type: 'tool',
        event_triggers: ['RUN_NEW'],
        tool_name: 'measure',
        parameters: { text: big },
        output_field: 'length',
      },
    };
    await withRuntime({ toolsRegistry: { measure: ({ text }: { text: string }) => text.length } }, async (rt) => {
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { design },
        backends: rt.backends,
        broadcastSignalsCaller: rt.broadcastSignalsCaller,
      });
      expect(await rt.waitForIdle(id, 30_000)).toEqual({ status: 'idle' });
      const ctx = await rt.backends.context.getContext(id);
      expect((ctx.injection as Array<{ success: boolean }>)[0]?.success).toBe(true);
      expect(ctx.length).toEqual([big.length]);
      // A second injection into the now-large workflow, and a removal, work too.
      await rt.backends.workflow.putNode(id, 'main', 'Another', { node_type: 'router', event_triggers: ['X'], event_emissions: [] });
      expect(Object.keys((await rt.backends.workflow.getWorkflowsRegistry(id))!.main!)).toEqual(['Inject', 'Heavy', 'Another']);
      expect(await rt.backends.workflow.deleteNode(id, 'main', 'Heavy')).toBe(true);
      expect(Object.keys((await rt.backends.workflow.getWorkflowsRegistry(id))!.main!)).toEqual(['Inject', 'Another']);
      // No orphaned chunks of replaced versions stay behind.
      const chunks = (await scanAll(rt)).filter((i) => String(i.sk).startsWith('X#W#'));
      expect(chunks).toEqual([]);
    });
  }, 60_000);
});

describe('a rejected start stores nothing', () => {
  const isError = (r: StartResponse): r is { error: { type: string; message: string; code?: string } } => 'error' in r;

  it('refuses 100k initial signals, an oversized message and a value over the limit, leaving the table empty', async () => {
    await withRuntime({}, async (rt) => {
      const start = createStartHandler(depsOf(rt));
      const config = 'main:\n  A: { node_type: router, event_triggers: [START], event_emissions: [{ signal_name: DONE }] }\n';
      const many = await start({ config, initialWorkflowName: 'main', initialSignals: Array.from({ length: 100_000 }, () => 'START') });
      expect(isError(many) && many.error.type).toBe('WorkflowValidationError');
      expect(isError(many) && many.error.message).toContain(`at most ${MAX_INITIAL_SIGNALS}`);

      const longNames = Array.from({ length: 900 }, (_, i) => `S${i}_${'x'.repeat(300)}`);
      const tooBig = await start({ config, initialWorkflowName: 'main', initialSignals: longNames });
      expect(isError(tooBig) && tooBig.error.type).toBe('LimitExceededError');
      expect(isError(tooBig) && tooBig.error.message).toContain(`limit is ${MAX_MESSAGE_BYTES} bytes`);

      const huge = await start({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { blob: 'x'.repeat(5_000_000) },
      });
      expect(isError(huge) && huge.error.message).toMatch(/initial_context\.blob is 5000002 bytes/);

      const named = await start({
        config: {
          main: { [`N${'n'.repeat(600)}`]: { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'DONE' }] } },
        },
        initialWorkflowName: 'main',
        initialSignals: ['START'],
      });
      expect(isError(named) && named.error.message).toMatch(/node name 'Nn+…' of workflow 'main' is 601 bytes: the limit is 512 bytes/);

      const fn = await start({ config, initialWorkflowName: 'main', initialSignals: ['START'], initialContext: { bad: 10n } as never });
      expect(isError(fn) && fn.error.message).toMatch(/initial_context\.bad is a bigint/);

      expect(await scanAll(rt)).toEqual([]);
    });
  }, 60_000);

  it('refuses external signals that make a message over 256 KiB, and records nothing of them', async () => {
    await withRuntime({}, async (rt) => {
      const config = 'main:\n  A: { node_type: router, event_triggers: [START], event_emissions: [{ signal_name: DONE }] }\n';
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        backends: rt.backends,
        broadcastSignalsCaller: rt.broadcastSignalsCaller,
      });
      expect(await rt.waitForIdle(id, 10_000)).toEqual({ status: 'idle' });
      const before = (await scanAll(rt)).length;
      const signal = createSignalHandler(depsOf(rt));
      const answer = (await signal({ executionId: id, signals: Array.from({ length: 900 }, (_, i) => `S${i}_${'x'.repeat(300)}`) })) as {
        error: { type: string; message: string };
      };
      expect(answer.error.type).toBe('LimitExceededError');
      expect(answer.error.message).toMatch(
        /the message broadcasting 900 signals to execution '.+' is \d+ bytes: the limit is 262144 bytes/,
      );
      expect((await scanAll(rt)).length).toBe(before);
      expect((await rt.status(id)).status).toBe('IDLE');
    });
  }, 30_000);

  it('removes what was written when a write fails midway, answers an error object, and the id reads NOT_FOUND', async () => {
    await withRuntime({}, async (rt) => {
      let startedId: string | undefined;
      let writesBefore = 0;
      // A fault on the real client: the context's first record is refused, after the workflows were written.
      rt.emulators.dynamo.middlewareStack.add(
        (next, context) => async (args) => {
          // Marshalled or not, depending on where the document client's step runs: read both.
          const input = args.input as { Item?: Record<string, unknown> };
          const attr = (v: unknown) => (typeof v === 'string' ? v : (v as { S?: string } | undefined)?.S);
          if (context.commandName === 'BatchWriteItemCommand' && !startedId) writesBefore++;
          if (context.commandName === 'PutItemCommand' && attr(input.Item?.sk) === 'C#0') {
            startedId = attr(input.Item?.pk)?.slice(2);
            throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
          }
          return next(args);
        },
        { step: 'build', name: 'failInitRecord' },
      );
      const start = createStartHandler(depsOf(rt));
      const config = 'main:\n  A: { node_type: router, event_triggers: [START], event_emissions: [{ signal_name: DONE }] }\n';
      const answer = await start({ config, initialWorkflowName: 'main', initialSignals: ['START'], initialContext: { x: 1 } });
      expect(isError(answer) && answer.error.type).toBe('StartFailedError');
      expect(isError(answer) && answer.error.message).toMatch(/nothing of it is kept.*ValidationException/);
      expect(startedId).toBeTypeOf('string');
      expect(writesBefore).toBeGreaterThan(0); // the workflows were written before the failure
      // orchestrate() on the DynamoDB backends undoes its writes the same way (storeExecution).
      await expect(
        orchestrate({
          config,
          initialWorkflowName: 'main',
          initialSignals: ['START'],
          backends: rt.backends,
          broadcastSignalsCaller: rt.broadcastSignalsCaller,
        }),
      ).rejects.toThrow(/Item size has exceeded/);
      rt.emulators.dynamo.middlewareStack.remove('failInitRecord');
      expect(await scanAll(rt)).toEqual([]);
      const status = await createStatusHandler(depsOf(rt))({ executionId: startedId! });
      expect((status as { status: string }).status).toBe('NOT_FOUND');
    });
  }, 60_000);
});

describe('retention', () => {
  it('stamps the ttl on puts, batch writes and updates of a table with a retention', async () => {
    await withRuntime({}, async (rt) => {
      const table = new SoeTable({ client: rt.emulators.dynamo, tableName: rt.emulators.tableName, retentionDays: 1 });
      const now = Math.floor(Date.now() / 1000);
      await table.put({ pk: 'P#1', sk: 'a' });
      await table.batchWrite([{ pk: 'P#1', sk: 'b' }]);
      await table.update({ Key: { pk: 'P#1', sk: 'c' }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } });
      await table.update({ Key: { pk: 'P#1', sk: 'd' }, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 'x' } });
      // An item with an earlier TTL of its own (telemetry's) keeps it.
      await table.put({ pk: 'P#1', sk: 'e', [TABLE_TTL_ATTRIBUTE]: now + 60 });
      const items = await table.queryPartition('P#1');
      expect(items.map((i) => i.sk)).toEqual(['a', 'b', 'c', 'd', 'e']);
      for (const item of items.slice(0, 4)) expect(Math.abs(Number(item[TABLE_TTL_ATTRIBUTE]) - (now + 86_400))).toBeLessThanOrEqual(5);
      expect(items[2]!.n).toBe(1);
      expect(items[3]!.v).toBe('x');
      expect(items[4]![TABLE_TTL_ATTRIBUTE]).toBe(now + 60);
    });
  }, 30_000);

  it('puts the ttl attribute on every item a finished execution wrote', async () => {
    const before = Math.floor(Date.now() / 1000);
    const config = `
workflows:
  main:
    Ask:
      node_type: llm
      event_triggers: [START]
      identity: reviewer
      prompt: "Say something about {{ context.topic }}"
      output_field: answer
      event_emissions: [{ signal_name: FAN }]
    Fan:
      node_type: child
      event_triggers: [FAN]
      child_workflow_name: item
      child_initial_signals: [GO]
      signals_to_parent: [ITEM_DONE]
      context_updates_to_parent: [done]
    Inject:
      node_type: tool
      event_triggers: [ITEM_DONE]
      tool_name: soe_inject_identity
      parameters: { identity_name: later, system_prompt: "added later" }
      output_field: injected
  item:
    Work:
      node_type: tool
      event_triggers: [GO]
      tool_name: work
      output_field: done
      event_emissions: [{ signal_name: ITEM_DONE }]
identities:
  reviewer: "You are brief."
context_schema:
  answer: { type: string }
`;
    await withRuntime(
      { executionRetentionDays: 7, callLlm: () => '{"answer": "ok"}', toolsRegistry: { work: () => 'worked' } },
      async (rt) => {
        const id = await orchestrate({
          config,
          initialWorkflowName: 'main',
          initialSignals: ['START'],
          initialContext: { topic: 'ttl', big: randomBytes(400_000).toString('base64') },
          backends: rt.backends,
          broadcastSignalsCaller: rt.broadcastSignalsCaller,
        });
        expect(await rt.waitForIdle(id, 30_000)).toEqual({ status: 'idle' });
        const items = await scanAll(rt);
        const kinds = new Set(items.map((i) => `${String(i.pk)[0]}:${String(i.sk).split('#')[0]}`));
        // Context, run commits, handled markers, workflows, identities, schema, chunks, telemetry, history.
        for (const kind of ['E:C', 'E:W', 'E:IDENT', 'E:SCHEMA', 'E:WFCUR', 'E:X', 'T:', 'H:']) {
          expect([...kinds].some((k) => k.startsWith(kind))).toBe(true);
        }
        const after = Math.floor(Date.now() / 1000);
        for (const item of items) {
          const ttl = item[TABLE_TTL_ATTRIBUTE];
          expect(typeof ttl, `${String(item.pk)} ${String(item.sk)}`).toBe('number');
          expect(ttl).toBeGreaterThanOrEqual(before + 7 * 86_400);
          expect(ttl).toBeLessThanOrEqual(after + 7 * 86_400);
        }
      },
    );
  }, 60_000);
});
