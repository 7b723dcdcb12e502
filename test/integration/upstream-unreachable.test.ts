import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';

let fixture: GatewayFixture;

/** A port that was free a moment ago: nothing listens there. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  fixture = await startGatewayFixture({
    upstream: { baseUrl: `http://127.0.0.1:${await closedPort()}/v2`, apiKey: 'unused' },
    // No job here was submitted through the gateway.
    routing: {
      surfaces: { chat: { endpointId: 'chatendpoint01', allowUnrecordedJobs: true } },
    },
  });
});
afterAll(async () => {
  await fixture.close();
});

it('answers 502 upstream_unreachable when RunPod refuses the connection', async () => {
  const response = await fetch(`${fixture.base}/chat/run`, {
    method: 'POST',
    headers: authHeaders(fixture.token),
    body: JSON.stringify({ input: {} }),
  });
  expect(response.status).toBe(502);
  expect(await response.json()).toMatchObject({ code: 'upstream_unreachable' });
});

it('answers a stream request for an unreachable RunPod with a problem before any byte', async () => {
  const response = await fetch(`${fixture.base}/chat/stream/job-1`, {
    headers: authHeaders(fixture.token),
  });
  expect(response.status).toBe(502);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
});
