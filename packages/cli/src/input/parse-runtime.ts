/** Parses `--runtime` (memory, file:DIR, local-aws). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** Where `soe run` keeps state and runs nodes. */
export type RuntimeSpec =
  | { kind: 'memory' }
  | { kind: 'file'; dir: string /** As the user wrote it (for messages). */; text: string }
  | { kind: 'local-aws' };

/** The runtimes `--runtime` accepts, for messages. */
export const RUNTIME_CHOICES = 'memory, file:DIR or local-aws';

/**
 * Parses `--runtime memory|file:DIR|local-aws` (`file:DIR` is resolved against the current directory).
 * @example parseRuntime('file:.soe-data') // { kind: 'file', dir: '/abs/.soe-data' }
 */
export function parseRuntime(text: string | undefined): RuntimeSpec {
  const t = (text ?? 'memory').trim();
  if (t === 'memory') return { kind: 'memory' };
  if (t === 'local-aws') return { kind: 'local-aws' };
  if (t === 'file' || t === 'file:') {
    throw new UsageError(`--runtime ${t} names no directory`, {
      hint: 'write --runtime file:.soe-data (any directory; it is created if missing)',
    });
  }
  if (t.startsWith('file:')) return { kind: 'file', dir: resolve(t.slice('file:'.length)), text: t };
  throw new UsageError(`unknown runtime '${t}': expected ${RUNTIME_CHOICES}`, {
    hint: 'memory keeps state for one run; file:DIR keeps it on disk so soe send and soe trace can find it later; local-aws runs the Lambda handlers on embedded DynamoDB/SQS emulators',
  });
}

/** A short description of a runtime for the trace header. */
export function describeRuntime(spec: RuntimeSpec): string {
  return spec.kind === 'file' ? spec.text : spec.kind;
}

/** Throws unless a file runtime's directory exists (reading commands must not create an empty one). */
export function requireExistingDir(spec: Extract<RuntimeSpec, { kind: 'file' }>): void {
  if (!existsSync(spec.dir)) {
    throw new UsageError(`there is no file runtime at ${spec.text} (${spec.dir} does not exist)`, {
      hint: 'use the directory soe run --runtime file:DIR wrote to',
    });
  }
}
