import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { BUNDLE_FILE, renderBundle } from '../scripts/bundle-docs.mjs';
import { DOCS } from '../src/builtins/docs-bundle.js';
import { BUILTIN_TOOL_NAMES, exploreDocs } from '../src/builtins/index.js';

describe('the embedded docs', () => {
  it('are up to date with docs/ (run node scripts/bundle-docs.mjs after editing the docs)', () => {
    expect(readFileSync(BUNDLE_FILE, 'utf8')).toBe(renderBundle());
  });

  it('describe every built-in tool', () => {
    const text = DOCS.map((d) => d.content).join('\n');
    for (const name of BUILTIN_TOOL_NAMES)
      expect(text).toContain(`## ${name}`.replace('## soe_explore_docs', '# Built-in: soe_explore_docs'));
  });
});

describe('soe_explore_docs', () => {
  const docs = [
    {
      path: 'intro.md',
      title: 'Intro',
      tags: ['start'],
      content: '# Intro\n\nHello.\n\n## Setup\n\nInstall it.\n\n### Twice\n\nAgain.\n\n## Use\n\n```sh\n## not a heading\n```\nRun it.\n',
    },
    {
      path: 'nodes/llm.md',
      title: 'LLM node',
      tags: ['llm', 'model'],
      content: '# LLM node\n\nCalls the model.\n\n## Retries\n\nThe model retries.\n',
    },
  ];

  it('lists a folder with [DIR] and [FILE] markers, and a file with its sections', () => {
    expect(exploreDocs({ action: 'list', path: '/' }, docs)).toBe('docs/:\n[FILE] intro.md — Intro\n[DIR] nodes/');
    expect(exploreDocs({ action: 'list', path: 'soe/docs/intro.md' }, docs)).toBe('docs/intro.md:\n[SEC] Setup\n[SEC] Use');
  });

  it('reads a file, a section (with its subsections), and says when a path is a folder or missing', () => {
    expect(exploreDocs({ action: 'read', path: 'docs/nodes/llm.md' }, docs)).toContain('Calls the model.');
    expect(exploreDocs({ action: 'read', path: 'intro.md/setup' }, docs)).toBe('## Setup\n\nInstall it.\n\n### Twice\n\nAgain.');
    expect(exploreDocs({ action: 'read', path: 'intro.md/Use' }, docs)).toContain('## not a heading');
    expect(exploreDocs({ action: 'read', path: 'docs/nodes' }, docs)).toMatch(/^Error: 'docs\/nodes\/' is a folder/);
    expect(exploreDocs({ action: 'read', path: 'docs/guide_01_tool.md' }, docs)).toMatch(/^Error: nothing at/);
  });

  it('shows the tree with top-level sections', () => {
    expect(exploreDocs({ action: 'tree', path: '/' }, docs)).toBe(
      [
        '[DIR] docs/',
        '  [FILE] intro.md — Intro',
        '    [SEC] Setup',
        '    [SEC] Use',
        '  [DIR] nodes/',
        '    [FILE] llm.md — LLM node',
        '      [SEC] Retries',
      ].join('\n'),
    );
  });

  it('searches by words and tags, best match first, each line found once', () => {
    const out = exploreDocs({ action: 'search', query: 'model retries' }, docs);
    expect(out.split('\n')[1]).toBe('docs/nodes/llm.md/Retries — section of "LLM node"');
    expect(out).toContain('docs/nodes/llm.md — LLM node');
    expect(exploreDocs({ action: 'search', tag: 'start' }, docs)).toContain('docs/intro.md — Intro');
    expect(exploreDocs({ action: 'search', query: 'kubernetes' }, docs)).toMatch(/^No results for "kubernetes"/);
    expect(exploreDocs({ action: 'get_tags' }, docs)).toContain('llm (1), model (1), start (1)');
  });

  it('answers an unknown action with text, not an exception', () => {
    expect(exploreDocs({ action: 'delete', path: '/' }, docs)).toMatch(/^Error: unknown action 'delete'/);
  });

  it('finds real pages in the embedded docs', () => {
    expect(exploreDocs({ action: 'list', path: '/' })).toMatch(/\[DIR\] nodes\//);
    expect(exploreDocs({ action: 'search', query: 'inject node' })).toContain('docs/builtins/workflows.md/soe_inject_node');
  });
});
