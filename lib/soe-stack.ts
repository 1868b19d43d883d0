/**
 * This repository's ready stack: `SoeStack` of `@soe/cdk` deploying the demo (workflows/, the demo
 * tools and scripted model of deploy/demo/) unless context says otherwise. `bin/app.ts` deploys it.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SoeStack as PackagedSoeStack, type SoeStackProps } from '@soe/cdk';
import type { Construct } from 'constructs';

/** The repository root (where cdk.json is). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What the ready stack deploys when no context says otherwise: the demo in workflows/ and deploy/demo/. */
export const READY_STACK_DEFAULTS = {
  workflowsDir: join(ROOT, 'workflows'),
  toolsEntry: join(ROOT, 'deploy/demo/tools.ts'),
  modelProvider: 'scripted',
  scriptedModelFile: join(ROOT, 'deploy/demo/scripted-model.yaml'),
} as const;

/**
 * The ready stack with the demo as its defaults: `-c soe:modelProvider=bedrock -c soe:modelId=…`,
 * `-c soe:workflowsDir=…`, `-c soe:toolsEntry=…` replace them (see `orchestratorPropsFromContext`).
 */
export class SoeStack extends PackagedSoeStack {
  constructor(scope: Construct, id: string, props: SoeStackProps = {}) {
    super(scope, id, { contextDefaults: READY_STACK_DEFAULTS, ...props });
  }
}
