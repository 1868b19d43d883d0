/**
 * Settings of the ready stack from CDK context (`cdk deploy -c soe:modelProvider=bedrock …`), so one
 * app serves several deployments without code changes.
 */
import { resolve } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { MODEL_PROVIDERS, type ModelProvider } from './defaults.js';
import type { SoeOrchestratorProps } from './soe-orchestrator-props.js';

/**
 * What the ready stack deploys when a context key is not given: paths (absolute, or relative to the
 * working directory — where cdk.json is) and a model provider (`scripted`, `openai`, `bedrock` or `none`).
 */
export interface ContextDefaults {
  readonly workflowsDir?: string;
  readonly toolsEntry?: string;
  readonly modelProvider?: string;
  readonly scriptedModelFile?: string;
}

/**
 * The orchestrator's props from context (`cdk deploy -c soe:modelProvider=bedrock -c soe:modelId=…`);
 * paths are resolved against the working directory (where cdk.json is). Keys not given fall back to
 * `defaults` (SOE's own repository passes its demo), else to none:
 *
 * | key | meaning | default |
 * | --- | --- | --- |
 * | `soe:workflowsDir` | folder of deployed workflow files (`none`: no folder) | none |
 * | `soe:toolsEntry` | the user's tools module | none: the `soe_*` built-ins only |
 * | `soe:modelProvider` | `scripted`, `openai`, `bedrock` or `none` | none |
 * | `soe:scriptedModelFile` | rules of the scripted model | none |
 * | `soe:modelId` | Bedrock model / inference profile id, or OpenAI model name | none |
 * | `soe:modelSecretName` or `soe:modelSecretArn` | the secret holding the OpenAI key | none |
 * | `soe:openAiBaseUrl` | OpenAI-compatible API root | api.openai.com |
 * | `soe:removalPolicy` | `retain` or `destroy` (table and dead-letter queues) | `retain` |
 */
export function orchestratorPropsFromContext(scope: Construct, defaults: ContextDefaults = {}): SoeOrchestratorProps {
  const ctx = (key: string): string | undefined => {
    const v = scope.node.tryGetContext(`soe:${key}`);
    if (v === undefined || v === null || v === '') return undefined;
    return String(v);
  };
  const path = (key: string, fallback?: string): string | undefined => {
    const v = ctx(key) ?? fallback;
    return v === undefined || v === 'none' ? undefined : resolve(v);
  };
  const providerText = ctx('modelProvider') ?? defaults.modelProvider ?? 'none';
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
    workflowsDir: path('workflowsDir', defaults.workflowsDir),
    toolsEntry: path('toolsEntry', defaults.toolsEntry),
    modelProvider,
    scriptedModelFile: modelProvider === 'scripted' ? path('scriptedModelFile', defaults.scriptedModelFile) : undefined,
    modelId: ctx('modelId'),
    modelSecret,
    openAiBaseUrl: ctx('openAiBaseUrl'),
    removalPolicy: removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
  // Leave unset keys out, so the construct's own defaults and checks apply.
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined)) as SoeOrchestratorProps;
}
