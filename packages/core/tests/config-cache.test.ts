import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseYamlFast } from '../src/config-cache.js';
import { createAllNodes, createInMemoryBackends, orchestrate, parseConfig, WorkflowValidationError } from '../src/index.js';

const repo = join(import.meta.dirname, '..', '..', '..');

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

const fullParse = (text: string) => parseDocument(text, { uniqueKeys: true }).toJS({ maxAliasCount: 100 });

describe('the fast YAML parse', () => {
  it('reads every YAML file of the repository as the position-keeping parser does', () => {
    const files = [...yamlFiles(join(repo, 'examples')), ...yamlFiles(join(repo, 'workflows'))];
    expect(files.length).toBeGreaterThan(5);
    let fastParsed = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const fast = parseYamlFast(text);
      if (!fast) continue;
      fastParsed++;
      expect(fast.value, file).toEqual(fullParse(text));
    }
    expect(fastParsed).toBeGreaterThan(files.length / 2);
  });

  it('resolves plain scalars as YAML 1.2 core does (no 0b101, +0x1f; yes +.5)', () => {
    const scalars = [
      'yes',
      'on',
      'True',
      'NULL',
      '~',
      '0o17',
      '017',
      '0x1F',
      '0b101',
      '+0x1f',
      '-0x1f',
      '+.5',
      '.inf',
      '-.Inf',
      '1e3',
      '1_000',
      '2001-12-14',
    ];
    for (const s of scalars) {
      const text = `v: ${s}\n`;
      expect(parseYamlFast(text)?.value, s).toEqual(fullParse(text));
    }
  });

  it('leaves anchors, aliases, tags and merge keys to the full parser', () => {
    for (const text of ['a: &x 1\nb: *x\n', 'a: !!str 1\n', 'base: {a: 1}\nc:\n  <<: {a: 2}\n'])
      expect(parseYamlFast(text)).toBeUndefined();
  });
});

const CONFIG = `
main:
  A:
    node_type: router
    event_triggers: [START]
    event_emissions: [{ signal_name: DONE }]
`;

describe('parsed configs cached by content', () => {
  it('parses the same text once: one shared, frozen registry', () => {
    const a = parseConfig(CONFIG);
    const b = parseConfig(CONFIG);
    expect(b.workflows).toBe(a.workflows);
    expect(Object.isFrozen(a.workflows.main!.A!.event_triggers)).toBe(true);
  });

  it('tells texts apart however many were seen: each parse is of its own text', () => {
    // More texts than the digests it remembers, then the first ones again.
    const texts = Array.from({ length: 40 }, (_, i) => CONFIG.replace('START', `START${i}`));
    for (const round of [0, 1])
      for (const [i, text] of texts.entries()) {
        const parsed = parseConfig(text);
        expect(parsed.workflows.main!.A!.event_triggers, `text ${i}, round ${round}`).toEqual([`START${i}`]);
      }
  });

  it('still locates errors found after a fast parse, and does not cache a rejected config', () => {
    const bad = `${CONFIG}  B:\n    node_type: router\n    event_triggers: START\n    event_emissions: [{ signal_name: X }]\n`;
    for (let i = 0; i < 2; i++) {
      const err = (() => {
        try {
          parseConfig(bad, { file: 'bad.yaml' });
        } catch (e) {
          return e as WorkflowValidationError;
        }
        throw new Error('accepted');
      })();
      expect(err).toBeInstanceOf(WorkflowValidationError);
      expect(err.issues[0]).toMatchObject({ file: 'bad.yaml', workflow: 'main', node: 'B', field: 'event_triggers', line: 9 });
    }
  });

  it('reports syntax errors with their line whether or not the text was seen before', () => {
    expect(() => parseConfig('main:\n  A: [unclosed\n')).toThrow(/YAML syntax error/);
  });
});

describe('one registry shared by executions and children', () => {
  it('stores the registry of a config by reference; an injection copies only what it changes', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const start = () =>
      orchestrate({ config: CONFIG, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
    const [x, y] = [await start(), await start()];
    const rx = await backends.workflow.getWorkflowsRegistry(x);
    expect(await backends.workflow.getWorkflowsRegistry(y)).toBe(rx);
    await backends.workflow.putNode(x, 'main', 'B', {
      node_type: 'router',
      event_triggers: ['DONE'],
      event_emissions: [{ signal_name: 'END' }],
    });
    const after = await backends.workflow.getWorkflowsRegistry(x);
    expect(Object.keys(after!.main!)).toEqual(['A', 'B']);
    expect(Object.keys((await backends.workflow.getWorkflowsRegistry(y))!.main!)).toEqual(['A']);
    expect(Object.keys(rx!.main!)).toEqual(['A']);
  });

  it('never freezes an object config the caller passed', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends);
    const config = { main: { A: { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'DONE' }] } } };
    await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
    expect(Object.isFrozen(config.main.A)).toBe(false);
  });
});
