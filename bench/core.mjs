// In-process engine benchmark (`npm run bench`, which builds first): nodes per second (CPU time) and
// retained bytes per node run for chains of 100/800/3,200 nodes, contexts of 10/1,000 fields, a
// 10,000-long history and a 100-child fan-out with a large registry. Prints a table, the ratios the
// issue asks about (each taken within this one run), then everything as JSON.
//
// The machine is shared: figures are CPU time (process.cpuUsage, garbage collection included), warmed
// up, group by group, each group in a process of its own (BENCH_ONE_PROCESS=1: all in one), in
// BENCH_REPEATS rounds that each time every size of the group once. A sample is as many runs as fill
// about BENCH_BATCH_MS, so short workloads are not at the mercy of one collection. Compare ratios
// within one run rather than absolute figures across runs. BENCH_ONLY=<regex> keeps some workloads.
// Bytes kept per node run: the heap after a full collection, before and after runs that are kept
// alive (at least BENCH_RETAINED_NODE_RUNS node runs in all), median of five such samples.
//
// With SOE_UPSTREAM=/path/to/upstream/checkout, the shared workloads also run through the upstream
// Python engine (bench/upstream.py, with python3), each group right after ours, and the table shows how
// many times faster we are.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createAllNodes, createInMemoryBackends, orchestrate, prepareExecution, storeExecution } from '../packages/core/dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 40);
// Node runs a memory sample keeps alive at least: code compiled while a sample runs, once per process,
// is then spread over enough runs not to pass for what each run keeps.
const RETAINED_NODE_RUNS = Number(process.env.BENCH_RETAINED_NODE_RUNS ?? 40000);

// ---- workloads ---------------------------------------------------------------------------------

function chain(n, makeNode) {
  const wf = {};
  for (let i = 0; i < n; i++) wf[`N${i}`] = makeNode(i);
  return wf;
}
const routerNode = (i) => ({ node_type: 'router', event_triggers: [`S${i}`], event_emissions: [{ signal_name: `S${i + 1}` }] });
const toolNode = (i) => ({
  node_type: 'tool',
  event_triggers: [`S${i}`],
  tool_name: 'inc',
  context_parameter_field: 'value',
  output_field: 'value',
  event_emissions: [{ signal_name: `S${i + 1}` }],
});
const llmNode = (i) => ({
  node_type: 'llm',
  event_triggers: [`S${i}`],
  prompt: `Step ${i}: continue from {{ context.answer }}`,
  output_field: 'answer',
  event_emissions: [{ signal_name: `S${i + 1}` }],
});
// A router whose condition reads the context, so a context's size shows in what every node costs.
const readingRouter = (i) => ({
  node_type: 'router',
  event_triggers: [`S${i}`],
  event_emissions: [{ signal_name: `S${i + 1}`, condition: '{{ context.f0 is defined and context.value.n >= 0 }}' }],
});

const fields = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, `value ${i}`]));

function fanOut(unusedNodes) {
  const workflows = {
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
  };
  if (unusedNodes) workflows.unused = chain(unusedNodes, (i) => ({ ...routerNode(i), event_triggers: [`U${i}`] }));
  return workflows;
}

const tools = { inc: ({ n }) => ({ n: n + 1 }) };
const callLlm = () => '{"answer": "ok"}';

/**
 * Each workload: YAML text (as users pass it), the initial context, and how many node runs it makes.
 * `shared` ones can run on the upstream engine too (they need nothing but orchestrate()). Chains of
 * 3,200 nodes are not: the upstream engine takes about three minutes for each run of one.
 */
function workloads() {
  const out = [];
  const add = (group, size, workflows, extra = {}) =>
    out.push({ group, size, yaml: stringify({ workflows }), name: `${group} @${size}`, ...extra });
  for (const n of [100, 800, 3200]) add('router chain', n, { bench: chain(n, routerNode) }, { nodeRuns: n, shared: n <= 800 });
  add('router chain', 200, { bench: chain(200, routerNode) }, { nodeRuns: 200, shared: true });
  for (const n of [100, 800, 3200])
    add('tool chain', n, { bench: chain(n, toolNode) }, { nodeRuns: n, context: { value: { n: 0 } }, tool: 'inc', shared: n <= 800 });
  for (const n of [100, 800, 3200])
    add('llm chain', n, { bench: chain(n, llmNode) }, { nodeRuns: n, context: { answer: 'start' }, llm: true, shared: n <= 800 });
  // 100-node chains of eight configs in turn (names and prompts of their own): as many distinct node
  // configs as an 800-node chain, in runs of 100. Set beside the two sizes, it tells what a longer
  // chain costs from what more distinct node configs cost.
  for (const [group, makeNode, context] of [
    ['tool chain', toolNode, { value: { n: 0 } }],
    ['llm chain', llmNode, { answer: 'start' }],
  ]) {
    const configs = Array.from({ length: 8 }, (_, k) => {
      const wf = {};
      for (const [name, node] of Object.entries(chain(100, makeNode)))
        wf[`C${k}${name}`] = node.prompt ? { ...node, prompt: `Config ${k}. ${node.prompt}` } : node;
      return stringify({ workflows: { bench: wf } });
    });
    out.push({ group, size: '100 ×8', yaml: configs[0], configs, name: `${group} @100, 8 configs in turn`, nodeRuns: 100, context });
  }
  // The same chains without step I/O in telemetry (`capture: { maxChars: 0 }`): what the capture keeps.
  add(
    'tool chain, capture off',
    800,
    { bench: chain(800, toolNode) },
    { nodeRuns: 800, context: { value: { n: 0 } }, capture: { maxChars: 0 } },
  );
  add(
    'llm chain, capture off',
    800,
    { bench: chain(800, llmNode) },
    { nodeRuns: 800, context: { answer: 'start' }, capture: { maxChars: 0 } },
  );
  for (const f of [10, 1000])
    add(
      'context fields',
      f,
      { bench: chain(200, readingRouter) },
      { nodeRuns: 200, context: { ...fields(f), value: { n: 0 } }, shared: true },
    );
  for (const h of [1, 10000])
    add(
      'history length',
      h,
      { bench: chain(200, toolNode) },
      {
        nodeRuns: 200,
        tool: 'inc',
        // Both are stored before the timed run, so the two sizes time the same work: the node runs.
        // One entry is an ordinary initial value (shared with upstream); 10,000 are stored as a history.
        prestart: true,
        ...(h === 1 ? { context: { value: { n: 0 } }, shared: true } : { history: h }),
      },
    );
  for (const r of [0, 1000])
    add('fan-out 100 children, unused registry nodes', r, fanOut(r), {
      nodeRuns: 201,
      context: { items: Array.from({ length: 100 }, (_, i) => ({ i })) },
      shared: true,
    });
  return out;
}

// ---- one run -------------------------------------------------------------------------------------

/** One long history per length, built once and shared by every set-up (frozen: nothing may change it). */
const histories = new Map();
const longHistory = (n) => {
  if (!histories.has(n))
    histories.set(
      n,
      Array.from({ length: n }, (_, i) => Object.freeze({ n: i - n })),
    );
  return histories.get(n);
};

/**
 * Starts a workload; resolves to the run itself (what is measured). A `prestart` workload stores its
 * execution first (not measured; a long history is stored there, as orchestrate takes one initial value
 * per field) and runs it from there.
 */
async function prepare(w, backends, broadcastSignalsCaller) {
  // A workload of several configs runs the next one each time.
  if (w.configs) w.turn = ((w.turn ?? -1) + 1) % w.configs.length;
  const opts = {
    config: w.configs ? w.configs[w.turn] : w.yaml,
    initialWorkflowName: 'bench',
    initialSignals: ['S0'],
    initialContext: w.context ?? {},
    backends,
    broadcastSignalsCaller,
    ...(w.capture ? { capture: w.capture } : {}),
  };
  if (!w.prestart) return () => orchestrate(opts);
  const prepared = await prepareExecution(opts);
  // One history's values shared by every set-up (each gets its own list), so building them is not
  // garbage that the measured runs would collect.
  if (w.history) prepared.fields.value = longHistory(w.history).slice();
  await storeExecution(backends, prepared);
  return () => broadcastSignalsCaller(prepared.executionId, prepared.initialSignals);
}

/** A fresh engine with the workload ready to run: `run` is what is measured, `check` verifies it afterwards. */
async function setUp(w) {
  const backends = createInMemoryBackends();
  const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: tools, callLlm });
  const run = await prepare(w, backends, broadcastSignalsCaller);
  // The node runs are counted after every run; the telemetry is read back only when asked (it formats
  // every event, and that garbage would be collected during the next timed run).
  const check = async ({ telemetry = false } = {}) => {
    let ran = 0;
    const ids = await backends.context.listContexts();
    for (const eid of ids) {
      const ctx = await backends.context.readContext(eid);
      ran += Object.values(ctx.__operational__.nodes).reduce((a, b) => a + b, 0);
    }
    if (ran !== w.nodeRuns) throw new Error(`${w.name}: expected ${w.nodeRuns} node runs, got ${ran}`);
    if (telemetry && !(await backends.telemetry.getEvents(ids[0])).length) throw new Error(`${w.name}: no telemetry recorded`);
  };
  return { run, check };
}

const cpuNowMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/**
 * One timing sample: `batch` runs, each on its own engine, CPU per run. Only the runs are timed (the
 * set-up before and the check after are not), and each run is dropped when checked, so garbage
 * collection is charged as it falls: a sample spans tens of milliseconds, so a collection is spread
 * over many runs instead of landing on one of them.
 */
async function timedSample(w, batch) {
  let cpuMs = 0;
  for (let i = 0; i < batch; i++) {
    const { run, check } = await setUp(w);
    const t0 = cpuNowMs();
    await run();
    cpuMs += cpuNowMs() - t0;
    await check();
  }
  return cpuMs / batch;
}

/** What a run keeps reachable after a full collection (contexts, registries, telemetry): `batch` runs kept alive, per run. */
async function retainedBytes(w, batch) {
  const setups = [];
  for (let i = 0; i < batch; i++) setups.push(await setUp(w));
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (const s of setups) await s.run();
  globalThis.gc?.();
  const retained = (process.memoryUsage().heapUsed - before) / batch;
  for (const s of setups) await s.check({ telemetry: true });
  return retained;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- upstream ---------------------------------------------------------------------------------------

/** The upstream engine's nodes/s for the shared workloads of `list` (run when SOE_UPSTREAM is set). */
function runUpstream(list) {
  const root = process.env.SOE_UPSTREAM;
  if (!existsSync(root)) throw new Error(`SOE_UPSTREAM=${root} does not exist`);
  const shared = list.filter((w) => w.shared);
  if (!shared.length) return {};
  // The upstream engine takes seconds where we take milliseconds: a few samples each (after its
  // warm-up) are enough; a sample is as many runs as fill 200 ms.
  const input = JSON.stringify({ repeats: Number(process.env.UPSTREAM_REPEATS ?? 3), sampleSeconds: 0.2, workloads: shared });
  const r = spawnSync(process.env.PYTHON ?? 'python3', [join(here, 'upstream.py'), root], { input, encoding: 'utf8', maxBuffer: 64e6 });
  if (r.status !== 0) throw new Error(`upstream bench failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ---- main ---------------------------------------------------------------------------------------

// BENCH_ONLY=<regex> keeps the matching workloads (ratios need both of their pair).
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const list = workloads().filter((w) => !only || only.test(w.name));
const groups = [...new Set(list.map((w) => w.group))];

/**
 * Times and weighs one group's workloads (and runs the upstream engine on them). Group by group, as
 * the upstream harness measures workload by workload: a workload is timed with the engine's code
 * warmed on its own kind of node (a mix of all kinds would measure the mix). Within a group, round
 * robin: every round takes one sample of each size, so a busy spell on this shared machine weighs on
 * all of them alike and the ratios between sizes stay fair. Every other round takes them in reverse
 * order: a sample pays for the garbage the one before it left, and with one fixed order the same size
 * would always follow the same other size.
 */
async function measureGroup(group, g) {
  const members = list.filter((w) => w.group === group);
  const batches = new Map();
  const samples = new Map(members.map((w) => [w, []]));
  for (const w of members) {
    // Warm until the JIT has settled (a few runs, or 300 ms of CPU), then size the batch from the fastest runs.
    for (let i = 0, spent = 0; i < 3 || (spent < 300 && i < 40); i++) spent += await timedSample(w, 1);
    let fastest = Infinity;
    for (let i = 0; i < 5; i++) fastest = Math.min(fastest, await timedSample(w, 1));
    batches.set(w, Math.max(1, Math.round(BATCH_MS / Math.max(0.05, fastest))));
  }
  // Chains of 3,200 nodes take their rounds after the others: a sample of one leaves megabytes of
  // garbage that the next sample would collect, and no ratio the bench reports pairs them with a size
  // that could carry that cost instead.
  for (const phase of [members.filter((w) => w.size !== 3200), members.filter((w) => w.size === 3200)]) {
    const reversed = [...phase].reverse();
    for (let round = 0; round < REPEATS && phase.length; round++) {
      for (const w of round % 2 ? reversed : phase) samples.get(w).push(await timedSample(w, batches.get(w)));
      process.stderr.write(`\r${group}: round ${round + 1}/${REPEATS} (group ${g + 1}/${groups.length})`.padEnd(80));
    }
  }
  // Upstream right after the same group, so a busy spell on this shared machine weighs on both sides
  // of a ratio rather than on one (at the end, minutes later, it would fall on one side only).
  let upstream = {};
  if (process.env.SOE_UPSTREAM) {
    process.stderr.write(`\r${group}: upstream`.padEnd(80));
    upstream = runUpstream(members);
  }
  const results = [];
  for (const w of members) {
    const cpu = samples.get(w);
    const retained = [];
    const keptRuns = Math.max(batches.get(w), Math.ceil(RETAINED_NODE_RUNS / w.nodeRuns));
    for (let i = 0; i < 5; i++) retained.push(await retainedBytes(w, keptRuns));
    results.push({
      workload: w.name,
      group: w.group,
      size: w.size,
      node_runs: w.nodeRuns,
      runs_per_sample: batches.get(w),
      cpu_ms: +median(cpu).toFixed(3),
      nodes_per_s: Math.round((w.nodeRuns / median(cpu)) * 1000),
      best_nodes_per_s: Math.round((w.nodeRuns / Math.min(...cpu)) * 1000),
      retained_bytes_per_node: Math.round(median(retained) / w.nodeRuns),
      samples_ms: cpu,
      ...(upstream[w.name] ? { upstream_nodes_per_s: upstream[w.name] } : {}),
    });
  }
  return results;
}

// Each group runs in a process of its own (BENCH_GROUP names it), as each upstream group does: what
// one group leaves in a process (a grown old generation, the V8 heap's decisions from the runs it has
// seen) would otherwise weigh on the groups after it, and on their long chains more than on short
// ones. BENCH_ONE_PROCESS=1 runs them all here, one after the other.
if (process.env.BENCH_GROUP) {
  const g = groups.indexOf(process.env.BENCH_GROUP);
  if (g < 0) throw new Error(`BENCH_GROUP=${process.env.BENCH_GROUP}: no such group among ${groups.join(', ')}`);
  const results = await measureGroup(groups[g], g);
  process.stdout.write(`${JSON.stringify(results)}\n`);
  process.exit(0);
}
const results = [];
for (const [g, group] of groups.entries()) {
  if (process.env.BENCH_ONE_PROCESS) {
    results.push(...(await measureGroup(group, g)));
    continue;
  }
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_GROUP: group },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64e6,
  });
  if (child.status !== 0) throw new Error(`bench group '${group}' failed (exit ${child.status})`);
  results.push(...JSON.parse(child.stdout.trim().split('\n').pop()));
}
process.stderr.write('\n');

if (!process.env.SOE_UPSTREAM)
  console.log('\nupstream comparison skipped: set SOE_UPSTREAM=/path/to/upstream/soe/checkout (needs python3) to run it');

const row = (g, s) => results.find((r) => r.group === g && r.size === s);
/**
 * The median of the ratios of samples taken in the same round (one right after the other): a busy
 * spell on this shared machine then weighs on both sides of each ratio. Null for workloads timed in
 * different phases (chains of 3,200 nodes).
 */
const paired = (a, b) => {
  const [sa, sb] = [a.samples_ms, b.samples_ms];
  if ((a.size === 3200) !== (b.size === 3200) || sa.length !== sb.length) return null;
  return +median(sa.map((ms, i) => a.node_runs / ms / (b.node_runs / sb[i]))).toFixed(2);
};
// Paired by round, from the medians and from the best runs: on a busy machine the best runs show the
// engine's own cost.
const ratio = (a, b) =>
  a &&
  b && {
    paired: paired(a, b),
    median: +(a.nodes_per_s / b.nodes_per_s).toFixed(2),
    best: +(a.best_nodes_per_s / b.best_nodes_per_s).toFixed(2),
  };
const ratios = {
  'router chain 800 / 100': ratio(row('router chain', 800), row('router chain', 100)),
  'router chain 3200 / 100': ratio(row('router chain', 3200), row('router chain', 100)),
  'tool chain 800 / 100': ratio(row('tool chain', 800), row('tool chain', 100)),
  'llm chain 800 / 100': ratio(row('llm chain', 800), row('llm chain', 100)),
  'tool chain 100, 8 configs in turn / 1': ratio(row('tool chain', '100 ×8'), row('tool chain', 100)),
  'llm chain 100, 8 configs in turn / 1': ratio(row('llm chain', '100 ×8'), row('llm chain', 100)),
  'context 1000 fields / 10': ratio(row('context fields', 1000), row('context fields', 10)),
  'history 10000 / 1': ratio(row('history length', 10000), row('history length', 1)),
  'fan-out registry 1000 unused / 0': ratio(
    row('fan-out 100 children, unused registry nodes', 1000),
    row('fan-out 100 children, unused registry nodes', 0),
  ),
};

/**
 * Bytes kept per distinct node config (its parsed config, registry, compiled templates, the engine's
 * per-config records): ten fresh 800-node configs of a kind run once each, the heap after GC before
 * and after, per node config. What a process keeps for the configs it has seen, and what each run of
 * a config with many nodes reads back.
 */
async function bytesPerNodeConfig(makeNode, context, extra) {
  const configs = Array.from({ length: 10 }, (_, k) => {
    const wf = {};
    for (const [name, node] of Object.entries(chain(800, makeNode)))
      wf[`K${k}${name}`] = node.prompt ? { ...node, prompt: `Kept ${k}. ${node.prompt}` } : node;
    return stringify({ workflows: { bench: wf } });
  });
  const runAll = async (list) => {
    for (const yaml of list) {
      const w = { yaml, context, nodeRuns: 800, name: 'per-config', ...extra };
      const { run, check } = await setUp(w);
      await run();
      await check();
    }
  };
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  await runAll(configs);
  globalThis.gc?.();
  return Math.round((process.memoryUsage().heapUsed - before) / (configs.length * 800));
}
// BENCH_ONLY='per node config' measures only this.
const perNodeConfig =
  only && !only.test('per node config')
    ? {}
    : {
        router: await bytesPerNodeConfig(routerNode, {}),
        tool: await bytesPerNodeConfig(toolNode, { value: { n: 0 } }),
        llm: await bytesPerNodeConfig(llmNode, { answer: 'start' }),
      };

const pad = (s, n) => String(s).padEnd(n);
console.log(
  `${pad('workload', 52)}${pad('node runs', 11)}${pad('cpu ms', 10)}${pad('nodes/s', 10)}${pad('best n/s', 10)}${pad('B/node', 8)}${process.env.SOE_UPSTREAM ? 'vs upstream' : ''}`,
);
for (const r of results) {
  const vs = r.upstream_nodes_per_s ? `${(r.nodes_per_s / r.upstream_nodes_per_s).toFixed(1)}x (${r.upstream_nodes_per_s}/s)` : '';
  console.log(
    `${pad(r.workload, 52)}${pad(r.node_runs, 11)}${pad(r.cpu_ms, 10)}${pad(r.nodes_per_s, 10)}${pad(r.best_nodes_per_s, 10)}${pad(r.retained_bytes_per_node, 8)}${vs}`,
  );
}
console.log('\nratios within this run (nodes/s; 1.0 = flat): paired by round, from the medians, from the best runs');
for (const [k, v] of Object.entries(ratios)) if (v) console.log(`  ${pad(k, 40)}${pad(v.paired ?? '-', 8)}${pad(v.median, 6)}${v.best}`);
if (Object.keys(perNodeConfig).length)
  console.log(
    `\nbytes kept per distinct node config (800-node configs, one run each): ${Object.entries(perNodeConfig)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
console.log(`\n${JSON.stringify({ node: process.version, repeats: REPEATS, results, ratios, bytes_per_node_config: perNodeConfig })}`);
