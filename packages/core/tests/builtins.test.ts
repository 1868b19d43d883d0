import { describe, expect, it } from 'vitest';
import { BUILTIN_TOOL_NAMES, createBuiltinTools } from '../src/builtins/index.js';
import {
  broadcastSignals,
  type CallLlm,
  createEngine,
  createInMemoryBackends,
  createScriptedLlm,
  type InMemoryBackends,
  orchestrate,
  type ToolContext,
  ToolParameterError,
  type ToolsRegistry,
} from '../src/index.js';

interface RunOptions {
  tools?: ToolsRegistry;
  callLlm?: CallLlm;
  context?: Record<string, unknown>;
  workflow?: string;
  backends?: InMemoryBackends;
}

/** Runs a config to completion on an engine that has the built-ins, and returns what a test needs. */
async function run(config: unknown, opts: RunOptions = {}) {
  const backends = opts.backends ?? createInMemoryBackends();
  const { engine, nodes, broadcastSignalsCaller } = createEngine(backends, {
    toolsRegistry: opts.tools,
    callLlm: opts.callLlm,
    builtinTools: createBuiltinTools(),
  });
  const id = await orchestrate({
    config: config as object,
    initialWorkflowName: opts.workflow ?? 'main',
    initialSignals: ['START'],
    initialContext: opts.context ?? {},
    backends,
    broadcastSignalsCaller,
  });
  const newest = async (field: string) => {
    const h = (await backends.context.getContext(id))[field];
    return Array.isArray(h) ? h[h.length - 1] : undefined;
  };
  return { id, backends, engine, nodes, newest, registry: () => backends.workflow.getWorkflowsRegistry(id) };
}

/** A workflow whose one tool node calls `tool` with the arguments in context field `args`. */
const callOnce = (tool: string, extraNodes: Record<string, unknown> = {}) => ({
  main: {
    Act: {
      node_type: 'tool',
      event_triggers: ['START'],
      tool_name: tool,
      context_parameter_field: 'args',
      output_field: 'out',
      event_emissions: [
        { signal_name: 'OK', condition: '{{ result.success }}' },
        { signal_name: 'REFUSED', condition: '{{ not result.success }}' },
      ],
    },
    ...extraNodes,
  },
});

const probe = { Probe: { node_type: 'router', event_triggers: ['PING'], event_emissions: [{ signal_name: 'PONG' }] } };

describe('bad injections are refused and change nothing', () => {
  const injectNode = async (node: unknown) => {
    const r = await run(callOnce('soe_inject_node', probe), {
      context: { args: { workflow_name: 'main', node_name: 'New', node_config_data: node } },
    });
    return { ...r, out: (await r.newest('out')) as Record<string, unknown> };
  };

  it('refuses a node with a required field missing, naming the field', async () => {
    const { out, registry, backends, id } = await injectNode({ node_type: 'router', event_triggers: ['GO'] });
    expect(out).toMatchObject({ success: false, injected: false, workflow_name: 'main', node_name: 'New' });
    expect(out.error).toMatch(/node 'New', field 'event_emissions'/);
    expect(Object.keys((await registry())!.main!)).toEqual(['Act', 'Probe']);
    expect((await backends.context.getContext(id)).__operational__!.signals).toContain('REFUSED');
  });

  it('refuses an unknown node type', async () => {
    const { out, registry } = await injectNode('{"node_type": "toool", "event_triggers": ["GO"]}');
    expect(out.success).toBe(false);
    expect(out.error).toMatch(/field 'node_type'.*unknown node_type 'toool'/);
    expect((await registry())!.main!.New).toBeUndefined();
  });

  it('refuses a template that does not parse', async () => {
    const { out, registry } = await injectNode('node_type: llm\nevent_triggers: [GO]\nprompt: "Hello {{ context.name"\n');
    expect(out.success).toBe(false);
    expect(out.error).toMatch(/field 'prompt'/);
    expect((await registry())!.main!.New).toBeUndefined();
  });

  it('refuses a template that tries to leave the sandbox', async () => {
    const hostile = {
      node_type: 'router',
      event_triggers: ['GO'],
      event_emissions: [{ signal_name: 'X', condition: "{{ range.constructor('return process')() }}" }],
    };
    const { out, registry } = await injectNode(hostile);
    expect(out.success).toBe(false);
    expect(out.error).toMatch(/field 'event_emissions\[0\]\.condition'/);
    expect((await registry())!.main!.New).toBeUndefined();
  });

  it('refuses text that is neither JSON nor YAML', async () => {
    const { out } = await injectNode('node_type: [router\n  event_triggers: {');
    expect(out.success).toBe(false);
    expect(out.error).toMatch(/'node_config_data' is neither valid JSON nor valid YAML/);
  });

  it('refuses a node for a workflow that does not exist', async () => {
    const r = await run(callOnce('soe_inject_node'), {
      context: { args: { workflow_name: 'nope', node_name: 'N', node_config_data: probe.Probe } },
    });
    expect(await r.newest('out')).toMatchObject({
      success: false,
      injected: false,
      error: expect.stringMatching(/workflow 'nope' does not exist/),
    });
    expect(Object.keys((await r.registry())!)).toEqual(['main']);
  });

  it('refuses a workflow with a bad node, and a child node naming an unknown workflow', async () => {
    const bad = { A: { node_type: 'tool', event_triggers: ['START'] } };
    const r1 = await run(callOnce('soe_inject_workflow'), { context: { args: { workflow_name: 'extra', workflow_data: bad } } });
    expect(await r1.newest('out')).toMatchObject({ success: false, injected: false, workflow_name: 'extra' });
    expect(String(((await r1.newest('out')) as { error: string }).error)).toMatch(/workflow 'extra', node 'A', field 'tool_name'/);
    expect((await r1.registry())!.extra).toBeUndefined();

    const child = { C: { node_type: 'child', event_triggers: ['START'], child_workflow_name: 'ghost', child_initial_signals: ['START'] } };
    const r2 = await run(callOnce('soe_inject_workflow'), { context: { args: { workflow_name: 'extra', workflow_data: child } } });
    expect(String(((await r2.newest('out')) as { error: string }).error)).toMatch(/field 'child_workflow_name'.*'ghost' does not exist/);
    expect((await r2.registry())!.extra).toBeUndefined();
  });

  it('refuses a signal whose condition is hostile, keeping the node as it was', async () => {
    const r = await run(callOnce('soe_add_signal', probe), {
      context: {
        args: {
          workflow_name: 'main',
          node_name: 'Probe',
          signal_name: 'EVIL',
          condition: "{{ ''.constructor.constructor('return process')() }}",
        },
      },
    });
    expect(await r.newest('out')).toMatchObject({ success: false, status: 'failed' });
    expect((await r.registry())!.main!.Probe!.event_emissions).toEqual([{ signal_name: 'PONG' }]);
  });

  it('refuses a context schema field of an unknown type', async () => {
    const r = await run(callOnce('soe_inject_context_schema_field'), {
      context: { args: { field_name: 'age', field_definition: '{"type": "integr"}' } },
    });
    expect(await r.newest('out')).toMatchObject({
      success: false,
      field_name: 'age',
      error: expect.stringMatching(/unknown type 'integr'/),
    });
    expect(await r.backends.contextSchema.getContextSchema(r.id)).toBeNull();
  });

  it('fails the node with a ToolParameterError when a required argument is missing', async () => {
    const err = await run(callOnce('soe_inject_node'), {
      context: { args: { workflow_name: 'main', node_config_data: probe.Probe } },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ToolParameterError);
    expect(err.message).toMatch(/soe_inject_node.*node_name/);
  });
});

describe('soe_inject_workflow input shapes', () => {
  it('unwraps {name: nodes} but keeps a workflow whose node has the workflow name', async () => {
    const node = { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'HI' }] };
    const wrapped = await run(callOnce('soe_inject_workflow'), {
      context: { args: { workflow_name: 'greet', workflow_data: { greet: { Hello: node } } } },
    });
    expect(Object.keys((await wrapped.registry())!.greet!)).toEqual(['Hello']);
    const sameName = await run(callOnce('soe_inject_workflow'), {
      context: { args: { workflow_name: 'greet', workflow_data: { greet: node } } },
    });
    expect(await sameName.newest('out')).toMatchObject({ success: true, injected: true, action: 'created', nodes: ['greet'] });
    expect((await sameName.registry())!.greet!.greet).toEqual(node);
  });
});

describe('removing what does not exist', () => {
  it.each([
    ['soe_remove_workflow', { workflow_name: 'nope' }, /workflow 'nope' does not exist/],
    ['soe_remove_node', { workflow_name: 'main', node_name: 'Nope' }, /node 'Nope' does not exist in workflow 'main'/],
    ['soe_remove_node', { workflow_name: 'nope', node_name: 'Act' }, /workflow 'nope' does not exist/],
    ['soe_remove_identity', { identity_name: 'nobody' }, /identity 'nobody' does not exist/],
    ['soe_remove_context_schema_field', { field_name: 'nothing' }, /field 'nothing' is not in the context schema/],
  ])('%s %j answers removed: false', async (tool, args, message) => {
    const r = await run(callOnce(tool), { context: { args } });
    expect(await r.newest('out')).toMatchObject({ success: false, removed: false, error: expect.stringMatching(message) });
    expect(Object.keys((await r.registry())!.main!)).toEqual(['Act']);
  });

  it('refuses to remove the workflow the execution is running', async () => {
    const r = await run(callOnce('soe_remove_workflow'), { context: { args: { workflow_name: 'main' } } });
    expect(await r.newest('out')).toMatchObject({
      success: false,
      removed: false,
      error: expect.stringMatching(/is the one this execution is running/),
    });
    expect((await r.registry())!.main).toBeDefined();
  });

  it('refuses to remove a workflow that a child node starts', async () => {
    const config = {
      ...callOnce('soe_remove_workflow', {
        Spawn: { node_type: 'child', event_triggers: ['LATER'], child_workflow_name: 'sub', child_initial_signals: ['START'] },
      }),
      sub: probe,
    };
    const r = await run(config, { context: { args: { workflow_name: 'sub' } } });
    expect(await r.newest('out')).toMatchObject({ success: false, error: expect.stringMatching(/started by child node 'Spawn'/) });
    expect((await r.registry())!.sub).toBeDefined();
  });
});

describe('soe_call_tool', () => {
  it('answers a failed result for a tool that is not registered, listing the registered ones', async () => {
    const r = await run(callOnce('soe_call_tool'), {
      tools: { echo: (a: unknown) => a },
      context: { args: { tool_name: 'missing', arguments: '{}' } },
    });
    expect(await r.newest('out')).toMatchObject({
      success: false,
      tool_name: 'missing',
      available_tools: ['echo'],
      error: expect.stringMatching(/not registered/),
    });
  });

  it('answers a failed result when the tool throws on every attempt, after its retries', async () => {
    let calls = 0;
    const tools: ToolsRegistry = {
      flaky: {
        fn: () => {
          calls++;
          throw new Error('service down');
        },
        maxRetries: 2,
      },
    };
    const r = await run(callOnce('soe_call_tool'), { tools, context: { args: { tool_name: 'flaky', arguments: { x: 1 } } } });
    expect(await r.newest('out')).toMatchObject({ success: false, tool_name: 'flaky', error: "tool 'flaky' failed: service down" });
    expect(calls).toBe(3);
    // one call of soe_call_tool itself, three attempts of the tool it called
    expect((await r.backends.context.getContext(r.id)).__operational__!.tool_calls).toBe(4);
  });

  it('checks the arguments against the tool schema and refuses bad JSON', async () => {
    const tools: ToolsRegistry = {
      greet: {
        fn: ({ name }: { name: string }) => `hi ${name}`,
        parameters: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      },
    };
    const wrong = await run(callOnce('soe_call_tool'), { tools, context: { args: { tool_name: 'greet', arguments: '{"nom": "x"}' } } });
    expect(await wrong.newest('out')).toMatchObject({ success: false, error: expect.stringMatching(/parameter 'name'/) });
    const broken = await run(callOnce('soe_call_tool'), { tools, context: { args: { tool_name: 'greet', arguments: '{name: x' } } });
    expect(await broken.newest('out')).toMatchObject({ success: false, error: expect.stringMatching(/'arguments' is not valid JSON/) });
    const good = await run(callOnce('soe_call_tool'), { tools, context: { args: { tool_name: 'greet', arguments: { name: 'Ada' } } } });
    expect(await good.newest('out')).toEqual({ success: true, tool_name: 'greet', result: 'hi Ada' });
  });

  it('does not call built-ins, and reports an unusable registry entry', async () => {
    const builtin = await run(callOnce('soe_call_tool'), {
      context: { args: { tool_name: 'soe_remove_workflow', arguments: '{"workflow_name": "main"}' } },
    });
    expect(await builtin.newest('out')).toMatchObject({ success: false, error: expect.stringMatching(/is a built-in tool/) });
    const tools = { broken: 'not a function' } as unknown as ToolsRegistry;
    const bad = await run(callOnce('soe_call_tool'), { tools, context: { args: { tool_name: 'broken' } } });
    expect(await bad.newest('out')).toMatchObject({ success: false, error: expect.stringMatching(/unusable registry entry/) });
  });
});

describe('concurrent injections keep each other', () => {
  it('keeps both nodes when two nodes inject on the same signal', async () => {
    const inject = (name: string) => ({
      node_type: 'tool',
      event_triggers: ['START'],
      tool_name: 'soe_inject_node',
      parameters: {
        workflow_name: 'main',
        node_name: name,
        node_config_data: { node_type: 'router', event_triggers: ['PING'], event_emissions: [{ signal_name: `${name}_PONG` }] },
      },
    });
    const r = await run({ main: { InjectA: inject('A'), InjectB: inject('B') } });
    expect(Object.keys((await r.registry())!.main!)).toEqual(['InjectA', 'InjectB', 'A', 'B']);
    await broadcastSignals(r.id, ['PING'], r.nodes, r.backends);
    expect((await r.backends.context.getContext(r.id)).__operational__!.signals).toEqual(expect.arrayContaining(['A_PONG', 'B_PONG']));
  });

  it('keeps every change when many calls run at the same time', async () => {
    const r = await run({ main: probe }, { context: {} });
    const stored = await r.backends.context.getContext(r.id);
    const ctx: ToolContext = {
      executionId: r.id,
      mainExecutionId: r.id,
      workflowName: 'main',
      nodeName: 'Test',
      context: stored,
      backends: r.backends,
      services: r.engine.services,
      update: () => undefined,
      updateOther: () => undefined,
      emit: () => undefined,
    };
    const tools = createBuiltinTools();
    const n = 25;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        Promise.all([
          tools.soe_inject_node!.fn(
            {
              workflow_name: 'main',
              node_name: `N${i}`,
              node_config_data: { node_type: 'router', event_triggers: ['X'], event_emissions: [] },
            },
            ctx,
          ),
          tools.soe_inject_workflow!.fn({ workflow_name: `wf${i}`, workflow_data: probe }, ctx),
          tools.soe_inject_identity!.fn({ identity_name: `id${i}`, system_prompt: `prompt ${i}` }, ctx),
          tools.soe_inject_context_schema_field!.fn({ field_name: `f${i}`, field_definition: 'integer' }, ctx),
        ]),
      ),
    );
    expect(results.flat().every((x) => (x as { success: boolean }).success)).toBe(true);
    const registry = (await r.registry())!;
    expect(Object.keys(registry.main!)).toHaveLength(n + 1);
    expect(Object.keys(registry)).toHaveLength(n + 1);
    expect(Object.keys((await r.backends.identity.getIdentities(r.id))!)).toHaveLength(n);
    expect(Object.keys((await r.backends.contextSchema.getContextSchema(r.id))!)).toHaveLength(n);
  });
});

describe('context built-ins', () => {
  it('commits soe_update_context and soe_copy_context writes with the node run', async () => {
    const config = {
      main: {
        Update: {
          node_type: 'tool',
          event_triggers: ['START'],
          tool_name: 'soe_update_context',
          parameters: { updates: { note: 'hello', __operational__: 'no' } },
          output_field: 'u',
          event_emissions: [{ signal_name: 'UPDATED' }],
        },
        Copy: {
          node_type: 'tool',
          event_triggers: ['UPDATED'],
          tool_name: 'soe_copy_context',
          parameters: { fields: { note: 'note_copy' } },
          output_field: 'c',
        },
      },
    };
    const r = await run(config);
    const ctx = await r.backends.context.getContext(r.id);
    expect(ctx.note).toEqual(['hello']);
    expect(ctx.note_copy).toEqual(['hello']);
    expect(ctx.u).toEqual([
      { success: true, status: 'updated', fields: ['note'], ignored: ['__operational__'], message: expect.any(String) },
    ]);
    expect(ctx.__operational__!.signals).toEqual(['START', 'UPDATED']);
  });

  it('refuses to copy from an execution of another run', async () => {
    const backends = createInMemoryBackends();
    const other = await run({ main: probe }, { backends, context: { secret: 's3cret' } });
    const r = await run(callOnce('soe_copy_context'), {
      backends,
      context: { args: { source_execution_id: other.id, fields: { secret: 'stolen' } } },
    });
    expect(await r.newest('out')).toMatchObject({ success: false, error: expect.stringMatching(/belongs to another run/) });
    expect((await backends.context.getContext(r.id)).stolen).toBeUndefined();
  });

  it('lists only the executions of the same run', async () => {
    const backends = createInMemoryBackends();
    await run({ main: probe }, { backends });
    const r = await run(callOnce('soe_list_contexts'), { backends, context: { args: {} } });
    const out = (await r.newest('out')) as { current_execution_id: string; contexts: Array<{ execution_id: string }> };
    expect(out.current_execution_id).toBe(r.id);
    expect(out.contexts.map((c) => c.execution_id)).toEqual([r.id]);
  });
});

describe('agents and built-ins', () => {
  it('lets an agent that lists a built-in call it, with its description and schema in the prompt', async () => {
    const llm = createScriptedLlm({
      rules: [
        { stage: 'router', times: 1, respond: { action: 'call_tool', tool_name: 'soe_inject_identity' } },
        { stage: 'router', respond: { action: 'finish' } },
        { stage: 'parameter', respond: { identity_name: 'critic', system_prompt: 'You are a critic.' } },
        { stage: 'response', respond: { result: 'done' } },
      ],
    });
    const config = {
      main: {
        Agent: {
          node_type: 'agent',
          event_triggers: ['START'],
          prompt: 'Create a critic identity',
          tools: ['soe_inject_identity'],
          output_field: 'result',
        },
      },
    };
    const r = await run(config, { callLlm: llm.callLlm });
    expect(await r.backends.identity.getIdentity(r.id, 'critic')).toBe('You are a critic.');
    expect(llm.prompts[0]).toContain('Adds an identity');
    expect(llm.prompts[0]).toContain('system_prompt');
  });

  it('offers every built-in with a description and an argument schema', () => {
    const tools = createBuiltinTools();
    expect(Object.keys(tools)).toEqual([...BUILTIN_TOOL_NAMES]);
    for (const entry of Object.values(tools)) {
      expect(entry.description).toMatch(/\w/);
      expect(entry.parameters).toMatchObject({ type: 'object' });
    }
  });
});

describe('soe_get_available_tools', () => {
  it('counts a user tool registered under a built-in name as a user tool', async () => {
    const r = await run(callOnce('soe_get_available_tools'), {
      tools: { soe_explore_docs: () => 'mine', mine: () => 1 },
      context: { args: {} },
    });
    const out = (await r.newest('out')) as { builtin_tools: string[]; user_tools: string[] };
    expect(out.user_tools.sort()).toEqual(['mine', 'soe_explore_docs']);
    expect(out.builtin_tools).not.toContain('soe_explore_docs');
    expect(out.builtin_tools).toHaveLength(18);
  });
});
