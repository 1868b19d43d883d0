#!/usr/bin/env node
/**
 * Runs `cdklocal` (aws-cdk-local, pinned below) with this project's own aws-cdk CLI:
 *
 *   node deploy/localstack/cdklocal.mjs deploy --require-approval never
 *
 * aws-cdk-local is not a dependency of the project (only LocalStack users need it): npx fetches it
 * once. It `require`s `aws-cdk`, which npx does not install beside it when the project already has
 * it, so NODE_PATH points at the project's node_modules. cdklocal sends every AWS call to LocalStack
 * (http://localhost.localstack.cloud:4566 unless AWS_ENDPOINT_URL says otherwise) with test
 * credentials, and drops the AWS_* variables of your shell, so a real account is never touched.
 *
 * Before a command that talks to LocalStack, waits up to a minute for its health endpoint.
 */
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AWS_CDK_LOCAL = 'aws-cdk-local@3.0.4';
/** cdk commands that need no LocalStack running. */
const OFFLINE = new Set(['synth', 'ls', 'list', '--version', '-v', '--help', '-h']);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);

async function waitForLocalStack(timeoutMs = 60_000) {
  const url = `${process.env.AWS_ENDPOINT_URL ?? 'http://localhost:4566'}/_localstack/health`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) {
      console.error(`LocalStack does not answer at ${url}. Start it with: npm run local:up (needs Docker)`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

if (!OFFLINE.has(args[0] ?? '--help')) await waitForLocalStack();
const env = { ...process.env, NODE_PATH: [join(root, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(delimiter) };
const result = spawnSync('npx', ['--yes', AWS_CDK_LOCAL, ...args], {
  cwd: root,
  env,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
if (result.error) {
  console.error(`could not run npx ${AWS_CDK_LOCAL}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
