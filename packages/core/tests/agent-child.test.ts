import { describe, expect, it } from 'vitest';
import {
  createAllNodes,
  createInMemoryBackends,
  createScriptedLlm,
  orchestrate,
  type ToolsRegistry,
  WorkflowValidationError,
} from '../src/index.js';

async function start(
  config: unknown,
  opts: { tools?: ToolsRegistry; model?: Parameters<typeof createScriptedLlm>[0]; context?: Record<string, unknown> } = {},
) {
  const backends = createInMemoryBackends();
  const llm = opts.model ? createScriptedLlm(opts.model) : undefined;
  const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: opts.tools, callLlm: llm?.callLlm });
  const id = await orchestrate({
    config: config as object,
    initialWorkflowName: 'main',
    initialSignals: ['START'],
    initialContext: opts.context ?? {},
    backends,
    broadcastSignalsCaller,
  });
  return { id, backends, llm, context: await backends.context.getContext(id) };
}

const agentNode = (extra: Record<string, unknown> = {}) => ({
  node_type: 'agent',
  event_triggers: ['START'],
  prompt: 'Help with {{ context.task }}',
  tools: ['calc'],
  output_field: 'answer',
  event_emissions: [{ signal_name: 'DONE' }],
  ...extra,
});

describe('agent nodes', () => {
  it('sends a tool error back to the model as the next state, then finishes', async () => {
    let calls = 0;
    const tools: ToolsRegistry = {
      calc: {
        fn: () => {
          calls++;
          if (calls === 1) throw new Error('division by zero');
          return 4;
        },
        parameters: { type: 'object' },
      },
    };
    const { context, llm } = await start(
      { main: { A: agentNode() } },
      {
        tools,
        context: { task: 'sum' },
        model: {
          rules: [
            { stage: 'router', in: 'history', contains: 'result: 4', respond: { action: 'finish' } },
            { stage: 'router', respond: { action: 'call_tool', tool_name: 'calc' } },
            { stage: 'parameter', respond: {} },
            { stage: 'response', respond: { answer: 'four' } },
          ],
        },
      },
    );
    expect(context.answer).toEqual(['four']);
    expect(context.__operational__?.tool_calls).toBe(2);
    const second = llm!.prompts.filter((p) => p.includes('"available_tools"'))[1]!;
    expect(second).toContain('division by zero');
  });

  it('tells the model about an unknown tool instead of crashing', async () => {
    const { context, llm } = await start(
      { main: { A: agentNode() } },
      {
        tools: { calc: () => 1 },
        model: {
          rules: [
            { stage: 'router', times: 1, respond: { action: 'call_tool', tool_name: 'teleport' } },
            { stage: 'router', respond: { action: 'finish' } },
            { stage: 'response', respond: { answer: 'done' } },
          ],
        },
      },
    );
    expect(context.answer).toEqual(['done']);
    expect(llm!.prompts.some((p) => p.includes("'teleport', which is not available"))).toBe(true);
  });

  it('fails with its llm_failure_signal when it never finishes within max_iterations', async () => {
    const { context } = await start(
      { main: { A: agentNode({ max_iterations: 3, llm_failure_signal: 'GAVE_UP' }) } },
      {
        tools: { calc: () => 1 },
        model: {
          rules: [
            { stage: 'router', respond: { action: 'call_tool', tool_name: 'calc' } },
            { stage: 'parameter', respond: {} },
          ],
        },
      },
    );
    expect(context.__operational__?.signals).toEqual(['START', 'GAVE_UP']);
    expect(context.__operational__?.tool_calls).toBe(3);
  });

  it('rejects the run naming the node when it never finishes and has no failure signal', async () => {
    await expect(
      start(
        { main: { A: agentNode({ max_iterations: 2 }) } },
        {
          tools: { calc: () => 1 },
          model: {
            rules: [
              { stage: 'router', respond: { action: 'call_tool', tool_name: 'calc' } },
              { stage: 'parameter', respond: {} },
            ],
          },
        },
      ),
    ).rejects.toThrow(/node 'A'.*max_iterations \(2\)/s);
  });
});

describe('child nodes and fan-out', () => {
  // The items travel in the initial context; the config is the same for every list.
  const fanOut = () => ({
    workflows: {
      main: {
        Spawn: {
          node_type: 'child',
          event_triggers: ['START'],
          child_workflow_name: 'worker',
          child_initial_signals: ['GO'],
          fan_out_field: 'items',
          child_input_field: 'item',
          signals_to_parent: ['DONE'],
          context_updates_to_parent: ['doubled'],
          event_emissions: [{ signal_name: 'SPAWNED' }],
        },
        Count: {
          node_type: 'router',
          event_triggers: ['DONE'],
          event_emissions: [
            { signal_name: 'ALL', condition: '{{ context.doubled | accumulated | length == context.items | accumulated | length }}' },
          ],
        },
      },
      worker: {
        Double: {
          node_type: 'tool',
          event_triggers: ['GO'],
          tool_name: 'double',
          context_parameter_field: 'item',
          output_field: 'doubled',
          event_emissions: [{ signal_name: 'DONE' }],
        },
      },
    },
  });
  const tools: ToolsRegistry = { double: ({ n }: { n: number }) => n * 2 };

  it('a child workflow that does not exist is rejected before anything is stored', async () => {
    const backends = createInMemoryBackends();
    const err = await orchestrate({
      config: {
        main: { C: { node_type: 'child', event_triggers: ['START'], child_workflow_name: 'missing', child_initial_signals: ['GO'] } },
      },
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller: createAllNodes(backends).broadcastSignalsCaller,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowValidationError);
    expect(err.message).toMatch(/workflow 'main', node 'C', field 'child_workflow_name'/);
    expect(await backends.context.listContexts()).toEqual([]);
  });

  it('fan-out over an empty list starts no child and still emits the node signals', async () => {
    const { context, backends } = await start(fanOut(), { tools, context: { items: [] } });
    expect(context.__operational__?.signals).toEqual(['START', 'SPAWNED']);
    expect(await backends.context.listContexts()).toHaveLength(1);
  });

  it('fan-out over 1,000 items runs one child each and collects every result', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ n: i }));
    const { context, backends } = await start(fanOut(), { tools, context: { items } });
    expect(await backends.context.listContexts()).toHaveLength(1001);
    expect((context.doubled as number[]).sort((a, b) => a - b)).toEqual(items.map((x) => x.n * 2));
    expect(context.__operational__?.signals.filter((s) => s === 'ALL')).toHaveLength(1);
  });

  it('children get __parent__ and share the main execution id', async () => {
    const { id, backends } = await start(fanOut(), { tools, context: { items: [{ n: 1 }] } });
    const childId = (await backends.context.listContexts()).find((x) => x !== id)!;
    const child = await backends.context.getContext(childId);
    expect(child.__parent__).toEqual({
      parent_execution_id: id,
      main_execution_id: id,
      signals_to_parent: ['DONE'],
      context_updates_to_parent: ['doubled'],
    });
    expect(child.__operational__?.main_execution_id).toBe(id);
    expect(child.item).toEqual([{ n: 1 }]);
  });
});

describe('context schema', () => {
  const config = (retries: number, failure?: string) => ({
    workflows: {
      main: {
        L: {
          node_type: 'llm',
          event_triggers: ['START'],
          prompt: 'count',
          output_field: 'count',
          retries,
          ...(failure ? { llm_failure_signal: failure } : {}),
          event_emissions: [{ signal_name: 'OK' }],
        },
      },
    },
    context_schema: { count: { type: 'integer' } },
  });

  it('retries a mismatching answer with the validation error fed back, then accepts the bare value', async () => {
    const { context, llm } = await start(config(2), { model: { rules: [{ responses: ['{"count": "many"}', '7'] }] } });
    expect(context.count).toEqual([7]);
    expect(llm!.prompts[1]).toMatch(/rejected.*count/s);
  });

  it('emits the failure signal when the retries are exhausted', async () => {
    const { context, llm } = await start(config(1, 'BAD'), { model: { default: '{"count": 1.5}' } });
    expect(llm!.prompts).toHaveLength(2);
    expect(context.__operational__?.signals).toEqual(['START', 'BAD']);
    expect(context.count).toBeUndefined();
  });
});
