import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
  waitForTerminal,
} from '../helpers/local-gateway-fixture.ts';
import { rawTargetRequest } from '../helpers/raw-http.ts';

let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture();
});
afterAll(async () => {
  await fixture.close();
});

async function post(path: string, body?: unknown, token = fixture.token): Promise<Response> {
  return fetch(`${fixture.base}${path}`, {
    method: 'POST',
    headers: authHeaders(token),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function get(
  path: string,
  token = fixture.token,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${fixture.base}${path}`, { headers: authHeaders(token, headers) });
}

async function expectProblem(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  expect({ status: response.status, code: body.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expect(body.requestId).toBe(response.headers.get('x-request-id'));
  expect(body).toMatchObject({
    type: 'about:blank',
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
  return body;
}

describe('every route through the local runtime against the simulator', () => {
  it('run submits a job and status reads its result', async () => {
    const run = await post('/chat/run', { input: { prompt: 'hello' } });
    const job = (await run.json()) as { id: string; status: string };
    expect(run.status).toBe(200);
    expect(run.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.status).toBe('IN_QUEUE');

    const final = await waitForTerminal(fixture, 'chat', job.id);
    expect(final).toMatchObject({
      id: job.id,
      status: 'COMPLETED',
      output: { echo: { prompt: 'hello' } },
    });
  });

  it('runsync waits for the output and passes RunPod’s body through unchanged', async () => {
    const response = await post('/chat/runsync?wait=5000', {
      input: { sim: { output: { answer: 42 } } },
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const job = JSON.parse(text) as Record<string, unknown>;
    expect(job).toMatchObject({ status: 'COMPLETED', output: { answer: 42 } });
    expect(String(job.id)).toMatch(/^sync-/);
    // Key order as RunPod sent it: the gateway does not re-serialise.
    expect(Object.keys(job)).toEqual([...Object.keys(job)].sort());
  });

  it('runsync returns a non-terminal status when the job outlives wait', async () => {
    const response = await post('/chat/runsync?wait=1000', {
      input: { sim: { durationMs: 3000 } },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toMatch(/^IN_(QUEUE|PROGRESS)$/);
  });

  it('runsync carries a 20 MB output through', async () => {
    const response = await post('/images/runsync?wait=30000', {
      input: { sim: { outputBytes: 20 * 1024 * 1024 } },
    });
    const job = (await response.json()) as { status: string; output: string };
    expect(response.status).toBe(200);
    expect(job.status).toBe('COMPLETED');
    expect(job.output.length).toBe(20 * 1024 * 1024);
  });

  it('status also accepts POST, as RunPod’s Go SDK sends it', async () => {
    const { id } = (await (await post('/chat/run', { input: {} })).json()) as { id: string };
    const response = await post(`/chat/status/${id}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { id: string }).id).toBe(id);
  });

  it('cancel stops a running job', async () => {
    const { id } = (await (
      await post('/chat/run', { input: { sim: { durationMs: 10_000 } } })
    ).json()) as { id: string };
    const response = await post(`/chat/cancel/${id}`, {});
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id, status: 'CANCELLED' });
    expect(await waitForTerminal(fixture, 'chat', id)).toMatchObject({ status: 'CANCELLED' });
  });

  it('retry requeues a failed job under the same id', async () => {
    const { id } = (await (
      await post('/chat/run', { input: { sim: { failTimes: 1, durationMs: 10 } } })
    ).json()) as {
      id: string;
    };
    expect(await waitForTerminal(fixture, 'chat', id)).toMatchObject({ status: 'FAILED' });
    const response = await post(`/chat/retry/${id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id, status: 'IN_QUEUE' });
    expect(await waitForTerminal(fixture, 'chat', id)).toMatchObject({ status: 'COMPLETED' });
  });

  it('retry of a completed job is RunPod’s 400 with its message', async () => {
    const { id } = (await (await post('/chat/runsync', { input: {} })).json()) as { id: string };
    const problem = await expectProblem(
      await post(`/chat/retry/${id}`),
      400,
      'upstream_bad_request',
    );
    expect(problem.detail).toContain('only FAILED or TIMED_OUT');
  });

  it('purge-queue removes only queued jobs', async () => {
    // Two long jobs occupy the simulator's two workers of the images endpoint; the rest queue.
    for (let index = 0; index < 2; index++)
      await post('/images/run', { input: { sim: { durationMs: 5_000, queueMs: 0 } } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let index = 0; index < 3; index++) await post('/images/run', { input: {} });
    const response = await post('/images/purge-queue');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ removed: 3, status: 'completed' });
  });

  it('health reports all of RunPod’s counters', async () => {
    const response = await get('/chat/health');
    const health = (await response.json()) as { jobs: object; workers: object };
    expect(response.status).toBe(200);
    expect(Object.keys(health.jobs).sort()).toEqual([
      'completed',
      'failed',
      'inProgress',
      'inQueue',
      'retried',
    ]);
    expect(Object.keys(health.workers).sort()).toEqual([
      'idle',
      'initializing',
      'ready',
      'running',
      'throttled',
      'unhealthy',
    ]);
  });

  it('answers a buffered route with its Content-Length, as API Gateway does, not chunked', async () => {
    const response = await get('/chat/health');
    const body = Buffer.from(await response.arrayBuffer());
    expect(response.headers.get('content-length')).toBe(String(body.length));
    expect(response.headers.get('transfer-encoding')).toBeNull();
  });

  it('stream with Accept: application/json returns one RunPod poll', async () => {
    const { id } = (await (
      await post('/chat/runsync', { input: { sim: { stream: 3, chunkIntervalMs: 0 } } })
    ).json()) as {
      id: string;
    };
    const response = await get(`/chat/stream/${id}`, fixture.token, { Accept: 'application/json' });
    const poll = (await response.json()) as { status: string; stream: unknown[] };
    expect(response.status).toBe(200);
    expect(poll.status).toBe('COMPLETED');
    expect(poll.stream.length).toBe(3);
  });
});

describe('routing', () => {
  it('routes a model in the body to its endpoint', async () => {
    const response = await post('/chat/run', { input: { model: 'llama-3-8b' } });
    const { id } = (await response.json()) as { id: string };
    const simulator = fixture.gateway.simulator;
    if (!simulator) throw new Error('the fixture runs the embedded simulator');
    // The job lives on the model's endpoint: the default endpoint does not know it…
    const atDefault = await fetch(`${simulator.baseUrl}/chatendpoint01/status/${id}`, {
      headers: { Authorization: `Bearer ${simulator.apiKey}` },
    });
    expect(atDefault.status).toBe(404);
    // …and follow-ups find it there with no query, through the ledger.
    expect((await get(`/chat/status/${id}`)).status).toBe(200);
  });

  it('accepts an allow-listed endpointId override', async () => {
    const response = await post('/chat/run?endpointId=chatcanary01', { input: {} });
    expect(response.status).toBe(200);
  });

  it('refuses an override that is not configured for the surface', async () => {
    await expectProblem(
      await post('/chat/run?endpointId=imagesendpoint1', { input: {} }),
      403,
      'endpoint_not_allowed',
    );
    await expectProblem(
      await post('/chat/run?endpointId=..%2F..%2Fhealth', { input: {} }),
      403,
      'endpoint_not_allowed',
    );
  });

  it('answers 404 unknown_surface for a surface that is not configured', async () => {
    await expectProblem(await post('/nope/run', { input: {} }), 404, 'unknown_surface');
  });

  it('answers 400 missing_endpoint_id when a surface has no endpoint for the request', async () => {
    const problem = await expectProblem(
      await post('/modelsonly/run', { input: {} }),
      400,
      'missing_endpoint_id',
    );
    expect(problem.detail).toBe('No RunPod endpoint configured for surface modelsonly');
    expect((await post('/modelsonly/run', { input: { model: 'small' } })).status).toBe(200);
  });

  it('rejects job ids that could change the upstream URL', async () => {
    for (const jobId of ['..%2Fhealth', 'a%3Fwait%3D1', 'a%23b', '%252E%252E']) {
      await expectProblem(await get(`/chat/status/${jobId}`), 400, 'invalid_request');
    }
    // A dot-segment is resolved by the URL itself and never names a job route.
    await expectProblem(await get('/chat/status/%2E%2E'), 404, 'not_found');
  });
});

describe('authentication and authorisation', () => {
  it('answers 401 with WWW-Authenticate for a missing, malformed or unknown key', async () => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer rpg_unknown']) {
      const response = await fetch(`${fixture.base}/chat/health`, {
        headers: authorization ? { Authorization: authorization } : {},
      });
      await expectProblem(response, 401, 'unauthorized');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });

  it('authenticates before validating, so anonymous callers learn nothing about schemas', async () => {
    const response = await fetch(`${fixture.base}/chat/run`, { method: 'POST', body: '{"bad":' });
    await expectProblem(response, 401, 'unauthorized');
  });

  it('answers 403 when a key is not granted the surface or the operation', async () => {
    const token = await fixture.createToken('images-status-only', ['images'], ['status']);
    await expectProblem(await get('/chat/health', token), 403, 'forbidden');
    await expectProblem(await get('/images/health', token), 403, 'forbidden');
  });
});

describe('hostile input', () => {
  it('survives a body nested 100 000 levels deep with a webhook: RunPod refuses it, the process lives', async () => {
    const deep = `{"input":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}},"webhook":"https://example.com/h"}`;

    const response = await fetch(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: deep,
    });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe('upstream_bad_request');
    expect((await get('/chat/health')).status).toBe(200);
  });
});

describe('request targets, routed as API Gateway routes them', () => {
  async function requestTarget(
    target: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const answer = await rawTargetRequest(new URL(fixture.base).origin, target, {
      headers: authHeaders(fixture.token),
    });
    return { status: answer.status, body: answer.json as Record<string, unknown> };
  }

  it.each([
    ['a dot segment', '/v1/runpod/chat/status/../health'],
    ['an encoded dot segment', '/v1/runpod/chat/status/%2e%2e/health'],
    ['a path with a trailing segment', '/v1/runpod/chat/health/x'],
  ])('does not fold %s into another route: 404 not_found', async (_case, target) => {
    const answer = await requestTarget(target);

    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe('not_found');
  });

  it.each([
    ['a malformed authority', '//['],
    ['the absolute form', 'http://example.com/v1/runpod/chat/health'],
  ])('answers 400 invalid_request to %s, not 502', async (_case, target) => {
    const answer = await requestTarget(target);

    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('invalid_request');
  });
});

describe('request validation', () => {
  it('rejects unknown top-level fields and names them', async () => {
    const problem = await expectProblem(
      await post('/chat/run', { input: {}, extra: 1 }),
      400,
      'invalid_request',
    );
    expect(problem.detail).toContain('"extra"');
  });

  it('rejects a body that is not JSON', async () => {
    const response = await fetch(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: '{',
    });
    await expectProblem(response, 400, 'invalid_json');
  });

  it('rejects a webhook that is not https and a policy out of RunPod’s ranges', async () => {
    const problem = await expectProblem(
      await post('/chat/run', { input: {}, webhook: 'http://example.com', policy: { ttl: 5 } }),
      400,
      'invalid_request',
    );
    expect(problem.detail).toContain('webhook');
    expect(problem.detail).toContain('policy.ttl');
  });

  it('rejects a runsync wait outside 1000–300000 ms', async () => {
    await expectProblem(
      await post('/chat/runsync?wait=999', { input: {} }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await post('/chat/runsync?wait=300001', { input: {} }),
      400,
      'invalid_request',
    );
  });

  it('answers 413 payload_too_large naming the limit', async () => {
    const response = await post('/chat/run', { input: { blob: 'x'.repeat(5 * 1024 * 1024) } });
    const problem = await expectProblem(response, 413, 'payload_too_large');
    expect(problem.detail).toContain(String(5 * 1024 * 1024));
  });

  it('answers 404 not_found for a route that does not exist', async () => {
    await expectProblem(await get('/chat/nothing'), 404, 'not_found');
    await expectProblem(
      await fetch(`${fixture.base}/chat/health`, { method: 'DELETE' }),
      404,
      'not_found',
    );
  });
});
