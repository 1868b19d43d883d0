import { describe, expect, it } from 'vitest';
import { analyzeGraph, externalSignals, graphNode } from '../src/graph/analyze-graph.js';
import { closestName } from '../src/graph/closest-name.js';
import { createLocator } from '../src/graph/yaml-locator.js';
import { parseContext } from '../src/input/parse-context.js';
import { parseRuntime } from '../src/input/parse-runtime.js';
import { parseSignals } from '../src/input/parse-signals.js';
import { styleFor } from '../src/output/style.js';
import { TraceFormatter } from '../src/output/trace-formatter.js';
import { functionFromOutputs } from '../src/remote/resolve-function.js';

describe('analyzeGraph', () => {
  const config = {
    main: {
      Spawn: {
        node_type: 'child',
        event_triggers: ['START'],
        child_workflow_name: 'worker',
        child_initial_signals: ['GO'],
        signals_to_parent: ['ONE_DONE'],
      },
      Join: { node_type: 'router', event_triggers: ['ONE_DONE'], event_emissions: [{ signal_name: 'ALL_DONE', condition: '{{ true }}' }] },
      Finish: { node_type: 'tool', event_triggers: ['ALL_DONE'], tool_name: 't' },
    },
    worker: {
      Work: {
        node_type: 'llm',
        event_triggers: ['GO'],
        prompt: 'x',
        event_emissions: [{ signal_name: 'ONE_DONE' }],
        llm_failure_signal: 'OOPS',
      },
    },
  };

  it('follows signals through child workflows and back through signals_to_parent', () => {
    const g = analyzeGraph(config);
    expect(g.workflows.map((w) => [w.name, w.started, w.entrySignals])).toEqual([
      ['main', true, ['START']],
      ['worker', true, ['GO']],
    ]);
    expect(g.workflows[0]!.nodes.every((n) => n.reachable)).toBe(true);
    expect(g.workflows[0]!.reachingSignals).toEqual(expect.arrayContaining(['START', 'ONE_DONE', 'ALL_DONE']));
  });

  it('reports only what nobody hears: the failure signal, not the one the parent listens to', () => {
    const g = analyzeGraph(config);
    expect(g.findings.map((f) => [f.kind, f.workflow, f.signal])).toEqual([['unheard-signal', 'worker', 'OOPS']]);
  });

  it('treats the combined and the bare config shape alike', () => {
    expect(analyzeGraph({ workflows: config }).findings).toEqual(analyzeGraph(config).findings);
  });

  it('externalSignals: triggers no node emits, minus the initial ones', () => {
    const nodes = Object.entries(config.main).map(([n, v]) => graphNode('main', n, v, new Set(['main', 'worker'])));
    expect([...externalSignals(nodes, ['START'])]).toEqual(['ONE_DONE']);
  });
});

describe('createLocator', () => {
  it('points at the key of the deepest existing path element', () => {
    const locate = createLocator('a:\n  b:\n    c: [1, 2]\n');
    expect(locate(['a', 'b'])).toEqual({ line: 2, column: 3 });
    expect(locate(['a', 'b', 'c', 1])).toEqual({ line: 3, column: 12 });
    expect(locate(['a', 'b', 'missing'])).toEqual({ line: 2, column: 3 });
  });
});

describe('closestName', () => {
  it('suggests near misses only', () => {
    expect(closestName('REVIEWD', ['REVIEWED', 'DONE'])).toBe('REVIEWED');
    expect(closestName('summarise_one', ['summarize_one', 'main'])).toBe('summarize_one');
    expect(closestName('GO', ['DONE'])).toBeUndefined();
  });
});

describe('flag parsing', () => {
  it('parseSignals splits on commas and spaces and defaults to START', () => {
    expect(parseSignals(undefined)).toEqual(['START']);
    expect(parseSignals('A, B,C')).toEqual(['A', 'B', 'C']);
    expect(() => parseSignals(' , ')).toThrow(/names no signal/);
  });

  it('parseRuntime', () => {
    expect(parseRuntime(undefined)).toEqual({ kind: 'memory' });
    expect(parseRuntime('local-aws')).toEqual({ kind: 'local-aws' });
    expect(parseRuntime('file:data')).toMatchObject({ kind: 'file', text: 'file:data', dir: expect.stringMatching(/\/data$/) });
    expect(() => parseRuntime('dynamo')).toThrow(/unknown runtime 'dynamo'/);
  });

  it('parseContext takes a JSON object', async () => {
    expect(await parseContext('{"a": [1]}')).toEqual({ a: [1] });
    expect(await parseContext(undefined)).toBeUndefined();
    await expect(parseContext('"text"')).rejects.toThrow(/must be a JSON object/);
  });
});

describe('functionFromOutputs', () => {
  const outputs = JSON.stringify({
    Soe: {
      StartFunctionName: 'Soe-Start-1',
      SignalFunctionName: 'Soe-Signal-1',
      StatusFunctionName: 'Soe-Status-1',
      WorkerFunctionName: 'Soe-Worker-1',
    },
  });

  it('reads the outputs of lib/soe-stack.ts', () => {
    expect(functionFromOutputs('start', 'o.json', outputs)).toBe('Soe-Start-1');
    expect(functionFromOutputs('signal', 'o.json', outputs)).toBe('Soe-Signal-1');
    expect(functionFromOutputs('status', 'o.json', outputs)).toBe('Soe-Status-1');
  });

  it('matches hashed output keys of nested constructs, preferring a name over an ARN', () => {
    const nested = JSON.stringify({
      App: { OrchStartFunctionArnAB12: 'arn:aws:lambda:eu-west-1:1:function:s', OrchStartFunctionName9F3C: 'app-start' },
    });
    expect(functionFromOutputs('start', 'o.json', nested)).toBe('app-start');
  });

  it('asks for --stack when several stacks match, and says what is missing', () => {
    const two = JSON.stringify({ A: { StartFunctionName: 'a' }, B: { StartFunctionName: 'b' } });
    expect(() => functionFromOutputs('start', 'o.json', two)).toThrow(/several stacks \(A, B\)/);
    expect(functionFromOutputs('start', 'o.json', two, 'B')).toBe('b');
    expect(() => functionFromOutputs('status', 'o.json', JSON.stringify({ A: {} }))).toThrow(/names no status function/);
    expect(() => functionFromOutputs('start', 'o.json', 'nope')).toThrow(/is not JSON/);
  });
});

describe('TraceFormatter', () => {
  const plain = styleFor(process.stderr, false);

  it('formats node completions with duration, signals and calls, and indents children', () => {
    const t = new TraceFormatter({ style: plain }, 'main');
    const ts = '2025-01-01T00:00:00.000Z';
    expect(
      t.format('main', {
        event_type: 'node_completed',
        timestamp: ts,
        node_name: 'A',
        node_type: 'llm',
        duration_ms: 12,
        emitted: ['X'],
        llm_calls: 2,
        tool_calls: 1,
        ok: true,
      }),
    ).toEqual(['✓ A (llm) 12 ms → X · 2 llm calls · 1 tool call']);
    expect(t.format('main', { event_type: 'child_started', timestamp: ts, node_name: 'S', children: ['c1234567890'] })).toEqual([
      '⇉ S started 1 child: c1234567',
    ]);
    expect(t.format('c1234567890', { event_type: 'signals_broadcast', timestamp: ts, signals: ['GO'] })).toEqual(['  [c1234567] ⇢ GO']);
    expect(t.format('main', { event_type: 'node_execution', timestamp: ts, node_name: 'A' })).toEqual([]);
  });

  it('shows a condition that raised as a warning naming the signal, the node and the error', () => {
    const t = new TraceFormatter({ style: plain }, 'main');
    const event = {
      event_type: 'condition_error',
      timestamp: '2025-01-01T00:00:00.000Z',
      node_name: 'Route',
      signal_name: 'BROKEN',
      condition: '{{ 1 / 0 > 0 }}',
      error: 'division by zero',
    };
    expect(t.format('main', event)).toEqual(['  ! condition of BROKEN in Route raised, counted as false: division by zero']);
  });

  it('prefixes offsets from the first event in timeline mode', () => {
    const t = new TraceFormatter({ style: plain, timeline: true }, 'm');
    expect(t.format('m', { event_type: 'signals_broadcast', timestamp: '2025-01-01T00:00:00.000Z', signals: ['A'] })[0]).toBe(
      '     +0ms  ⇢ A',
    );
    expect(t.format('m', { event_type: 'signals_broadcast', timestamp: '2025-01-01T00:00:01.250Z', signals: ['B'] })[0]).toBe(
      '  +1250ms  ⇢ B',
    );
  });
});
