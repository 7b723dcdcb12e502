import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emfLinesOf } from '../helpers/emf.ts';
import {
  type BundleHarness,
  bearer,
  callBundle,
  type StartedBundle,
  startBundleHarness,
} from '../helpers/lambda/bundle-harness.ts';
import { restProxyEvent } from '../helpers/lambda/rest-proxy-event.ts';

/**
 * The OpenAI-compatible routes' bundles, as `cdk synth` produced them, under the real Lambda
 * runtime interface client: chat completions streamed as they are generated, models buffered,
 * refusals in OpenAI's shape.
 */
describe('OpenAI-compatible route bundles under aws-lambda-ric', () => {
  let harness: BundleHarness;
  let chat: StartedBundle;
  let models: StartedBundle;

  beforeAll(async () => {
    harness = await startBundleHarness();
    [chat, models] = await Promise.all([
      harness.start('openai-chat', { runpodKeyForm: 'plain' }),
      harness.start('openai-models', { runpodKeyForm: 'json' }),
    ]);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('streams a chat completion token by token while the invocation runs, ending with [DONE]', async () => {
    const event = restProxyEvent({
      operation: 'openai-chat',
      surface: 'chat',
      headers: { ...bearer(harness.token), 'Content-Type': 'application/json' },
      body: {
        model: 'llama-3-8b',
        messages: [{ role: 'user', content: 'hello' }],
        stream: true,
        stream_options: { include_usage: true },
        sim: { reply: 'one two three four', tokenIntervalMs: 250 },
      },
    });
    let ended = false;
    let seen = '';

    const pending = chat.process
      .invoke(event, {
        timeoutMs: 30_000,
        onChunk: (_chunk, bodyBytes) => {
          if (!ended) seen += bodyBytes.toString('utf8');
        },
      })
      .then((result) => {
        ended = true;
        return result;
      });
    await expect.poll(() => seen, { timeout: 5_000, interval: 20 }).toContain('"one "');
    expect(ended).toBe(false);
    const result = await pending;

    if (result.kind !== 'streamed') throw new Error(`not streamed: ${JSON.stringify(result)}`);
    expect(result.prelude?.statusCode).toBe(200);
    expect(result.prelude?.headers).toMatchObject({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'X-Request-Id': event.requestContext.requestId,
    });
    const data = result.body
      .split('\n\n')
      .filter((block) => block.startsWith('data: '))
      .map((block) => block.slice('data: '.length));
    expect(data.at(-1)).toBe('[DONE]');
    const deltas = data
      .slice(0, -1)
      .map((text) => JSON.parse(text) as { choices: { delta?: { content?: string } }[] })
      .map((chunk) => chunk.choices[0]?.delta?.content ?? '')
      .join('');
    expect(deltas).toBe('one two three four');
    expect(result.errorType).toBeUndefined();
    // The tokens were counted for the key's usage before the invocation ended, and published.
    expect(chat.process.output()).toContain('"promptTokens":1');
    const metrics = emfLinesOf(chat.process.output()).at(-1);
    expect(metrics?.dimensions).toMatchObject({ operation: 'openai-chat', surface: 'chat' });
    expect(metrics?.metrics).toMatchObject({ StreamDone: 1, PromptTokens: 1, CompletionTokens: 4 });
  });

  it('lists the models buffered, and refuses a missing key in OpenAI’s shape', async () => {
    const listed = await callBundle(models, {
      operation: 'openai-models',
      surface: 'chat',
      headers: bearer(harness.token),
    });
    const refused = await callBundle(models, { operation: 'openai-models', surface: 'chat' });

    expect(listed.mode).toBe('buffered');
    expect(JSON.parse(listed.body)).toMatchObject({
      object: 'list',
      data: [{ id: 'simulated-model' }],
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(refused.body)).toMatchObject({
      error: { type: 'authentication_error', code: 'unauthorized', param: null },
    });
  });
});
