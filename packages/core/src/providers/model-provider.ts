/**
 * One way to name a model provider, shared by `soe run --llm …`, the Lambda worker's environment and
 * code: `scripted:FILE`, `openai[:MODEL]`, `bedrock[:MODEL_ID]`. The engine package builds the first two;
 * `bedrock` lives in `@soe/aws` (`createCallLlm`), which accepts the same specs.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ModelProviderError } from '../errors.js';
import type { CallLlm } from '../types.js';
import { createOpenAiCaller, type OpenAiCallerOptions } from './openai.js';
import { createScriptedLlm, type ScriptedLlm, type ScriptedModelSpec } from './scripted-llm.js';

/** The providers a spec can name. */
export const MODEL_PROVIDERS = ['scripted', 'openai', 'bedrock'] as const;
/** One of {@link MODEL_PROVIDERS}. */
export type ModelProviderName = (typeof MODEL_PROVIDERS)[number];

/** A scripted model from a rules file (JSON or YAML) or from rules given inline. */
export interface ScriptedProviderSpec {
  provider: 'scripted';
  /** The rules file; relative paths are resolved against `cwd`. */
  file?: string;
  /** The rules themselves, instead of a file. */
  spec?: ScriptedModelSpec | string;
  /** @default process.cwd() */
  cwd?: string;
}

/** An OpenAI-compatible endpoint; every option of `createOpenAiCaller` may be given. */
export interface OpenAiProviderSpec extends OpenAiCallerOptions {
  provider: 'openai';
}

/** Amazon Bedrock: built by `createCallLlm` of `@soe/aws` (the engine package has no AWS code). */
export interface BedrockProviderSpec {
  provider: 'bedrock';
  /** The model id or inference profile (`anthropic.claude-3-5-haiku-20241022-v1:0`). */
  model?: string;
}

/** A provider with its settings. */
export type ModelProviderSpec = ScriptedProviderSpec | OpenAiProviderSpec | BedrockProviderSpec;

/**
 * Parses `scripted:FILE`, `openai`, `openai:MODEL`, `bedrock` or `bedrock:MODEL_ID` (the text after the
 * first colon is kept whole: Bedrock ids contain colons).
 * @example
 * parseModelProviderSpec('scripted:examples/model.yaml') // { provider: 'scripted', file: 'examples/model.yaml' }
 * parseModelProviderSpec('openai:gpt-4o-mini')           // { provider: 'openai', model: 'gpt-4o-mini' }
 */
export function parseModelProviderSpec(text: string): ModelProviderSpec {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const name = (colon < 0 ? trimmed : trimmed.slice(0, colon)).toLowerCase();
  const arg = colon < 0 ? undefined : trimmed.slice(colon + 1).trim() || undefined;
  switch (name) {
    case 'scripted':
      if (!arg) throw new ModelProviderError('scripted', `'${text}' names no rules file: write scripted:FILE (a JSON or YAML rules file)`);
      return { provider: 'scripted', file: arg };
    case 'openai':
      return arg ? { provider: 'openai', model: arg } : { provider: 'openai' };
    case 'bedrock':
      return arg ? { provider: 'bedrock', model: arg } : { provider: 'bedrock' };
    default:
      throw new ModelProviderError(
        name || 'model',
        `unknown model provider '${text}': expected scripted:FILE, openai[:MODEL] or bedrock[:MODEL_ID]`,
      );
  }
}

/**
 * Loads a scripted model from a JSON or YAML rules file (format: see `createScriptedLlm`).
 * Throws a ModelProviderError naming the file when it cannot be read or is not a rules file.
 */
export function loadScriptedLlm(file: string, cwd: string = process.cwd()): ScriptedLlm {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ModelProviderError('scripted', `cannot read the rules file '${path}': ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  try {
    return createScriptedLlm(text);
  } catch (e) {
    throw new ModelProviderError(
      'scripted',
      `the rules file '${path}' is not a scripted model: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Builds the `CallLlm` a spec names: `scripted:FILE` or `openai[:MODEL]` (text), or a spec object with
 * options. Bedrock needs `@soe/aws`: `createCallLlm` there takes the same specs and adds `bedrock`.
 * @example
 * const callLlm = createModelProvider('scripted:examples/hello/model.yaml');
 * const openai = createModelProvider({ provider: 'openai', model: 'gpt-4o-mini', retry: { timeoutMs: 30_000 } });
 */
export function createModelProvider(spec: string | ModelProviderSpec): CallLlm {
  const s = typeof spec === 'string' ? parseModelProviderSpec(spec) : spec;
  switch (s.provider) {
    case 'scripted': {
      if (s.spec !== undefined) return createScriptedLlm(s.spec).callLlm;
      if (!s.file) throw new ModelProviderError('scripted', 'a scripted model needs a rules file (scripted:FILE) or inline rules');
      return loadScriptedLlm(s.file, s.cwd).callLlm;
    }
    case 'openai': {
      const { provider: _provider, ...opts } = s;
      return createOpenAiCaller(opts);
    }
    case 'bedrock':
      throw new ModelProviderError(
        'bedrock',
        "the Bedrock provider is part of @soe/aws: use createCallLlm({ provider: 'bedrock' }) from '@soe/aws'",
      );
    default:
      throw new ModelProviderError('model', `unknown model provider '${String((s as { provider?: unknown }).provider)}'`);
  }
}
