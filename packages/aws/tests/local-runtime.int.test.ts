/**
 * The whole distributed path on one machine: orchestrate → SQS → the real worker behind the local
 * event source → DynamoDB, with and without injected faults.
 */
import { randomBytes } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { orchestrate, type StoredContext, type ToolsRegistry, TransientError } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { createLocalRuntime, createRequestCounter, executionPk, type LocalRuntime, type LocalRuntimeOptions } from '../src/index.js';
import { eventually } from './helpers.js';

async function withRuntime<T>(opts: LocalRuntimeOptions, fn: (rt: LocalRuntime) => Promise<T>): Promise<T> {
  const rt = await createLocalRuntime(opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

const start = (rt: LocalRuntime, config: string, initialContext: Record<string, unknown> = {}, initialWorkflowName = 'main') =>
  orchestrate({
    config,
    initialWorkflowName,
    initialSignals: ['START'],
    initialContext,
    backends: rt.backends,
    broadcastSignalsCaller: rt.broadcastSignalsCaller,
  });

/** A tool/router workflow with a fan-out whose children report back, a fan-in router and a final tool. */
const FAN_OUT = `
workflows:
  main:
    Begin:
      node_type: router
      event_triggers: [START]
      event_emissions: [{ signal_name: PREPARE }]
    Prepare:
      node_type: tool
      event_triggers: [PREPARE]
      tool_name: label
      parameters: { text: "batch" }
      output_field: label
      event_emissions: [{ signal_name: FAN }]
    Fan:
      node_type: child
      event_triggers: [FAN]
      child_workflow_name: item
      child_initial_signals: [GO]
      fan_out_field: items
      child_input_field: item
      signals_to_parent: [ITEM_DONE]
      context_updates_to_parent: [doubled]
    Gather:
      node_type: router
      event_triggers: [ITEM_DONE]
      event_emissions:
        - signal_name: ALL_DONE
          condition: "{{ context.doubled | accumulated | length == context.items | accumulated | length }}"
    Total:
      node_type: tool
      event_triggers: [ALL_DONE]
      tool_name: sum
      context_parameter_field: doubled
      output_field: total
      event_emissions: [{ signal_name: FINISHED }]
  item:
    Double:
      node_type: tool
      event_triggers: [GO]
      tool_name: double
      context_parameter_field: item
      output_field: doubled
      event_emissions: [{ signal_name: ITEM_DONE }]
`;

const fanOutTools = (): ToolsRegistry => ({
  label: ({ text }: { text: string }) => text.toUpperCase(),
  double: ({ n }: { n: number }) => n * 2,
  sum: { fn: (history: number[]) => history.reduce((a, b) => a + b, 0), processAccumulated: true },
});
const ITEMS = Array.from({ length: 12 }, (_, n) => ({ n }));

/** A context with histories sorted, so runs whose concurrent children finished in another order compare equal. */
function normalized(ctx: StoredContext): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx)) {
    if (k === '__operational__') {
      const op = v as Record<string, unknown>;
      out[k] = { ...op, signals: [...(op.signals as string[])].sort(), main_execution_id: undefined };
    } else if (k === '__parent__') out[k] = { ...(v as object), parent_execution_id: undefined, main_execution_id: undefined };
    else out[k] = (v as unknown[]).map((x) => JSON.stringify(x)).sort();
  }
  return out;
}

/** The main context and its children's, normalized, children sorted by their input. */
async function snapshot(rt: LocalRuntime, id: string) {
  const main = await rt.backends.context.getContext(id);
  const records = await rt.backends.context.records(id);
  const children = await Promise.all(records.children().map((c) => rt.backends.context.getContext(c)));
  return {
    main: normalized(main),
    children: children.map(normalized).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  };
}

/** True when no message waits, is in flight or is delayed on the runtime's queues. */
async function queuesDrained(rt: LocalRuntime): Promise<boolean> {
  for (const QueueUrl of [rt.emulators.queueUrl, rt.emulators.delayQueueUrl]) {
    const { Attributes: a = {} } = await rt.emulators.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    if (
      Number(a.ApproximateNumberOfMessages) +
        Number(a.ApproximateNumberOfMessagesNotVisible) +
        Number(a.ApproximateNumberOfMessagesDelayed) >
      0
    )
      return false;
  }
  return true;
}

describe('local runtime', () => {
  it('runs a fan-out to the end: children in parallel, the fan-in router fires once', async () => {
    await withRuntime({ toolsRegistry: fanOutTools() }, async (rt) => {
      const id = await start(rt, FAN_OUT, { items: ITEMS });
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      const ctx = await rt.backends.context.getContext(id);
      expect(ctx.total).toEqual([ITEMS.reduce((a, { n }) => a + 2 * n, 0)]);
      expect(ctx.__operational__).toMatchObject({ nodes: { Begin: 1, Prepare: 1, Fan: 1, Gather: ITEMS.length, Total: 1 } });
      expect((ctx.__operational__!.signals as string[]).filter((s) => s === 'ALL_DONE')).toHaveLength(1);
    });
  });

  it('gives the same final contexts, counters included, with 30% duplicate deliveries and 10% crashes after commit', async () => {
    const clean = await withRuntime({ toolsRegistry: fanOutTools() }, async (rt) => {
      const id = await start(rt, FAN_OUT, { items: ITEMS });
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      return snapshot(rt, id);
    });
    for (const seed of [7, 11]) {
      const chaotic = await withRuntime(
        { toolsRegistry: fanOutTools(), chaos: { duplicateRate: 0.3, crashAfterCommitRate: 0.1, seed } },
        async (rt) => {
          const id = await start(rt, FAN_OUT, { items: ITEMS });
          expect(await rt.waitForIdle(id, 60_000)).toEqual({ status: 'idle' });
          // Faults were injected: this test would prove nothing otherwise.
          expect(rt.chaosStats.duplicates).toBeGreaterThan(0);
          expect(rt.chaosStats.crashes).toBeGreaterThan(0);
          // Duplicates may still be queued: let them be handled too (they must change nothing either).
          await eventually(() => queuesDrained(rt), 20_000, 'the queues to drain');
          return snapshot(rt, id);
        },
      );
      expect(chaotic).toEqual(clean);
    }
  });

  it('retries a transient error through the queue until it recovers', async () => {
    let calls = 0;
    const tools: ToolsRegistry = {
      flaky: () => {
        if (++calls < 3) throw new TransientError('rate limited');
        return 'finally';
      },
    };
    const config = `
workflows:
  main:
    Call:
      node_type: tool
      event_triggers: [START]
      tool_name: flaky
      output_field: out
`;
    await withRuntime({ toolsRegistry: tools, backoffSeconds: () => 0 }, async (rt) => {
      const id = await start(rt, config);
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      expect(calls).toBe(3);
      const ctx = await rt.backends.context.getContext(id);
      expect(ctx.out).toEqual(['finally']);
      expect(ctx.__operational__).toMatchObject({ nodes: { Call: 1 }, tool_calls: 1, errors: 0 });
      expect(rt.logs.filter((l) => l.level === 'warn' && l.message.includes('retried'))).toHaveLength(2);
    });
  });

  it('marks the execution FAILED and lets the message go to the DLQ when a transient error outlasts the retries', async () => {
    const config = `
workflows:
  main:
    Call:
      node_type: tool
      event_triggers: [START]
      tool_name: down
      output_field: out
`;
    await withRuntime(
      {
        toolsRegistry: { down: () => Promise.reject(new TransientError('service unavailable')) },
        maxReceiveCount: 3,
        backoffSeconds: () => 0,
      },
      async (rt) => {
        const id = await start(rt, config);
        const result = await rt.waitForIdle(id);
        expect(result.status).toBe('failed');
        expect(result.error).toMatch(/service unavailable.*gave up after 3 attempts/);
        // The message reached the DLQ; the dead-letter consumer found the worker's reason recorded and kept it.
        const dead = await eventually(async () => rt.logs.find((l) => l.message.startsWith('dead letter:') && l.executionId === id));
        expect(dead).toMatchObject({ message: 'dead letter: execution already FAILED, its recorded reason kept', signals: ['START'] });
        expect((await rt.status(id)).error).toMatch(/service unavailable.*gave up after 3 attempts/);
      },
    );
  });

  it('fails the run with the error and the node when a node fails without a failure signal', async () => {
    const config = `
workflows:
  main:
    Call:
      node_type: tool
      event_triggers: [START]
      tool_name: broken
      output_field: out
`;
    await withRuntime({ toolsRegistry: { broken: () => Promise.reject(new Error('disk on fire')) } }, async (rt) => {
      const id = await start(rt, config);
      expect(await rt.waitForIdle(id)).toEqual({
        status: 'failed',
        error: expect.stringMatching(/^NodeExecutionError: .*node 'Call'.*disk on fire/),
      });
      expect(await rt.status(id)).toMatchObject({ status: 'FAILED', failedNode: 'Call', inFlight: 0 });
    });
  });

  it('turns spawn_interval into DelaySeconds on the delay queue, never a sleeping worker', async () => {
    const counter = createRequestCounter();
    const delays: number[] = [];
    const config = `
workflows:
  main:
    Fan:
      node_type: child
      event_triggers: [START]
      child_workflow_name: item
      child_initial_signals: [GO]
      fan_out_field: items
      child_input_field: item
      spawn_interval: 1
  item:
    Echo:
      node_type: router
      event_triggers: [GO]
      event_emissions: [{ signal_name: ECHOED }]
`;
    await withRuntime({ requestCounter: counter }, async (rt) => {
      rt.emulators.sqs.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { Entries?: Array<{ DelaySeconds?: number }> };
          for (const e of input.Entries ?? []) if (e.DelaySeconds) delays.push(e.DelaySeconds);
          return next(args);
        },
        { step: 'initialize', name: 'captureDelays' },
      );
      const id = await start(rt, config, { items: ['a', 'b', 'c'] });
      expect(await rt.status(id)).toMatchObject({ status: 'RUNNING' });
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      expect(delays.sort()).toEqual([1, 2]);
      const children = (await rt.backends.context.records(id)).children();
      expect(children).toHaveLength(3);
      for (const c of children) expect((await rt.backends.context.getContext(c)).__operational__?.signals).toEqual(['GO', 'ECHOED']);
    });
  });

  it('follows the broadcasts of routers and tools in the same invocation: fewer SQS messages, the same context', async () => {
    const chain = `
workflows:
  main:
    R1: { node_type: router, event_triggers: [START], event_emissions: [{ signal_name: S1 }] }
    R2: { node_type: router, event_triggers: [S1], event_emissions: [{ signal_name: S2 }] }
    R3: { node_type: router, event_triggers: [S2], event_emissions: [{ signal_name: S3 }] }
    R4: { node_type: router, event_triggers: [S3], event_emissions: [{ signal_name: S4 }] }
    T:
      node_type: tool
      event_triggers: [S4]
      tool_name: stamp
      output_field: stamped
      event_emissions: [{ signal_name: END }]
`;
    const runWith = (followRouters: number) => {
      const counter = createRequestCounter();
      return withRuntime({ toolsRegistry: { stamp: () => 'ok' }, followRouters, requestCounter: counter }, async (rt) => {
        const id = await start(rt, chain);
        expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
        const ctx = await rt.backends.context.getContext(id);
        return { messages: counter.counts().sqs.messagesSent, ctx: normalized(ctx), signals: ctx.__operational__!.signals };
      });
    };
    const hops = await runWith(0);
    const followed = await runWith(50);
    expect(followed.ctx).toEqual(hops.ctx);
    expect(followed.signals).toEqual(['START', 'S1', 'S2', 'S3', 'S4', 'END']);
    // START, S1, S2, S3, S4 as messages without following; only START with it.
    expect(hops.messages).toBe(5);
    expect(followed.messages).toBe(1);
  });

  it('stores a 5 MB context across items, and the bytes written per node do not grow with it', async () => {
    const counter = createRequestCounter();
    // Random text: it does not compress, so each value really needs more than one item.
    const values = Array.from({ length: 9 }, (_, i) => `${i}:${String.fromCharCode(97 + i)}${randomBytes(450_000).toString('base64')}`);
    const chunk = (i: number) => values[i]!;
    let i = 0;
    const config = `
workflows:
  main:
    Grow:
      node_type: tool
      event_triggers: [START, MORE]
      tool_name: grow
      output_field: blob
      event_emissions:
        - signal_name: MORE
          condition: "{{ context.blob | accumulated | length < 9 }}"
`;
    await withRuntime({ toolsRegistry: { grow: () => chunk(i++) }, requestCounter: counter }, async (rt) => {
      const perRun: number[] = [];
      let last = 0;
      rt.emulators.dynamo.middlewareStack.add(
        (next, context) => async (args) => {
          const r = await next(args);
          if ((context as { commandName?: string }).commandName === 'PutItemCommand') {
            const now = counter.counts().dynamodb.bytesWritten;
            perRun.push(now - last);
            last = now;
          }
          return r;
        },
        { step: 'initialize', name: 'perPut' },
      );
      const id = await start(rt, config, { seed: 'x' });
      expect(await rt.waitForIdle(id, 60_000)).toEqual({ status: 'idle' });
      const ctx = await rt.backends.context.getContext(id);
      const blob = ctx.blob as string[];
      expect(blob).toHaveLength(9);
      expect(blob.reduce((n, s) => n + s.length, 0)).toBeGreaterThan(5_000_000);
      expect(blob.map((s) => s.slice(0, 3))).toEqual(['0:a', '1:b', '2:c', '3:d', '4:e', '5:f', '6:g', '7:h', '8:i']);
      expect(blob[8]).toBe(chunk(8));
      // Every commit writes about one value (450 KB), whatever the context already holds.
      const commits = perRun.filter((b) => b > 100_000);
      expect(commits).toHaveLength(9);
      expect(Math.max(...commits) / Math.min(...commits)).toBeLessThan(2);
      const items = await rt.backends.table.queryPartition(executionPk(id), undefined, { ProjectionExpression: 'sk' });
      expect(items.filter((it) => String(it.sk).startsWith('X#')).length).toBeGreaterThanOrEqual(18);
    });
  });

  it('fails the node with an error naming the field when a single value is over the limit', async () => {
    const config = `
workflows:
  main:
    Huge:
      node_type: tool
      event_triggers: [START]
      tool_name: huge
      output_field: enormous_field
`;
    await withRuntime({ toolsRegistry: { huge: () => 'x'.repeat(5 * 1024 * 1024) } }, async (rt) => {
      const id = await start(rt, config);
      const r = await rt.waitForIdle(id);
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/^ValueTooLargeError: .*field 'enormous_field'/);
      expect((await rt.backends.context.getContext(id)).enormous_field).toBeUndefined();
    });
  });

  it('keeps identities, conversation history and the context schema working through the queue', async () => {
    const prompts: string[] = [];
    const config = `
workflows:
  main:
    Ask:
      node_type: llm
      event_triggers: [START]
      identity: helper
      prompt: "First question"
      output_field: score
      event_emissions: [{ signal_name: ASKED }]
    AskAgain:
      node_type: llm
      event_triggers: [ASKED]
      identity: helper
      prompt: "Second question"
      output_field: score
identities:
  helper: "You are terse."
context_schema:
  score: { type: integer }
`;
    const callLlm = (prompt: string) => {
      prompts.push(prompt);
      return prompts.length === 1 ? '{"score": "not a number"}' : '{"score": 7}';
    };
    await withRuntime({ callLlm }, async (rt) => {
      const id = await start(rt, config);
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      const ctx = await rt.backends.context.getContext(id);
      expect(ctx.score).toEqual([7, 7]);
      expect(prompts[0]).toContain('You are terse.');
      // The second call of Ask was a retry after a schema violation; AskAgain sees the first exchange.
      expect(prompts.at(-1)).toContain('First question');
      expect(await rt.backends.conversationHistory.getConversationHistory(id)).toHaveLength(4);
    });
  });

  it('writes telemetry items with the TTL attribute', async () => {
    await withRuntime({ toolsRegistry: fanOutTools() }, async (rt) => {
      const id = await start(rt, FAN_OUT, { items: ITEMS.slice(0, 2) });
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      const items = await rt.backends.table.queryPartition(`T#${id}`);
      expect(items.length).toBeGreaterThan(0);
      const now = Date.now() / 1000;
      for (const item of items) {
        expect(item.ttl).toBeGreaterThan(now + 29 * 86_400);
        expect(item.ttl).toBeLessThan(now + 31 * 86_400);
      }
      const types = (await rt.backends.telemetry.getEvents(id)).map((e) => e.event_type);
      expect(types).toEqual(expect.arrayContaining(['orchestration_start', 'node_execution', 'tool_call']));
    });
  });

  it('sends nothing to the DLQ in a healthy run', async () => {
    await withRuntime({ toolsRegistry: fanOutTools() }, async (rt) => {
      const id = await start(rt, FAN_OUT, { items: ITEMS.slice(0, 3) });
      expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
      const attrs = await rt.emulators.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: rt.emulators.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('0');
      // The dead-letter consumer drains the DLQ: it must have seen nothing either.
      expect(rt.logs.filter((l) => l.message.startsWith('dead letter'))).toEqual([]);
    });
  });
});
