/**
 * The local runtime enforces what the emulators do not: Lambda's function timeout (a killed invocation
 * makes no further call, its batch returns after 6 × the timeout), the dead-letter consumer, the
 * node-run limit that replaces Lambda's recursion guard, and chained delays past SQS's cap.
 */
import { orchestrate, type ToolsRegistry } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { createLocalRuntime, DUE_TOLERANCE_MS, type LocalRuntime, type LocalRuntimeOptions } from '../src/index.js';

async function withRuntime<T>(opts: LocalRuntimeOptions, fn: (rt: LocalRuntime) => Promise<T>): Promise<T> {
  const rt = await createLocalRuntime(opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

const start = (rt: LocalRuntime, config: string, extra: { limits?: { maxNodeRuns?: number } } = {}) =>
  orchestrate({
    config,
    initialWorkflowName: 'main',
    initialSignals: ['START'],
    backends: rt.backends,
    broadcastSignalsCaller: rt.broadcastSignalsCaller,
    ...extra,
  });

const ONE_TOOL = `
workflows:
  main:
    Call:
      node_type: tool
      event_triggers: [START]
      tool_name: slow
      output_field: out
`;

describe('function timeout (workerTimeoutMs)', () => {
  it('a tool that sleeps past the timeout ends FAILED with an error saying it timed out (node deadline)', async () => {
    const tools: ToolsRegistry = { slow: () => new Promise((r) => setTimeout(r, 60_000)) };
    await withRuntime({ toolsRegistry: tools, workerTimeoutMs: 1_500, maxReceiveCount: 2, backoffSeconds: () => 0 }, async (rt) => {
      const id = await start(rt, ONE_TOOL);
      const result = await rt.waitForIdle(id, 30_000);
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/DeadlineExceededError: workflow 'main', node 'Call' timed out.*gave up after 2 attempts/);
      // Ended by the deadline, before Lambda would have killed it.
      expect(rt.killedInvocations).toBe(0);
    });
  });

  it('a handler that blocks past the timeout is killed, writes nothing after, and the dead-letter consumer marks FAILED', async () => {
    let calls = 0;
    const tools: ToolsRegistry = {
      // Never yields to the signal or the event loop: only a kill can stop it.
      slow: () => {
        calls++;
        const until = Date.now() + 1_300;
        while (Date.now() < until) {
          /* busy */
        }
        return 'finished too late';
      },
    };
    await withRuntime({ toolsRegistry: tools, workerTimeoutMs: 1_000, maxReceiveCount: 2 }, async (rt) => {
      const id = await start(rt, ONE_TOOL);
      const result = await rt.waitForIdle(id, 45_000);
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/DeadLetterError: broadcast .* \(signals START\) reached the dead-letter queue after 2 receives/);
      expect(rt.killedInvocations).toBe(2);
      expect(calls).toBe(2);
      // The killed invocations committed nothing: the node's result never reached the context.
      const ctx = await rt.backends.context.getContext(id);
      expect(ctx.out).toBeUndefined();
      expect(ctx.__operational__?.nodes).toEqual({});
      expect(rt.logs).toContainEqual(
        expect.objectContaining({ level: 'error', message: expect.stringContaining('worker invocation killed'), timeoutMs: 1_000 }),
      );
    });
  });

  it('close() returns while a tool hangs: the running invocation is abandoned and can write nothing', async () => {
    let called!: () => void;
    const calledOnce = new Promise<void>((r) => {
      called = r;
    });
    const tools: ToolsRegistry = {
      slow: () => {
        called();
        return new Promise(() => undefined);
      },
    };
    const rt = await createLocalRuntime({ toolsRegistry: tools });
    await start(rt, ONE_TOOL);
    await calledOnce;
    await rt.close();
    expect(rt.killedInvocations).toBe(1);
  });

  it('refuses a bad workerTimeoutMs', async () => {
    await expect(createLocalRuntime({ workerTimeoutMs: -5 })).rejects.toThrow(/workerTimeoutMs must be a positive number/);
  });
});

const PING_PONG = `
workflows:
  main:
    Ping:
      node_type: router
      event_triggers: [START, PONG]
      event_emissions: [{ signal_name: PING }]
    Pong:
      node_type: router
      event_triggers: [PING]
      event_emissions: [{ signal_name: PONG }]
limits:
  max_node_runs: 150
`;

describe('node-run limit', () => {
  it('ends the PING/PONG loop FAILED, naming the limit, from the config and from a start option', async () => {
    await withRuntime({}, async (rt) => {
      const id = await start(rt, PING_PONG);
      const result = await rt.waitForIdle(id, 60_000);
      expect(result).toMatchObject({ status: 'failed', error: expect.stringContaining('limit of 150 node runs (limits.max_node_runs)') });
      const nodes = (await rt.backends.context.getContext(id)).__operational__?.nodes ?? {};
      expect((nodes.Ping ?? 0) + (nodes.Pong ?? 0)).toBe(150);

      const id2 = await start(rt, PING_PONG, { limits: { maxNodeRuns: 40 } });
      expect(await rt.waitForIdle(id2, 60_000)).toMatchObject({
        status: 'failed',
        error: expect.stringContaining('limit of 40 node runs'),
      });
    });
  });

  it('stops a chain of children that start children: the tree counts every run', async () => {
    const config = `
workflows:
  main:
    Spawn:
      node_type: child
      event_triggers: [START]
      child_workflow_name: main
      child_initial_signals: [START]
limits:
  max_node_runs: 6
`;
    await withRuntime({}, async (rt) => {
      const id = await start(rt, config);
      const result = await rt.waitForIdle(id, 60_000);
      expect(result).toMatchObject({ status: 'failed', error: expect.stringContaining('reaching its limit of 6 (limits.max_node_runs)') });
      expect(await treeRuns(rt, id)).toBe(6);
    });
  });

  it('bounds the execution tree: 20 children looping PING/PONG share the limit of 200 runs', async () => {
    const config = `
workflows:
  main:
    Fan:
      node_type: child
      event_triggers: [START]
      child_workflow_name: loop
      fan_out_field: items
      child_input_field: item
      child_initial_signals: [START]
  loop:
    Ping: { node_type: router, event_triggers: [START, PONG], event_emissions: [{ signal_name: PING }] }
    Pong: { node_type: router, event_triggers: [PING], event_emissions: [{ signal_name: PONG }] }
limits:
  max_node_runs: 200
`;
    const follow = 4;
    await withRuntime({ followRouters: follow }, async (rt) => {
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { items: Array.from({ length: 20 }, (_, i) => i) },
        backends: rt.backends,
        broadcastSignalsCaller: rt.broadcastSignalsCaller,
      });
      const result = await rt.waitForIdle(id, 120_000);
      expect(result).toMatchObject({
        status: 'failed',
        error: expect.stringContaining(`the execution tree of '${id}'`),
      });
      expect(result.error).toContain('reaching its limit of 200 (limits.max_node_runs)');
      // Invocations running at once do not see each other's runs until they end: each child may
      // overshoot by one invocation (its own run plus its follow budget), never by its own 200.
      const total = await treeRuns(rt, id);
      expect(total).toBeGreaterThanOrEqual(200);
      expect(total).toBeLessThanOrEqual(200 + 20 * (1 + follow));
      // The count on the main execution's partition holds every run made (refused runs are given back;
      // a run that met a transient error counts again when it is retried, so it may be a little over).
      const counter = Number((await rt.backends.table.get(`E#${id}`, 'N#TREE'))?.n);
      expect(counter).toBeGreaterThanOrEqual(total);
      expect(counter).toBeLessThanOrEqual(total + 20);
    });
  });

  it('an execution without children never writes the tree count', async () => {
    await withRuntime({}, async (rt) => {
      const id = await start(rt, PING_PONG, { limits: { maxNodeRuns: 40 } });
      await rt.waitForIdle(id, 60_000);
      expect(await rt.backends.table.get(`E#${id}`, 'N#TREE')).toBeUndefined();
    });
  });
});

/** Node runs made by every execution of the run of `mainId`, read from their stored contexts. */
async function treeRuns(rt: LocalRuntime, mainId: string): Promise<number> {
  let total = 0;
  for (const id of await rt.backends.context.listContexts(mainId)) {
    const nodes = (await rt.backends.context.getContext(id)).__operational__?.nodes ?? {};
    total += Object.values(nodes).reduce((a, b) => a + b, 0);
  }
  return total;
}

describe('spawn_interval past the delay cap', () => {
  it('re-delays in a chain until due instead of capping the delay', async () => {
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
      spawn_interval: 2.5
      signals_to_parent: [DONE]
  item:
    Work:
      node_type: tool
      event_triggers: [GO]
      tool_name: stamp
      output_field: at
      event_emissions: [{ signal_name: DONE }]
`;
    const stamps: number[] = [];
    const tools: ToolsRegistry = { stamp: () => stamps.push(Date.now()) };
    // A cap of 1 s stands for SQS's 900 s: the second child's 2.5 s delay takes a chain of re-delays.
    await withRuntime({ toolsRegistry: tools, maxDelaySeconds: 1 }, async (rt) => {
      const started = Date.now();
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { items: ['a', 'b'] },
        backends: rt.backends,
        broadcastSignalsCaller: rt.broadcastSignalsCaller,
      });
      expect(await rt.waitForIdle(id, 30_000)).toEqual({ status: 'idle' });
      expect(stamps).toHaveLength(2);
      expect(rt.logs.filter((l) => l.message === 're-delayed a signal message').length).toBeGreaterThanOrEqual(1);
      // Not capped at 1 s: the delayed child ran no earlier than its full spawn_interval (less the due tolerance).
      expect(Math.max(...stamps) - started).toBeGreaterThanOrEqual(2_500 - DUE_TOLERANCE_MS);
    });
  });
});
