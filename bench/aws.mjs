// Local AWS benchmark: requests, bytes and list-price cost per node run of the real Lambda worker,
// run against the embedded emulators (dynalite, fauxqs) by createLocalRuntime.
// Run after `npm run build` (bench/run.mjs calls it). Prints tables, then the same figures as one JSON line.
//
// What is counted: the worker's requests (its DynamoDB and SQS clients, through createRequestCounter).
// Starting an execution (orchestrate: workflow registry, first context record, first message) goes
// through clients of its own and is reported per execution; status polling and reading the results go
// through an uncounted client, as a user's status calls are not part of a run. Receives that return no
// message (idle polling) are reported but left out of the per-node cost: on AWS the Lambda event source
// polls at a rate that depends on the queue, not on node runs.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  createDynamoBackends,
  createLocalRuntime,
  createRequestCounter,
  createRuntimeServices,
  createSignalSender,
  getExecutionStatus,
  silentLogger,
} from '../packages/aws/dist/index.js';
import { orchestrate } from '../packages/core/dist/index.js';

// ---- AWS list prices, us-east-1 (aws.amazon.com/{dynamodb,sqs,lambda,step-functions}/pricing, as of
// 2025; DynamoDB on demand after the November 2024 price cut). Free tiers ignored.
const PRICE = {
  dynamoWru: 6.25e-7, // $0.625 per million write request units: 1 per started KB of item written
  dynamoRru: 1.25e-7, // $0.125 per million read request units: 1 per started 4 KB strongly consistent (½ eventual, 2 transactional)
  sqsFifo: 5e-7, // $0.50 per million FIFO requests (each started 64 KB of payload is one request); standard: $0.40
  lambdaRequest: 2e-7, // $0.20 per million invocations
  lambdaGbSecondArm: 0.0000133334, // per GB-second, arm64
  stepFunctionsTransition: 2.5e-5, // Step Functions Standard: $0.025 per 1,000 state transitions ($25 per million)
};
// Lambda: 512 MB, billed per started millisecond of the measured in-process handler time. On AWS each
// DynamoDB/SQS call takes a few ms over the network; locally it is a loopback call into an emulator
// sharing the process's two cores, so the duration is an estimate either way.
const LAMBDA_GB = 0.5;

const TOTAL_TIMEOUT_MS = Number(process.env.BENCH_AWS_TIMEOUT_MS ?? 400_000);
const WAIT_MS = 180_000; // per execution
const CHAINS = [50, 400];
const FAN_OUT = 300;
const BIG_VALUE_BYTES = 1024 * 1024;

const watchdog = setTimeout(() => {
  console.error(`bench/aws.mjs: still running after ${TOTAL_TIMEOUT_MS} ms, giving up`);
  process.exit(2);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

const chain = (n, makeNode) => {
  const wf = {};
  for (let i = 0; i < n; i++) wf[`N${i}`] = makeNode(i);
  return { workflows: { bench: wf } };
};
const toolChain = (n) =>
  chain(n, (i) => ({
    node_type: 'tool',
    event_triggers: [`S${i}`],
    tool_name: 'inc',
    context_parameter_field: 'value',
    output_field: 'value',
    event_emissions: [{ signal_name: `S${i + 1}` }],
  }));
/** A tool chain whose first node writes a large random value that no later node uses. */
const bigValueChain = (n) => {
  const config = toolChain(n);
  config.workflows.bench.N0 = {
    node_type: 'tool',
    event_triggers: ['S0'],
    tool_name: 'big',
    output_field: 'blob',
    event_emissions: [{ signal_name: 'S1' }],
  };
  return config;
};
/** A fan-out: one child per item, each doubles its item and reports back; a fan-in router waits for all. */
const fanOut = (n) => ({
  workflows: {
    bench: {
      Fan: {
        node_type: 'child',
        event_triggers: ['S0'],
        child_workflow_name: 'item',
        child_initial_signals: ['GO'],
        fan_out_field: 'items',
        child_input_field: 'item',
        signals_to_parent: ['ITEM_DONE'],
        context_updates_to_parent: ['doubled'],
      },
      Gather: {
        node_type: 'router',
        event_triggers: ['ITEM_DONE'],
        event_emissions: [{ signal_name: 'ALL_DONE', condition: `{{ context.doubled | accumulated | length == ${n} }}` }],
      },
    },
    item: {
      Double: {
        node_type: 'tool',
        event_triggers: ['GO'],
        tool_name: 'double',
        context_parameter_field: 'item',
        output_field: 'doubled',
        event_emissions: [{ signal_name: 'ITEM_DONE' }],
      },
    },
  },
});

/** Counts invocations of the worker and their durations: receive (with messages) to delete of the batch. */
function invocationTimer(sqs) {
  const started = new Map(); // receipt handle -> receive time
  const s = { invocations: 0, billedMs: 0, ms: 0 };
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const op = context.commandName;
      if (op === 'DeleteMessageBatchCommand' || op === 'DeleteMessageCommand') {
        const handles = op === 'DeleteMessageCommand' ? [args.input.ReceiptHandle] : args.input.Entries.map((e) => e.ReceiptHandle);
        const t0 = handles.map((h) => started.get(h)).find((t) => t !== undefined);
        for (const h of handles) started.delete(h);
        if (t0 !== undefined) {
          const ms = performance.now() - t0;
          s.ms += ms;
          s.billedMs += Math.ceil(ms);
        }
      }
      const result = await next(args);
      if (op === 'ReceiveMessageCommand' && result.output?.Messages?.length) {
        s.invocations++;
        const now = performance.now();
        for (const m of result.output.Messages) started.set(m.ReceiptHandle, now);
      }
      return result;
    },
    { step: 'initialize', name: 'benchInvocationTimer' },
  );
  return { snapshot: () => ({ ...s }), reset: () => Object.assign(s, { invocations: 0, billedMs: 0, ms: 0 }) };
}

const sumOps = (byOp, names) => names.reduce((n, k) => n + (byOp[k] ?? 0), 0);

/** Dollars for a set of counts (worker or start), with `invocations` Lambda invocations of `billedMs` in total. */
function dollars(counts, { invocations, billedMs }) {
  const d = counts.dynamodb;
  const q = counts.sqs;
  const dynamo = d.writeUnits * PRICE.dynamoWru + d.readUnits * PRICE.dynamoRru;
  const sqs = (q.billedRequests - q.emptyReceives) * PRICE.sqsFifo;
  const lambda = invocations * PRICE.lambdaRequest + (billedMs / 1000) * LAMBDA_GB * PRICE.lambdaGbSecondArm;
  return { dynamo, sqs, lambda, total: dynamo + sqs + lambda };
}

async function main() {
  const counter = createRequestCounter();
  // Random text: deflate cannot shrink it much, so the stored bytes really are about its size.
  const bigValue = randomBytes(Math.ceil((BIG_VALUE_BYTES * 3) / 4))
    .toString('base64')
    .slice(0, BIG_VALUE_BYTES);
  const runtime = await createLocalRuntime({
    toolsRegistry: { inc: ({ n }) => ({ n: n + 1 }), big: () => bigValue, double: ({ n }) => n * 2 },
    requestCounter: counter,
    logger: silentLogger,
  });
  const { emulators } = runtime;
  const timer = invocationTimer(emulators.sqs);
  const clients = [];
  try {
    const client = (Ctor, extra = {}) => {
      const c = new Ctor({
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 5,
        ...extra,
      });
      clients.push(c);
      return c;
    };
    // Start side: its own clients and counter (the start Lambda on AWS).
    const startCounter = createRequestCounter();
    const startDynamo = client(DynamoDBClient, { endpoint: emulators.dynamoEndpoint });
    const startSqs = client(SQSClient, { endpoint: emulators.sqsEndpoint, useQueueUrlAsEndpoint: false });
    startCounter.attach(startDynamo);
    startCounter.attach(startSqs);
    const startServices = createRuntimeServices(
      {
        dynamo: startDynamo,
        sqs: startSqs,
        tableName: emulators.tableName,
        queueUrl: emulators.queueUrl,
        delayQueueUrl: emulators.delayQueueUrl,
        logger: silentLogger,
      },
      'soe-bench',
    );
    const startCaller = createSignalSender(startServices);
    // Observer: status polling and result reads, not counted.
    const observer = createDynamoBackends({
      client: client(DynamoDBClient, { endpoint: emulators.dynamoEndpoint }),
      tableName: emulators.tableName,
    });

    const waitIdle = async (id) => {
      const deadline = Date.now() + WAIT_MS;
      let idleSeen = 0;
      for (;;) {
        const s = await getExecutionStatus(observer.table, id);
        if (s.status === 'FAILED') throw new Error(`execution ${id} failed: ${s.error}`);
        if (s.status === 'NOT_FOUND') throw new Error(`execution ${id} not found`);
        if (s.status === 'IDLE' && ++idleSeen >= 2) return;
        if (s.status !== 'IDLE') idleSeen = 0;
        if (Date.now() > deadline) throw new Error(`execution ${id}: ${s.inFlight} broadcast(s) still in flight after ${WAIT_MS} ms`);
        await new Promise((r) => setTimeout(r, idleSeen ? 20 : 50));
      }
    };
    const nodeRuns = async (id) => {
      // Over the execution and its descendants.
      let ran = 0;
      const queue = [id];
      while (queue.length) {
        const eid = queue.pop();
        const ctx = await observer.context.getContext(eid);
        ran += Object.values(ctx.__operational__?.nodes ?? {}).reduce((a, b) => a + b, 0);
        queue.push(...(await observer.context.records(eid)).children());
      }
      return ran;
    };

    /** One execution: start it, wait until idle, return the worker's counts, the start's and the node runs. */
    const measure = async (config, initialContext) => {
      counter.reset();
      startCounter.reset();
      timer.reset();
      const t0 = performance.now();
      const id = await orchestrate({
        config,
        initialWorkflowName: 'bench',
        initialSignals: ['S0'],
        initialContext,
        backends: startServices.backends,
        broadcastSignalsCaller: startCaller,
      });
      const startMs = performance.now() - t0;
      const start = startCounter.counts();
      await waitIdle(id);
      const ms = performance.now() - t0;
      // Let the pollers' receives and the last delete settle before reading the counts.
      await new Promise((r) => setTimeout(r, 50));
      const worker = counter.counts();
      const inv = timer.snapshot();
      const ran = await nodeRuns(id);
      if (!ran) throw new Error(`execution ${id} ran nothing`);
      return { id, ran, ms, startMs, worker, start, inv };
    };

    // Warm-up: JIT, template compilation.
    await measure(toolChain(5), { value: { n: 0 } });

    // ---- the scenarios of the cost table
    const rows = [];
    let statusPoll;
    for (const n of CHAINS) {
      const r = await measure(toolChain(n), { value: { n: 0 } });
      if (r.ran !== n) throw new Error(`tool chain @${n}: expected ${n} node runs, got ${r.ran}`);
      rows.push(row('tool chain', n, r));
    }
    {
      const r = await measure(fanOut(FAN_OUT), { items: Array.from({ length: FAN_OUT }, (_, n) => ({ n })) });
      // Fan + one Gather per child report + one Double per child.
      if (r.ran !== 1 + 2 * FAN_OUT) throw new Error(`fan-out @${FAN_OUT}: expected ${1 + 2 * FAN_OUT} node runs, got ${r.ran}`);
      rows.push(row('fan-out', FAN_OUT, r));
      statusPoll = await measureStatusPoll(r.id, client, emulators, FAN_OUT);
      statusPoll.item_bytes_written_per_child = Math.round(r.worker.dynamodb.itemBytesWritten / FAN_OUT);
    }
    {
      const n = CHAINS[0];
      const r = await measure(bigValueChain(n), { value: { n: 0 } });
      if (r.ran !== n) throw new Error(`1 MB chain @${n}: expected ${n} node runs, got ${r.ran}`);
      rows.push(row('tool chain, unused 1 MB value', n, r));
    }

    print(rows, statusPoll);
  } finally {
    for (const c of clients) c.destroy();
    await runtime.close();
  }
}

/**
 * One status poll of a settled run, counted on a client of its own: today's reader (the run's status
 * facts) next to what the previous reader read (every partition of the run tree, whole).
 */
async function measureStatusPoll(id, client, emulators, children) {
  const counter = createRequestCounter();
  const dynamo = client(DynamoDBClient, { endpoint: emulators.dynamoEndpoint });
  counter.attach(dynamo);
  const backends = createDynamoBackends({ client: dynamo, tableName: emulators.tableName });
  const s = await getExecutionStatus(backends.table, id);
  if (s.status !== 'IDLE' || s.executions !== children + 1) throw new Error(`status poll: ${JSON.stringify(s)}`);
  const facts = counter.counts().dynamodb;
  counter.reset();
  // The previous reader: one Query of each execution's whole partition, level by level.
  let level = [id];
  while (level.length) {
    const records = await Promise.all(level.map((e) => backends.context.records(e)));
    level = records.flatMap((r) => r.children());
  }
  const partitions = counter.counts().dynamodb;
  const figures = (c) => ({
    requests: Object.values(c.byOperation).reduce((a, b) => a + b, 0),
    item_bytes_read: c.bytesRead,
    read_units: c.readUnits,
  });
  return { children, facts: figures(facts), whole_partitions: figures(partitions) };
}

/** Per-node figures of one measured execution. */
function row(scenario, n, r) {
  const { ran, worker: w, start: s, inv } = r;
  const per = (x) => +(x / ran).toFixed(3);
  const dOps = w.dynamodb.byOperation;
  const qOps = w.sqs.byOperation;
  const workerCost = dollars(w, inv);
  // The start as one invocation of the start Lambda, as long as orchestrate took here.
  const startCost = dollars(s, { invocations: 1, billedMs: Math.ceil(r.startMs) });
  const perMillion = (x) => +((x / ran) * 1e6).toFixed(2);
  const perNodeTotal = workerCost.total + startCost.total;
  return {
    scenario,
    nodes: n,
    node_runs: ran,
    ms: Math.round(r.ms),
    per_node: {
      dynamodb: {
        Query: per(dOps.Query ?? 0),
        GetItem: per(dOps.GetItem ?? 0),
        BatchGetItem: per(dOps.BatchGetItem ?? 0),
        PutItem: per(dOps.PutItem ?? 0),
        UpdateItem: per(dOps.UpdateItem ?? 0),
        DeleteItem: per(dOps.DeleteItem ?? 0),
        BatchWriteItem: per(dOps.BatchWriteItem ?? 0),
        reads: per(sumOps(dOps, ['Query', 'GetItem', 'BatchGetItem', 'Scan', 'TransactGetItems'])),
        writes: per(sumOps(dOps, ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'])),
        item_bytes_written: per(w.dynamodb.itemBytesWritten),
        request_bytes_written: per(w.dynamodb.bytesWritten),
        write_units: per(w.dynamodb.writeUnits),
        item_bytes_read: per(w.dynamodb.bytesRead),
        read_units: per(w.dynamodb.readUnits),
      },
      sqs: {
        Send: per(sumOps(qOps, ['SendMessage', 'SendMessageBatch'])),
        messages_sent: per(w.sqs.messagesSent),
        // Receives that returned messages (= worker invocations). Counting requests minus empty ones would
        // also count the pollers' long polls still open when the counts were read.
        Receive: per(inv.invocations),
        Delete: per(sumOps(qOps, ['DeleteMessage', 'DeleteMessageBatch'])),
        ChangeVisibility: per(sumOps(qOps, ['ChangeMessageVisibility', 'ChangeMessageVisibilityBatch'])),
        billed_requests: per(w.sqs.billedRequests - w.sqs.emptyReceives),
      },
      lambda_invocations: per(inv.invocations),
    },
    empty_receives: w.sqs.emptyReceives,
    ms_per_invocation: inv.invocations ? +(inv.ms / inv.invocations).toFixed(2) : 0,
    start: {
      dynamodb: s.dynamodb.byOperation,
      sqs: s.sqs.byOperation,
      item_bytes_written: s.dynamodb.itemBytesWritten,
      write_units: s.dynamodb.writeUnits,
      read_units: s.dynamodb.readUnits,
      ms: Math.round(r.startMs),
    },
    usd_per_million_node_runs: {
      dynamodb: perMillion(workerCost.dynamo),
      sqs: perMillion(workerCost.sqs),
      lambda: perMillion(workerCost.lambda),
      worker_total: perMillion(workerCost.total),
      start_amortized: perMillion(startCost.total),
      total: perMillion(perNodeTotal),
      step_functions_standard: 25,
      share_of_step_functions: +(perNodeTotal / ran / PRICE.stepFunctionsTransition).toFixed(4),
      step_functions_over_ours: +(PRICE.stepFunctionsTransition / (perNodeTotal / ran)).toFixed(1),
    },
  };
}

function print(rows, statusPoll) {
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  const all = rows;
  const f = (x, d = 2) => x.toFixed(d);

  console.log('Requests per node run (worker; start of the execution not included)');
  console.log(
    `${pad('scenario', 30)}${lpad('runs', 5)} | ${lpad('Query', 6)}${lpad('Get', 6)} | ${lpad('Put', 6)}${lpad('Update', 7)}${lpad('Batch', 6)} | ${lpad('Send', 6)}${lpad('Recv', 6)}${lpad('Del', 6)}${lpad('ChgVis', 7)}${lpad('msgs', 6)} | ${lpad('inv', 6)}${lpad('ms/inv', 8)}${lpad('empty rcv', 10)}`,
  );
  for (const r of all) {
    const d = r.per_node.dynamodb;
    const q = r.per_node.sqs;
    console.log(
      `${pad(r.scenario, 30)}${lpad(r.node_runs, 5)} | ${lpad(f(d.Query), 6)}${lpad(f(d.GetItem), 6)} | ${lpad(f(d.PutItem), 6)}${lpad(f(d.UpdateItem), 7)}${lpad(f(d.BatchWriteItem), 6)} | ${lpad(f(q.Send), 6)}${lpad(f(q.Receive), 6)}${lpad(f(q.Delete), 6)}${lpad(f(q.ChangeVisibility), 7)}${lpad(f(q.messages_sent), 6)} | ${lpad(f(r.per_node.lambda_invocations), 6)}${lpad(f(r.ms_per_invocation, 1), 8)}${lpad(r.empty_receives, 10)}`,
    );
  }

  console.log('\nBytes and request units per node run (item bytes as DynamoDB sizes items; request bytes = HTTP bodies)');
  console.log(
    `${pad('scenario', 30)}${lpad('item B written', 15)}${lpad('req B written', 14)}${lpad('WRU', 7)}${lpad('item B read', 13)}${lpad('RRU', 8)}${lpad('SQS billed', 11)} | ${lpad('start WRU', 10)}${lpad('start item B', 13)}`,
  );
  for (const r of all) {
    const d = r.per_node.dynamodb;
    console.log(
      `${pad(r.scenario, 30)}${lpad(Math.round(d.item_bytes_written), 15)}${lpad(Math.round(d.request_bytes_written), 14)}${lpad(f(d.write_units), 7)}${lpad(Math.round(d.item_bytes_read), 13)}${lpad(f(d.read_units), 8)}${lpad(f(r.per_node.sqs.billed_requests), 11)} | ${lpad(r.start.write_units, 10)}${lpad(r.start.item_bytes_written, 13)}`,
    );
  }

  console.log(
    `\nUSD per million node runs at us-east-1 list prices (Lambda arm64 ${LAMBDA_GB * 1024} MB, measured ms; SQS FIFO) vs Step Functions Standard $25`,
  );
  console.log(
    `${pad('scenario', 30)}${lpad('DynamoDB', 9)}${lpad('SQS', 7)}${lpad('Lambda', 8)}${lpad('worker', 8)}${lpad('start', 7)}${lpad('total', 8)}${lpad('% of SFN', 9)}${lpad('SFN / ours', 11)}`,
  );
  for (const r of all) {
    const u = r.usd_per_million_node_runs;
    console.log(
      `${pad(r.scenario, 30)}${lpad(f(u.dynamodb), 9)}${lpad(f(u.sqs), 7)}${lpad(f(u.lambda), 8)}${lpad(f(u.worker_total), 8)}${lpad(f(u.start_amortized), 7)}${lpad(f(u.total), 8)}${lpad(f(u.share_of_step_functions * 100, 1), 9)}${lpad(`${u.step_functions_over_ours}x`, 11)}`,
    );
  }

  // The issue's targets, from the rows above.
  const [short, long, , big] = rows;
  const readPerNode = (r) => r.per_node.dynamodb.item_bytes_read;
  const valueWritten =
    big.per_node.dynamodb.item_bytes_written * big.node_runs - short.per_node.dynamodb.item_bytes_written * short.node_runs;
  const checks = {
    read_per_node_400_over_50: +(readPerNode(long) / readPerNode(short)).toFixed(3),
    usd_per_million_400_chain_worker: long.usd_per_million_node_runs.worker_total,
    read_per_node_1mb_over_plain: +(readPerNode(big) / readPerNode(short)).toFixed(3),
    bytes_written_for_1mb_value_over_its_size: +(valueWritten / BIG_VALUE_BYTES).toFixed(3),
  };
  console.log(
    '\nTargets (issue 12): read/node 400 vs 50 ≤ 1.3; 400 chain ≤ $2.5/M (worker); 1 MB chain read/node vs plain ≤ 1.3; value written ≤ 1.3× its size',
  );
  console.log(
    `  read/node 400 vs 50: ${f(checks.read_per_node_400_over_50, 3)}x | 400 chain worker: $${f(checks.usd_per_million_400_chain_worker)}/M | read/node 1 MB chain vs plain: ${f(checks.read_per_node_1mb_over_plain, 3)}x | 1 MB value written: ${f(checks.bytes_written_for_1mb_value_over_its_size, 3)}x its size`,
  );

  if (statusPoll) {
    const { facts: a, whole_partitions: b } = statusPoll;
    console.log(`\nOne status poll of the settled fan-out of ${statusPoll.children} (strongly consistent)`);
    console.log(`${pad('reader', 40)}${lpad('requests', 9)}${lpad('item B read', 13)}${lpad('RRU', 7)}`);
    console.log(
      `${pad('status facts (S# of the main execution)', 40)}${lpad(a.requests, 9)}${lpad(a.item_bytes_read, 13)}${lpad(a.read_units, 7)}`,
    );
    console.log(
      `${pad('every partition of the tree (previous)', 40)}${lpad(b.requests, 9)}${lpad(b.item_bytes_read, 13)}${lpad(b.read_units, 7)}`,
    );
    console.log(`item bytes the worker wrote per child of the fan-out: ${statusPoll.item_bytes_written_per_child}`);
  }

  console.log(`\n${JSON.stringify({ node: process.version, prices: PRICE, lambda_gb: LAMBDA_GB, rows, checks, status_poll: statusPoll })}`);
}

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0); // SDK sockets and emulator timers must not keep the process alive
  },
  (e) => {
    console.error(`bench/aws.mjs failed: ${e?.stack ?? e}`);
    process.exit(1);
  },
);
