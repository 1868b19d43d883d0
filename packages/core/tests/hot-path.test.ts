import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyValue } from '../src/backends/apply-update.js';
import { directStore } from '../src/backends/direct.js';
import { InMemoryContextBackend, InMemoryTelemetryBackend } from '../src/backends/memory.js';
import { FileStore, MemoryStore } from '../src/backends/store.js';
import { NodeEmissions } from '../src/backends/telemetry-log.js';
import { templateVars } from '../src/context-view.js';
import {
  type Backends,
  type BroadcastSignalsCaller,
  type ContextInit,
  type ContextUpdate,
  createAllNodes,
  createEngine,
  createInMemoryBackends,
  createLocalBackends,
  orchestrate,
  prepareExecution,
  renderTemplate,
  type StoredContext,
  storeExecution,
} from '../src/index.js';
import { type NodeRun, type NodeServices, startOutcome } from '../src/nodes/types.js';
import { LazyText } from '../src/step-capture.js';
import { flatString, newUuid } from '../src/strings.js';

const ctx = (): StoredContext => ({
  a: [1, 2, 3],
  empty: [],
  __operational__: { signals: ['START'], nodes: { N: 1 }, llm_calls: 0, tool_calls: 0, errors: 0, main_execution_id: 'x' },
});

describe('the template view of the context', () => {
  it('reads newest values, histories and pending values without copying a stored history', () => {
    const stored = ctx();
    const vars = templateVars(stored, { fields: { b: ['new'] }, nodes: { N: 1 } });
    expect(vars.history!.a).toBe(stored.a);
    expect(renderTemplate('{{ context.a }} {{ context.b }} {{ context.a | accumulated | length }}', vars)).toBe('3 new 3');
    expect(renderTemplate("{{ context.__operational__.nodes.get('N', 0) }}", vars)).toBe('2');
    expect(renderTemplate('{{ context.empty is defined }} {{ context.missing is defined }}', vars)).toBe('False False');
    expect(Object.keys(vars.context)).toEqual(['a', '__operational__', 'b']);
    expect(Object.keys(vars.history!)).toEqual(['a', 'empty', 'b']);
  });

  it('appends pending values to a history only in the view, never to the stored list', () => {
    const stored = ctx();
    const vars = templateVars(stored, { fields: { a: [4] } });
    expect(renderTemplate('{{ context.a }} {{ context.a | accumulated | join(",") }}', vars)).toBe('4 1,2,3,4');
    expect(stored.a).toEqual([1, 2, 3]);
  });

  it('is read-only', () => {
    const vars = templateVars(ctx());
    expect(() => {
      (vars.context as Record<string, unknown>).a = 9;
    }).toThrow(TypeError);
  });

  it('refuses every change, so that one view cannot break another (views share their empty targets)', () => {
    const first = templateVars(ctx());
    for (const view of [first.context, first.history!] as object[]) {
      expect(() => Object.preventExtensions(view)).toThrow(TypeError);
      expect(() => Object.setPrototypeOf(view, { injected: true })).toThrow(TypeError);
      expect(() => Object.defineProperty(view, 'a', { value: 9, configurable: false })).toThrow(TypeError);
      expect(() => Object.freeze(view)).toThrow(TypeError);
      expect(Reflect.deleteProperty(view, 'a')).toBe(false);
    }
    const other = templateVars({ b: ['x'], c: ['y', 'z'] });
    expect(Object.isExtensible(other.context)).toBe(true);
    expect(Object.getPrototypeOf(other.context)).toBe(null);
    expect(Object.keys(other.context)).toEqual(['b', 'c']);
    expect(Object.getOwnPropertyDescriptor(other.history!, 'c')?.value).toEqual(['y', 'z']);
    expect('injected' in other.context).toBe(false);
    expect(renderTemplate('{{ context.b }} {{ context.c | accumulated | join(",") }}', other)).toBe('x y,z');
  });
});

const CHAIN = `
main:
  A: { node_type: router, event_triggers: [START], event_emissions: [{ signal_name: B }] }
  B: { node_type: router, event_triggers: [B], event_emissions: [{ signal_name: DONE }] }
`;

describe('telemetry recorded as fixed-shape records', () => {
  for (const [name, make] of [
    ['memory', () => createInMemoryBackends()],
    ['file', () => createLocalBackends(mkdtempSync(join(tmpdir(), 'soe-telemetry-')))],
  ] as const) {
    it(`reads back as events with event_type and an ISO timestamp (${name} backends)`, async () => {
      const backends = make();
      const { broadcastSignalsCaller } = createAllNodes(backends);
      const id = await orchestrate({
        config: CHAIN,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        backends,
        broadcastSignalsCaller,
      });
      await backends.telemetry.logEvent(id, 'custom', { prompt: 'p', answer: 'a' });
      const events = await backends.telemetry.getEvents(id);
      expect(events.map((e) => e.event_type)).toEqual([
        'orchestration_start',
        'signals_broadcast',
        'node_execution',
        'node_completed',
        'signals_broadcast',
        'node_execution',
        'node_completed',
        'signals_broadcast',
        'custom',
      ]);
      for (const e of events) expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp);
      expect(events[1]).toMatchObject({ signals: ['START'] });
      expect(events[2]).toMatchObject({ node_name: 'A', node_type: 'router', workflow_name: 'main', triggered_by: ['START'] });
      expect(events[3]).toMatchObject({ node_name: 'A', node_type: 'router', emitted: ['B'], ok: true, llm_calls: 0, tool_calls: 0 });
      // Why it emitted what it did: kept as the config's emissions plus the run's signals, read back whole.
      expect(events[3]).toMatchObject({ selected_by: 'conditions', emissions: [{ signal: 'B', emitted: true }] });
      expect(events[6]).toMatchObject({ node_name: 'B', selected_by: 'conditions', emissions: [{ signal: 'DONE', emitted: true }] });
      expect(typeof events[3]!.duration_ms).toBe('number');
      expect(events[8]).toMatchObject({ prompt: 'p', answer: 'a' });
      expect(events[8]).not.toHaveProperty('duration_ms');
    });
  }

  it("keeps each run's own signals and emissions when runs of one router choose differently", async () => {
    const config = `main:
  Route:
    node_type: router
    event_triggers: [START, AGAIN]
    event_emissions:
      - { signal_name: FIRST, condition: "{{ context.seen is not defined }}" }
      - { signal_name: SECOND, condition: "{{ context.seen is defined and context.seen < 2 }}" }
  Mark:
    node_type: tool
    event_triggers: [FIRST, SECOND]
    tool_name: mark
    output_field: seen
    event_emissions: [{ signal_name: AGAIN }]
`;
    const backends = createInMemoryBackends();
    let marks = 0;
    const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: { mark: () => ++marks } });
    const id = await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
    const routes = (await backends.telemetry.getEvents(id)).filter((e) => e.event_type === 'node_completed' && e.node_name === 'Route');
    const why = (first: boolean, second: boolean) => [
      { signal: 'FIRST', condition: '{{ context.seen is not defined }}', emitted: first },
      { signal: 'SECOND', condition: '{{ context.seen is defined and context.seen < 2 }}', emitted: second },
    ];
    expect(routes.map((e) => [e.emitted, e.emissions])).toEqual([
      [['FIRST'], why(true, false)],
      [['SECOND'], why(false, true)],
      [[], why(false, false)],
    ]);
    for (const e of routes) expect(e.duration_ms).toEqual(expect.any(Number));
  });

  it('writes a prompt kept as parts out once to a store that writes JSON on every event, not again per event', async () => {
    let written = 0;
    class CountedText extends LazyText {
      readonly length = 6;
      override toString(): string {
        written += 1;
        return 'prompt';
      }
    }
    const telemetry = new InMemoryTelemetryBackend(new FileStore(mkdtempSync(join(tmpdir(), 'soe-lazy-'))));
    telemetry.record('x', 'llm_call', 1000, undefined, -1, { node_name: 'Ask', prompt: new CountedText() });
    for (let i = 0; i < 5; i++) telemetry.record('x', 'custom', 1000 + i, undefined, -1, { i });
    expect(written).toBe(1);
    expect((await telemetry.getEvents('x'))[0]).toMatchObject({ event_type: 'llm_call', prompt: 'prompt' });
  });

  it('reads back what each completion said when runs of one node alternate, and past the completions it shares', async () => {
    const telemetry = new InMemoryTelemetryBackend();
    const subject = { node_name: 'Agent', node_type: 'agent' };
    const definitions = [{ signal_name: 'DONE' }];
    // Call counts that come back (0, 1, 0, 1…), then more distinct counts than a node config shares.
    const counts = [0, 1, 0, 1, 2, 1, ...Array.from({ length: 30 }, (_, i) => i + 3), 0, 1];
    for (const [i, llm] of counts.entries()) {
      const emitted = i % 3 === 0 ? [] : ['DONE'];
      telemetry.record('x', 'node_completed', 1000 + i, subject, i % 10, {
        emitted,
        ok: true,
        llm_calls: llm,
        tool_calls: i % 2,
        selected_by: 'conditions',
        emissions: new NodeEmissions(definitions, emitted),
      });
    }
    const events = await telemetry.getEvents('x');
    expect(events.map((e) => [e.llm_calls, e.tool_calls, e.duration_ms, e.emitted])).toEqual(
      counts.map((llm, i) => [llm, i % 2, i % 10, i % 3 === 0 ? [] : ['DONE']]),
    );
    expect(events[1]!.emissions).toEqual([{ signal: 'DONE', emitted: true }]);
    expect(events[3]!.emissions).toEqual([{ signal: 'DONE', emitted: false }]);
  });

  it('reads tool and llm runs back the same from memory (a call and its completion kept as one record) as from files', async () => {
    const config = `
main:
  Inc: { node_type: tool, event_triggers: [START], tool_name: inc, context_parameter_field: value, output_field: value, event_emissions: [{ signal_name: PING }] }
  Ping: { node_type: tool, event_triggers: [PING], tool_name: ping, event_emissions: [{ signal_name: ASK }, { signal_name: ALSO, condition: "{{ result == 'pong' }}" }] }
  Ask: { node_type: llm, event_triggers: [ASK], prompt: 'n is {{ context.value.n }}', output_field: answer, event_emissions: [{ signal_name: DONE }] }
`;
    const events = async (backends: ReturnType<typeof createInMemoryBackends>) => {
      const { broadcastSignalsCaller } = createAllNodes(backends, {
        toolsRegistry: { inc: ({ n }: { n: number }) => ({ n: n + 1 }), ping: () => 'pong' },
        callLlm: () => '{"answer": "two"}',
      });
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { value: { n: 1 } },
        backends,
        broadcastSignalsCaller,
      });
      // Times and durations differ between the two runs; everything else, order included, must not.
      return (await backends.telemetry.getEvents(id)).map(({ timestamp: _t, duration_ms: _d, latency_ms: _l, ...rest }) => rest);
    };
    const inMemory = await events(createInMemoryBackends());
    const onFiles = await events(
      createLocalBackends(mkdtempSync(join(tmpdir(), 'soe-telemetry-'))) as ReturnType<typeof createInMemoryBackends>,
    );
    expect(inMemory).toEqual(onFiles);
    expect(inMemory.map((e) => `${e.event_type} ${e.node_name ?? ''}`.trim())).toEqual([
      'orchestration_start',
      'signals_broadcast',
      'node_execution Inc',
      'tool_call Inc',
      'node_completed Inc',
      'signals_broadcast',
      'node_execution Ping',
      'tool_call Ping',
      'node_completed Ping',
      'signals_broadcast',
      'node_execution Ask',
      'llm_call Ask',
      'node_completed Ask',
      'signals_broadcast',
    ]);
    expect(inMemory.find((e) => e.event_type === 'node_completed' && e.node_name === 'Inc')).toMatchObject({
      tool_calls: 1,
      outputs: { value: [{ n: 2 }] },
    });
    const ping = inMemory.find((e) => e.event_type === 'node_completed' && e.node_name === 'Ping');
    expect(ping).not.toHaveProperty('outputs');
    expect(ping).toMatchObject({ emitted: ['ASK', 'ALSO'] });
    expect(inMemory.find((e) => e.event_type === 'node_completed' && e.node_name === 'Ask')).toMatchObject({
      llm_calls: 1,
      outputs: { answer: ['two'] },
    });
  });

  it('reads tool and llm runs back whole, fields in the order the engine writes them, before and after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-telemetry-'));
    const backends = createLocalBackends(dir);
    const config = `
main:
  Inc: { node_type: tool, event_triggers: [START], tool_name: inc, context_parameter_field: value, output_field: value, event_emissions: [{ signal_name: ASK }] }
  Ask: { node_type: llm, event_triggers: [ASK], prompt: 'n is {{ context.value.n }}', output_field: answer, event_emissions: [{ signal_name: DONE }] }
`;
    const { broadcastSignalsCaller } = createAllNodes(backends, {
      // The tool changes its own copy of the arguments: telemetry shows them as they were passed.
      toolsRegistry: {
        inc: (args: { n: number }) => {
          const n = args.n;
          args.n = 99;
          return { n: n + 1 };
        },
      },
      callLlm: () => '{"answer": "two"}',
    });
    const before = Date.now();
    const id = await orchestrate({
      config,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { value: { n: 1 } },
      backends,
      broadcastSignalsCaller,
    });
    const after = Date.now();
    const events = await backends.telemetry.getEvents(id);
    // Times are kept as offsets from the first event: read back, they are the wall-clock times, in order.
    const times = events.map((e) => Date.parse(e.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(before);
    expect(times.at(-1)).toBeLessThanOrEqual(after);
    const of = (type: string, node: string) => events.find((e) => e.event_type === type && e.node_name === node)!;
    const shape = (e: Record<string, unknown>) => {
      const { timestamp: _t, duration_ms: _d, latency_ms: _l, prompt: _p, ...rest } = e;
      return JSON.stringify(rest);
    };
    expect(shape(of('tool_call', 'Inc'))).toBe(
      '{"node_name":"Inc","tool_name":"inc","attempt":1,"ok":true,"arguments":{"n":1},"result":{"n":2},"event_type":"tool_call"}',
    );
    expect(Object.keys(of('tool_call', 'Inc'))).toEqual([
      'node_name',
      'tool_name',
      'attempt',
      'ok',
      'duration_ms',
      'arguments',
      'result',
      'event_type',
      'timestamp',
    ]);
    expect(shape(of('node_completed', 'Inc'))).toBe(
      '{"node_name":"Inc","node_type":"tool","emitted":["ASK"],"ok":true,"llm_calls":0,"tool_calls":1,"selected_by":"conditions",' +
        '"emissions":[{"signal":"ASK","emitted":true}],"outputs":{"value":[{"n":2}]},"event_type":"node_completed"}',
    );
    expect(Object.keys(of('llm_call', 'Ask'))).toEqual([
      'node_name',
      'stage',
      'attempt',
      'latency_ms',
      'ok',
      'prompt',
      'response',
      'event_type',
      'timestamp',
    ]);
    expect(of('llm_call', 'Ask')).toMatchObject({ stage: 'llm', attempt: 1, ok: true, response: '{"answer": "two"}' });
    expect(String(of('llm_call', 'Ask').prompt)).toContain('n is 2');
    expect(of('node_completed', 'Ask')).toMatchObject({ llm_calls: 1, tool_calls: 0, outputs: { answer: ['two'] } });
    expect(await createLocalBackends(dir).telemetry.getEvents(id)).toEqual(events);
  });

  it('reads back the same events after a restart, and events an earlier version stored as a list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-telemetry-'));
    const backends = createLocalBackends(dir);
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const id = await orchestrate({
      config: CHAIN,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    });
    expect(await createLocalBackends(dir).telemetry.getEvents(id)).toEqual(await backends.telemetry.getEvents(id));
    const legacy = [{ event_type: 'node_execution', timestamp: '2026-01-01T00:00:00.000Z', node_name: 'A' }];
    writeFileSync(join(dir, 'telemetry', 'old.json'), JSON.stringify(legacy));
    expect(await createLocalBackends(dir).telemetry.getEvents('old')).toEqual(legacy);
    // Five columns per event, as the version before stored them; the events read back, and new ones append.
    const node = { node_name: 'A', node_type: 'router' };
    const v1 = {
      type: ['signals_broadcast', 'node_completed', 'node_error'],
      at: [Date.parse('2026-01-01T00:00:00.000Z'), Date.parse('2026-01-01T00:00:01.000Z'), Date.parse('2026-01-01T00:00:02.000Z')],
      node: [null, node, node],
      num: [-1, 7, -1],
      data: ['START', 'B', { error: 'boom' }],
    };
    writeFileSync(join(dir, 'telemetry', 'v1.json'), JSON.stringify(v1));
    const reopened = createLocalBackends(dir);
    await reopened.telemetry.logEvent('v1', 'custom', { note: 'later' });
    expect(await reopened.telemetry.getEvents('v1')).toEqual([
      { signals: ['START'], event_type: 'signals_broadcast', timestamp: '2026-01-01T00:00:00.000Z' },
      {
        ...node,
        duration_ms: 7,
        emitted: ['B'],
        ok: true,
        llm_calls: 0,
        tool_calls: 0,
        event_type: 'node_completed',
        timestamp: '2026-01-01T00:00:01.000Z',
      },
      { ...node, error: 'boom', event_type: 'node_error', timestamp: '2026-01-01T00:00:02.000Z' },
      expect.objectContaining({ note: 'later', event_type: 'custom' }),
    ]);
  });

  it('gives every event its time, whether or not it falls in the millisecond of the one before', async () => {
    const telemetry = createInMemoryBackends().telemetry;
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const times = [base, base, base + 5, base + 5, base + 2, base + 2, base + 3_000_000_000, base];
    for (const [i, at] of times.entries()) telemetry.record?.('x', 'custom', at, undefined, -1, { i });
    expect((await telemetry.getEvents('x')).map((e) => [e.i, e.timestamp])).toEqual(times.map((at, i) => [i, new Date(at).toISOString()]));
  });

  it('reads events stored with a time each (the layout before times were left out), and appends to them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-telemetry-'));
    const node = { node_name: 'A', node_type: 'router' };
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const stored = {
      t0,
      ev: [
        'signals_broadcast',
        0,
        'START',
        { type: 'node_execution', node },
        0,
        'START',
        { type: 'node_completed', node },
        4,
        { duration_ms: 3, emitted: ['B'], ok: true, llm_calls: 0, tool_calls: 0 },
      ],
    };
    mkdirSync(join(dir, 'telemetry'), { recursive: true });
    writeFileSync(join(dir, 'telemetry', 'v2.json'), JSON.stringify(stored));
    const reopened = createLocalBackends(dir);
    await reopened.telemetry.logEvent('v2', 'custom', { note: 'later' });
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    expect(await reopened.telemetry.getEvents('v2')).toEqual([
      { signals: ['START'], event_type: 'signals_broadcast', timestamp: at(0) },
      { ...node, triggered_by: ['START'], event_type: 'node_execution', timestamp: at(0) },
      { ...node, duration_ms: 3, emitted: ['B'], ok: true, llm_calls: 0, tool_calls: 0, event_type: 'node_completed', timestamp: at(4) },
      expect.objectContaining({ note: 'later', event_type: 'custom' }),
    ]);
  });
});

describe('starting with a large initial context', () => {
  const config = {
    workflows: {
      main: {
        Check: {
          node_type: 'router',
          event_triggers: ['START'],
          event_emissions: [{ signal_name: 'OK', condition: '{{ context.f999 == "v999" and context.obj.n == 1 }}' }],
        },
      },
    },
  };
  const fields = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, `v${i}`]));

  it('keeps every field, in order, each as a one-entry history, and objects as copies the caller cannot change', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const shared = { n: 1 };
    const initialContext = { ...fields, obj: shared, same: shared };
    const id = await orchestrate({
      config,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext,
      backends,
      broadcastSignalsCaller,
    });
    shared.n = 2;
    const stored = await backends.context.getContext(id);
    expect(Object.keys(stored).filter((k) => !k.startsWith('__'))).toEqual(Object.keys(initialContext));
    expect(stored.f500).toEqual(['v500']);
    expect(stored.obj).toEqual([{ n: 1 }]);
    expect(stored.__operational__!.signals).toEqual(['START', 'OK']);
    // The stored record is an ordinary object: a caller can use it as one.
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(await backends.context.readContext!(id))).toBe(Object.prototype);
  });

  it('appends the new values after the inherited histories', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const start = (initialContext: Record<string, unknown>, inheritContextFromId?: string) =>
      orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext,
        inheritContextFromId,
        backends,
        broadcastSignalsCaller,
      });
    const first = await start({ ...fields, obj: { n: 1 } });
    const second = await start({ f1: 'again', added: [1] }, first);
    const stored = await backends.context.getContext(second);
    expect(stored.f1).toEqual(['v1', 'again']);
    expect(stored.added).toEqual([[1]]);
    expect(stored.f999).toEqual(['v999']);
    expect(
      Object.keys(stored)
        .filter((k) => !k.startsWith('__'))
        .slice(-2),
    ).toEqual(['obj', 'added']);
  });
});

/**
 * Starts a fan-out in memory: one `worker` child per item (the item in `item`), each running `work` on
 * GO. `run` settles when it ends; `children` maps each child's item to its execution id.
 */
const fanOut = (work: Record<string, unknown>, items: unknown[], { maxNodeRuns = 10_000, toolsRegistry = {} } = {}) => {
  const backends = createInMemoryBackends();
  const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry });
  const run = orchestrate({
    config: {
      limits: { max_node_runs: maxNodeRuns },
      workflows: {
        main: {
          Spawn: {
            node_type: 'child',
            event_triggers: ['START'],
            child_workflow_name: 'worker',
            child_initial_signals: ['GO'],
            fan_out_field: 'items',
            child_input_field: 'item',
          },
        },
        worker: { Work: work },
      },
    },
    initialWorkflowName: 'main',
    initialSignals: ['START'],
    initialContext: { items },
    backends,
    broadcastSignalsCaller,
  });
  const children = async () => {
    const out = new Map<unknown, string>();
    for (const id of await backends.context.listContexts()) {
      const ctx = backends.context.readNow(id)!;
      if (ctx.__parent__) out.set((ctx.item as unknown[])[0], id);
    }
    return out;
  };
  return { backends, run, children };
};

describe('direct access to the built-in backends', () => {
  const chain = {
    main: {
      A: { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'B' }] },
      B: { node_type: 'router', event_triggers: ['B'], event_emissions: [{ signal_name: 'DONE' }] },
    },
  };
  /** Runs `chain` from START on the given backends and caller. */
  const runChain = (backends: Backends, broadcastSignalsCaller: BroadcastSignalsCaller) =>
    orchestrate({ config: { workflows: chain }, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });

  it('is used for the built-in backends, in memory and on files', () => {
    expect(directStore(createInMemoryBackends())).toBeDefined();
    expect(directStore(createLocalBackends(mkdtempSync(join(tmpdir(), 'soe-direct-'))))).toBeDefined();
  });

  it('is not used past an override: a subclass still sees every update and tree count', async () => {
    const seen: string[] = [];
    class Audited extends InMemoryContextBackend {
      override async updateContext(executionId: string, update: ContextUpdate): Promise<void> {
        seen.push(Object.keys(update).join('+'));
        return super.updateContext(executionId, update);
      }
    }
    const backends = { ...createInMemoryBackends(), context: new Audited() };
    expect(directStore(backends)).toBeUndefined();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const id = await orchestrate({
      config: chain,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    });
    expect((await backends.context.getContext(id)).__operational__!.signals).toEqual(['START', 'B', 'DONE']);
    // Three broadcasts record their signals, two node runs record their counts.
    expect(seen.filter((s) => s === 'signals')).toHaveLength(3);
    expect(seen.filter((s) => s.includes('nodes'))).toHaveLength(2);
  });

  it('creates children directly only while the creating methods are the built-in ones', async () => {
    const fanOut = {
      main: {
        Spawn: {
          node_type: 'child',
          event_triggers: ['START'],
          child_workflow_name: 'worker',
          child_initial_signals: ['GO'],
          fan_out_field: 'items',
          child_input_field: 'item',
          signals_to_parent: ['DONE'],
        },
        Collect: { node_type: 'router', event_triggers: ['DONE'], event_emissions: [{ signal_name: 'COLLECTED' }] },
      },
      worker: { Work: { node_type: 'router', event_triggers: ['GO'], event_emissions: [{ signal_name: 'DONE' }] } },
    };
    expect(directStore(createInMemoryBackends())?.create).toBeDefined();
    const created: string[] = [];
    class Audited extends InMemoryContextBackend {
      override async createContext(executionId: string, init: ContextInit): Promise<void> {
        created.push(executionId);
        return super.createContext(executionId, init);
      }
    }
    const backends = { ...createInMemoryBackends(), context: new Audited() };
    const direct = directStore(backends);
    // Reads and updates stay direct; creating a child goes through the override.
    expect(direct).toBeDefined();
    expect(direct!.create).toBeUndefined();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const id = await orchestrate({
      config: { workflows: fanOut },
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { items: ['a', 'b', 'c'] },
      backends,
      broadcastSignalsCaller,
    });
    // The main execution and its three children, each created through createContext.
    expect(created).toHaveLength(4);
    expect(created[0]).toBe(id);
    const children = created.slice(1);
    for (const [i, child] of children.entries()) {
      const ctx = await backends.context.getContext(child);
      expect(ctx.item).toEqual([['a', 'b', 'c'][i]]);
      expect(ctx.__parent__).toMatchObject({ parent_execution_id: id, signals_to_parent: ['DONE'] });
      expect(ctx.__operational__!.signals).toEqual(['GO', 'DONE']);
      expect(await backends.workflow.getCurrentWorkflowName(child)).toBe('worker');
    }
    expect((await backends.context.getContext(id)).__operational__!.nodes).toEqual({ Spawn: 1, Collect: 3 });

    const patched = createInMemoryBackends();
    patched.workflow.saveCurrentWorkflowName = async () => undefined;
    expect(directStore(patched)?.create).toBeUndefined();
  });

  it("shares a fan-out's items with its children, yet a child's tool cannot change them for anyone", async () => {
    const { backends, run, children } = fanOut(
      { node_type: 'tool', event_triggers: ['GO'], tool_name: 'touch', context_parameter_field: 'item', output_field: 'out' },
      [{ n: 1 }, { n: 2 }],
      {
        toolsRegistry: {
          // Mutates the argument it is given: it must get a copy.
          touch: (item: Record<string, unknown>) => {
            item.n = 99;
            return item;
          },
        },
      },
    );
    const id = await run;
    const byItem = await children();
    expect(byItem.size).toBe(2);
    // Each child still holds its item as it was given, and its tool's own copy changed.
    expect([...byItem.keys()]).toEqual([{ n: 1 }, { n: 2 }]);
    for (const child of byItem.values()) expect(backends.context.readNow(child)!.out).toEqual([{ n: 99 }]);
    expect(backends.context.readNow(id)!.items).toEqual([[{ n: 1 }, { n: 2 }]]);
  });

  it('stores a child link the caller cannot change, and keeps a frozen one as it is', async () => {
    const backends = createInMemoryBackends();
    const link = { parent_execution_id: 'p', main_execution_id: 'p', signals_to_parent: ['DONE'], context_updates_to_parent: [] };
    await backends.context.createContext('c1', { fields: {}, mainExecutionId: 'p', parent: link });
    link.signals_to_parent.push('MORE');
    expect((await backends.context.getContext('c1')).__parent__!.signals_to_parent).toEqual(['DONE']);
    const frozen = Object.freeze({
      ...link,
      signals_to_parent: Object.freeze(['DONE']) as string[],
      context_updates_to_parent: Object.freeze([]) as string[],
    });
    await backends.context.createContext('c2', { fields: {}, mainExecutionId: 'p', parent: frozen });
    expect(backends.context.readNow('c2')!.__parent__).toBe(frozen);
  });

  it('runs built-in routers without a promise, yet a router executor given to the engine is the one called', async () => {
    const chainConfig = { workflows: chain };
    const plain = createInMemoryBackends();
    const { broadcastSignalsCaller: plainCaller } = createEngine(plain);
    const plainId = await orchestrate({
      config: chainConfig,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends: plain,
      broadcastSignalsCaller: plainCaller,
    });
    expect((await plain.context.getContext(plainId)).__operational__!.signals).toEqual(['START', 'B', 'DONE']);

    const ran: string[] = [];
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, {
      executors: {
        router: async (run) => {
          ran.push(run.nodeName);
          return { update: { nodes: { [run.nodeName]: 1 } }, emit: [], extraEmit: [], foreignUpdates: [], outbox: [], spawns: [] };
        },
      },
    });
    const id = await orchestrate({
      config: chainConfig,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    });
    expect(ran).toEqual(['A']);
    expect((await backends.context.getContext(id)).__operational__!.signals).toEqual(['START']);
  });

  it('awaits an executor that answers with a thenable other than a promise', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, {
      executors: {
        // A PromiseLike from another library: not an instance of this realm's Promise.
        router: ((run: { nodeName: string }) => ({
          // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a native promise is what this test is about
          then: (resolve: (o: unknown) => void) =>
            resolve({
              update: { nodes: { [run.nodeName]: 1 } },
              emit: ['DONE'],
              extraEmit: [],
              foreignUpdates: [],
              outbox: [],
              spawns: [],
            }),
        })) as never,
      },
    });
    const id = await runChain(backends, broadcastSignalsCaller);
    const op = (await backends.context.getContext(id)).__operational__!;
    expect(op.signals).toEqual(['START', 'DONE']);
    expect(op.nodes).toEqual({ A: 1 });
  });

  it("keeps an executor's own telemetry record as it was logged, not as the executor changes it later", async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, {
      executors: {
        router: ((run: { executionId: string; nodeName: string }, services: NodeServices) => {
          const data = { note: 'first', outputs: { seen: ['before'] } };
          void services.telemetry(run.executionId, 'custom_note', data);
          data.note = 'changed';
          data.outputs = { seen: ['after'] };
          return { ...startOutcome(run.nodeName), emit: ['DONE'] };
        }) as never,
      },
    });
    const id = await runChain(backends, broadcastSignalsCaller);
    const note = (await backends.telemetry.getEvents(id)).find((e) => e.event_type === 'custom_note');
    expect(note).toMatchObject({ note: 'first', outputs: { seen: ['before'] } });
  });

  it("checks an llm node's answer against its own execution's context schema, run after run of one workflow", async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends, { callLlm: () => '{"n": "not a number"}' });
    // One YAML text: its parsed workflows (and what their nodes keep between runs) are shared by the runs.
    const config =
      'main:\n  A: { node_type: llm, event_triggers: [START], prompt: count, output_field: n, retries: 0, llm_failure_signal: BAD }\n';
    for (const typed of [true, false, true, false]) {
      const prepared = await prepareExecution({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        backends,
        broadcastSignalsCaller,
      });
      if (typed) prepared.contextSchema = { n: { type: 'integer' } };
      await storeExecution(backends, prepared);
      await broadcastSignalsCaller(prepared.executionId, prepared.initialSignals);
      const ctx = await backends.context.getContext(prepared.executionId);
      expect(ctx.n).toEqual(typed ? undefined : ['not a number']);
      expect(ctx.__operational__!.signals).toEqual(typed ? ['START', 'BAD'] : ['START']);
    }
  });

  /** A memory store that notes every key stored, and a run of `chain` on backends using it where `use` says. */
  async function runWatched<B extends Partial<Backends>>(use: (store: MemoryStore<never>) => B) {
    const stored: string[] = [];
    class Watched<T> extends MemoryStore<T> {
      override set(key: string, value: T): void {
        stored.push(key);
        super.set(key, value);
      }
    }
    const backends = { ...createInMemoryBackends(), ...use(new Watched<never>()) };
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const id = await orchestrate({
      config: chain,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    });
    return { id, backends, storedTimes: stored.filter((k) => k === id).length };
  }

  it('re-stores an updated context in any store but the built-in Map', async () => {
    const { storedTimes } = await runWatched((store) => ({ context: new InMemoryContextBackend(store) }));
    // Created once, then three broadcasts and two node runs each re-store it.
    expect(storedTimes).toBe(6);
  });

  it('re-stores the telemetry after each event in any store but the built-in Map', async () => {
    const { id, backends, storedTimes } = await runWatched((store) => ({ telemetry: new InMemoryTelemetryBackend(store) }));
    // Once when made, then after every event.
    expect(storedTimes).toBe((await backends.telemetry.getEvents(id)).length + 1);
  });

  it('is not used for an instance whose method was replaced', () => {
    const backends = createInMemoryBackends();
    backends.context.updateContext = async () => undefined;
    expect(directStore(backends)).toBeUndefined();
  });
});

describe('copying a value for a tool or the store', () => {
  it('gives what structuredClone gives, as a new object the caller cannot reach', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const tagged = { a: 1, [Symbol('tag')]: 2 };
    const values: unknown[] = [
      { n: 1, s: 'x', b: true, z: null, u: undefined, big: 10n },
      { nested: { deep: [1, { n: 2 }] } },
      [1, 'two', { three: 3 }],
      new Date(0),
      new Point(1, 2),
      Object.assign(Object.create(null), { a: 1 }),
      tagged,
      JSON.parse('{"__proto__": {"polluted": true}, "k": 1}'),
      'text',
      7,
      null,
    ];
    for (const v of values) {
      const copy = copyValue(v);
      expect(copy).toStrictEqual(structuredClone(v));
      if (typeof v === 'object' && v !== null) expect(copy).not.toBe(v);
    }
    const flat = { n: 1 };
    const copy = copyValue(flat);
    copy.n = 2;
    expect(flat.n).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => copyValue({ f: () => 1 })).toThrow();
  });
});

describe('strings the engine keeps', () => {
  it('flattens text without changing a character, lone surrogates and escapes included', () => {
    let built = '';
    for (const piece of ['Step ', '1', ': "quoted"\n', '\ud800', ' \u{1f600} ', '\u0000', 'é']) built += piece;
    for (const text of [built, '', 'plain']) expect(flatString(text)).toBe(text);
  });

  it('makes random version-4 UUIDs', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newUuid()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('node-run counts', () => {
  it('counts every run of every node in a chain of 2,000 distinct nodes, and each run of a node that runs again', async () => {
    const chain: Record<string, unknown> = {};
    for (let i = 0; i < 2000; i++)
      chain[`N${i}`] = { node_type: 'router', event_triggers: [`S${i}`], event_emissions: [{ signal_name: `S${i + 1}` }] };
    // N1999 starts the loop node, which runs three times before it stops.
    chain.Loop = {
      node_type: 'router',
      event_triggers: ['S2000', 'AGAIN'],
      event_emissions: [{ signal_name: 'AGAIN', condition: "{{ context.__operational__.nodes.get('Loop', 0) < 3 }}" }],
    };
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const id = await orchestrate({
      config: { main: chain },
      initialWorkflowName: 'main',
      initialSignals: ['S0'],
      backends,
      broadcastSignalsCaller,
    });
    const nodes = (await backends.context.getContext(id)).__operational__!.nodes;
    expect(Object.keys(nodes)).toHaveLength(2001);
    expect(Object.entries(nodes).filter(([name, n]) => name !== 'Loop' && n !== 1)).toEqual([]);
    expect(nodes.Loop).toBe(3);
  });
});

describe("a fan-out's children sharing their operational records (in memory)", () => {
  // A shared record holds at most eight signals (apply-update.ts): a child past that has its own.
  const SHARED_SIGNALS_AT_MOST = 8;
  const link = (): ContextInit['parent'] =>
    Object.freeze({
      parent_execution_id: 'p',
      main_execution_id: 'p',
      signals_to_parent: Object.freeze(['DONE']) as string[],
      context_updates_to_parent: Object.freeze([]) as string[],
    });
  const start = async (n: number, parent = link()) => {
    const backends = createInMemoryBackends();
    const signals = ['GO'];
    for (let i = 0; i < n; i++)
      await backends.context.createContext(`c${i}`, { fields: { i: [i] }, mainExecutionId: 'p', parent, signals });
    return backends;
  };
  const op = (b: Backends, id: string) => (b.context as InMemoryContextBackend).readNow(id)!.__operational__!;

  it("changes only the updated child's signals, run counts and counters, never a sibling's", async () => {
    const b = await start(3);
    expect(op(b, 'c0')).toBe(op(b, 'c1'));
    await b.context.updateContext('c0', { signals: ['DONE'], nodes: { Work: 1 }, counters: { llm_calls: 1, cancelled: 1 } });
    expect(op(b, 'c0')).toMatchObject({ signals: ['GO', 'DONE'], nodes: { Work: 1 }, llm_calls: 1, cancelled: 1 });
    for (const sibling of ['c1', 'c2']) expect(op(b, sibling)).toEqual(op(b, 'c2'));
    expect(op(b, 'c1')).toEqual({ signals: ['GO'], nodes: {}, llm_calls: 0, tool_calls: 0, errors: 0, main_execution_id: 'p' });
    // The same update moves a sibling to the same record; what it reads is its own.
    await b.context.updateContext('c1', { signals: ['DONE'], nodes: { Work: 1 }, counters: { llm_calls: 1, cancelled: 1 } });
    expect(op(b, 'c1')).toBe(op(b, 'c0'));
    expect(() => op(b, 'c1').signals.push('X')).toThrow(TypeError);
    // A copy read with getContext is the caller's to change.
    const copy = (await b.context.getContext('c1')).__operational__!;
    copy.signals.push('X');
    copy.nodes.Work = 7;
    expect(op(b, 'c1')).toMatchObject({ signals: ['GO', 'DONE'], nodes: { Work: 1 } });
  });

  it('gives a child its own record once it grows past a few signals or nodes, and goes on counting in place', async () => {
    const b = await start(2);
    for (let i = 0; i < 12; i++) await b.context.updateContext('c0', { signals: [`S${i}`], nodes: { [`N${i % 6}`]: 1 } });
    const own = op(b, 'c0');
    expect(Object.isFrozen(own)).toBe(false);
    expect(own.signals).toEqual(['GO', ...Array.from({ length: 12 }, (_, i) => `S${i}`)]);
    expect(own.nodes).toEqual({ N0: 2, N1: 2, N2: 2, N3: 2, N4: 2, N5: 2 });
    await b.context.updateContext('c0', { nodes: { N0: 1 } });
    expect(op(b, 'c0')).toBe(own);
    expect(own.nodes.N0).toBe(3);
    expect(op(b, 'c1').signals).toEqual(['GO']);
  });

  it('keeps each child right when siblings take many different paths', async () => {
    const b = await start(40);
    for (let i = 0; i < 40; i++) await b.context.updateContext(`c${i}`, { signals: [`R${i}`], nodes: { Work: i + 1 } });
    for (let i = 0; i < 40; i++) expect(op(b, `c${i}`)).toMatchObject({ signals: ['GO', `R${i}`], nodes: { Work: i + 1 } });
  });

  it('starts children of another link, or other limits, on records of their own', async () => {
    const b = await start(1);
    await b.context.createContext('other', { fields: {}, mainExecutionId: 'p', parent: link(), signals: ['GO'] });
    await b.context.createContext('limited', {
      fields: {},
      mainExecutionId: 'p',
      parent: link(),
      signals: ['GO'],
      limits: { maxNodeRuns: 5 },
    });
    expect(op(b, 'other')).not.toBe(op(b, 'c0'));
    expect(op(b, 'limited')).toMatchObject({ max_node_runs: 5 });
    expect(op(b, 'c0').max_node_runs).toBeUndefined();
  });

  it('runs a fan-out whose children branch on their item to the right signals and counts', async () => {
    const { backends, run, children } = fanOut(
      {
        node_type: 'router',
        event_triggers: ['GO'],
        event_emissions: [
          { signal_name: 'EVEN', condition: '{{ context.item % 2 == 0 }}' },
          { signal_name: 'BIG', condition: '{{ context.item > 3 }}' },
        ],
      },
      [0, 1, 2, 3, 4, 5],
    );
    await run;
    const byItem = await children();
    const expected = [['EVEN'], [], ['EVEN'], [], ['EVEN', 'BIG'], ['BIG']];
    for (const [item, signals] of expected.entries())
      expect(op(backends, byItem.get(item)!)).toMatchObject({ signals: ['GO', ...signals], nodes: { Work: 1 } });
    expect(op(backends, byItem.get(0)!)).toBe(op(backends, byItem.get(2)!));
  });

  it("stops children that loop at the tree's node-run limit, counting every run they made", async () => {
    const { backends, run, children } = fanOut(
      { node_type: 'router', event_triggers: ['GO', 'AGAIN'], event_emissions: [{ signal_name: 'AGAIN' }] },
      [0, 1, 2],
      { maxNodeRuns: 40 },
    );
    await expect(run).rejects.toThrow(/limit of 40/);
    let runs = 0;
    for (const id of (await children()).values()) runs += op(backends, id).nodes.Work ?? 0;
    // The parent's Spawn made one run of the forty.
    expect(runs).toBe(39);
    const looped = [...(await children()).values()].map((id) => op(backends, id)).find((o) => (o.nodes.Work ?? 0) > SHARED_SIGNALS_AT_MOST);
    expect(looped && Object.isFrozen(looped)).toBe(false);
  });
});

describe('what the runs of an llm node share', () => {
  /** Nodes whose model answers both fields and keeps every prompt it is sent. */
  const recordingNodes = () => {
    const prompts: string[] = [];
    const { nodes } = createAllNodes(createInMemoryBackends(), {
      callLlm: (prompt: string) => {
        prompts.push(prompt);
        return '{"a": 1, "b": 2}';
      },
    });
    return { nodes, prompts };
  };
  const run = (node: Record<string, unknown>, memo?: NodeRun['memo']): NodeRun => ({
    executionId: 'e1',
    workflowName: 'wf',
    nodeName: 'Ask',
    node: node as NodeRun['node'],
    context: { x: ['v'], __operational__: { signals: [], nodes: {}, llm_calls: 0, tool_calls: 0, errors: 0 } } as unknown as StoredContext,
    signals: ['GO'],
    runKey: 'k',
    memo,
  });

  it('reads a config that can change again at each run: its prompt, output field and signals', async () => {
    const { nodes, prompts } = recordingNodes();
    const node: Record<string, unknown> = {
      node_type: 'llm',
      event_triggers: ['GO'],
      prompt: 'first {{ context.x }}',
      output_field: 'a',
      event_emissions: [{ signal_name: 'ONE' }],
    };
    const first = await nodes.llm(run(node), nodes.engine.services);
    expect(first.emit).toEqual(['ONE']);
    expect(first.update.fields).toEqual({ a: [1] });
    Object.assign(node, { prompt: 'second {{ context.x }}', output_field: 'b', event_emissions: [{ signal_name: 'TWO' }] });
    const second = await nodes.llm(run(node), nodes.engine.services);
    expect(second.emit).toEqual(['TWO']);
    expect(second.update.fields).toEqual({ b: [2] });
    expect(prompts[0]).toContain('first v');
    expect(prompts[1]).toContain('second v');
  });

  it('gives each of two frozen configs held on one memo its own prompt and settings', async () => {
    const { nodes, prompts } = recordingNodes();
    const memo = {
      workflowName: undefined,
      nodeName: undefined,
      started: undefined,
      completed: undefined,
      emissions: undefined,
      selection: undefined,
      unconditional: undefined,
      llm: undefined,
    };
    const one = Object.freeze({
      node_type: 'llm',
      prompt: 'one {{ context.x }}',
      output_field: 'a',
      event_emissions: [{ signal_name: 'ONE' }],
    });
    const two = Object.freeze({
      node_type: 'llm',
      prompt: 'two {{ context.x }}',
      output_field: 'b',
      event_emissions: [{ signal_name: 'TWO' }],
    });
    for (const node of [one, two, one]) await nodes.llm(run(node, memo), nodes.engine.services);
    expect(prompts.map((p) => (p.includes('one v') ? 'one' : p.includes('two v') ? 'two' : p))).toEqual(['one', 'two', 'one']);
    const last = await nodes.llm(run(two, memo), nodes.engine.services);
    expect(last.emit).toEqual(['TWO']);
    expect(last.update.fields).toEqual({ b: [2] });
  });
});
