import { describe, expect, it } from 'vitest';
import {
  type CallLlm,
  createEngine,
  createInMemoryBackends,
  createScriptedLlm,
  orchestrate,
  type ScriptedModelSpec,
  type ToolsRegistry,
} from '../src/index.js';
import { pushBounded } from '../src/nodes/agent.js';

/** Runs `config` from START; returns the outcome (or the rejection), the stored context and the telemetry. */
async function run(config: string, model: ScriptedModelSpec | CallLlm, toolsRegistry: ToolsRegistry = {}) {
  const backends = createInMemoryBackends();
  const callLlm = typeof model === 'function' ? model : createScriptedLlm(model).callLlm;
  const { broadcastSignalsCaller } = createEngine(backends, { callLlm, toolsRegistry });
  let id = '';
  let error: Error | undefined;
  try {
    id = await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
  } catch (e) {
    error = e as Error;
  }
  const ids = await backends.context.listContexts?.();
  id ||= String(ids?.[0] ?? '');
  return { id, error, backends, events: id ? await backends.telemetry.getEvents(id) : [] };
}

const llmWithFailureSignal = `main:
  Ask:
    node_type: llm
    event_triggers: [START]
    prompt: hi
    retries: 1
    output_field: answer
    llm_failure_signal: ASK_FAILED
  Fallback:
    node_type: router
    event_triggers: [ASK_FAILED]
    event_emissions: [{ signal_name: DONE }]
`;

describe('failure reasons are kept', () => {
  it('an llm failure handled by llm_failure_signal is counted and its error recorded (node_error), while the run goes on', async () => {
    const { events, backends, id, error } = await run(llmWithFailureSignal, { default: 'not json at all' });
    expect(error).toBeUndefined();
    const ctx = await backends.context.getContext(id);
    expect(ctx.__operational__?.errors).toBe(1);
    const nodeError = events.find((e) => e.event_type === 'node_error');
    expect(nodeError).toMatchObject({ node_name: 'Ask', handled_by: ['ASK_FAILED'] });
    expect(String(nodeError?.error)).toMatch(/not json|JSON/i);
    expect(ctx.__operational__?.nodes?.Fallback).toBe(1);
  });

  it('an agent that keeps picking a tool it does not have is reported as such, not only as "did not finish"', async () => {
    const config = `main:
  Agent:
    node_type: agent
    event_triggers: [START]
    prompt: find it
    tools: [search]
    max_iterations: 2
    output_field: out
`;
    const { error } = await run(
      config,
      { rules: [{ stage: 'router', respond: { action: 'call_tool', tool_name: 'serch' } }] },
      {
        search: () => 'found',
      },
    );
    expect(error?.message).toContain(
      "the agent chose tool 'serch', not among its tools (search), and did not finish within max_iterations (2)",
    );
  });
});

describe('the agent transcript is bounded', () => {
  it('elides the oldest tool results with a marker once past the byte budget, keeping the newest', () => {
    const transcript: string[] = [];
    for (let i = 0; i < 10; i++) pushBounded(transcript, `[tool t${i}] arguments: {}\n[tool t${i}] result: ${'x'.repeat(3000)}`, 10_000);
    const size = transcript.reduce((n, e) => n + Buffer.byteLength(e) + 1, 0);
    expect(size).toBeLessThanOrEqual(10_000);
    expect(transcript[0]).toMatch(/^\[tool t0\] result elided: \d+ bytes/);
    expect(transcript[9]).toContain('x'.repeat(3000));
  });

  it('cuts one huge tool result with a marker', () => {
    const transcript: string[] = [];
    pushBounded(transcript, `[tool big] result: ${'y'.repeat(1_000_000)}`);
    expect(Buffer.byteLength(transcript[0]!)).toBeLessThan(70 * 1024);
    expect(transcript[0]).toMatch(/\[cut: \d+ more bytes\]$/);
  });

  it('an agent after 20 rounds of 1 MB results sends the model a prompt of bounded size', async () => {
    const config = `main:
  Agent:
    node_type: agent
    event_triggers: [START]
    prompt: dig
    tools: [dig]
    max_iterations: 21
    output_field: out
`;
    let rounds = 0;
    let largest = 0;
    const callLlm: CallLlm = (prompt) => {
      largest = Math.max(largest, prompt.length);
      if (prompt.includes('"available_tools"'))
        return JSON.stringify(rounds++ < 20 ? { action: 'call_tool', tool_name: 'dig' } : { action: 'finish' });
      if (prompt.includes('"tool_name"')) return '{}';
      return '{"out": "done"}';
    };
    const { error } = await run(config, callLlm, { dig: () => 'z'.repeat(1_000_000) });
    expect(error).toBeUndefined();
    expect(largest).toBeLessThan(400 * 1024);
  });
});

describe('token budget', () => {
  it('ends a looping run FAILED once limits.max_tokens is spent, naming the limit', async () => {
    const config = `workflows:
  main:
    Ask:
      node_type: llm
      event_triggers: [START, AGAIN]
      prompt: hi
      output_field: answer
      event_emissions: [{ signal_name: ASKED }]
    Loop:
      node_type: router
      event_triggers: [ASKED]
      event_emissions: [{ signal_name: AGAIN }]
limits:
  max_tokens: 100
`;
    let calls = 0;
    const callLlm: CallLlm = () => {
      calls++;
      return { text: '{"answer": "ok"}', usage: { input_tokens: 30, output_tokens: 10 } };
    };
    const { error } = await run(config, callLlm);
    expect(error?.name).toBe('TokenBudgetError');
    expect(error?.message).toContain('spent 120 model tokens, its budget of 100 (limits.max_tokens)');
    expect(calls).toBe(3);
  });

  it('refuses a max_tokens that is not a positive whole number', async () => {
    const { error } = await run(
      'workflows:\n  main:\n    A: { node_type: router, event_triggers: [START], event_emissions: [{ signal_name: X }] }\nlimits:\n  max_tokens: -5\n',
      { default: '{}' },
    );
    expect(error?.message).toMatch(/field 'limits.max_tokens'.*: expected a whole number of tokens greater than 0, got number -5/);
  });
});
