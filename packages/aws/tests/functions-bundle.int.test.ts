/**
 * Bundles functions/worker.ts as a Lambda bundle would be built (esbuild, CJS, the user's module behind
 * the `soe-user-tools` alias), then runs the bundle against the emulators through the SDK's
 * endpoint environment variables.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareExecution, storeExecution } from '@soe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoBackends, type LocalEmulators, startLocalEmulators, type WorkerHandler } from '../src/index.js';
import { lambdaContext, signalBody, sqsEvent, sqsRecord } from './helpers.js';

const require = createRequire(import.meta.url);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let emulators: LocalEmulators;
let dir: string;
let meta: { inputs: Record<string, unknown> };
let handler: WorkerHandler;

beforeAll(async () => {
  emulators = await startLocalEmulators();
  dir = mkdtempSync(join(tmpdir(), 'soe-bundle-'));
  const userModule = join(dir, 'my-tools.ts');
  writeFileSync(
    userModule,
    'export const toolsRegistry = { double: ({ n }: { n: number }) => n * 2 };\nexport const callLlm = undefined;\nexport const workflows = undefined;\n',
  );
  const esbuild = require('esbuild') as typeof import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(root, 'functions/worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: join(dir, 'worker.cjs'),
    alias: { 'soe-user-tools': userModule },
    metafile: true,
    logLevel: 'silent',
  });
  meta = result.metafile as typeof meta;
  Object.assign(process.env, {
    TABLE_NAME: emulators.tableName,
    QUEUE_URL: emulators.queueUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamoEndpoint,
    AWS_ENDPOINT_URL_SQS: emulators.sqsEndpoint,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  handler = (require(join(dir, 'worker.cjs')) as { handler: WorkerHandler }).handler;
}, 60_000);
afterAll(async () => {
  await emulators?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the bundled worker', () => {
  it('leaves the emulators out of the bundle', () => {
    const heavy = Object.keys(meta.inputs).filter((p) => /node_modules\/(dynalite|fauxqs|fastify|memory-level)\//.test(p));
    expect(heavy).toEqual([]);
  });

  it('runs a node with a tool from the user module behind the alias', async () => {
    const backends = createDynamoBackends({ client: emulators.dynamo, tableName: emulators.tableName });
    const config = `
workflows:
  main:
    Double:
      node_type: tool
      event_triggers: [START]
      tool_name: double
      context_parameter_field: input
      output_field: doubled
`;
    // Stored without sending: the test delivers the start message to the handler itself.
    const prepared = await prepareExecution({
      config,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { input: { n: 21 } },
      backends,
    });
    await storeExecution(backends, prepared);
    const id = prepared.executionId;
    const res = await handler(sqsEvent(sqsRecord(signalBody(id, ['START']))), lambdaContext());
    expect(res.batchItemFailures).toEqual([]);
    expect((await backends.context.getContext(id)).doubled).toEqual([42]);
  });
});
