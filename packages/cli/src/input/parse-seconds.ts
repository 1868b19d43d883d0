/** Parses flags given in seconds. */
import { UsageError } from '../errors.js';

/** Parses a positive number of seconds from a flag. */
export function parseSeconds(text: string | undefined, flag: string, fallback = 120): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number of seconds, got '${text}'`, { hint: `e.g. ${flag} 60` });
  return n;
}
