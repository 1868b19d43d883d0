/** Parses `--context` (inline JSON or `@file.json`) into initial field values. */
import { UsageError } from '../errors.js';
import { readInputFile } from './read-input-file.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `--context`: inline JSON (`'{"user": "Ada"}'`) or `@file.json`. The result must be an object
 * of field → value; each value becomes the first entry of that field's history.
 */
export async function parseContext(text: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (text === undefined) return undefined;
  const fromFile = text.startsWith('@');
  const source = fromFile ? text.slice(1) : text;
  if (fromFile && source === '') throw new UsageError('--context @ names no file', { hint: 'write --context @context.json' });
  const json = fromFile ? await readInputFile(source, 'context file') : source;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    const where = fromFile ? `the context file '${source}'` : '--context';
    throw new UsageError(`${where} is not valid JSON: ${(e as Error).message}`, {
      hint: fromFile
        ? 'the file must hold one JSON object, e.g. {"ticket": "My invoice is wrong"}'
        : `quote the object for your shell: --context '{"ticket": "My invoice is wrong"}', or put it in a file and pass --context @file.json`,
      cause: e,
    });
  }
  if (!isObj(value)) {
    throw new UsageError(
      `--context must be a JSON object of field names to values, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`,
      {
        hint: `wrap the value in a field: --context '{"items": ${JSON.stringify(value)}}'`,
      },
    );
  }
  return value;
}
