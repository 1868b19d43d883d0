import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  captureValue,
  createEngine,
  createInMemoryBackends,
  createLocalBackends,
  createScriptedLlm,
  orchestrate,
  REDACTED,
  type StepCaptureOptions,
  type TelemetryEvent,
  type ToolsRegistry,
} from '../src/index.js';

const config = `main:
  Ask:
    node_type: llm
    event_triggers: [START]
    prompt: "Summarise {{ context.topic }}"
    output_field: summary
    event_emissions:
      - signal_name: ASKED
  Route:
    node_type: router
    event_triggers: [ASKED]
    event_emissions:
      - signal_name: LONG
        condition: "{{ context.summary | length > 5 }}"
      - signal_name: SHORT
        condition: "{{ context.summary | length <= 5 }}"
  Save:
    node_type: tool
    event_triggers: [LONG]
    tool_name: save
    parameters:
      text: "{{ context.summary }}"
      password: hunter2
    output_field: saved
`;

const tools: ToolsRegistry = { save: ({ text }: { text: string }) => ({ stored: text.length, apiKey: 'sk-123' }) };

async function run(engineCapture?: StepCaptureOptions, orchestrateCapture?: StepCaptureOptions) {
  const backends = createInMemoryBackends();
  const { callLlm } = createScriptedLlm({ default: '{"summary": "A long summary of the topic"}' });
  const { broadcastSignalsCaller } = createEngine(backends, { callLlm, toolsRegistry: tools, capture: engineCapture });
  const id = await orchestrate({
    config,
    initialWorkflowName: 'main',
    initialSignals: ['START'],
    initialContext: { topic: 'tides' },
    backends,
    broadcastSignalsCaller,
    capture: orchestrateCapture,
  });
  const events = await backends.telemetry.getEvents(id);
  const one = (type: string, node?: string): Record<string, unknown> => {
    const e = events.find((x: TelemetryEvent) => x.event_type === type && (!node || x.node_name === node));
    if (!e) throw new Error(`no ${type} event${node ? ` for ${node}` : ''}`);
    return e;
  };
  return { events, one };
}

describe('step I/O in telemetry', () => {
  it('keeps the rendered prompt, the answer, tool arguments and result, outputs and why signals fired', async () => {
    const { one } = await run();
    const llm = one('llm_call', 'Ask');
    expect(llm.prompt).toContain('Summarise tides');
    expect(llm.response).toBe('{"summary": "A long summary of the topic"}');
    const tool = one('tool_call', 'Save');
    expect(tool.arguments).toEqual({ text: 'A long summary of the topic', password: 'hunter2' });
    expect(tool.result).toEqual({ stored: 27, apiKey: 'sk-123' });
    expect(one('node_completed', 'Ask').outputs).toEqual({ summary: ['A long summary of the topic'] });
    expect(one('node_execution', 'Route').triggered_by).toEqual(['ASKED']);
    const route = one('node_completed', 'Route');
    expect(route.selected_by).toBe('conditions');
    expect(route.emissions).toEqual([
      { signal: 'LONG', condition: '{{ context.summary | length > 5 }}', emitted: true },
      { signal: 'SHORT', condition: '{{ context.summary | length <= 5 }}', emitted: false },
    ]);
  });

  it('caps each value at maxChars, keeping a prefix and the full size', async () => {
    const { one } = await run({ maxChars: 10 });
    expect(one('llm_call', 'Ask').response).toEqual({
      truncated: true,
      prefix: '{"summary"',
      size: '{"summary": "A long summary of the topic"}'.length,
    });
    const args = one('tool_call', 'Save').arguments as { truncated: boolean; prefix: string; size: number };
    expect(args.truncated).toBe(true);
    expect(args.prefix).toBe('{"text":"A');
    expect(args.size).toBe(JSON.stringify({ text: 'A long summary of the topic', password: 'hunter2' }).length);
  });

  it('masks redacted field names at any depth, whatever their case', async () => {
    const { events, one } = await run({ redact: ['PASSWORD', 'apikey'] });
    expect(one('tool_call', 'Save').arguments).toEqual({ text: 'A long summary of the topic', password: REDACTED });
    expect(one('tool_call', 'Save').result).toEqual({ stored: 27, apiKey: REDACTED });
    expect(JSON.stringify(events)).not.toContain('hunter2');
    expect(JSON.stringify(events)).not.toContain('sk-123');
  });

  it('takes a redact function, and orchestrate({ capture }) applies to the engine that runs the execution', async () => {
    const scrub = (key: string, value: unknown) => (key === 'prompt' && typeof value === 'string' ? value.replace(/tides/g, '***') : value);
    const { one } = await run(undefined, { redact: scrub });
    expect(one('llm_call', 'Ask').prompt).toContain('Summarise ***');
    expect(one('llm_call', 'Ask').prompt).not.toContain('tides');
  });

  it('keeps no I/O with maxChars 0, and the other fields as before', async () => {
    const { one } = await run({ maxChars: 0 });
    const tool = one('tool_call', 'Save');
    expect(tool).not.toHaveProperty('arguments');
    expect(tool).not.toHaveProperty('result');
    expect(tool).toMatchObject({ node_name: 'Save', tool_name: 'save', ok: true });
    expect(one('llm_call', 'Ask')).not.toHaveProperty('prompt');
  });

  it('records the cause of a failed node', async () => {
    const backends = createInMemoryBackends();
    const failing: ToolsRegistry = {
      save: () => {
        throw new Error('disk full', { cause: new Error('ENOSPC') });
      },
    };
    const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: failing });
    const cfg = `main:\n  Save:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: save\n    parameters: { text: x }\n`;
    await expect(
      orchestrate({ config: cfg, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller }),
    ).rejects.toThrow(/disk full/);
    const [id] = (await backends.context.listContexts?.()) ?? [];
    const events = await backends.telemetry.getEvents(String(id));
    const err = events.find((e) => e.event_type === 'node_error');
    expect(err).toMatchObject({ node_name: 'Save', error: 'disk full', cause: ['Error: ENOSPC'] });
    expect(events.find((e) => e.event_type === 'tool_call')).toMatchObject({ ok: false, arguments: { text: 'x' } });
  });

  it('shows the exact prompt the model was sent, on every backend and under a cap, though it keeps only its parts', async () => {
    const yaml = `workflows:
  main:
    Ask:
      node_type: llm
      event_triggers: [START]
      identity: critic
      prompt: "Review {{ context.doc.title }}"
      output_field: review
identities:
  critic: You are a careful critic.
`;
    const doc = { title: 'Tides', body: 'x'.repeat(300) };
    // The first answer is refused (no "review"), so the retry's prompt differs from the first.
    const answers = ['{"other": 1}', '{"review": "fine"}'];
    const runOn = async (backends: ReturnType<typeof createInMemoryBackends>, capture?: StepCaptureOptions) => {
      const sent: string[] = [];
      const callLlm = (prompt: string) => {
        sent.push(prompt);
        return answers[sent.length - 1]!;
      };
      const { broadcastSignalsCaller } = createEngine(backends, { callLlm, capture });
      const id = await orchestrate({
        config: yaml,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { doc },
        backends,
        broadcastSignalsCaller,
      });
      return { id, sent };
    };
    const prompts = (events: TelemetryEvent[]) => events.filter((e) => e.event_type === 'llm_call').map((e) => e.prompt);

    const memory = createInMemoryBackends();
    const { id, sent } = await runOn(memory);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^System: You are a careful critic\.\n\n/);
    expect(sent[0]).toContain('"body": "xxx');
    const events = await memory.telemetry.getEvents(id);
    expect(prompts(events)).toEqual(sent);
    // Read again, and as JSON: the same text.
    expect(prompts(JSON.parse(JSON.stringify(await memory.telemetry.getEvents(id))))).toEqual(sent);

    // Files keep it as JSON text.
    const dir = mkdtempSync(join(tmpdir(), 'soe-prompt-'));
    const files = { ...createInMemoryBackends(), ...createLocalBackends(dir) } as ReturnType<typeof createInMemoryBackends>;
    const onFiles = await runOn(files);
    expect(prompts(await files.telemetry.getEvents(onFiles.id))).toEqual(onFiles.sent);
    expect(readdirSync(dir, { recursive: true }).length).toBeGreaterThan(0);

    // A backend with only logEvent gets the text.
    const logged: Record<string, unknown>[] = [];
    const plain = {
      ...createInMemoryBackends(),
      telemetry: { logEvent: async (_id: string, type: string, data?: Record<string, unknown>) => void logged.push({ type, ...data }) },
    };
    const viaLog = await runOn(plain as ReturnType<typeof createInMemoryBackends>);
    expect(logged.filter((e) => e.type === 'llm_call').map((e) => e.prompt)).toEqual(viaLog.sent);

    // Under a cap, the prefix is the sent text's.
    const capped = createInMemoryBackends();
    const small = await runOn(capped, { maxChars: 50 });
    const first = prompts(await capped.telemetry.getEvents(small.id))[0];
    expect(first).toEqual({ truncated: true, prefix: small.sent[0]!.slice(0, 50), size: small.sent[0]!.length });
  });

  it('shows the exact prompt of each run when a template reads several fields, one absent, none, or more than fields', async () => {
    const yaml = `main:
  Ask:
    node_type: llm
    event_triggers: [START, AGAIN]
    prompt: "Compare {{ context.a }} with {{ context.missing or 'none' }} and {{ context['b'] }}"
    output_field: a
    event_emissions:
      - signal_name: AGAIN
        condition: "{{ context.__operational__.nodes.Ask < 3 }}"
      - signal_name: PLAIN
        condition: "{{ context.__operational__.nodes.Ask == 3 }}"
  Plain:
    node_type: llm
    event_triggers: [PLAIN]
    prompt: Say hi
    output_field: hi
    event_emissions:
      - signal_name: LOOP
  Loop:
    node_type: llm
    event_triggers: [LOOP]
    prompt: "{% for x in context.list %}{{ x }}, {% endfor %}{{ history.a | length }}"
    output_field: listed
`;
    const backends = createInMemoryBackends();
    const sent: string[] = [];
    const callLlm = (prompt: string) => {
      sent.push(prompt);
      return `{"a": "answer ${sent.length}", "hi": "hi", "listed": true}`;
    };
    const { broadcastSignalsCaller } = createEngine(backends, { callLlm });
    const id = await orchestrate({
      config: yaml,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { a: 'first', b: { n: 1 }, list: [1, 2] },
      backends,
      broadcastSignalsCaller,
    });
    expect(sent).toHaveLength(5);
    // Each run shows its own newest value of `a`; the absent field is left out.
    expect(sent[2]).toContain('"a": "answer 2"');
    expect(sent[0]).not.toContain('"missing"');
    expect(sent[3]).toContain('"context": {}');
    // A text that depends on more than the values shown (a loop, a history) is kept as rendered.
    expect(sent[4]).toContain('"prompt": "1, 2, 4"');
    const events = await backends.telemetry.getEvents(id);
    expect(events.filter((e) => e.event_type === 'llm_call').map((e) => e.prompt)).toEqual(sent);
  });

  it('keeps a tool result as returned, whatever the tool later does to its object, and gives readers copies', async () => {
    const box = { n: 1, list: [1] };
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: { make: () => box } });
    const cfg = 'main:\n  Make:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: make\n    output_field: made\n';
    const id = await orchestrate({ config: cfg, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
    box.n = 99;
    box.list.push(2);
    const returned = { n: 1, list: [1] };
    const stored = async () => ((await backends.context.getContext(id)).made as unknown[])[0];
    const read = async () => {
      const events = await backends.telemetry.getEvents(id);
      return {
        call: events.find((e) => e.event_type === 'tool_call') as { result: { n: number; list: number[] } },
        done: events.find((e) => e.event_type === 'node_completed') as { outputs: { made: { n: number }[] } },
      };
    };
    expect(await stored()).toEqual(returned);
    const first = await read();
    expect(first.call.result).toEqual(returned);
    expect(first.done.outputs).toEqual({ made: [returned] });
    // A reader changing what it read changes neither the context nor the next read.
    first.call.result.n = 5;
    first.call.result.list.push(3);
    first.done.outputs.made[0]!.n = 6;
    expect(await stored()).toEqual(returned);
    const again = await read();
    expect(again.call.result).toEqual(returned);
    expect(again.done.outputs).toEqual({ made: [returned] });
  });

  it('captureValue leaves short values alone', () => {
    expect(captureValue('result', { a: 1 })).toEqual({ a: 1 });
    expect(captureValue('prompt', 'x'.repeat(5), { maxChars: 4 })).toEqual({ truncated: true, prefix: 'xxxx', size: 5 });
  });

  it('caps at the exact JSON size, with escapes, nesting and values JSON changes', () => {
    const value = { k: ['a"b', 1.5, null, true] }; // {"k":["a\"b",1.5,null,true]}: 28 characters
    const text = JSON.stringify(value);
    expect(text).toHaveLength(28);
    expect(captureValue('result', value, { maxChars: 28 })).toBe(value);
    expect(captureValue('result', value, { maxChars: 27 })).toEqual({ truncated: true, prefix: text.slice(0, 27), size: 28 });
    const escapes = { s: '\n'.repeat(10) }; // each newline is written as two characters: 28 in all
    const size = JSON.stringify(escapes).length;
    expect(size).toBe(28);
    expect(captureValue('result', escapes, { maxChars: 28 })).toBe(escapes);
    expect(captureValue('result', escapes, { maxChars: 27 })).toEqual({
      truncated: true,
      prefix: JSON.stringify(escapes).slice(0, 27),
      size,
    });
    const dated = { at: new Date(0) };
    expect(captureValue('result', dated, { maxChars: 10 })).toMatchObject({ truncated: true, size: JSON.stringify(dated).length });
    expect(captureValue('result', { gone: undefined, n: 1 }, { maxChars: 7 })).toEqual({ gone: undefined, n: 1 });
  });
});

describe('captureValue on values that are not plain data', () => {
  it('describes a cycle or a BigInt instead of storing it', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(captureValue('result', cyclic)).toMatch(/^\[not JSON: /);
    expect(captureValue('result', { n: 1n })).toMatch(/^\[not JSON: .*BigInt/);
  });
});
