import { describe, expect, it } from 'vitest';
import { BUILTIN_TOOL_NAMES, createBuiltinTools } from '../src/builtins/index.js';
import {
  broadcastSignals,
  type CallLlm,
  createEngine,
  createInMemoryBackends,
  createScriptedLlm,
  type InMemoryBackends,
  NodeExecutionError,
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

/** A workflow whose one tool node calls `tool` with the arguments in context field `args`; OK is its success emission. */
const callOnce = (tool: string, extraNodes: Record<string, unknown> = {}) => ({
  main: {
    Act: {
      node_type: 'tool',
      event_triggers: ['START'],
      tool_name: tool,
      context_parameter_field: 'args',
      output_field: 'out',
      event_emissions: [{ signal_name: 'OK' }],
    },
    ...extraNodes,
  },
});

const probe = { Probe: { node_type: 'router', event_triggers: ['PING'], event_emissions: [{ signal_name: 'PONG' }] } };

/** The built-in `tool`, registered again with a failure signal: a copy of a built-in's entry stays a built-in. */
const withFailureSignal = (tool: string, signal = 'REFUSED'): ToolsRegistry => ({
  [tool]: { ...createBuiltinTools()[tool]!, failureSignal: signal },
});

/**
 * Calls a built-in once from a tool node whose registry entry has the failure signal REFUSED, and
 * checks that it refused as a failed tool does: no success emission, the failure signal, the error
 * counted and its text in the output field. Returns the run and the error text.
 */
async function expectRefusal(tool: string, args: unknown, opts: RunOptions & { extraNodes?: Record<string, unknown> } = {}) {
  const r = await run(callOnce(tool, opts.extraNodes), {
    ...opts,
    tools: { ...opts.tools, ...withFailureSignal(tool) },
    context: { ...opts.context, args },
  });
  const ctx = await r.backends.context.getContext(r.id);
  expect(ctx.__operational__!.signals).toEqual(['START', 'REFUSED']);
  expect(ctx.__operational__!.errors).toBe(1);
  const out = await r.newest('out');
  expect(typeof out).toBe('string');
  return { ...r, error: out as string };
}

describe('a built-in that refuses fails its tool node', () => {
  it('fails the run without a failure signal, naming the node and what was not found, and counts the error', async () => {
    const backends = createInMemoryBackends();
    const err = await run(callOnce('soe_remove_node'), {
      backends,
      context: { args: { workflow_name: 'main', node_name: 'Nope' } },
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(NodeExecutionError);
    expect((err as Error).message).toMatch(/workflow 'main', node 'Act' failed: node 'Nope' not found in workflow 'main'/);
    expect(((err as Error).cause as Error).name).toBe('BuiltinToolError');
    const [id] = await backends.context.listContexts();
    const ctx = await backends.context.getContext(id!);
    expect(ctx.__operational__!.signals).toEqual(['START']);
    expect(ctx.__operational__!.errors).toBe(1);
    expect(ctx.out).toEqual([expect.stringMatching(/node 'Nope' not found in workflow 'main' \(nodes: Act\)/)]);
    const events = await backends.telemetry.getEvents(id!);
    expect(events.find((e) => e.event_type === 'tool_call')).toMatchObject({ tool_name: 'soe_remove_node', ok: false });
  });

  it('lets an agent read the refusal as the tool error and go on', async () => {
    const llm = createScriptedLlm({
      rules: [
        { stage: 'router', in: 'history', contains: "identity 'nobody' not found", respond: { action: 'finish' } },
        { stage: 'router', respond: { action: 'call_tool', tool_name: 'soe_remove_identity' } },
        { stage: 'parameter', respond: { identity_name: 'nobody' } },
        { stage: 'response', respond: { result: 'nothing to remove' } },
      ],
    });
    const config = {
      main: {
        Agent: {
          node_type: 'agent',
          event_triggers: ['START'],
          prompt: 'Remove the identity nobody',
          tools: ['soe_remove_identity'],
          output_field: 'result',
          event_emissions: [{ signal_name: 'DONE' }],
        },
      },
    };
    const r = await run(config, { callLlm: llm.callLlm });
    const ctx = await r.backends.context.getContext(r.id);
    expect(ctx.__operational__!.signals).toEqual(['START', 'DONE']);
    expect(ctx.result).toEqual(['nothing to remove']);
    expect(llm.prompts[2]).toContain("[tool soe_remove_identity] error: identity 'nobody' not found");
  });
});

describe('bad injections are refused and change nothing', () => {
  const injectNode = (node: unknown) =>
    expectRefusal('soe_inject_node', { workflow_name: 'main', node_name: 'New', node_config_data: node }, { extraNodes: probe });

  it('refuses a node with a required field missing, naming the field', async () => {
    const { error, registry } = await injectNode({ node_type: 'router', event_triggers: ['GO'] });
    expect(error).toMatch(/node 'New', field 'event_emissions'/);
    expect(Object.keys((await registry())!.main!)).toEqual(['Act', 'Probe']);
  });

  it('refuses an unknown node type', async () => {
    const { error, registry } = await injectNode('{"node_type": "toool", "event_triggers": ["GO"]}');
    expect(error).toMatch(/field 'node_type'.*unknown node_type 'toool'/);
    expect((await registry())!.main!.New).toBeUndefined();
  });

  it('refuses a template that does not parse', async () => {
    const { error, registry } = await injectNode('node_type: llm\nevent_triggers: [GO]\nprompt: "Hello {{ context.name"\n');
    expect(error).toMatch(/field 'prompt'/);
    expect((await registry())!.main!.New).toBeUndefined();
  });

  it('refuses a template that tries to leave the sandbox', async () => {
    const hostile = {
      node_type: 'router',
      event_triggers: ['GO'],
      event_emissions: [{ signal_name: 'X', condition: "{{ range.constructor('return process')() }}" }],
    };
    const { error, registry } = await injectNode(hostile);
    expect(error).toMatch(/field 'event_emissions\[0\]\.condition'/);
    expect((await registry())!.main!.New).toBeUndefined();
  });

  it('refuses text that is neither JSON nor YAML', async () => {
    const { error } = await injectNode('node_type: [router\n  event_triggers: {');
    expect(error).toMatch(/'node_config_data' is neither valid JSON nor valid YAML/);
  });

  it('refuses a node for a workflow that is not found', async () => {
    const r = await expectRefusal('soe_inject_node', { workflow_name: 'nope', node_name: 'N', node_config_data: probe.Probe });
    expect(r.error).toMatch(/workflow 'nope' not found in this execution/);
    expect(Object.keys((await r.registry())!)).toEqual(['main']);
  });

  it('refuses a workflow with a bad node, and a child node naming an unknown workflow', async () => {
    const bad = { A: { node_type: 'tool', event_triggers: ['START'] } };
    const r1 = await expectRefusal('soe_inject_workflow', { workflow_name: 'extra', workflow_data: bad });
    expect(r1.error).toMatch(/workflow 'extra', node 'A', field 'tool_name'/);
    expect((await r1.registry())!.extra).toBeUndefined();

    const child = { C: { node_type: 'child', event_triggers: ['START'], child_workflow_name: 'ghost', child_initial_signals: ['START'] } };
    const r2 = await expectRefusal('soe_inject_workflow', { workflow_name: 'extra', workflow_data: child });
    expect(r2.error).toMatch(/field 'child_workflow_name'.*'ghost' not found/);
    expect((await r2.registry())!.extra).toBeUndefined();
  });

  it('refuses a signal whose condition is hostile, keeping the node as it was', async () => {
    const args = {
      workflow_name: 'main',
      node_name: 'Probe',
      signal_name: 'EVIL',
      condition: "{{ ''.constructor.constructor('return process')() }}",
    };
    const r = await expectRefusal('soe_add_signal', args, { extraNodes: probe });
    expect(r.error).toMatch(/field 'event_emissions\[1\]\.condition'/);
    expect((await r.registry())!.main!.Probe!.event_emissions).toEqual([{ signal_name: 'PONG' }]);
  });

  it('refuses a context schema field of an unknown type', async () => {
    const r = await expectRefusal('soe_inject_context_schema_field', { field_name: 'age', field_definition: '{"type": "integr"}' });
    expect(r.error).toMatch(/context_schema field 'age': unknown type 'integr'/);
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

describe('removing what is not found', () => {
  it.each([
    ['soe_remove_workflow', { workflow_name: 'nope' }, /workflow 'nope' not found/],
    ['soe_remove_node', { workflow_name: 'main', node_name: 'Nope' }, /node 'Nope' not found in workflow 'main'/],
    ['soe_remove_node', { workflow_name: 'nope', node_name: 'Act' }, /workflow 'nope' not found/],
    ['soe_remove_identity', { identity_name: 'nobody' }, /identity 'nobody' not found/],
    ['soe_remove_context_schema_field', { field_name: 'nothing' }, /field 'nothing' not found in the context schema/],
  ])('%s %j fails the tool, naming what was not found', async (tool, args, message) => {
    const r = await expectRefusal(tool, args);
    expect(r.error).toMatch(message);
    expect(Object.keys((await r.registry())!.main!)).toEqual(['Act']);
  });

  it('refuses to remove the workflow the execution is running', async () => {
    const r = await expectRefusal('soe_remove_workflow', { workflow_name: 'main' });
    expect(r.error).toMatch(/is the one this execution is running/);
    expect((await r.registry())!.main).toBeDefined();
  });

  it('refuses to remove a workflow that a child node starts', async () => {
    const Spawn = { node_type: 'child', event_triggers: ['LATER'], child_workflow_name: 'sub', child_initial_signals: ['START'] };
    const config = { ...callOnce('soe_remove_workflow', { Spawn }), sub: probe };
    const r = await run(config, { tools: withFailureSignal('soe_remove_workflow'), context: { args: { workflow_name: 'sub' } } });
    expect(await r.newest('out')).toMatch(/started by child node 'Spawn'/);
    expect((await r.backends.context.getContext(r.id)).__operational__!.signals).toEqual(['START', 'REFUSED']);
    expect((await r.registry())!.sub).toBeDefined();
  });
});

describe('soe_call_tool', () => {
  it('refuses a tool that is not found, listing the registered ones', async () => {
    const r = await expectRefusal('soe_call_tool', { tool_name: 'missing', arguments: '{}' }, { tools: { echo: (a: unknown) => a } });
    expect(r.error).toBe("tool 'missing' not found in the tools registry (registered tools: echo)");
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
    const op = (await r.backends.context.getContext(r.id)).__operational__!;
    // one call of soe_call_tool itself, three attempts of the tool it called; the node itself succeeded
    expect(op.tool_calls).toBe(4);
    expect(op.signals).toEqual(['START', 'OK']);
  });

  it('answers a failed result for arguments that do not match the schema, and refuses bad JSON', async () => {
    const tools: ToolsRegistry = {
      greet: {
        fn: ({ name }: { name: string }) => `hi ${name}`,
        parameters: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      },
    };
    const wrong = await run(callOnce('soe_call_tool'), { tools, context: { args: { tool_name: 'greet', arguments: '{"nom": "x"}' } } });
    expect(await wrong.newest('out')).toMatchObject({ success: false, error: expect.stringMatching(/parameter 'name'/) });
    const broken = await expectRefusal('soe_call_tool', { tool_name: 'greet', arguments: '{name: x' }, { tools });
    expect(broken.error).toMatch(/'arguments' is not valid JSON/);
    const good = await run(callOnce('soe_call_tool'), { tools, context: { args: { tool_name: 'greet', arguments: { name: 'Ada' } } } });
    expect(await good.newest('out')).toEqual({ success: true, tool_name: 'greet', result: 'hi Ada' });
  });

  it('refuses built-ins, and a registry entry that is not callable', async () => {
    const builtin = await expectRefusal('soe_call_tool', { tool_name: 'soe_remove_workflow', arguments: '{"workflow_name": "main"}' });
    expect(builtin.error).toMatch(/is a built-in tool/);
    const tools = { broken: 'not a function' } as unknown as ToolsRegistry;
    const bad = await expectRefusal('soe_call_tool', { tool_name: 'broken' }, { tools });
    expect(bad.error).toMatch(/^tool 'broken' is not callable: a registry entry must be a function/);
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
              node_config_data: { node_type: 'router', event_triggers: ['X'], event_emissions: [{ signal_name: 'Y' }] },
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
    const r = await expectRefusal('soe_copy_context', { source_execution_id: other.id, fields: { secret: 'stolen' } }, { backends });
    expect(r.error).toMatch(/belongs to another run/);
    expect((await backends.context.getContext(r.id)).stolen).toBeUndefined();
  });

  it('refuses to copy a source field that is not found', async () => {
    const r = await expectRefusal('soe_copy_context', { fields: { nope: 'copy' } }, { context: { kept: 1 } });
    expect(r.error).toMatch(/source field 'nope' not found in execution '.+' \(fields: kept, args\)/);
  });

  it('copies every field with all_fields into a target it creates in the same run', async () => {
    const backends = createInMemoryBackends();
    const r = await run(callOnce('soe_copy_context'), {
      backends,
      context: { topic: 'tides', notes: ['a', 'b'], args: { all_fields: true, target_execution_id: 'snapshot-1' } },
    });
    const out = (await r.newest('out')) as Record<string, unknown>;
    expect(out).toMatchObject({ success: true, status: 'copied', target_execution: 'snapshot-1', created: true });
    const copy = await backends.context.getContext('snapshot-1');
    expect(copy.topic).toEqual(['tides']);
    expect(copy.notes).toEqual([['a', 'b']]);
    expect(copy.args).toHaveLength(1);
    expect(copy.__operational__!.main_execution_id).toBe(r.id);
    expect(copy.out).toBeUndefined();
    expect(await backends.workflow.getCurrentWorkflowName('snapshot-1')).toBe('main');
    // The new execution is part of the run: it can be listed and copied into again, without being re-created.
    const again = await run(
      {
        main: {
          ...callOnce('soe_copy_context').main,
          List: {
            ...callOnce('soe_list_contexts').main.Act,
            event_triggers: ['OK'],
            context_parameter_field: 'list_args',
            output_field: 'listed',
            event_emissions: [],
          },
        },
      },
      { backends, context: { args: { all_fields: true, target_execution_id: 'snapshot-2' }, list_args: { include_current: false } } },
    );
    const listed = (await again.newest('listed')) as { contexts: Array<{ execution_id: string }> };
    expect(listed.contexts.map((c) => c.execution_id)).toEqual(['snapshot-2']);
  });

  it('refuses to copy into an execution of another run, even with all_fields', async () => {
    const backends = createInMemoryBackends();
    const other = await run({ main: probe }, { backends });
    const r = await expectRefusal('soe_copy_context', { all_fields: true, target_execution_id: other.id }, { backends, context: { x: 1 } });
    expect(r.error).toMatch(/'target_execution_id': execution '.+' belongs to another run/);
    expect((await backends.context.getContext(other.id)).x).toBeUndefined();
  });

  it('lists only the executions of the same run, and leaves the caller out with include_current: false', async () => {
    const backends = createInMemoryBackends();
    await run({ main: probe }, { backends });
    const r = await run(callOnce('soe_list_contexts'), { backends, context: { args: {} } });
    const out = (await r.newest('out')) as { current_execution_id: string; contexts: Array<{ execution_id: string }> };
    expect(out.current_execution_id).toBe(r.id);
    expect(out.contexts.map((c) => c.execution_id)).toEqual([r.id]);
    const without = await run(callOnce('soe_list_contexts'), { backends, context: { args: { include_current: false } } });
    const listed = (await without.newest('out')) as { current_execution_id: string; contexts: unknown[] };
    expect(listed.current_execution_id).toBe(without.id);
    expect(listed.contexts).toEqual([]);
  });

  it.each([
    [{}, 'no updates', []],
    [{ __operational__: 'x', __parent__: 'y' }, 'no valid updates', ['__operational__', '__parent__']],
  ])('soe_update_context with nothing to write (%j) answers %s and the node goes on', async (updates, status, ignored) => {
    const r = await run(callOnce('soe_update_context'), { context: { args: { updates } } });
    const out = (await r.newest('out')) as Record<string, unknown>;
    expect(out).toMatchObject({ success: true, status, fields: [] });
    if (ignored.length) expect(out.ignored).toEqual(ignored);
    const ctx = await r.backends.context.getContext(r.id);
    expect(ctx.__operational__!.signals).toEqual(['START', 'OK']);
    expect(ctx.__operational__!.errors).toBe(0);
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
