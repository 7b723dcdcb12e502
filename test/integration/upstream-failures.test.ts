import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAULT_API_KEY,
  FAULTS,
  type FaultUpstream,
  faultRouting,
  startFaultUpstream,
} from '../helpers/fault-upstream.ts';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { outputsOf, readSse } from '../helpers/sse-client.ts';

let upstream: FaultUpstream;
let fixture: GatewayFixture;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  fixture = await startGatewayFixture({
    routing: faultRouting(),
    upstream: { baseUrl: upstream.baseUrl, apiKey: FAULT_API_KEY },
    settings: {
      UPSTREAM_TIMEOUT_MS_RUN: '300',
      UPSTREAM_TIMEOUT_MS_STATUS: '300',
      UPSTREAM_TIMEOUT_MS_STREAM: '500',
      STREAM_POLL_WAIT_MS: '1000',
      MAX_UPSTREAM_BODY_BYTES: String(1024 * 1024),
    },
  });
});
afterAll(async () => {
  await fixture.close();
  await upstream.close();
});

async function call(
  operation: 'run' | 'status',
  endpointId: string,
): Promise<{ response: Response; body: Record<string, unknown> }> {
  const response =
    operation === 'run'
      ? await fetch(`${fixture.base}/fault/run?endpointId=${endpointId}`, {
          method: 'POST',
          headers: authHeaders(fixture.token),
          body: JSON.stringify({ input: {} }),
        })
      : await fetch(`${fixture.base}/fault/status/job-1?endpointId=${endpointId}`, {
          headers: authHeaders(fixture.token),
        });
  const text = await response.text();
  return { response, body: JSON.parse(text) as Record<string, unknown> };
}

describe('mapping RunPod failures to problems', () => {
  it.each([
    [FAULTS.rejects400, 400, 'upstream_bad_request'],
    [FAULTS.notFound404, 404, 'upstream_not_found'],
    [FAULTS.unauthorized401, 502, 'upstream_auth_failed'],
    [FAULTS.forbidden403, 502, 'upstream_auth_failed'],
    [FAULTS.rateLimited, 429, 'upstream_rate_limited'],
    [FAULTS.serverError, 502, 'upstream_error'],
    [FAULTS.unavailable, 502, 'upstream_error'],
    [FAULTS.garbage, 502, 'upstream_error'],
    [FAULTS.slow, 504, 'upstream_timeout'],
    [FAULTS.reset, 502, 'upstream_unreachable'],
  ])('RunPod fault %s becomes %i %s', async (endpointId, status, code) => {
    const { response, body } = await call('run', endpointId);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(body).toMatchObject({ status, code, requestId: response.headers.get('x-request-id') });
  });

  it('puts RunPod’s own message into the detail of a 400', async () => {
    const { body } = await call('run', FAULTS.rejects400);
    expect(body.detail).toContain('input.prompt is required by this worker');
  });

  it('never echoes what RunPod said about the operator’s key', async () => {
    const { body } = await call('run', FAULTS.unauthorized401);
    expect(JSON.stringify(body)).not.toContain('SECRET');
    expect(JSON.stringify(body)).not.toContain(FAULT_API_KEY);
  });

  it.each([
    ['run', FAULTS.reflects400, 400],
    ['status', FAULTS.reflects404, 404],
  ] as const)(
    'scrubs the RunPod key and anything shaped like a credential from a reflected %s answer',
    async (operation, endpointId, status) => {
      const { response, body } = await call(operation, endpointId);

      expect(response.status).toBe(status);
      const text = JSON.stringify(body);
      expect(text).not.toContain(FAULT_API_KEY);
      expect(text).not.toMatch(/Bearer\s+\S|rpa_[A-Z0-9]/);
      // What is left of RunPod's text still helps the caller.
      expect(body.detail).toMatch(/Cannot route \S+ \/v2\/faultreflect40[04]\/.*\[redacted\]/);
      expect(body.error).toBe(body.detail);
    },
  );

  it.each([
    ['larger than the limit', FAULTS.huge],
    ['that never ends', FAULTS.endless],
  ])(
    'answers 502 upstream_error, naming the limit, for a RunPod answer %s',
    async (_case, endpointId) => {
      const before = process.memoryUsage().rss;

      const { response, body } = await call('status', endpointId);

      expect(response.status).toBe(502);
      expect(body).toMatchObject({
        code: 'upstream_error',
        detail: `RunPod's answer was larger than the gateway accepts (${1024 * 1024} bytes)`,
      });
      // Cut at the limit, not held whole.
      expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    },
  );

  it('passes Retry-After on, or a default when RunPod sends none', async () => {
    expect((await call('run', FAULTS.rateLimited)).response.headers.get('retry-after')).toBe('7');
    expect(
      (await call('run', FAULTS.rateLimitedNoHeader)).response.headers.get('retry-after'),
    ).toBe('5');
  });
});

describe('retries', () => {
  it('retries an idempotent status read after a 503', async () => {
    const before = upstream.hits(`/v2/${FAULTS.flaky}/status/job-1`);
    const { response, body } = await call('status', FAULTS.flaky);
    expect(response.status).toBe(200);
    expect(body).toEqual({ id: 'job-1', status: 'COMPLETED' });
    expect(upstream.hits(`/v2/${FAULTS.flaky}/status/job-1`) - before).toBe(2);
  });

  it('never retries a submission', async () => {
    const before = upstream.hits(`/v2/${FAULTS.unavailable}/run`);
    await call('run', FAULTS.unavailable);
    expect(upstream.hits(`/v2/${FAULTS.unavailable}/run`) - before).toBe(1);
  });
});

describe('an upstream that drips its answer', () => {
  it('is cut at the upstream timeout and answered 504 upstream_timeout, whatever it still sends', async () => {
    const started = Date.now();
    const { response, body } = await call('status', FAULTS.drip);

    expect(response.status).toBe(504);
    expect(body).toMatchObject({ code: 'upstream_timeout' });
    // Status's timeout is 300 ms here, and a read is retried once at most within its deadline.
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

/** The terminal events of an SSE read: exactly one ends every stream. */
function terminalsOf(read: Awaited<ReturnType<typeof readSse>>): string[] {
  return read.events
    .map((event) => event.event)
    .filter((event) => ['done', 'error', 'timeout'].includes(event));
}

describe('failures while streaming', () => {
  it('ends with one event: error, and invents no chunk, when RunPod resets mid-body', async () => {
    const read = await readSse(
      `${fixture.base}/fault/stream/job-1?endpointId=${FAULTS.streamResetMidBody}`,
      authHeaders(fixture.token),
    );

    expect(read.ended).toBe(true);
    expect(outputsOf(read)).toEqual([]);
    expect(terminalsOf(read)).toEqual(['error']);
    expect(read.events.at(-1)?.data).toMatchObject({ code: 'upstream_unreachable' });
  });

  it('ends with one event: error upstream_timeout when a poll drips instead of answering', async () => {
    const read = await readSse(
      `${fixture.base}/fault/stream/job-1?endpointId=${FAULTS.streamDrip}`,
      authHeaders(fixture.token),
    );

    expect(read.ended).toBe(true);
    expect(terminalsOf(read)).toEqual(['error']);
    expect(read.events.at(-1)?.data).toMatchObject({ code: 'upstream_timeout' });
  });

  it('ends the stream with event: error when RunPod fails mid-stream', async () => {
    const read = await readSse(
      `${fixture.base}/fault/stream/job-1?endpointId=${FAULTS.streamBreaks}`,
      authHeaders(fixture.token),
    );
    expect(read.status).toBe(200);
    expect(outputsOf(read)).toEqual([{ index: 0 }]);
    const last = read.events.at(-1);
    expect(last).toMatchObject({
      event: 'error',
      data: { status: 502, code: 'upstream_error', requestId: expect.any(String) },
    });
    expect(read.events.some((event) => event.event === 'done')).toBe(false);
  });

  it('waits out a 429 as RunPod’s Retry-After says and loses nothing', async () => {
    const read = await readSse(
      `${fixture.base}/fault/stream/job-1?endpointId=${FAULTS.streamRateLimited}`,
      authHeaders(fixture.token),
    );
    expect(outputsOf(read)).toEqual([{ index: 0 }]);
    const done = read.events.at(-1);
    expect(done).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
    expect(done?.at).toBeGreaterThanOrEqual(1000);
  });
});
