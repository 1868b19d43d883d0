/** Finds the deployed function names: the flag, the environment, or the CDK outputs file. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError } from '../errors.js';
import { readInputFile } from '../input/read-input-file.js';
import type { FunctionKind, RemoteOptions } from './remote-options.js';

/** The outputs file used when no `--outputs` is given and it exists. */
export const DEFAULT_OUTPUTS_FILE = 'cdk-outputs.json';

const FLAG: Record<FunctionKind, keyof RemoteOptions> = { start: 'startFunction', signal: 'signalFunction', status: 'statusFunction' };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Finds the name (or ARN) of a deployed function: the flag, then `SOE_<KIND>_FUNCTION`, then the
 * stack outputs (`--outputs FILE`, else `./cdk-outputs.json`).
 */
export async function resolveFunction(kind: FunctionKind, opts: RemoteOptions, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const flag = opts[FLAG[kind]];
  if (flag) return flag;
  const fromEnv = env[`SOE_${kind.toUpperCase()}_FUNCTION`];
  if (fromEnv) return fromEnv;
  const outputsFile = opts.outputs ?? (existsSync(resolve(DEFAULT_OUTPUTS_FILE)) ? DEFAULT_OUTPUTS_FILE : undefined);
  if (!outputsFile) {
    throw new CliError(`no ${kind} function given`, {
      hint: `pass --${kind}-function NAME, or --outputs cdk-outputs.json (written by cdk deploy --outputs-file cdk-outputs.json), or set SOE_${kind.toUpperCase()}_FUNCTION`,
    });
  }
  return functionFromOutputs(kind, outputsFile, await readInputFile(outputsFile, 'outputs file'), opts.stack);
}

/**
 * Picks a function from a CDK outputs file (`{ "<Stack>": { "<OutputKey>": "<value>" } }`). Output keys of
 * nested constructs carry a hash (`OrchestratorStartFunctionName1A2B3C4D`), so the key is matched by its
 * words: the kind (`start`, `signal`, `status`) and `function`; a key ending in `Name` wins over an `Arn`.
 */
export function functionFromOutputs(kind: FunctionKind, file: string, text: string, stack?: string): string {
  let outputs: unknown;
  try {
    outputs = JSON.parse(text);
  } catch (e) {
    throw new CliError(`outputs file '${file}' is not JSON: ${(e as Error).message}`, {
      hint: 'write it with cdk deploy --outputs-file cdk-outputs.json',
      cause: e,
    });
  }
  if (!isObj(outputs))
    throw new CliError(`outputs file '${file}' is not a map of stacks to outputs`, {
      hint: 'write it with cdk deploy --outputs-file cdk-outputs.json',
    });
  const stacks = Object.entries(outputs).filter(([, v]) => isObj(v)) as Array<[string, Record<string, unknown>]>;
  if (stack !== undefined && !stacks.some(([name]) => name === stack)) {
    throw new CliError(`stack '${stack}' is not in outputs file '${file}'`, {
      hint: `stacks there: ${stacks.map(([n]) => n).join(', ') || '(none)'}`,
    });
  }
  // The stack of lib/soe-stack.ts names its outputs StartFunctionName, SignalFunctionName, StatusFunctionName;
  // constructs nested elsewhere get hashed keys, matched by their words below.
  const exact = `${kind[0]!.toUpperCase()}${kind.slice(1)}FunctionName`;
  const matches: Array<{ stack: string; key: string; value: string; score: number }> = [];
  for (const [name, out] of stacks) {
    if (stack !== undefined && name !== stack) continue;
    for (const [key, value] of Object.entries(out)) {
      if (typeof value !== 'string') continue;
      const k = key.toLowerCase();
      if (!k.includes(kind) || !/(function|fn|lambda)/.test(k)) continue;
      const score = key === exact ? 4 : /arn/.test(k) ? 1 : /name/.test(k) ? 3 : 2;
      matches.push({ stack: name, key, value, score });
    }
  }
  const byStack = new Set(matches.map((m) => m.stack));
  if (byStack.size > 1) {
    throw new CliError(`outputs file '${file}' has a ${kind} function in several stacks (${[...byStack].join(', ')})`, {
      hint: `pick one with --stack ${[...byStack][0]}`,
    });
  }
  const best = matches.sort((a, b) => b.score - a.score)[0];
  if (!best) {
    throw new CliError(`outputs file '${file}' names no ${kind} function${stack ? ` in stack '${stack}'` : ''}`, {
      hint: `expected the output ${exact} (or a key with '${kind}' and 'Function' in its name); or pass --${kind}-function NAME`,
    });
  }
  return best.value;
}
