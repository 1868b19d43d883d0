/**
 * The one test that bundles for real: synthesizes the ready stack with esbuild, checks what each asset
 * holds and weighs, then loads the deployed bundles — in a folder laid out like Lambda's, where only the
 * AWS SDK the Node.js runtime ships can be found, with the environment the template gives them — and
 * runs the demo workflow through them against the embedded emulators (dynalite, fauxqs): start → FIFO
 * queue → worker (through a poller that behaves like the Lambda SQS event source) → status.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import type { LocalEmulators, LocalSqsEventSource } from '@soe/aws';
import { RUNTIME_PROVIDED } from '@soe/cdk';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoeStack } from '../lib/soe-stack.js';
import { measureBundle, SIZE_TARGETS } from '../scripts/bundle-sizes.js';
import { newApp, ROOT, tempDir } from './cdk-helpers.js';

/**
 * `require("…")` texts in the bundles that are not module loads the bundle depends on; esbuild leaves
 * them alone, and the load test below shows that nothing is missing at cold start.
 */
const OPTIONAL_REQUIRES = [
  // The AWS SDK's optional SigV4a signers (multi-region endpoints only), named in its error messages.
  /^@aws-sdk\/signature-v4(a|-crt)$/,
  // nunjucks' template-file watcher, loaded in a try/catch only with `watch: true`, which SOE never sets.
  /^chokidar$/,
  // Text of the code ajv generates for standalone validators, not a call.
  /^ajv\/dist\/runtime\//,
];

type Handler = (event: unknown, context?: unknown) => Promise<Record<string, unknown>>;
interface Fn {
  /** The asset folder in cdk.out. */
  asset: string;
  /** A copy of it where Lambda would unzip it (/var/task), next to the runtime's SDK only. */
  dir: string;
  environment: Record<string, unknown>;
}

const NAMES = ['Worker', 'Start', 'Signal', 'Status', 'DeadLetter'] as const;
const require = createRequire(import.meta.url);
const fns: Record<(typeof NAMES)[number], Fn> = {} as never;
let outdir: string;
let emulators: LocalEmulators | undefined;
let sources: LocalSqsEventSource[] = [];

beforeAll(() => {
  // The bundled SDK warns once per load that it will need Node 22 in 2027 (Lambda runs 22).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const app = newApp({ bundle: true });
  const stack = new SoeStack(app, 'Soe');
  outdir = app.outdir;
  const template = Template.fromStack(stack); // synthesizes, and bundles
  // Lambda's layout: the task folder, and the runtime's node_modules (the AWS SDK v3 and its @smithy
  // parts) on the module path. Here the runtime's SDK is the repository's: it resolves nothing else.
  const lambda = tempDir('soe-lambda-');
  mkdirSync(join(lambda, 'node_modules'));
  for (const scope of RUNTIME_PROVIDED.map((p) => p.replace('/*', ''))) {
    symlinkSync(join(ROOT, 'node_modules', scope), join(lambda, 'node_modules', scope));
  }
  for (const [id, res] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
    const name = NAMES.find((n) => id.startsWith(`Soe${n}`))!;
    const hash = String(res.Properties.Code.S3Key).replace(/\.zip$/, '');
    const asset = join(outdir, `asset.${hash}`);
    const dir = join(lambda, name);
    cpSync(asset, dir, { recursive: true });
    fns[name] = { asset, dir, environment: res.Properties.Environment.Variables };
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await emulators?.close();
});

describe('the bundles', () => {
  it('are one CommonJS file each, without source maps by default', () => {
    for (const [name, fn] of Object.entries(fns)) {
      expect(existsSync(join(fn.asset, 'index.js')), name).toBe(true);
      expect(existsSync(join(fn.asset, 'index.js.map')), name).toBe(false);
    }
  });

  it('weigh what issue 11 allows: status and signal under 300 KB, the worker under 1 MB', () => {
    for (const name of NAMES) expect(statSync(join(fns[name].asset, 'index.js')).size, name).toBeLessThan(SIZE_TARGETS[name]);
    expect(SIZE_TARGETS.Signal).toBe(300_000);
    expect(SIZE_TARGETS.Status).toBe(300_000);
    expect(SIZE_TARGETS.Worker).toBe(1_000_000);
  });

  it('signal and status carry no engine: no YAML parser, no template engine, no schema validator', () => {
    // Texts of the yaml, nunjucks and ajv packages that minification keeps.
    const markers = ['Nested mappings are not allowed in compact mappings', 'Template render error', 'unknown keyword: "'];
    const code = (name: (typeof NAMES)[number]) => readFileSync(join(fns[name].asset, 'index.js'), 'utf8');
    for (const name of ['Signal', 'Status'] as const) {
      for (const marker of markers) expect(code(name).includes(marker), `${name}: ${marker}`).toBe(false);
    }
    // The worker runs the engine and carries them: the markers are real.
    for (const marker of markers) expect(code('Worker')).toContain(marker);
  });

  it('npm run bundle-sizes measures exactly what the construct deploys', async () => {
    for (const name of ['Signal', 'Status'] as const) {
      const measured = await measureBundle(name);
      expect(measured.bytes, name).toBe(statSync(join(fns[name].asset, 'index.js')).size);
      expect(measured.mapBytes, name).toBe(0);
    }
  });

  it('require nothing but Node built-ins and the AWS SDK that the Lambda runtime ships', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const runtime = RUNTIME_PROVIDED.map((p) => p.replace('*', ''));
    for (const [name, fn] of Object.entries(fns)) {
      const code = readFileSync(join(fn.asset, 'index.js'), 'utf8');
      const required = new Set([...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!));
      expect(
        [...required].filter((m) => !builtins.has(m) && !runtime.some((r) => m.startsWith(r)) && !OPTIONAL_REQUIRES.some((o) => o.test(m))),
        name,
      ).toEqual([]);
    }
    // The SDK clients come from the runtime, not from the bundle.
    expect(readFileSync(join(fns.Status.asset, 'index.js'), 'utf8')).toMatch(/require\(["']@aws-sdk\/client-dynamodb["']\)/);
  });

  it('load where Lambda would (the runtime’s SDK, no other node_modules) and export a handler', () => {
    for (const [name, fn] of Object.entries(fns)) {
      // A copy of its own: the end-to-end test below loads fn.dir with the emulators' settings.
      const dir = `${fn.dir}-loaded`;
      cpSync(fn.dir, dir, { recursive: true });
      const refs = {
        TABLE_NAME: 'soe',
        QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/soe.fifo',
        DELAY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/soe-delayed',
      };
      const mod = withEnv(envFor(fn, refs), dir, () => require(join(dir, 'index.js')));
      expect(typeof (mod as { handler?: unknown }).handler, name).toBe('function');
    }
  });

  it('carry the deployed workflows (start) and the scripted model (worker)', () => {
    expect(readFileSync(join(fns.Start.dir, 'workflows', 'hello.yaml'), 'utf8')).toMatch(/node_type: router/);
    expect(existsSync(join(fns.Worker.dir, 'scripted-model.yaml'))).toBe(true);
    expect(existsSync(join(fns.Signal.dir, 'workflows'))).toBe(false);
  });

  it('run the demo workflow end to end against the emulators', async () => {
    const aws = await import('@soe/aws');
    emulators = await aws.startLocalEmulators();
    const e = emulators;
    const refs = { TABLE_NAME: e.tableName, QUEUE_URL: e.queueUrl, DELAY_QUEUE_URL: e.delayQueueUrl };
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: e.dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: e.sqsEndpoint,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const load = (name: keyof typeof fns): Handler =>
      (withEnv(envFor(fns[name], refs), fns[name].dir, () => require(join(fns[name].dir, 'index.js'))) as { handler: Handler }).handler;
    const [start, status, worker] = [load('Start'), load('Status'), load('Worker')];

    // Lambda runs handlers with the asset as the working directory: the start function finds its workflows there.
    const started = await withEnv({}, fns.Start.dir, () =>
      start({
        workflowName: 'hello',
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { message: 'please fix asap' },
      }),
    );
    expect(started.error).toBeUndefined();
    const executionId = started.executionId as string;

    sources = [e.queueUrl, e.delayQueueUrl].map(
      (queueUrl) => new aws.LocalSqsEventSource({ sqs: e.sqs, queueUrl, handler: worker as never, batchSize: 10, concurrency: 2 }),
    );
    for (const s of sources) s.start();
    let answer: Record<string, unknown> = {};
    for (let i = 0; i < 150; i++) {
      answer = await status({ executionId, includeContext: true });
      if (answer.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(answer.status, JSON.stringify(answer.error)).toBe('IDLE');
    const context = answer.context as Record<string, unknown[]>;
    expect(context.shouted).toEqual(['PLEASE FIX ASAP!']);
    expect(context.reply).toEqual(['Thanks for your message, we are on it.']);
  });
});

/** The environment the template gives a function, with its references replaced by real values. */
function envFor(fn: Fn, refs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(fn.environment)) {
    if (k === 'NODE_OPTIONS') continue; // for the Lambda runtime, not for this process
    if (typeof v === 'string') env[k] = v;
    else if (refs[k] !== undefined) env[k] = refs[k];
    else throw new Error(`no value for ${k} = ${JSON.stringify(v)}`);
  }
  return env;
}

/** Runs `fn` with these variables set and `cwd` as the working directory, then restores both. */
function withEnv<T>(vars: Record<string, string>, cwd: string, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const savedCwd = process.cwd();
  Object.assign(process.env, vars);
  process.chdir(cwd);
  const restore = () => {
    process.chdir(savedCwd);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  try {
    const out = fn();
    if (out instanceof Promise) return out.finally(restore) as T;
    restore();
    return out;
  } catch (e) {
    restore();
    throw e;
  }
}
