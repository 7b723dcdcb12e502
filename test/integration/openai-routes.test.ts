import { createRunpod } from '@runpod/ai-sdk-provider';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';

/** The OpenAI-compatible routes driven by the real `openai` SDK and the ai-sdk RunPod provider. */
let fixture: GatewayFixture;
let token: string;
let openai: OpenAI;

beforeAll(async () => {
  fixture = await startGatewayFixture();
  token = await fixture.createToken('llm-team', ['chat']);
  openai = new OpenAI({ apiKey: token, baseURL: `${fixture.base}/chat/openai/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await fixture.close();
});

/** Extra body fields (the simulator's script) the SDK's types do not know. */
function scripted<T extends object>(params: T, sim: Record<string, unknown>): T {
  return { ...params, sim } as T;
}

describe('the openai SDK through the gateway', () => {
  it('creates a chat completion, with the worker’s usage', async () => {
    const completion = await openai.chat.completions.create({
      model: 'llama-3-8b',
      messages: [{ role: 'user', content: 'Say hello to the gateway' }],
    });

    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('llama-3-8b');
    expect(completion.choices[0]?.message).toEqual({
      role: 'assistant',
      content: 'Simulated reply to: Say hello to the gateway',
    });
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 });
  });

  it('streams a chat completion chunk by chunk, ending with the usage it asked for', async () => {
    const stream = await openai.chat.completions.create(
      scripted(
        {
          model: 'llama-3-8b',
          messages: [{ role: 'user' as const, content: 'count' }],
          stream: true as const,
          stream_options: { include_usage: true },
        },
        { reply: 'one two three four', tokenIntervalMs: 30 },
      ),
    );
    const deltas: string[] = [];
    const arrivals: number[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta?.content;
      if (content) {
        deltas.push(content);
        arrivals.push(performance.now());
      }
      if (chunk.usage) usage = chunk.usage;
    }

    expect(deltas).toEqual(['one ', 'two ', 'three ', 'four']);
    // Relayed as produced: the gaps the worker left are still there.
    const gaps = arrivals.slice(1).map((at, index) => at - (arrivals[index] ?? at));
    expect(Math.min(...gaps)).toBeGreaterThan(15);
    expect(usage).toEqual({ prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 });
  });

  it('creates text completions and embeddings, and lists the models', async () => {
    const completion = await openai.completions.create({
      model: 'llama-3-8b',
      prompt: 'Once upon a time',
      max_tokens: 3,
    });
    const embeddings = await openai.embeddings.create({
      model: 'embedder',
      input: ['first text', 'second text'],
    });
    const models = await openai.models.list();

    expect(completion.choices[0]).toMatchObject({
      text: 'Simulated reply to: ',
      finish_reason: 'length',
    });
    expect(embeddings.data.map((item) => item.embedding.length)).toEqual([8, 8]);
    expect(embeddings.data[0]?.embedding).not.toEqual(embeddings.data[1]?.embedding);
    expect(embeddings.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(models.data.map((model) => model.id)).toEqual(['simulated-model']);
  });

  it('refuses in OpenAI’s error shape, with the gateway’s stable code', async () => {
    const stranger = new OpenAI({
      apiKey: 'rpg_not-a-key',
      baseURL: `${fixture.base}/chat/openai/v1`,
      maxRetries: 0,
    });
    const elsewhere = new OpenAI({
      apiKey: token,
      baseURL: `${fixture.base}/images/openai/v1`,
      maxRetries: 0,
    });

    const unknownKey = await stranger.models.list().catch((error: unknown) => error);
    const notGranted = await elsewhere.models.list().catch((error: unknown) => error);
    const noModel = await openai.chat.completions
      .create({ messages: [{ role: 'user', content: 'hi' }] } as never)
      .catch((error: unknown) => error);
    const workerRefused = await openai.chat.completions
      .create(
        scripted(
          { model: 'llama-3-8b', messages: [{ role: 'user' as const, content: 'x' }] },
          { error: { status: 400, message: 'This model’s maximum context length is 8192 tokens' } },
        ),
      )
      .catch((error: unknown) => error);

    expect(unknownKey).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unknownKey).toMatchObject({
      status: 401,
      code: 'unauthorized',
      type: 'authentication_error',
    });
    expect((unknownKey as Error).message).toContain('The API key is unknown, expired or disabled');
    expect(notGranted).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(notGranted).toMatchObject({ code: 'forbidden' });
    expect(noModel).toBeInstanceOf(OpenAI.BadRequestError);
    expect(noModel).toMatchObject({ code: 'invalid_request' });
    expect((noModel as Error).message).toContain('model');
    expect(workerRefused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(workerRefused).toMatchObject({ code: 'upstream_bad_request' });
    expect((workerRefused as Error).message).toContain('maximum context length is 8192 tokens');
  });

  it('ends a stream the worker broke off with an error the SDK raises, after what arrived', async () => {
    const stream = await openai.chat.completions.create(
      scripted(
        {
          model: 'llama-3-8b',
          messages: [{ role: 'user' as const, content: 'x' }],
          stream: true as const,
        },
        { reply: 'a b c d e', failAfterTokens: 2 },
      ),
    );
    const deltas: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta?.content ?? '');
    })().catch((error: unknown) => error);

    expect(deltas.join('')).toBe('a b ');
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ code: 'upstream_error' });
  });

  it('counts requests and tokens per key, surface and model in the key’s usage', async () => {
    const counted = await fixture.createToken('token-counter', ['chat']);
    const client = new OpenAI({
      apiKey: counted,
      baseURL: `${fixture.base}/chat/openai/v1`,
      maxRetries: 0,
    });
    await client.chat.completions.create({
      model: 'llama-3-8b',
      messages: [{ role: 'user', content: 'one two three' }],
    });
    const stream = await client.chat.completions.create({
      model: 'llama-3-8b',
      messages: [{ role: 'user', content: 'four five' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _chunk of stream) {
      // drained
    }
    await client.embeddings.create({ model: 'embedder', input: 'six' });
    // The counts are written once each answer is out.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const usage = (await (
      await fetch(`${fixture.gateway.url}/v1/usage`, { headers: authHeaders(counted) })
    ).json()) as { rows: Record<string, unknown>[] };

    expect(usage.rows).toEqual([
      expect.objectContaining({
        surface: 'chat',
        submitted: 0,
        openaiRequests: 3,
        promptTokens: 3 + 2 + 1,
        completionTokens: 6 + 5,
        tokensByModel: {
          'llama-3-8b': { requests: 2, promptTokens: 5, completionTokens: 11 },
          embedder: { requests: 1, promptTokens: 1, completionTokens: 0 },
        },
      }),
    ]);
  });
});

describe('the ai-sdk RunPod provider through the gateway', () => {
  it('generates and streams text with chat and completion models', async () => {
    const runpod = createRunpod({ apiKey: token, baseURL: `${fixture.base}/chat/openai/v1` });

    const generated = await generateText({
      model: runpod.chatModel('llama-3-8b'),
      prompt: 'Write one line',
    });
    const streamed = streamText({ model: runpod.completionModel('llama-3-8b'), prompt: 'Go on' });
    let text = '';
    for await (const part of streamed.textStream) text += part;

    expect(generated.text).toBe('Simulated reply to: Write one line');
    expect(generated.usage).toMatchObject({ inputTokens: 3, outputTokens: 6 });
    // The completion model sends the prompt as a transcript ("user: Go on\n\nassistant:").
    expect(text).toMatch(/^Simulated reply to: user: Go on assistant:$/);
  });
});
