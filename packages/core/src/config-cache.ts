/**
 * The fast way into a config: YAML text parsed by js-yaml (several times faster than `yaml` with a
 * LineCounter), and parsed, validated configs cached by a hash of their text. The position-keeping
 * parser (`yaml`) runs only when there is something to locate (a syntax error, a validation issue)
 * or when the text uses what the fast parser would read differently (anchors, aliases, tags, merge keys).
 */
import { createHash } from 'node:crypto';
import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';
import { adoptRegistry, deepFreeze } from './registry.js';
import type { ParsedConfig } from './types.js';

/**
 * YAML 1.2 core-schema nulls, booleans, integers and floats as the `yaml` package resolves them, so both parsers read
 * every plain scalar alike (js-yaml's own core schema also takes `0b101`, `+0x1f`, and not `+.5`).
 */
const INT = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;
const FLOAT =
  /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

const coreNull = new Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (data: string | null) => data === null || /^(?:~|null|Null|NULL|)$/.test(data),
  construct: () => null,
});
const coreBool = new Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && /^(?:true|True|TRUE|false|False|FALSE)$/.test(data),
  construct: (data: string) => data === 'true' || data === 'True' || data === 'TRUE',
});
const coreInt = new Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && INT.test(data),
  construct: (data: string) =>
    data.startsWith('0o') ? Number.parseInt(data.slice(2), 8) : data.startsWith('0x') ? Number.parseInt(data.slice(2), 16) : Number(data),
});
const coreFloat = new Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && FLOAT.test(data),
  construct: (data: string) => {
    const t = data.toLowerCase();
    if (t.endsWith('.nan')) return Number.NaN;
    if (t.endsWith('.inf')) return t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    return Number(data);
  },
});
const SCHEMA = FAILSAFE_SCHEMA.extend({ implicit: [coreNull, coreBool, coreInt, coreFloat] });

/**
 * Anchors, aliases, tags and merge keys: what the fast parser would read differently from `yaml`
 * (which bounds alias expansion and knows no merge keys in YAML 1.2). A prompt that merely looks like
 * one (`**bold**`) only costs the slower parse.
 */
const NEEDS_FULL_PARSER = /(?:^|[\s[{,:-])[&*!][^\s]|<</m;

/** What the fast parser makes of YAML text, or undefined when the full parser must read it. */
export function parseYamlFast(text: string): { value: unknown } | undefined {
  if (NEEDS_FULL_PARSER.test(text)) return undefined;
  try {
    return { value: load(text, { schema: SCHEMA }) };
  } catch {
    // A syntax error (or a duplicate key): the full parser reports it with its line and column.
    return undefined;
  }
}

/** Parsed configs kept, at most. */
const CACHE_ENTRIES = 256;
/** Characters of config text the keys may stand for, at most (bounds what the entries hold). */
const CACHE_CHARS = 32 * 1024 * 1024;

const cache = new Map<string, { parsed: ParsedConfig; chars: number }>();
let cachedChars = 0;

/** The cache key of a config text with the options that change the result. */
export function configKey(text: string, strict: boolean, file: string | undefined): string {
  return `${digestOf(text)}|${strict ? 's' : ''}|${file ?? ''}`;
}

/** The last texts hashed and their digests: a program that starts runs from one config text hashes it once. */
const digests = new Map<string, string>();
const REMEMBERED_DIGESTS = 16;

function digestOf(text: string): string {
  let digest = digests.get(text);
  if (digest === undefined) {
    digest = createHash('sha256').update(text).digest('base64');
    if (digests.size >= REMEMBERED_DIGESTS) digests.delete(digests.keys().next().value as string);
    digests.set(text, digest);
  }
  return digest;
}

/** A cached parse: a fresh top-level object over frozen, shared contents (the registry is shared). */
export function cachedConfig(key: string): ParsedConfig | undefined {
  const hit = cache.get(key);
  if (!hit) return undefined;
  // Most recently used last, so eviction drops the least recently used.
  cache.delete(key);
  cache.set(key, hit);
  return { ...hit.parsed };
}

/**
 * Replaces every list inside `value` by a copy of its size. Parsers build lists by pushing, and a list
 * that grew by push keeps room for 16 more items: most of a parsed node config (its triggers and
 * emissions), kept for as long as the config is cached.
 */
function compactLists(value: unknown, seen: WeakSet<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  const record = value as Record<string, unknown>;
  const writable = !Object.isFrozen(record);
  for (const k of Object.keys(record)) {
    const v = record[k];
    compactLists(v, seen);
    if (writable && Array.isArray(v)) record[k] = v.slice();
  }
}

/** Keeps a parse that passed validation; returns what {@link cachedConfig} will return for it. */
export function rememberConfig(key: string, text: string, parsed: ParsedConfig): ParsedConfig {
  compactLists(parsed, new WeakSet());
  adoptRegistry(parsed.workflows);
  deepFreeze(parsed);
  if (text.length <= CACHE_CHARS) {
    while (cache.size >= CACHE_ENTRIES || (cache.size > 0 && cachedChars + text.length > CACHE_CHARS)) {
      const [oldest, entry] = cache.entries().next().value as [string, { chars: number }];
      cache.delete(oldest);
      cachedChars -= entry.chars;
    }
    cache.set(key, { parsed, chars: text.length });
    cachedChars += text.length;
  }
  return { ...parsed };
}
