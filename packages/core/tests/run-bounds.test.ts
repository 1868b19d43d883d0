/**
 * Bounds on a run, in process: node timeouts (`timeout_seconds`, the abort signal tools and models get,
 * a runtime deadline) and the limit on node runs.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CallLlm,
  createEngine,
  createInMemoryBackends,
  createLocalBackends,
  DeadlineExceededError,
  type EngineOptions,
  orchestrate,
  type SimpleBackends,
  type ToolsRegistry,
  validateConfig,
} from '../src/index.js';

const never = () => new Promise<never>(() => undefined);

async function run(
  config: string,
  opts: EngineOptions & { limits?: { maxNodeRuns?: number }; initialContext?: Record<string, unknown>; backends?: SimpleBackends } = {},
) {
  const backends = opts.backends ?? createInMemoryBackends();
  const { broadcastSignalsCaller } = createEngine(backends, opts);
  const id = randomUUID();
  let error: Error | undefined;
  try {
    await orchestrate({
      config,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
      executionId: id,
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.initialContext ? { initialContext: opts.initialContext } : {}),
    });
  } catch (e) {
    error = e as Error;
  }
  return { id, error, context: await backends.context.getContext(id), backends };
}

const TOOL_NODE = (extra = '') => `
main:
  Call:
    node_type: tool
    event_triggers: [START]
    tool_name: slow
    output_field: out
    timeout_seconds: 0.2${extra}
    event_emissions: [{ signal_name: DONE }]
`;

describe('timeout_seconds', () => {
  it('fails a tool that never answers with "timed out after N s", and hands it an aborted signal', async () => {
    let seen: AbortSignal | undefined;
    const tools: ToolsRegistry = {
      slow: (_args: unknown, ctx: { signal: AbortSignal }) => {
        seen = ctx.signal;
        return never();
      },
    };
    const { error, context } = await run(TOOL_NODE(), { toolsRegistry: tools });
    expect(error?.name).toBe('NodeTimeoutError');
    expect(error?.message).toContain("node 'Call' timed out after 0.2 s");
    expect(seen?.aborted).toBe(true);
    expect((context.__operational__ as { errors: number }).errors).toBe(1);
    expect(context.__operational__?.signals).not.toContain('DONE');
  });

  it('takes the tool failure signal and writes the error to output_field', async () => {
    const tools: ToolsRegistry = { slow: { fn: never, failureSignal: 'SLOW_FAILED' } };
    const { error, context } = await run(TOOL_NODE(), { toolsRegistry: tools });
    expect(error).toBeUndefined();
    expect(context.__operational__?.signals).toEqual(['START', 'SLOW_FAILED']);
    expect(context.out).toEqual([expect.stringContaining('timed out after 0.2 s')]);
  });

  it('does not retry a timed-out tool (maxRetries) once its time is up', async () => {
    let calls = 0;
    const tools: ToolsRegistry = {
      slow: {
        fn: () => {
          calls++;
          return never();
        },
        maxRetries: 3,
      },
    };
    const { error } = await run(TOOL_NODE(), { toolsRegistry: tools });
    expect(error?.message).toContain('timed out after 0.2 s');
    expect(calls).toBe(1);
  });

  it('a short limit after a long one still fires on time, while a long one is running too', async () => {
    const config = `
main:
  Long:
    node_type: tool
    event_triggers: [START]
    tool_name: slowish
    timeout_seconds: 30
    event_emissions: [{ signal_name: NEXT }]
  Short:
    node_type: tool
    event_triggers: [NEXT]
    tool_name: hang
    timeout_seconds: 0.2
    event_emissions: [{ signal_name: DONE }]
`;
    // Long ends in time, Short hangs: its 0.2 s limit is earlier than the 30 s one the timer was set for.
    const tools: ToolsRegistry = { slowish: () => new Promise((r) => setTimeout(() => r('ok'), 20)), hang: never };
    const { error } = await run(config, { toolsRegistry: tools });
    expect(error?.message).toContain("node 'Short'");
    expect(error?.message).toContain('timed out after 0.2 s');
  });

  it('a process whose tool nodes all ended exits at once: no 300 s timer holds it', () => {
    const script = `
      const { createAllNodes, createInMemoryBackends, orchestrate } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const backends = createInMemoryBackends();
      const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: { inc: ({ n }) => ({ n: n + 1 }) } });
      const config = { main: { A: { node_type: 'tool', event_triggers: ['START'], tool_name: 'inc', context_parameter_field: 'v', output_field: 'v' } } };
      await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], initialContext: { v: { n: 0 } }, backends, broadcastSignalsCaller });
      console.log('done');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('done');
  });

  it('a tool error handed back to a runtime that retries leaves no timer holding the process', () => {
    const script = `
      const { createEngine, createInMemoryBackends, orchestrate } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const backends = createInMemoryBackends();
      const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      const call = () => { throw throttled; };
      const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: { call }, propagateTransient: true });
      const config = { main: { A: { node_type: 'tool', event_triggers: ['START'], tool_name: 'call' } } };
      const e = await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller }).catch((e) => e);
      console.log(e === throttled ? 'handed back' : String(e));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('handed back');
  });

  it('tool nodes default to 300 s', async () => {
    const { context } = await run(TOOL_NODE().replace('    timeout_seconds: 0.2\n', ''), { toolsRegistry: { slow: () => 'ok' } });
    expect(context.out).toEqual(['ok']);
  });

  const LLM = (type: 'llm' | 'agent', extra = '') => `
main:
  Ask:
    node_type: ${type}
    event_triggers: [START]
    prompt: "hello"
    output_field: answer
    timeout_seconds: 0.2${extra}
    event_emissions: [{ signal_name: DONE }]
`;

  it('passes the signal to callLlm and fails a hung llm node', async () => {
    let signal: AbortSignal | undefined;
    const callLlm: CallLlm = (_p, _c, opts) => {
      signal = opts?.signal;
      return never();
    };
    const { error } = await run(LLM('llm'), { callLlm });
    expect(error?.message).toContain("node 'Ask' timed out after 0.2 s");
    expect(signal?.aborted).toBe(true);
  });

  it('an llm node past its timeout takes llm_failure_signal', async () => {
    const { error, context } = await run(LLM('llm', '\n    llm_failure_signal: ASK_FAILED'), { callLlm: never });
    expect(error).toBeUndefined();
    expect(context.__operational__?.signals).toEqual(['START', 'ASK_FAILED']);
  });

  it('an agent node past its timeout fails, or takes llm_failure_signal', async () => {
    const failed = await run(LLM('agent'), { callLlm: never });
    expect(failed.error?.message).toContain("node 'Ask' timed out after 0.2 s");
    const routed = await run(LLM('agent', '\n    llm_failure_signal: ASK_FAILED'), { callLlm: never });
    expect(routed.context.__operational__?.signals).toEqual(['START', 'ASK_FAILED']);
  });

  it('ends a node whose work outside any tool call hangs (the node itself is raced)', async () => {
    const backends = createInMemoryBackends();
    // An identity makes the llm node read its system prompt: a backend call that never answers.
    backends.identity!.getIdentity = never;
    const { broadcastSignalsCaller } = createEngine(backends, { callLlm: () => '{"answer": 1}' });
    const config = `
workflows:
  main:
    Ask:
      node_type: llm
      event_triggers: [START]
      prompt: hi
      identity: helper
      output_field: answer
      timeout_seconds: 0.2
identities:
  helper: you help
`;
    await expect(
      orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller }),
    ).rejects.toThrow(/timed out after 0.2 s/);
  });

  it('a deadline from the runtime fails the node with a retryable DeadlineExceededError', async () => {
    const tools: ToolsRegistry = { slow: never };
    const deadline = Date.now() + 200;
    const { error } = await run(TOOL_NODE().replace('0.2', '60'), { toolsRegistry: tools, deadline: () => deadline });
    expect(error?.name).toBe('DeadlineExceededError');
    expect(error?.message).toContain('timed out');
    // The AWS worker propagates it: the message is retried.
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, {
      toolsRegistry: tools,
      deadline: () => Date.now() + 100,
      propagateTransient: true,
    });
    const rejected = await orchestrate({
      config: TOOL_NODE().replace('0.2', '60'),
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    }).catch((e) => e);
    expect(rejected).toBeInstanceOf(DeadlineExceededError);
    expect(rejected.retryable).toBe(true);
  });

  it('validates timeout_seconds and limits', () => {
    const bad = (node: string) => validateConfig(`main:\n  T:\n    node_type: tool\n    event_triggers: [S]\n    tool_name: t\n${node}`);
    for (const v of ['0', '-1', 'soon', '1e9']) {
      const issues = bad(`    timeout_seconds: ${v}\n`);
      expect(issues.map((i) => [i.node, i.field])).toEqual([['T', 'timeout_seconds']]);
    }
    expect(bad('    timeout_seconds: 2.5\n')).toEqual([]);
    const limits = (l: string) =>
      validateConfig(`workflows:\n  main:\n    T:\n      node_type: tool\n      event_triggers: [S]\n      tool_name: t\nlimits:\n${l}`);
    expect(limits('  max_node_runs: 0\n')[0]?.field).toBe('limits.max_node_runs');
    expect(limits('  max_node_runs: 1.5\n')[0]?.field).toBe('limits.max_node_runs');
    expect(limits('  max_runs: 10\n')[0]?.message).toContain("unknown limit 'max_runs'");
    expect(limits('  max_node_runs: 50\n')).toEqual([]);
  });
});

const PING_PONG = (limits = '') => `
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
${limits}`;

describe('node-run limit', () => {
  it('ends the PING/PONG loop FAILED at the default limit of 10,000 runs, naming the limit', async () => {
    const { error, context } = await run(PING_PONG());
    expect(error?.name).toBe('NodeRunLimitError');
    expect(error?.message).toContain('limit of 10000 node runs (limits.max_node_runs)');
    const nodes = context.__operational__?.nodes ?? {};
    expect((nodes.Ping ?? 0) + (nodes.Pong ?? 0)).toBe(10_000);
  });

  it("takes the config's limits.max_node_runs, and a start option over it", async () => {
    const fromConfig = await run(PING_PONG('limits:\n  max_node_runs: 25\n'));
    expect(fromConfig.error?.message).toContain('limit of 25 node runs');
    expect(fromConfig.context.__operational__?.max_node_runs).toBe(25);
    const fromOption = await run(PING_PONG('limits:\n  max_node_runs: 25\n'), { limits: { maxNodeRuns: 7 } });
    expect(fromOption.error?.message).toContain('limit of 7 node runs');
    const nodes = fromOption.context.__operational__?.nodes ?? {};
    expect((nodes.Ping ?? 0) + (nodes.Pong ?? 0)).toBe(7);
  });

  it('rejects a bad start option before storing anything', async () => {
    const { error, backends } = await run(PING_PONG(), { limits: { maxNodeRuns: -3 } });
    expect(error?.name).toBe('WorkflowValidationError');
    expect(await backends.context.listContexts?.()).toEqual([]);
  });

  it('a chain of children that start children stops: a child counts its ancestors’ runs', async () => {
    const config = `
workflows:
  main:
    Spawn:
      node_type: child
      event_triggers: [START]
      child_workflow_name: main
      child_initial_signals: [START]
limits:
  max_node_runs: 30
`;
    const { id, error, backends } = await run(config);
    expect(error?.name).toBe('NodeRunLimitError');
    expect(error?.message).toContain('made 30 node runs, reaching its limit of 30 (limits.max_node_runs)');
    expect(await treeRuns(backends, id)).toBe(30);
  });

  const FAN_OUT = (limit: number) => `
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
  max_node_runs: ${limit}
`;
  const twenty = { items: Array.from({ length: 20 }, (_, i) => i) };

  it('bounds the execution tree: 20 children looping PING/PONG share the limit of 200 runs', async () => {
    const { id, error, backends } = await run(FAN_OUT(200), { initialContext: twenty });
    expect(error?.name).toBe('NodeRunLimitError');
    expect(error?.message).toContain(`the execution tree of '${id}'`);
    expect(error?.message).toContain('made 200 node runs, reaching its limit of 200 (limits.max_node_runs)');
    // The tree's counter reserves each run before it starts: not one run over the limit.
    expect(await treeRuns(backends, id)).toBe(200);
    expect(await backends.context.addTreeNodeRuns(id, 0)).toBe(200);
    const children = (await backends.context.listContexts()).filter((c) => c !== id);
    expect(children).toHaveLength(20);
  });

  it('an execution without children keeps its own count and leaves the tree counter alone', async () => {
    const { id, error, backends } = await run(PING_PONG('limits:\n  max_node_runs: 25\n'));
    expect(error?.message).toContain('reached its limit of 25 node runs');
    expect(await backends.context.addTreeNodeRuns(id, 0)).toBe(0);
  });

  it('counts the tree on the file backend too, where a later process sees the count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-tree-'));
    try {
      const { id, error } = await run(FAN_OUT(120), { initialContext: twenty, backends: createLocalBackends(dir) });
      expect(error?.message).toContain('made 120 node runs, reaching its limit of 120 (limits.max_node_runs)');
      const reopened = createLocalBackends(dir);
      expect(await treeRuns(reopened, id)).toBe(120);
      expect(await reopened.context.addTreeNodeRuns(id, 0)).toBe(120);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Node runs made by every execution of the tree of `mainId`, read from their stored contexts. */
async function treeRuns(backends: SimpleBackends, mainId: string): Promise<number> {
  let total = 0;
  for (const id of await backends.context.listContexts()) {
    const op = (await backends.context.getContext(id)).__operational__;
    if (op?.main_execution_id !== mainId) continue;
    total += Object.values(op.nodes).reduce((a, b) => a + b, 0);
  }
  return total;
}
