// In-process engine benchmark: nodes per second and heap growth for chains of 100, 400 and 800 nodes.
// Run with `npm run bench` (builds first). Prints a table, then the same figures as JSON.
import { createAllNodes, createInMemoryBackends, orchestrate } from '../packages/core/dist/index.js';

const SIZES = [100, 400, 800];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 11);

function chain(n, makeNode) {
  const wf = {};
  for (let i = 0; i < n; i++) wf[`N${i}`] = makeNode(i);
  return { workflows: { bench: wf } };
}

const scenarios = {
  'router chain': (n) => ({
    config: chain(n, (i) => ({ node_type: 'router', event_triggers: [`S${i}`], event_emissions: [{ signal_name: `S${i + 1}` }] })),
    nodes: n,
  }),
  'router chain reading __operational__': (n) => ({
    config: chain(n, (i) => ({
      node_type: 'router',
      event_triggers: [`S${i}`],
      event_emissions: [
        {
          signal_name: `S${i + 1}`,
          condition: `{{ context.__operational__.nodes.get('N${i}', 0) <= 1 and context.__operational__.errors == 0 }}`,
        },
      ],
    })),
    nodes: n,
  }),
  'tool chain': (n) => ({
    config: chain(n, (i) => ({
      node_type: 'tool',
      event_triggers: [`S${i}`],
      tool_name: 'inc',
      context_parameter_field: 'value',
      output_field: 'value',
      event_emissions: [{ signal_name: `S${i + 1}` }],
    })),
    nodes: n,
    context: { value: { n: 0 } },
    tools: { inc: ({ n: x }) => ({ n: x + 1 }) },
  }),
  'llm chain (scripted model)': (n) => ({
    config: chain(n, (i) => ({
      node_type: 'llm',
      event_triggers: [`S${i}`],
      prompt: `Step ${i}: continue from {{ context.answer }}`,
      output_field: 'answer',
      event_emissions: [{ signal_name: `S${i + 1}` }],
    })),
    nodes: n,
    context: { answer: 'start' },
    callLlm: () => '{"answer": "ok"}',
  }),
  'fan-out (one child per item)': (n) => {
    // n children, each one router that reports back; the parent counts the reports: 2n + 1 node runs.
    const items = Array.from({ length: n }, (_, i) => ({ i }));
    return {
      config: {
        workflows: {
          bench: {
            Spawn: {
              node_type: 'child',
              event_triggers: ['S0'],
              child_workflow_name: 'worker',
              child_initial_signals: ['GO'],
              fan_out_field: 'items',
              child_input_field: 'item',
              signals_to_parent: ['DONE'],
            },
            Collect: { node_type: 'router', event_triggers: ['DONE'], event_emissions: [{ signal_name: 'COLLECTED' }] },
          },
          worker: { Work: { node_type: 'router', event_triggers: ['GO'], event_emissions: [{ signal_name: 'DONE' }] } },
        },
      },
      nodes: 2 * n + 1,
      context: { items },
    };
  },
};

async function runOnce(spec) {
  const backends = createInMemoryBackends();
  const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: spec.tools ?? {}, callLlm: spec.callLlm });
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const id = await orchestrate({
    config: spec.config,
    initialWorkflowName: 'bench',
    initialSignals: ['S0'],
    initialContext: spec.context ?? {},
    backends,
    broadcastSignalsCaller,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  globalThis.gc?.();
  const heapAfter = process.memoryUsage().heapUsed; // what the run keeps (context, telemetry), after GC
  // Count node runs over every execution (a fan-out's children have their own contexts).
  let ran = 0;
  for (const eid of await backends.context.listContexts()) {
    const ctx = await backends.context.readContext(eid);
    ran += Object.values(ctx.__operational__.nodes).reduce((a, b) => a + b, 0);
  }
  if (!ran) throw new Error(`execution ${id} ran nothing`);
  return { ms, heapDelta: heapAfter - heapBefore, ran };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const results = [];
for (const [name, make] of Object.entries(scenarios)) {
  const sizes = name.startsWith('fan-out') ? [...SIZES, 500] : SIZES;
  for (const n of sizes) {
    const spec = make(n);
    await runOnce(spec); // warm-up: compile templates, JIT
    const runs = [];
    for (let r = 0; r < REPEATS; r++) runs.push(await runOnce(spec));
    const ms = median(runs.map((r) => r.ms));
    const best = Math.min(...runs.map((r) => r.ms));
    const ran = runs[0].ran;
    results.push({
      scenario: name,
      size: n,
      node_runs: ran,
      ms: +ms.toFixed(2),
      nodes_per_s: Math.round((ran / ms) * 1000),
      // Best of the repeats: the engine's own cost, with less of the GC and scheduler noise of a busy machine.
      best_nodes_per_s: Math.round((ran / best) * 1000),
      heap_kb_per_node: +(median(runs.map((r) => r.heapDelta)) / ran / 1024).toFixed(2),
    });
    if (ran !== spec.nodes) throw new Error(`${name} @${n}: expected ${spec.nodes} node runs, got ${ran}`);
  }
}

// Flatness: throughput at the largest size relative to 100 nodes.
const flat = {};
for (const name of Object.keys(scenarios)) {
  const rows = results.filter((r) => r.scenario === name);
  const r100 = rows.find((r) => r.size === 100);
  const r800 = rows.find((r) => r.size === 800);
  flat[name] = {
    median: +(r800.nodes_per_s / r100.nodes_per_s).toFixed(2),
    best: +(r800.best_nodes_per_s / r100.best_nodes_per_s).toFixed(2),
  };
}

const pad = (s, n) => String(s).padEnd(n);
console.log(
  `${pad('scenario', 40)}${pad('size', 6)}${pad('node runs', 11)}${pad('median ms', 11)}${pad('nodes/s', 10)}${pad('best nodes/s', 14)}heap KB/node`,
);
for (const r of results) {
  console.log(
    `${pad(r.scenario, 40)}${pad(r.size, 6)}${pad(r.node_runs, 11)}${pad(r.ms, 11)}${pad(r.nodes_per_s, 10)}${pad(r.best_nodes_per_s, 14)}${r.heap_kb_per_node}`,
  );
}
console.log('\nthroughput at 800 nodes / throughput at 100 nodes (from the medians, from the best runs):');
for (const [k, v] of Object.entries(flat)) console.log(`  ${pad(k, 40)}${pad(v.median, 6)}${v.best}`);
console.log(`\n${JSON.stringify({ node: process.version, repeats: REPEATS, results, ratio_800_to_100: flat })}`);
