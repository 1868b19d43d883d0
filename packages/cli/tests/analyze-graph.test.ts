/** The signal graph of a config (graph/analyze-graph.ts): edges, children, signals only the outside sends. */
import { describe, expect, it } from 'vitest';
import { analyzeGraph, externalSignals, graphNode } from '../src/graph/analyze-graph.js';

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
