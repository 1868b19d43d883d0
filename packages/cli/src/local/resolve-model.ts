/** Picks the model of a local run: `--llm`, the tools module, or the environment. */
import { resolve } from 'node:path';
import { type CallLlm, createModelProvider, type ModelProviderSpec, parseModelProviderSpec } from '@soe/core';
import { CliError, messageOf, UsageError } from '../errors.js';

/** The model of a local run and where it came from (for the trace header). */
export interface ResolvedModel {
  callLlm?: CallLlm;
  /** `scripted:/abs/file`, `openai:…`, `tools module`, or undefined when there is no model. */
  source?: string;
  /** The `--llm` spec with file paths made absolute (kept for `soe send` on a file runtime). */
  spec?: string;
}

/**
 * Picks the model of a local run: `--llm` first, then `callLlm` from the tools module, then the
 * `SOE_MODEL_PROVIDER` environment variable (the same spec the Lambda worker reads).
 */
export async function resolveModel(llm: string | undefined, fromModule: CallLlm | undefined, env = process.env): Promise<ResolvedModel> {
  if (llm !== undefined) return { ...(await buildModel(llm, '--llm')), spec: absoluteSpec(llm) };
  if (fromModule) return { callLlm: fromModule, source: 'callLlm of the tools module' };
  const fromEnv = env.SOE_MODEL_PROVIDER?.trim();
  if (fromEnv) return { ...(await buildModel(fromEnv, 'SOE_MODEL_PROVIDER')), spec: absoluteSpec(fromEnv) };
  return {};
}

function absoluteSpec(text: string): string {
  const t = text.trim();
  return t.startsWith('scripted:') ? `scripted:${resolve(t.slice('scripted:'.length))}` : t;
}

async function buildModel(text: string, origin: string): Promise<ResolvedModel> {
  let spec: ModelProviderSpec;
  try {
    spec = parseModelProviderSpec(text);
  } catch (e) {
    throw new UsageError(`${origin} '${text}' is not a model spec: ${messageOf(e).replace(/^[\w-]+: /, '')}`, {
      hint: 'use scripted:FILE (a rules file, offline), openai[:MODEL] (OPENAI_API_KEY) or bedrock[:MODEL_ID] (AWS credentials)',
    });
  }
  try {
    if (spec.provider === 'scripted') {
      return { callLlm: createModelProvider(spec), source: `scripted:${spec.file ?? ''}` };
    }
    if (spec.provider === 'openai') {
      return { callLlm: createModelProvider(spec), source: `openai${spec.model ? `:${spec.model}` : ''}` };
    }
    // Bedrock lives in @soe/aws (and the AWS SDK): loaded only when asked for.
    const { createCallLlm } = await import('@soe/aws');
    return { callLlm: createCallLlm(spec), source: `bedrock${spec.model ? `:${spec.model}` : ''}` };
  } catch (e) {
    const msg = messageOf(e);
    throw new CliError(`cannot use the model ${origin} '${text}': ${msg}`, {
      hint:
        spec.provider === 'scripted'
          ? 'check the rules file path; its format is described in examples/*/model.yaml and the README, "The soe command"'
          : 'check the provider settings (README, "Models")',
      cause: e,
    });
  }
}
