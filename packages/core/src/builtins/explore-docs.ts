/**
 * soe_explore_docs: browse the documentation of this engine like a small file system. The docs are
 * embedded at build time (docs-bundle.ts), so the tool reads no files and works inside a Lambda bundle.
 *
 * Paths look like `docs/`, `docs/nodes/`, `docs/nodes/llm.md`, or `docs/nodes/llm.md/<Section title>`;
 * `/` is the root, and a leading `soe/` or no `docs/` prefix are accepted too.
 */
import { type BundledDoc, DOCS } from './docs-bundle.js';
import type { BuiltinSpec } from './shared.js';

/** The actions of soe_explore_docs. */
export const EXPLORE_ACTIONS = ['list', 'read', 'tree', 'search', 'get_tags'] as const;

const ROOT = 'docs/';
const MAX_RESULTS = 15;
const STOP_WORDS = new Set([
  'a',
  'an',
  'and',
  'are',
  'at',
  'do',
  'does',
  'for',
  'how',
  'in',
  'is',
  'of',
  'on',
  'or',
  'the',
  'to',
  'what',
  'with',
]);

interface Entry {
  kind: 'dir' | 'file' | 'section';
  /** Path under docs/: '' for the root, 'nodes/' for a folder, 'nodes/llm.md', 'nodes/llm.md/Retries'. */
  key: string;
  name: string;
  title: string;
  tags: readonly string[];
  /** The file's or section's markdown (empty for folders). */
  text: string;
  /** The part of `text` that no child section covers: what search looks at, so no line counts twice. */
  own: string;
  children: Entry[];
}

interface DocsIndex {
  root: Entry;
  byKey: Map<string, Entry>;
  byLowerKey: Map<string, Entry>;
}

let index: DocsIndex | undefined;

/** Builds (once) the tree of folders, files and sections from the embedded docs. */
function docsIndex(docs: readonly BundledDoc[] = DOCS): DocsIndex {
  if (index && docs === DOCS) return index;
  const root: Entry = { kind: 'dir', key: '', name: 'docs', title: 'Documentation', tags: [], text: '', own: '', children: [] };
  const byKey = new Map<string, Entry>([['', root]]);
  const add = (parent: Entry, e: Entry) => {
    parent.children.push(e);
    byKey.set(e.key, e);
  };
  for (const doc of docs) {
    const parts = doc.path.split('/');
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      const key = `${dir.key}${part}/`;
      let next = byKey.get(key);
      if (!next) add(dir, (next = { kind: 'dir', key, name: part, title: part, tags: [], text: '', own: '', children: [] }));
      dir = next;
    }
    const sections = sectionsOf(doc.content);
    const intro = sections.length ? doc.content.split('\n').slice(0, sections[0]!.line).join('\n') : doc.content;
    const file: Entry = {
      kind: 'file',
      key: doc.path,
      name: parts[parts.length - 1]!,
      title: doc.title,
      tags: doc.tags,
      text: doc.content,
      own: intro,
      children: [],
    };
    add(dir, file);
    for (const s of sections) {
      const parent = s.level === 3 ? (file.children[file.children.length - 1] ?? file) : file;
      let key = `${doc.path}/${s.title}`;
      for (let n = 2; byKey.has(key); n++) key = `${doc.path}/${s.title} (${n})`;
      add(parent, {
        kind: 'section',
        key,
        name: key.slice(doc.path.length + 1),
        title: s.title,
        tags: doc.tags,
        text: s.text,
        own: s.own,
        children: [],
      });
    }
  }
  const built: DocsIndex = { root, byKey, byLowerKey: new Map([...byKey].map(([k, e]) => [k.toLowerCase(), e])) };
  if (docs === DOCS) index = built;
  return built;
}

/** `##` and `###` sections of a markdown text (headings inside code fences do not count). */
function sectionsOf(content: string): Array<{ line: number; level: number; title: string; text: string; own: string }> {
  const lines = content.split('\n');
  const heads: Array<{ line: number; level: number; title: string }> = [];
  let fenced = false;
  lines.forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^(#{2,3})\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) heads.push({ line: i, level: m[1]!.length, title: m[2]! });
  });
  return heads.map((h, i) => {
    const end = heads.slice(i + 1).find((n) => n.level <= h.level)?.line ?? lines.length;
    const ownEnd = heads[i + 1]?.line ?? lines.length;
    return {
      line: h.line,
      level: h.level,
      title: h.title,
      text: lines.slice(h.line, end).join('\n').trim(),
      own: lines.slice(h.line, ownEnd).join('\n').trim(),
    };
  });
}

/** The path relative to docs/: strips `/`, `soe/` and `docs/` prefixes. */
function normalize(path: unknown): string {
  let p = typeof path === 'string' ? path.trim().replace(/\\/g, '/') : '';
  p = p.replace(/^\.?\/+/, '');
  if (p.startsWith('soe/')) p = p.slice(4);
  if (p === 'docs' || p.startsWith('docs/')) p = p.slice(4).replace(/^\/+/, '');
  return p === '.' ? '' : p;
}

function find(idx: DocsIndex, path: unknown): Entry | undefined {
  const p = normalize(path);
  const bare = p.replace(/\/+$/, '');
  const candidates = [p, `${bare}/`, bare, `${bare}.md`];
  for (const c of candidates) {
    const hit = idx.byKey.get(c) ?? idx.byLowerKey.get(c.toLowerCase());
    if (hit) return hit;
  }
  return undefined;
}

const shown = (e: Entry) => `${ROOT}${e.key}`;

function label(e: Entry): string {
  if (e.kind === 'dir') return `[DIR] ${e.name}/`;
  if (e.kind === 'file') return `[FILE] ${e.name} — ${e.title}`;
  return `[SEC] ${e.title}`;
}

function notFound(idx: DocsIndex, path: unknown): string {
  const top = idx.root.children.map((c) => shown(c)).join(', ');
  return `Error: nothing at '${String(path)}'. Start with action 'list' at path '/'. Top level: ${top}`;
}

function list(idx: DocsIndex, path: unknown): string {
  const e = find(idx, path);
  if (!e) return notFound(idx, path);
  if (e.children.length === 0) return `${shown(e)}: no ${e.kind === 'dir' ? 'entries' : 'sections'}`;
  return [`${shown(e)}:`, ...e.children.map(label)].join('\n');
}

function tree(idx: DocsIndex, path: unknown): string {
  const start = find(idx, path);
  if (!start) return notFound(idx, path);
  const out: string[] = [];
  const walk = (e: Entry, depth: number) => {
    out.push(`${'  '.repeat(depth)}${e === idx.root ? `[DIR] ${ROOT}` : label(e)}`);
    // Files show their top-level sections only, to keep the tree readable.
    for (const c of e.children) if (e.kind !== 'section' || depth === 0) walk(c, depth + 1);
  };
  walk(start, 0);
  return out.join('\n');
}

function read(idx: DocsIndex, path: unknown): string {
  const e = find(idx, path);
  if (!e) return notFound(idx, path);
  if (e.kind === 'dir') return `Error: '${shown(e)}' is a folder: use action 'list' or 'tree' to see what it holds`;
  return e.text;
}

function words(query: string): string[] {
  const all = query
    .toLowerCase()
    .split(/[^a-z0-9_]+/)
    .filter((w) => w.length > 1);
  const kept = all.filter((w) => !STOP_WORDS.has(w));
  return kept.length ? kept : all;
}

/**
 * Matches a query word as a whole word, or, for words of five letters or more, as the start of one:
 * `child` finds `children`, `inject` finds `injected`, but `out` does not find `output`.
 */
function wordPattern(word: string): RegExp {
  // Query words hold only [a-z0-9_] (see words()), so they need no escaping.
  return new RegExp(`(^|[^a-z0-9])${word}${word.length >= 5 ? '' : '(?![a-z0-9])'}`, 'g');
}

function count(text: string, re: RegExp, cap: number): number {
  re.lastIndex = 0;
  let n = 0;
  while (n < cap && re.exec(text)) n++;
  return n;
}

function search(idx: DocsIndex, path: unknown, query: unknown, tag: unknown): string {
  const q = typeof query === 'string' ? query.trim() : '';
  const t = typeof tag === 'string' ? tag.trim().toLowerCase() : '';
  if (!q && !t) return `Error: search needs a 'query' (words to look for) or a 'tag' (see action 'get_tags')`;
  const scope = normalize(path) ? find(idx, path) : idx.root;
  if (!scope) return notFound(idx, path);
  const terms = (q ? words(q) : []).map((w) => ({ w, re: wordPattern(w) }));
  const hits: Array<{ e: Entry; score: number; matched: number; snippet: string }> = [];
  const visit = (e: Entry) => {
    if (e.kind !== 'dir' && (!t || e.tags.some((x) => x.toLowerCase() === t))) {
      const title = e.title.toLowerCase();
      const key = e.key.toLowerCase();
      const own = e.own.toLowerCase();
      const tags = e.tags.join(' ').toLowerCase();
      let score = terms.length ? 0 : 1;
      let matched = 0;
      for (const { re } of terms) {
        const s = 4 * count(title, re, 1) + 2 * count(key, re, 1) + 2 * count(tags, re, 1) + count(own, re, 5);
        if (s > 0) matched++;
        score += s;
      }
      if (score > 0) {
        const line = terms.length
          ? e.own.split('\n').find((l) => !/^#/.test(l) && terms.some(({ re }) => count(l.toLowerCase(), re, 1) > 0))
          : undefined;
        hits.push({ e, score, matched, snippet: line ? line.trim().slice(0, 120) : '' });
      }
    }
    for (const c of e.children) visit(c);
  };
  visit(scope);
  const what = [q && `"${q}"`, t && `tag '${t}'`].filter(Boolean).join(' with ');
  if (hits.length === 0) return `No results for ${what}. Try fewer or other words, or action 'get_tags'.`;
  // Entries that match more of the words come first, then the higher score.
  hits.sort((a, b) => b.matched - a.matched || b.score - a.score || a.e.key.localeCompare(b.e.key));
  const fileTitle = (e: Entry) => idx.byKey.get(e.key.slice(0, e.key.indexOf('.md/') + 3))?.title ?? '';
  const lines = hits.slice(0, MAX_RESULTS).map((h) => {
    const title = h.e.kind === 'section' ? `section of "${fileTitle(h.e)}"` : h.e.title;
    return `${shown(h.e)} — ${title}${h.snippet ? `\n    ${h.snippet}` : ''}`;
  });
  if (hits.length > MAX_RESULTS) lines.push(`… and ${hits.length - MAX_RESULTS} more`);
  return [`Results for ${what} (read one with action 'read' and its path):`, ...lines].join('\n');
}

function getTags(idx: DocsIndex): string {
  const counts = new Map<string, number>();
  for (const e of idx.byKey.values()) if (e.kind === 'file') for (const t of e.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
  if (counts.size === 0) return 'No tags.';
  const tags = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${t} (${n})`);
  return `Tags (search with action 'search' and 'tag'): ${tags.join(', ')}`;
}

/**
 * Runs one soe_explore_docs action over a set of documents (the embedded ones by default); always
 * answers with text, errors included, so a model can read its mistake and try again.
 */
export function exploreDocs(
  args: { action?: unknown; path?: unknown; query?: unknown; tag?: unknown },
  docs: readonly BundledDoc[] = DOCS,
): string {
  const idx = docsIndex(docs);
  const path = args.path ?? '/';
  switch (args.action) {
    case 'list':
      return list(idx, path);
    case 'read':
      return read(idx, path);
    case 'tree':
      return tree(idx, path);
    case 'search':
      return search(idx, args.path ?? '', args.query, args.tag);
    case 'get_tags':
      return getTags(idx);
    default:
      return `Error: unknown action '${String(args.action)}' (use ${EXPLORE_ACTIONS.join(', ')})`;
  }
}

const exploreDocsSpec: BuiltinSpec = {
  description:
    "Explores this engine's documentation like a file system. Start with action 'list' (or 'tree') at path '/'; 'read' a file " +
    "(docs/nodes/llm.md) or one section (docs/nodes/llm.md/<Section title>); 'search' by query words or tag; 'get_tags' lists tags.",
  parameters: {
    type: 'object',
    properties: {
      action: { type: 'string', enum: [...EXPLORE_ACTIONS], description: 'What to do.' },
      path: { type: 'string', description: "Where: '/' for the root, a folder, a file or a file/section path (default '/')." },
      query: { type: 'string', description: "Words to search for (action 'search')." },
      tag: { type: 'string', description: "Only documents with this tag (action 'search')." },
    },
    required: ['action'],
  },
  run: (args) => exploreDocs(args),
};

/** The documentation built-in by name. */
export const docsBuiltins: Record<string, BuiltinSpec> = { soe_explore_docs: exploreDocsSpec };
