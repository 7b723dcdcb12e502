import { describe, expect, it } from 'vitest';
import { API_KEY, isStatus, startTestSimulator } from './simulator-client.ts';

describe('authentication', () => {
  it.each([
    ['no Authorization header', null],
    ['a wrong key', 'Bearer not-the-key'],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 Unauthorized to %s', async (_case, authorization) => {
    const client = await startTestSimulator();
    const response = await client.call('/health', { authorization });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'Unauthorized' });
  });

  it('accepts the key with or without the Bearer scheme', async () => {
    const client = await startTestSimulator();
    expect((await client.call('/health', { authorization: `Bearer ${API_KEY}` })).status).toBe(200);
    expect((await client.call('/health', { authorization: API_KEY })).status).toBe(200);
  });
});

describe('unknown things', () => {
  it('answers 404 for an unknown job id', async () => {
    const client = await startTestSimulator();
    for (const path of ['/status', '/status-sync', '/stream', '/cancel', '/retry']) {
      const method = path === '/cancel' || path === '/retry' ? 'POST' : 'GET';
      const response = await client.call(`${path}/no-such-job`, { method });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ error: expect.stringContaining('no-such-job') });
    }
  });

  it('answers 404 for an endpoint id outside endpointIds', async () => {
    const client = await startTestSimulator({ endpointIds: ['sim-endpoint'] });
    expect((await client.call('/health')).status).toBe(200);
    const response = await client.call('/run', { endpointId: 'elsewhere', body: { input: {} } });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: expect.stringContaining('elsewhere') });
  });

  it('answers 404 for an endpoint id that is not a valid id', async () => {
    const client = await startTestSimulator();
    expect((await client.call('/health', { endpointId: 'bad.id' })).status).toBe(404);
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    const client = await startTestSimulator();
    expect((await client.call('/openai/v2/models')).status).toBe(404);
    expect((await client.call('/requests')).status).toBe(404);
    expect((await client.call('/status')).status).toBe(404);
    const wrongMethod = await client.call('/run');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(wrongMethod.body).toEqual({ error: expect.any(String) });
    expect((await client.call('/health', { method: 'POST' })).status).toBe(405);
  });
});

describe('request bodies', () => {
  it.each([
    ['invalid JSON', '{"input":'],
    ['no input', '{"webhook":"http://x"}'],
    ['an input that is not an object', '{"input":"text"}'],
    ['a body that is not an object', '[1]'],
    ['an empty body', ''],
    ['a policy with a negative ttl', '{"input":{},"policy":{"ttl":-5}}'],
    [
      'input nested deeper than Go\u2019s decoder takes',
      `{"input":{"a":${'['.repeat(10_001)}${']'.repeat(10_001)}}}`,
    ],
  ])('answers 400 to /run with %s', async (_case, rawBody) => {
    const client = await startTestSimulator();
    const response = await client.call('/run', { method: 'POST', rawBody });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: expect.any(String) });
  });

  it('accepts GET, POST with an empty body and POST with {} on /status', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 0 } });
    await client.waitFor(id, isStatus('COMPLETED'));
    for (const options of [
      { method: 'GET' },
      { method: 'POST', rawBody: '' },
      { method: 'POST', rawBody: '{}' },
    ] as const) {
      const response = await client.call(`/status/${id}`, options);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id, status: 'COMPLETED' });
    }
  });

  it('answers every route, errors included, as application/json', async () => {
    const client = await startTestSimulator();
    const responses = await Promise.all([
      client.call('/health'),
      client.call('/health', { authorization: null }),
      client.call('/status/missing'),
      client.call('/nowhere'),
      client.call('/run', { method: 'POST', rawBody: 'x' }),
    ]);
    for (const response of responses) {
      expect(response.headers.get('content-type')).toBe('application/json');
    }
  });
});

describe('stats', () => {
  it('counts requests per operation', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({});
    await client.call(`/status/${id}`);
    await client.call(`/status/${id}`, { method: 'POST' });
    await client.call('/health');
    await client.call('/nowhere');
    expect(client.simulator.stats().requests).toEqual({ run: 1, status: 2, health: 1, other: 1 });
  });
});
