import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { TEST_ROUTING } from '../helpers/test-routing.ts';

/** A surface's endpoint budget (`endpointRates`): all consumers together, before RunPod. */
let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({
    routing: {
      surfaces: {
        ...TEST_ROUTING.surfaces,
        chat: {
          ...TEST_ROUTING.surfaces.chat,
          endpointRates: { run: { perSecond: 0.2, burst: 3 } },
        },
      },
    },
  });
});
afterAll(async () => {
  await fixture.close();
});

describe("a surface's endpoint budget", () => {
  it('turns a burst from several consumers into the gateway’s 429s, never sending RunPod more than the budget', async () => {
    const tokens = [
      await fixture.createToken('budget-a', ['chat']),
      await fixture.createToken('budget-b', ['chat']),
    ];
    const runsBefore = fixture.gateway.simulator?.stats().requests.run ?? 0;

    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        rawRequest(`${fixture.base}/chat/run`, {
          method: 'POST',
          headers: authHeaders(tokens[index % 2] ?? ''),
          body: JSON.stringify({ input: {} }),
        }),
      ),
    );
    const refused = answers.filter((answer) => answer.status === 429);

    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(3);
    expect(refused).toHaveLength(5);
    expect(refused[0]?.json).toMatchObject({ code: 'endpoint_rate_limited' });
    expect(Number(refused[0]?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused[0]?.headers['ratelimit-policy']).toBe('"endpoint";q=3;w=15');
    expect((fixture.gateway.simulator?.stats().requests.run ?? 0) - runsBefore).toBe(3);
    // Other operations and surfaces have no budget.
    const status = await rawRequest(`${fixture.base}/chat/health`, {
      headers: authHeaders(tokens[0] ?? ''),
    });
    expect(status.status).toBe(200);
  });
});
