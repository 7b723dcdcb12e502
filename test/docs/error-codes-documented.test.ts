import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ERROR_CODES } from '../../functions/http/error-codes.ts';

it('documents every error code in README with its status', () => {
  // Prepare
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const documented = new Map(
    [...readme.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((match) => [
      match[2],
      Number(match[1]),
    ]),
  );

  // Assess
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    expect(documented.get(code), `README row for ${code}`).toBe(status);
  }
  expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
});
