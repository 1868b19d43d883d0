/**
 * Behaviours matched to the upstream engine (issue 14): conditions that raise, empty lists in a
 * config, orchestrate without a caller, and the class of the error for a tool that is not found.
 */
import { describe, expect, it } from 'vitest';
import {
  createAllNodes,
  createInMemoryBackends,
  createScriptedLlm,
  type InMemoryBackends,
  orchestrate,
  parseConfig,
  ToolNodeConfigurationError,
  type ToolsRegistry,
  WorkflowValidationError,
} from '../src/index.js';

async function run(config: unknown, opts: { tools?: ToolsRegistry; context?: Record<string, unknown>; llm?: object } = {}) {
  const backends = createInMemoryBackends();
  const callLlm = opts.llm ? createScriptedLlm(opts.llm).callLlm : undefined;
  const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: opts.tools, callLlm });
  const id = await orchestrate({
    config: config as object,
    initialWorkflowName: 'main',
    initialSignals: ['START'],
    initialContext: opts.context ?? {},
    backends,
    broadcastSignalsCaller,
  });
  return { id, backends, context: await backends.context.getContext(id) };
}

async function conditionErrors(backends: InMemoryBackends, id: string) {
  return (await backends.telemetry.getEvents(id)).filter((e) => e.event_type === 'condition_error');
}

describe('a condition that raises at run time', () => {
  const emissions = [
    { signal_name: 'BROKEN', condition: '{{ 1 / 0 > 0 }}' },
    { signal_name: 'FALLBACK' },
    { signal_name: 'CHECKED', condition: '{{ context.n == 2 }}' },
  ];

  it('counts as false on a router; the other emissions are still evaluated; a condition_error is recorded', async () => {
    const { id, backends, context } = await run(
      { main: { Route: { node_type: 'router', event_triggers: ['START'], event_emissions: emissions } } },
      { context: { n: 2 } },
    );
    expect(context.__operational__!.signals).toEqual(['START', 'FALLBACK', 'CHECKED']);
    expect(context.__operational__!.errors).toBe(0);
    const events = await conditionErrors(backends, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ node_name: 'Route', signal_name: 'BROKEN', condition: '{{ 1 / 0 > 0 }}' });
    expect(String(events[0]!.error)).toMatch(/division by zero/);
  });

  it('counts as false on a tool node, whose result is still stored', async () => {
    const { id, backends, context } = await run(
      {
        main: {
          T: {
            node_type: 'tool',
            event_triggers: ['START'],
            tool_name: 'give',
            output_field: 'out',
            event_emissions: [
              { signal_name: 'BAD', condition: "{{ result.count + 'x' }}" },
              { signal_name: 'GOOD', condition: '{{ result.count == 3 }}' },
            ],
          },
        },
      },
      { tools: { give: () => ({ count: 3 }) } },
    );
    expect(context.out).toEqual([{ count: 3 }]);
    expect(context.__operational__!.signals).toEqual(['START', 'GOOD']);
    expect(await conditionErrors(backends, id)).toEqual([expect.objectContaining({ node_name: 'T', signal_name: 'BAD' })]);
  });

  it('counts as false on an llm node whose conditions the engine evaluates', async () => {
    const { id, backends, context } = await run(
      {
        main: {
          Ask: {
            node_type: 'llm',
            event_triggers: ['START'],
            prompt: 'Rate it',
            output_field: 'score',
            event_emissions: [
              { signal_name: 'NEVER', condition: '{{ context.score / 0 }}' },
              { signal_name: 'HIGH', condition: '{{ context.score > 5 }}' },
            ],
          },
        },
      },
      { llm: { default: '{"score": 8}' } },
    );
    expect(context.__operational__!.signals).toEqual(['START', 'HIGH']);
    expect(await conditionErrors(backends, id)).toEqual([expect.objectContaining({ node_name: 'Ask', signal_name: 'NEVER' })]);
  });

  it('records nothing when every condition evaluates', async () => {
    const { id, backends } = await run({
      main: {
        Route: { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'A', condition: '{{ 1 > 0 }}' }] },
      },
    });
    expect(await conditionErrors(backends, id)).toEqual([]);
  });
});

describe('empty lists in a config', () => {
  const issuesOf = (config: unknown) => {
    try {
      parseConfig(config);
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(WorkflowValidationError);
      return [...(e as WorkflowValidationError).issues];
    }
  };

  it('rejects event_triggers: [] on any node, naming workflow, node and field', () => {
    const issues = issuesOf({
      main: {
        Go: { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'X' }] },
        Idle: { node_type: 'tool', event_triggers: [], tool_name: 'noop' },
      },
    });
    expect(issues).toEqual([expect.objectContaining({ workflow: 'main', node: 'Idle', field: 'event_triggers' })]);
    expect(issues[0]!.message).toMatch(/event_triggers cannot be empty/);
  });

  it("rejects a router's event_emissions: [], and points at the line of YAML text", () => {
    const yaml = 'main:\n  Route:\n    node_type: router\n    event_triggers: [START]\n    event_emissions: []\n';
    const issues = issuesOf(yaml);
    expect(issues).toEqual([expect.objectContaining({ workflow: 'main', node: 'Route', field: 'event_emissions', line: 5 })]);
  });

  it('keeps accepting an empty emission list on other node types', () => {
    expect(issuesOf({ main: { T: { node_type: 'tool', event_triggers: ['START'], tool_name: 'noop', event_emissions: [] } } })).toEqual([]);
  });

  it('stores nothing when orchestrate is given such a config', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const err = await orchestrate({
      config: { main: { R: { node_type: 'router', event_triggers: ['START'], event_emissions: [] } } },
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowValidationError);
    expect(err.message).toMatch(/workflow 'main', node 'R', field 'event_emissions'/);
    expect(await backends.context.listContexts()).toEqual([]);
  });
});

describe('orchestrate without a broadcast caller', () => {
  it('rejects with an error naming the missing caller, and stores nothing', async () => {
    const backends = createInMemoryBackends();
    const err = await orchestrate({
      config: { main: { R: { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'X' }] } } },
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(/broadcastSignalsCaller is required/);
    expect(await backends.context.listContexts()).toEqual([]);
  });
});

describe('a tool that is not found or not callable', () => {
  const config = {
    main: { T: { node_type: 'tool', event_triggers: ['START'], tool_name: 'ghost', event_emissions: [{ signal_name: 'X' }] } },
  };

  it('fails with a ToolNodeConfigurationError that is a WorkflowValidationError naming workflow, node and field', async () => {
    const err = await run(config, { tools: { real: () => 1 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ToolNodeConfigurationError);
    expect(err).toBeInstanceOf(WorkflowValidationError);
    expect(err.name).toBe('ToolNodeConfigurationError');
    expect(err.message).toMatch(
      /workflow 'main', node 'T', field 'tool_name': tool 'ghost' not found in the tools registry \(registered: real/,
    );
    expect(err.issues).toEqual([expect.objectContaining({ workflow: 'main', node: 'T', field: 'tool_name' })]);
  });

  it("says 'not callable' for a registry entry that is not a function", async () => {
    const err = await run(
      { main: { T: { ...config.main.T, tool_name: 'broken' } } },
      {
        tools: { broken: { fn: 42 } } as unknown as ToolsRegistry,
      },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowValidationError);
    expect(err.message).toMatch(/^tool 'broken' is not callable: /);
  });
});
