import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The examples that are scripts rather than `soe run` workflows (they need the built packages).
const run = (script: string, ...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('script examples', () => {
  it('inheritance: phase 2 runs the inherited review workflow on the inherited draft, with fresh counters', () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-inherit-'));
    try {
      const r = run('examples/inheritance/run.mjs', dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/phase 2 [\w-]+: START → APPROVED/);
      expect(r.stdout).toContain('"score":8');
      expect(r.stdout).toContain('{"Review":1}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('self-evolving: the injected node runs', () => {
    const r = run('examples/self-evolving/run.mjs');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/word_count:\s+7/);
    // The first design is refused: the tool fails and its failure signal sends the designer back.
    expect(r.stdout).toContain('START → DESIGNED → INJECTION_REFUSED → DESIGN_REJECTED → DESIGNED → RUN_NEW_NODE');
  });
});
