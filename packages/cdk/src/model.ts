/**
 * The model settings of a {@link SoeOrchestrator}: the worker's `SOE_MODEL_*` environment (the
 * contract of `@soe/aws/env`) and the ARNs a Bedrock model is invoked by.
 */
import { extname } from 'node:path';
import { Arn, ArnFormat, type Stack } from 'aws-cdk-lib';
import { BUNDLED_SCRIPTED_MODEL_BASENAME, ENV, MODEL_ELAPSED_SHARE } from './defaults.js';
import type { Settings } from './settings.js';
import type { SoeOrchestratorProps } from './soe-orchestrator-props.js';

/** Where the scripted model's rules file sits in the worker bundle. */
export function scriptedModelBundlePath(file: string): string {
  return `${BUNDLED_SCRIPTED_MODEL_BASENAME}${extname(file).toLowerCase()}`;
}

/** The `SOE_MODEL_*` environment of the worker (packages/aws/src/providers/create-call-llm.ts). */
export function modelEnvironment(
  props: SoeOrchestratorProps,
  settings: Settings,
  scriptedModel: string | undefined,
): Record<string, string> {
  if (!props.modelProvider) return {};
  const env: Record<string, string> = {
    // Lambda runs handlers with /var/task as the working directory: the rules file sits there.
    [ENV.modelProvider]: props.modelProvider === 'scripted' ? `scripted:${scriptedModelBundlePath(scriptedModel!)}` : props.modelProvider,
    [ENV.modelMaxElapsedMs]: String(Math.floor(settings.workerTimeout.toMilliseconds() * MODEL_ELAPSED_SHARE)),
  };
  if (props.modelId) env[ENV.modelId] = props.modelId;
  if (props.modelSecret) env[ENV.modelSecretArn] = props.modelSecret.secretArn;
  if (props.openAiBaseUrl) env[ENV.openAiBaseUrl] = props.openAiBaseUrl;
  return env;
}

/** Cross-region inference profiles carry a geography prefix (`us.anthropic…`, `eu.`, `apac.`, `global.`…). */
const INFERENCE_PROFILE_ID = /^(us|us-gov|eu|apac|jp|au|ca|global)\.(.+)$/;

/**
 * The ARNs `bedrock:InvokeModel` must name for a model id. A foundation model: its ARN in this region.
 * A cross-region inference profile: the profile in this account and region, and the foundation model
 * in every region the profile may route to — Bedrock checks both, and the profile's regions are
 * chosen by AWS, hence the region wildcard there (and only there).
 */
export function bedrockModelArns(stack: Stack, modelId: string): string[] {
  if (modelId.startsWith('arn:')) return [modelId];
  const profile = INFERENCE_PROFILE_ID.exec(modelId);
  if (profile) {
    return [
      Arn.format(
        { service: 'bedrock', resource: 'inference-profile', resourceName: modelId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
        stack,
      ),
      Arn.format(
        {
          service: 'bedrock',
          region: '*',
          account: '',
          resource: 'foundation-model',
          resourceName: profile[2],
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        },
        stack,
      ),
    ];
  }
  return [
    Arn.format(
      { service: 'bedrock', account: '', resource: 'foundation-model', resourceName: modelId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
      stack,
    ),
  ];
}
