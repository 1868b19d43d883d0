/** Random ids that the engine keeps for as long as an execution. */
import { randomUUID } from 'node:crypto';

/**
 * A random UUID as one flat string. Node builds `randomUUID()`'s text by concatenation, and V8 keeps
 * such a string as a tree of its pieces (about 480 bytes for 36 characters) until something flattens
 * it; `toLowerCase` (a UUID is lowercase already) hands back the flattened text, 56 bytes. An
 * execution id is kept in every store entry and link of the execution, for as long as it lives.
 * @internal
 */
export function newUuid(): string {
  return randomUUID().toLowerCase();
}
