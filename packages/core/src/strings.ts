/** Strings the engine keeps for as long as an execution: random ids, and text built piece by piece. */
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

/**
 * `text` as one flat string. Text built piece by piece (a rendered template) is a tree of its pieces;
 * V8 flattens it on a read but keeps the tree's root pointing at the copy. The JSON round trip copies
 * every character (lone surrogates included) into a new string and nothing else. For text the engine
 * keeps (a prompt in telemetry), not for every render.
 * @internal
 */
export function flatString(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}
