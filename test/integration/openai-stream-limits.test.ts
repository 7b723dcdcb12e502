import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';

/** The OpenAI-compatible stream's limits: keep-alives, the maximum duration, key limits, bad bodies. */
let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({
    settings: { STREAM_KEEPALIVE_MS: '100', STREAM_MAX_DURATION_MS: '1500' },
  });
});
afterAll(async () => {
  await fixture.close();
});

const chat = (sim: Record<string, unknown>) =>
  JSON.stringify({
    model: 'llama-3-8b',
    messages: [{ role: 'user', content: 'think' }],
    stream: true,
    sim,
  });

describe('an OpenAI-compatible stream', () => {
  it('sends keep-alive comments while the model thinks, then the tokens as they come', async () => {
    const response = await rawRequest(`${fixture.base}/chat/openai/v1/chat/completions`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: chat({ reply: 'late answer', firstTokenDelayMs: 450 }),
    });

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    const beforeFirstToken = response.text.slice(0, response.text.indexOf('"late '));
    expect(beforeFirstToken.match(/^: keep-alive$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(response.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('ends with an error event at the maximum duration, which the SDK raises', async () => {
    const client = new OpenAI({
      apiKey: fixture.token,
      baseURL: `${fixture.base}/chat/openai/v1`,
      maxRetries: 0,
    });
    const started = performance.now();
    const stream = await client.chat.completions.create({
      model: 'llama-3-8b',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
      sim: { tokens: 100, tokenIntervalMs: 100 },
    } as never);
    let tokens = 0;
    const failure = await (async () => {
      for await (const _chunk of stream as unknown as AsyncIterable<unknown>) tokens++;
    })().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ code: 'gateway_timeout' });
    expect(tokens).toBeGreaterThan(5);
    expect(performance.now() - started).toBeLessThan(2_500);
  });

  it('answers a body that is not JSON, and a key over its rate, in OpenAI’s shape', async () => {
    const limited = await fixture.createToken('llm-limited', ['chat'], undefined, {
      limits: { rate: { 'openai-chat': { perSecond: 0.1, burst: 1 } } },
    });
    const notJson = await rawRequest(`${fixture.base}/chat/openai/v1/chat/completions`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: '{"model":',
    });
    const client = new OpenAI({
      apiKey: limited,
      baseURL: `${fixture.base}/chat/openai/v1`,
      maxRetries: 0,
    });
    const ask = () =>
      client.chat.completions.create({
        model: 'llama-3-8b',
        messages: [{ role: 'user', content: 'hi' }],
      });
    await ask();
    const refused = await ask().catch((error: unknown) => error);

    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({
      error: { type: 'invalid_request_error', code: 'invalid_json', message: expect.any(String) },
    });
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused).toMatchObject({ code: 'rate_limited', type: 'rate_limit_error' });
    expect(
      (refused as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after'),
    ).toBeTruthy();
  });
});
