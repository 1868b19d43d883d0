/** Did-you-mean suggestions (graph/closest-name.ts). */
import { describe, expect, it } from 'vitest';
import { closestName } from '../src/graph/closest-name.js';

describe('closestName', () => {
  it('suggests near misses only', () => {
    expect(closestName('REVIEWD', ['REVIEWED', 'DONE'])).toBe('REVIEWED');
    expect(closestName('summarise_one', ['summarize_one', 'main'])).toBe('summarize_one');
    expect(closestName('GO', ['DONE'])).toBeUndefined();
  });
});
