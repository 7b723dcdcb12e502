import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/routes.ts';
import { type GatewayFixture, startGatewayFixture } from '../helpers/local-gateway-fixture.ts';
import { rawTargetRequest } from '../helpers/raw-http.ts';

/**
 * Property-based fuzzing of every route through `npm start`'s runtime against the simulator:
 * whatever the path, query, headers and body, the gateway answers (no crash, no hang) and never
 * with a 5xx of its own making.
 */
let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({
    // Short holds, so fuzzed waits and streams end quickly.
    settings: { STREAM_MAX_DURATION_MS: '1500', STREAM_POLL_WAIT_MS: '1000' },
    simulator: { syncWaitMs: 1_000, streamHoldMs: 200 },
  });
});
afterAll(async () => {
  await fixture.close();
});

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/**
 * Sends the request exactly as built, on the default agent's kept-alive connections as real
 * clients do (one request's mishandled body must not break the next request's connection);
 * resolves with the status, or 0 when Node refused to send it (a request line or header it
 * cannot write: nothing reached the gateway).
 */
async function send(request: FuzzRequest): Promise<number> {
  try {
    return (
      await rawTargetRequest(new URL(fixture.base).origin, request.path, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
      })
    ).status;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_')) return 0;
    throw error;
  }
}

const printable = fc.string({ unit: 'binary-ascii', maxLength: 40 });
const segment = fc.oneof(
  fc.constantFrom('chat', 'images', 'modelsonly', 'nope', '..', '%2e%2e', '', 'a%00b', '%ZZ'),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const jobId = fc.oneof(
  fc.uuid().map((id) => `${id}-u1`),
  fc.string({ maxLength: 140 }).map(encodeURIComponent),
);
const query = fc
  .array(
    fc.tuple(
      fc.constantFrom('wait', 'ttl', 'model', 'endpointId', 'x', 'wait'),
      fc.oneof(fc.integer({ min: -5, max: 400_000 }).map(String), printable),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => new URLSearchParams(pairs).toString());
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify({ input: value })),
  fc
    .record({
      input: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
      webhook: fc.option(fc.webUrl()),
      policy: fc.option(fc.record({ ttl: fc.integer(), executionTimeout: fc.integer() })),
    })
    .map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
);

describe('every route under random input', () => {
  it('answers every request, never with a 5xx of its own', async () => {
    const routes = ROUTES.map((route) => route.path);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
          // Mostly real surfaces and a valid key, so most requests reach the operations.
          surface: fc.oneof(
            { arbitrary: fc.constantFrom('chat', 'images'), weight: 4 },
            { arbitrary: segment, weight: 1 },
          ),
          route: fc.constantFrom(...routes),
          jobId,
          query,
          authorized: fc.oneof(
            { arbitrary: fc.constant(true), weight: 5 },
            { arbitrary: fc.constant(false), weight: 1 },
          ),
          accept: fc.option(
            fc.constantFrom('*/*', 'text/event-stream', 'application/json', 'text/*;q=0.5'),
          ),
          idempotencyKey: fc.option(printable),
          body,
        }),
        async (input) => {
          const path = `/v1/runpod/${input.surface}${input.route.replace('{jobId}', input.jobId)}${input.query ? `?${input.query}` : ''}`;
          const headers: Record<string, string> = { 'Content-Type': 'application/json' };
          if (input.authorized) headers.Authorization = `Bearer ${fixture.token}`;
          if (input.accept !== null) headers.Accept = input.accept;
          if (input.idempotencyKey !== null) headers['Idempotency-Key'] = input.idempotencyKey;

          const status = await send({ method: input.method, path, headers, body: input.body });

          // 0: the client itself refused to send it. 502/504 may only come from RunPod's side,
          // which the simulator never fails in these ways.
          expect(status === 0 || (status >= 200 && status < 500), `${status} for ${path}`).toBe(
            true,
          );
        },
      ),
      { numRuns: 300, seed: 20261206 },
    );
    // Still serving.
    const health = await send({
      method: 'GET',
      path: '/v1/runpod/chat/health',
      headers: { Authorization: `Bearer ${fixture.token}` },
      body: undefined,
    });
    expect(health).toBe(200);
  }, 120_000);
});
