import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';

/** `npm run keys -- rotate` against a running gateway (its key store is re-read within 1 ms). */
let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture();
});
afterAll(async () => {
  await fixture.close();
});

describe('rotating a key', () => {
  it('keeps the old token working through the overlap only, and the new one reaches the key’s jobs', async () => {
    const old = await fixture.createToken('rotated', ['chat']);
    const submitted = await rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(old),
      body: JSON.stringify({ input: {} }),
    });
    const { id } = submitted.json as { id: string };

    const fresh = await fixture.rotateToken('rotated', 1_500);
    const status = (token: string) =>
      rawRequest(`${fixture.base}/chat/status/${id}`, { headers: authHeaders(token) });
    const during = [await status(old), await status(fresh)];
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    const after = [await status(old), await status(fresh)];

    expect(during.map((answer) => answer.status)).toEqual([200, 200]);
    expect(after.map((answer) => answer.status)).toEqual([401, 200]);
    expect(after[0]?.json).toMatchObject({ code: 'unauthorized' });
  });
});
