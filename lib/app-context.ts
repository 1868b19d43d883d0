import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemovalPolicy } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { MODEL_PROVIDERS, type ModelProvider } from './defaults.js';
import type { SoeOrchestratorProps } from './soe-orchestrator.js';

/** The project root (where cdk.json is): relative paths given as context are resolved against it. */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What the ready stack deploys when no context says otherwise: the demo in workflows/ and deploy/demo/. */
export const READY_STACK_DEFAULTS = {
  workflowsDir: 'workflows',
  toolsEntry: 'deploy/demo/tools.ts',
  modelProvider: 'scripted',
  scriptedModelFile: 'deploy/demo/scripted-model.yaml',
} as const;

/**
 * The context keys `bin/app.ts` reads (`cdk deploy -c soe:modelProvider=bedrock -c soe:modelId=…`):
 *
 * | key | meaning | default |
 * | --- | --- | --- |
 * | `soe:stackName` | the stack's name | `Soe` |
 * | `soe:workflowsDir` | folder of deployed workflow files (`none`: no folder) | `workflows` |
 * | `soe:toolsEntry` | the user's tools module | `deploy/demo/tools.ts` |
 * | `soe:modelProvider` | `scripted`, `openai`, `bedrock` or `none` | `scripted` |
 * | `soe:scriptedModelFile` | rules of the scripted model | `deploy/demo/scripted-model.yaml` |
 * | `soe:modelId` | Bedrock model / inference profile id, or OpenAI model name | none |
 * | `soe:modelSecretName` or `soe:modelSecretArn` | the secret holding the OpenAI key | none |
 * | `soe:openAiBaseUrl` | OpenAI-compatible API root | api.openai.com |
 * | `soe:removalPolicy` | `retain` or `destroy` (table and dead-letter queues) | `retain` |
 */
export function orchestratorPropsFromContext(scope: Construct): SoeOrchestratorProps {
  const ctx = (key: string): string | undefined => {
    const v = scope.node.tryGetContext(`soe:${key}`);
    if (v === undefined || v === null || v === '') return undefined;
    return String(v);
  };
  const path = (key: string, fallback?: string): string | undefined => {
    const v = ctx(key) ?? fallback;
    return v === undefined || v === 'none' ? undefined : resolve(PROJECT_ROOT, v);
  };
  const providerText = ctx('modelProvider') ?? READY_STACK_DEFAULTS.modelProvider;
  if (providerText !== 'none' && !(MODEL_PROVIDERS as readonly string[]).includes(providerText)) {
    throw new Error(`context soe:modelProvider must be one of ${MODEL_PROVIDERS.join(', ')} or none, got '${providerText}'`);
  }
  const modelProvider = providerText === 'none' ? undefined : (providerText as ModelProvider);
  const removal = (ctx('removalPolicy') ?? 'retain').toLowerCase();
  if (removal !== 'retain' && removal !== 'destroy')
    throw new Error(`context soe:removalPolicy must be retain or destroy, got '${removal}'`);

  let modelSecret: ISecret | undefined;
  const secretArn = ctx('modelSecretArn');
  const secretName = ctx('modelSecretName');
  if (secretArn && secretName) throw new Error('give context soe:modelSecretArn or soe:modelSecretName, not both');
  if (secretArn) modelSecret = Secret.fromSecretCompleteArn(scope, 'ModelSecret', secretArn);
  if (secretName) modelSecret = Secret.fromSecretNameV2(scope, 'ModelSecret', secretName);

  const props: SoeOrchestratorProps = {
    workflowsDir: path('workflowsDir', READY_STACK_DEFAULTS.workflowsDir),
    toolsEntry: path('toolsEntry', READY_STACK_DEFAULTS.toolsEntry),
    modelProvider,
    scriptedModelFile: modelProvider === 'scripted' ? path('scriptedModelFile', READY_STACK_DEFAULTS.scriptedModelFile) : undefined,
    modelId: ctx('modelId'),
    modelSecret,
    openAiBaseUrl: ctx('openAiBaseUrl'),
    removalPolicy: removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
  // Leave unset keys out, so the construct's own defaults and checks apply.
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined)) as SoeOrchestratorProps;
}
