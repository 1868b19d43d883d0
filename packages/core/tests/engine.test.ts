import { describe, expect, it } from 'vitest';
import {
  type CallLlm,
  createAllNodes,
  createInMemoryBackends,
  orchestrate,
  type TelemetryEvent,
  ToolParameterError,
  type ToolsRegistry,
  WorkflowValidationError,
} from '../src/index.js';

async function run(
  config: unknown,
  opts: { tools?: ToolsRegistry; callLlm?: CallLlm; context?: Record<string, unknown>; workflow?: string } = {},
) {
  const backends = createInMemoryBackends();
  const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: opts.tools, callLlm: opts.callLlm });
  const id = await orchestrate({
    config: config as object,
    initialWorkflowName: opts.workflow ?? 'main',
    initialSignals: ['START'],
    initialContext: opts.context ?? {},
    backends,
    broadcastSignalsCaller,
  });
  return { id, backends, context: await backends.context.getContext(id) };
}

describe('config validation', () => {
  it('reports every problem at once, each naming workflow, node and field', async () => {
    const yaml = `
main:
  A:
    node_type: router
    event_triggers: START
    event_emissions:
      - signal_name: X
  B:
    node_type: llm
    event_triggers: [START]
  C:
    node_type: toool
    event_triggers: [START]
`;
    const err = await run(yaml).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowValidationError);
    const issues = (err as WorkflowValidationError).issues;
    expect(issues.map((i) => [i.workflow, i.node, i.field])).toEqual([
      ['main', 'A', 'event_triggers'],
      ['main', 'B', 'prompt'],
      ['main', 'C', 'node_type'],
    ]);
    expect(issues[0]?.line).toBe(5); // the event_triggers line of node A
    expect(err.message).toContain("unknown node_type 'toool'");
  });

  it('stores nothing when the config is rejected', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    await expect(
      orchestrate({
        config: { main: { A: { node_type: 'router', event_triggers: ['S'] } } },
        initialWorkflowName: 'main',
        initialSignals: ['S'],
        backends,
        broadcastSignalsCaller,
      }),
    ).rejects.toThrow(/event_emissions/);
    expect(await backends.context.listContexts()).toEqual([]);
  });

  it('names the line and column of a YAML syntax error', async () => {
    const err = await run('main:\n  A: [unclosed\n').catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowValidationError);
    expect(err.issues[0].line).toBeGreaterThan(0);
  });

  it('rejects a child node that names a workflow the config lacks', async () => {
    const err = await run({
      main: { C: { node_type: 'child', event_triggers: ['START'], child_workflow_name: 'nope', child_initial_signals: ['GO'] } },
    }).catch((e) => e);
    expect(err.message).toMatch(/child_workflow_name.*nope/s);
  });
});

describe('context', () => {
  it('keeps every field as its history and counts node runs, signals and tool calls', async () => {
    const { context } = await run(
      {
        main: {
          T1: {
            node_type: 'tool',
            event_triggers: ['START'],
            tool_name: 'inc',
            context_parameter_field: 'v',
            output_field: 'v',
            event_emissions: [{ signal_name: 'NEXT' }],
          },
          T2: {
            node_type: 'tool',
            event_triggers: ['NEXT'],
            tool_name: 'inc',
            context_parameter_field: 'v',
            output_field: 'v',
            event_emissions: [{ signal_name: 'END' }],
          },
        },
      },
      { tools: { inc: ({ n }: { n: number }) => ({ n: n + 1 }) }, context: { v: { n: 0 } } },
    );
    expect(context.v).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(context.__operational__).toMatchObject({ signals: ['START', 'NEXT', 'END'], nodes: { T1: 1, T2: 1 }, tool_calls: 2, errors: 0 });
  });

  it('a history entry cannot be changed through an object the tool returned', async () => {
    const shared = { n: 1 };
    const { context } = await run(
      { main: { T: { node_type: 'tool', event_triggers: ['START'], tool_name: 'give', output_field: 'out', event_emissions: [] } } },
      { tools: { give: () => shared } },
    );
    shared.n = 99;
    expect(context.out).toEqual([{ n: 1 }]);
  });
});

describe('tool nodes', () => {
  it('validates arguments against the tool JSON Schema and names the field', async () => {
    const tools: ToolsRegistry = {
      send: { fn: () => 'sent', parameters: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] } },
    };
    const err = await run(
      { main: { S: { node_type: 'tool', event_triggers: ['START'], tool_name: 'send', parameters: { to: 5 }, event_emissions: [] } } },
      { tools },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ToolParameterError);
    expect(err.message).toContain("Tool 'send'");
    expect(err.message).toContain("'to'");
  });

  it('retries up to maxRetries and then emits the failure signal with the error stored', async () => {
    let calls = 0;
    const { context } = await run(
      {
        main: {
          T: {
            node_type: 'tool',
            event_triggers: ['START'],
            tool_name: 'flaky',
            output_field: 'r',
            event_emissions: [{ signal_name: 'OK' }],
          },
        },
      },
      {
        tools: {
          flaky: {
            fn: () => {
              calls++;
              throw new Error('down');
            },
            maxRetries: 2,
            failureSignal: 'FAILED',
          },
        },
      },
    );
    expect(calls).toBe(3);
    expect(context.r).toEqual(['down']);
    expect(context.__operational__?.signals).toEqual(['START', 'FAILED']);
    // A routed failure is still a failure: it counts, so an errors-based circuit breaker sees it.
    expect(context.__operational__?.errors).toBe(1);
  });

  it('rejects the run, counting the error, when a tool fails without a failure signal', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends, {
      toolsRegistry: {
        boom: () => {
          throw new Error('kaput');
        },
      },
    });
    const err = await orchestrate({
      config: { main: { T: { node_type: 'tool', event_triggers: ['START'], tool_name: 'boom', event_emissions: [] } } },
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    }).catch((e) => e);
    expect(err.message).toMatch(/node 'T'.*kaput/);
    const [id] = await backends.context.listContexts();
    expect((await backends.context.getContext(id!)).__operational__?.errors).toBe(1);
  });
});

describe('one workflow under two names', () => {
  it('each run names the workflow it was started as, in telemetry and prompts', async () => {
    // A YAML alias: both names hold the same workflow object, so its nodes share what their runs keep.
    const yaml = `workflows:
  first: &flow
    Ask:
      node_type: llm
      event_triggers: [START]
      prompt: "Say {{ context.word }}"
      output_field: said
  second: *flow
`;
    const prompts: string[] = [];
    const callLlm: CallLlm = (p) => {
      prompts.push(p);
      return '{"said": "ok"}';
    };
    const named = [];
    for (const workflow of ['first', 'second', 'first']) {
      const { id, backends } = await run(yaml, { callLlm, workflow, context: { word: workflow } });
      const started = (await backends.telemetry.getEvents!(id)).find((e) => e.event_type === 'node_execution');
      named.push(started?.workflow_name);
    }
    expect(named).toEqual(['first', 'second', 'first']);
    expect(prompts.map((p) => /Say (\w+)/.exec(p)?.[1])).toEqual(['first', 'second', 'first']);
  });
});

describe('tools that answer at once or with a promise', () => {
  const chain = (tool: string) => ({
    main: {
      A: {
        node_type: 'tool',
        event_triggers: ['START'],
        tool_name: tool,
        context_parameter_field: 'v',
        output_field: 'v',
        event_emissions: [{ signal_name: 'B' }],
      },
      B: {
        node_type: 'tool',
        event_triggers: ['B'],
        tool_name: tool,
        context_parameter_field: 'v',
        output_field: 'v',
        event_emissions: [{ signal_name: 'DONE', condition: '{{ result.n == 2 }}' }],
      },
    },
  });
  const withoutTimes = (events: TelemetryEvent[]) => events.map(({ timestamp, duration_ms, ...rest }) => rest);

  it('leave the same context and the same events', async () => {
    const inc = ({ n }: { n: number }) => ({ n: n + 1 });
    const now = await run(chain('inc'), { tools: { inc }, context: { v: { n: 0 } } });
    const later = await run(chain('inc'), { tools: { inc: async (a: { n: number }) => inc(a) }, context: { v: { n: 0 } } });
    expect(now.context.v).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(later.context).toEqual({ ...now.context, __operational__: { ...now.context.__operational__, main_execution_id: later.id } });
    const events = async (r: typeof now) => withoutTimes(await r.backends.telemetry.getEvents!(r.id));
    expect(await events(later)).toEqual(await events(now));
  });

  it('retry across attempts that throw, reject and answer, each counted and logged in order', async () => {
    const attempts = [
      () => {
        throw new Error('one');
      },
      () => Promise.reject(new Error('two')),
      () => {
        throw new Error('three');
      },
      () => Promise.resolve({ n: 4 }),
    ];
    let i = 0;
    const { id, backends, context } = await run(
      { main: { T: { node_type: 'tool', event_triggers: ['START'], tool_name: 'mixed', output_field: 'r', event_emissions: [] } } },
      { tools: { mixed: { fn: () => attempts[i++]!(), maxRetries: 3 } } },
    );
    expect(context.r).toEqual([{ n: 4 }]);
    expect(context.__operational__?.tool_calls).toBe(4);
    const calls = (await backends.telemetry.getEvents!(id)).filter((e) => e.event_type === 'tool_call');
    expect(calls.map((e) => [e.attempt, e.ok, e.error])).toEqual([
      [1, false, 'one'],
      [2, false, 'two'],
      [3, false, 'three'],
      [4, true, undefined],
    ]);
  });
});

describe('models that answer at once or with a promise', () => {
  // A typed output field (read from the context schema on either path) and a condition on the answer.
  const config = (identity?: string) => ({
    workflows: {
      main: {
        A: {
          node_type: 'llm',
          event_triggers: ['START'],
          prompt: 'Count from {{ context.n }}',
          output_field: 'n',
          ...(identity ? { identity } : {}),
          event_emissions: [{ signal_name: 'B' }],
        },
        B: {
          node_type: 'llm',
          event_triggers: ['B'],
          prompt: 'Then from {{ context.n }}',
          output_field: 'n',
          event_emissions: [{ signal_name: 'DONE', condition: '{{ context.n == 2 }}' }],
        },
      },
    },
    context_schema: { n: { type: 'integer' } },
    identities: { counter: 'You count.' },
  });
  const next = (prompt: string) => `{"n": ${Number(/from (\d+)/.exec(prompt)![1]) + 1}}`;
  const withoutTimes = (events: TelemetryEvent[]) => events.map(({ timestamp, duration_ms, latency_ms, ...rest }) => rest);

  it.each([['without an identity'], ['with an identity (a conversation history)', 'counter']])(
    '%s, leave the same context, events and history',
    async (_, identity) => {
      const now = await run(config(identity), { callLlm: next, context: { n: 0 } });
      const later = await run(config(identity), { callLlm: async (p) => next(p), context: { n: 0 } });
      expect(now.context.n).toEqual([0, 1, 2]);
      expect(now.context.__operational__?.signals).toEqual(['START', 'B', 'DONE']);
      expect(later.context).toEqual({ ...now.context, __operational__: { ...now.context.__operational__, main_execution_id: later.id } });
      const events = async (r: typeof now) => withoutTimes(await r.backends.telemetry.getEvents!(r.id));
      expect(await events(later)).toEqual(await events(now));
      const history = (r: typeof now) => r.backends.conversationHistory!.getConversationHistory(r.id);
      expect(await history(later)).toEqual(await history(now));
      expect((await history(now)).length).toBe(identity ? 2 : 0);
    },
  );

  it('retry across calls that throw, reject, answer wrongly and answer, each counted and logged in order', async () => {
    const calls = [
      () => {
        throw new Error('one');
      },
      () => Promise.reject(new Error('two')),
      () => '{"n": "many"}',
      () => Promise.resolve('{"n": "some"}'),
      () => '{"n": 4}',
    ];
    let i = 0;
    const { id, backends, context } = await run(
      {
        workflows: {
          main: { L: { node_type: 'llm', event_triggers: ['START'], prompt: 'count', output_field: 'n', retries: 4, event_emissions: [] } },
        },
        context_schema: { n: { type: 'integer' } },
      },
      { callLlm: () => calls[i++]!() },
    );
    expect(context.n).toEqual([4]);
    expect(context.__operational__?.llm_calls).toBe(5);
    const logged = (await backends.telemetry.getEvents!(id)).filter((e) => e.event_type === 'llm_call');
    expect(logged.map((e) => [e.attempt, e.ok, e.error ?? e.response])).toEqual([
      [1, false, 'one'],
      [2, false, 'two'],
      [3, true, '{"n": "many"}'],
      [4, true, '{"n": "some"}'],
      [5, true, '{"n": 4}'],
    ]);
    // Each wrong answer is fed back in the next prompt.
    expect(String(logged[3]!.prompt)).toMatch(/rejected.*"many"/s);
    expect(String(logged[4]!.prompt)).toMatch(/rejected.*"some"/s);
  });
});

describe('llm nodes', () => {
  it('accepts an answer inside a fence after a think block, and feeds a bad answer back', async () => {
    const prompts: string[] = [];
    const answers = ['no json here', '<think>hmm {"x": 1}</think>\n```json\n{"summary": "fine"}\n```'];
    const callLlm: CallLlm = (p) => {
      prompts.push(p);
      return answers[prompts.length - 1]!;
    };
    const { context } = await run(
      {
        main: {
          L: {
            node_type: 'llm',
            event_triggers: ['START'],
            prompt: 'Sum up {{ context.text }}',
            output_field: 'summary',
            event_emissions: [{ signal_name: 'DONE' }],
          },
        },
      },
      { callLlm, context: { text: 'abc' } },
    );
    expect(context.summary).toEqual(['fine']);
    expect(prompts[1]).toContain('rejected');
    expect(JSON.parse(prompts[0]!.slice(0, prompts[0]!.indexOf('\n}') + 2))).toEqual({
      prompt: 'Sum up abc',
      context: { text: 'abc' },
      conversation_history: '',
    });
  });

  it('puts the answer JSON Schema after the head object', async () => {
    let prompt = '';
    await run(
      {
        main: {
          L: {
            node_type: 'llm',
            event_triggers: ['START'],
            prompt: 'hi',
            output_field: 'out',
            event_emissions: [
              { signal_name: 'A', condition: 'first' },
              { signal_name: 'B', condition: 'second' },
            ],
          },
        },
      },
      {
        callLlm: (p) => {
          prompt = p;
          return '{"out": 1, "selected_signals": ["B"]}';
        },
      },
    );
    const schemaText = prompt.slice(prompt.indexOf('{', prompt.indexOf('JSON Schema:')));
    expect(JSON.parse(schemaText)).toMatchObject({ type: 'object', required: ['out', 'selected_signals'] });
  });

  it('asks each node for its own output field, whichever nodes ran before', async () => {
    const prompts: string[] = [];
    const node = (trigger: string, field: string, next: string) => ({
      node_type: 'llm',
      event_triggers: [trigger],
      prompt: `Give ${field}`,
      output_field: field,
      event_emissions: [{ signal_name: next }],
    });
    await run(
      { main: { A: node('START', 'title', 'B'), B: node('B', 'summary', 'C'), C: node('C', 'title', 'D') } },
      {
        callLlm: (p) => {
          prompts.push(p);
          return '{"title": "t", "summary": "s"}';
        },
      },
    );
    const asked = prompts.map((p) => JSON.parse(p.slice(p.indexOf('{', p.indexOf('JSON Schema:')))).required);
    expect(asked).toEqual([['title'], ['summary'], ['title']]);
    expect(prompts.map((p) => /Put your answer in "(\w+)"/.exec(p)?.[1])).toEqual(['title', 'summary', 'title']);
  });

  it("asks for the output field's schema as it is at each run, after a schema change while the execution runs", async () => {
    const prompts: string[] = [];
    const { context } = await run(
      {
        main: {
          Ask: {
            node_type: 'llm',
            event_triggers: ['START', 'AGAIN'],
            prompt: 'Count',
            output_field: 'n',
            event_emissions: [{ signal_name: 'TYPED', condition: '{{ context.__operational__.nodes.Ask == 1 }}' }],
          },
          Type: {
            node_type: 'tool',
            event_triggers: ['TYPED'],
            tool_name: 'soe_inject_context_schema_field',
            parameters: { field_name: 'n', field_definition: 'integer' },
            event_emissions: [{ signal_name: 'AGAIN' }],
          },
        },
      },
      {
        callLlm: (p) => {
          prompts.push(p);
          return prompts.length === 1 ? '{"n": "one"}' : '{"n": 2}';
        },
      },
    );
    const schemaOf = (p: string) => JSON.parse(p.slice(p.indexOf('{', p.indexOf('JSON Schema:')))).properties.n;
    expect(prompts).toHaveLength(2);
    expect(schemaOf(prompts[0]!)).toEqual({});
    expect(schemaOf(prompts[1]!)).toMatchObject({ type: 'integer' });
    expect(context.n).toEqual(['one', 2]);
  });
});
