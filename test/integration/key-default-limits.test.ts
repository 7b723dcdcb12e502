import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveLimits } from '../../functions/limits/key-limits-schema.ts';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { TEST_ROUTING } from '../helpers/test-routing.ts';

/** `keyDefaults.limits` in the routing config: what every key without its own limits gets. */
let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({
    routing: {
      ...TEST_ROUTING,
      keyDefaults: { limits: { rate: { health: { perSecond: 0.1, burst: 2 } } } },
    },
  });
});
afterAll(async () => {
  await fixture.close();
});

describe('default key limits', () => {
  it('limit a key without its own, and give way to a key that has its own', async () => {
    const plain = await fixture.createToken('plain', ['chat']);
    const own = await fixture.createToken('own', ['chat'], undefined, {
      limits: { rate: { health: { perSecond: 100, burst: 100 } } },
    });
    const health = (token: string) =>
      rawRequest(`${fixture.base}/chat/health`, { headers: authHeaders(token) });

    const plainAnswers = [await health(plain), await health(plain), await health(plain)];
    const ownAnswers = [await health(own), await health(own), await health(own)];

    expect(plainAnswers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(plainAnswers[2]?.headers['ratelimit-policy']).toBe('"key";q=2;w=20');
    expect(ownAnswers.map((answer) => answer.status)).toEqual([200, 200, 200]);
  });

  it('merge field by field: a key’s own field wins, the defaults fill the rest', () => {
    const defaults = { concurrent: 4, inFlight: 100, daily: { jobs: 1000, gpuSeconds: 3600 } };

    expect(effectiveLimits(undefined, defaults)).toEqual(defaults);
    expect(effectiveLimits({ inFlight: 5, daily: { jobs: 10 } }, defaults)).toEqual({
      concurrent: 4,
      inFlight: 5,
      daily: { jobs: 10, gpuSeconds: 3600 },
    });
    expect(effectiveLimits({ concurrent: 1 }, undefined)).toEqual({ concurrent: 1 });
  });
});
