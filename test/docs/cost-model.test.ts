import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { costReport, perMillionJobs } from '../../scripts/cost-model.ts';

/** docs/cost.md shows what `npm run cost` prints today. */
describe('the cost model', () => {
  it('is the output docs/cost.md shows', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'cost.md'), 'utf8');
    const shown = /<!-- cost:start -->\n([\s\S]*?)\n<!-- cost:end -->/.exec(doc)?.[1];

    expect(shown).toBe(costReport());
  });

  it('adds up: a million jobs cost what their lines sum to, API Gateway the most', () => {
    const lines = perMillionJobs();
    const largest = [...lines].sort((a, b) => b.usd - a.usd)[0];

    expect(largest?.item).toBe('API Gateway REST requests');
    expect(largest?.usd).toBeCloseTo(11 * 3.5, 6);
  });
});
