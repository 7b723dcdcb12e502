/**
 * The OpenAI-compatible face of a vLLM worker, as RunPod serves it beside the job queue:
 * `/v2/{endpointId}/openai/v1/chat/completions`, `/completions`, `/embeddings` (POST) and
 * `/models` (GET). Replies are scripted by the request: by default a short reply built from the
 * prompt, one word per token; a `sim` object in the body (which a real worker would not get)
 * sets the reply, its timing and its failures — see docs/simulator.md. Usage counts one token
 * per word. Any model name is served (a real worker answers 404 for a name it does not serve).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { isClosed, sendJson } from './http-io.ts';
import type { TimerSet } from './timer-set.ts';

/** The model `GET /models` lists (a real worker lists the one it serves). */
export const SIMULATED_MODEL = 'simulated-model';

const DEFAULT_FIRST_TOKEN_DELAY_MS = 20;
const DEFAULT_TOKEN_INTERVAL_MS = 10;
const EMBEDDING_DIMENSIONS = 8;

export interface OpenAiRequest {
  /** The path below `openai/v1/`, e.g. `chat/completions`. */
  readonly path: string;
  readonly method: string;
  /** The parsed JSON body, or undefined. */
  readonly body: unknown;
  readonly response: ServerResponse;
  readonly timers: TimerSet;
}

/** What `sim` may say about the reply. */
interface Script {
  readonly tokens: readonly string[];
  readonly firstTokenDelayMs: number;
  readonly tokenIntervalMs: number;
  /** Drop the connection after this many tokens (a worker that dies mid-answer). */
  readonly failAfterTokens: number | undefined;
  /** Answer this error instead. */
  readonly error: { readonly status: number; readonly message: string } | undefined;
}

/** vLLM's error body (its OpenAI server's `ErrorResponse`, nested as OpenAI's own). */
function sendOpenAiError(response: ServerResponse, status: number, message: string): void {
  const type =
    status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError';
  sendJson(response, status, { error: { message, type, param: null, code: status } });
}

export async function serveOpenAi(request: OpenAiRequest): Promise<void> {
  const { path, method, response } = request;
  if (path === 'models') {
    if (method !== 'GET') return sendOpenAiError(response, 405, `Method ${method} not allowed`);
    return sendJson(response, 200, {
      object: 'list',
      data: [
        {
          id: SIMULATED_MODEL,
          object: 'model',
          created: 1_733_000_000,
          owned_by: 'vllm',
          root: SIMULATED_MODEL,
          parent: null,
          max_model_len: 8192,
        },
      ],
    });
  }
  const kind =
    path === 'chat/completions'
      ? 'chat'
      : path === 'completions'
        ? 'text'
        : path === 'embeddings'
          ? 'embeddings'
          : undefined;
  if (kind === undefined) return sendOpenAiError(response, 404, `No route openai/v1/${path}`);
  if (method !== 'POST') return sendOpenAiError(response, 405, `Method ${method} not allowed`);
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return sendOpenAiError(response, 400, 'The body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  if (typeof fields.model !== 'string' || fields.model === '') {
    return sendOpenAiError(response, 400, 'model is required');
  }
  if (kind === 'embeddings') return embeddings(response, fields);
  const prompt = promptOf(kind, fields);
  if (prompt === undefined) {
    return sendOpenAiError(
      response,
      400,
      kind === 'chat' ? 'messages must be a non-empty array' : 'prompt is required',
    );
  }
  const script = scriptOf(fields.sim, prompt, fields.max_tokens);
  if (script.error) return sendOpenAiError(response, script.error.status, script.error.message);
  const context = {
    kind,
    model: fields.model,
    id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`,
    created: Math.floor(Date.now() / 1000),
    promptTokens: wordsOf(prompt).length,
    maxTokens: typeof fields.max_tokens === 'number' ? fields.max_tokens : undefined,
  } as const;
  if (fields.stream === true) {
    const options = fields.stream_options as { include_usage?: unknown } | undefined;
    return streamReply(request, context, script, options?.include_usage === true);
  }
  await delay(
    request.timers,
    script.firstTokenDelayMs + script.tokenIntervalMs * Math.max(0, script.tokens.length - 1),
  );
  if (script.failAfterTokens !== undefined) {
    response.destroy();
    return;
  }
  const text = script.tokens.join('');
  const finish = finishReasonOf(context.maxTokens, script.tokens.length);
  sendJson(response, 200, {
    id: context.id,
    object: kind === 'chat' ? 'chat.completion' : 'text_completion',
    created: context.created,
    model: context.model,
    choices: [
      kind === 'chat'
        ? {
            index: 0,
            message: { role: 'assistant', content: text },
            logprobs: null,
            finish_reason: finish,
          }
        : { index: 0, text, logprobs: null, finish_reason: finish },
    ],
    usage: usageOf(context.promptTokens, script.tokens.length),
  });
}

interface ReplyContext {
  readonly kind: 'chat' | 'text';
  readonly model: string;
  readonly id: string;
  readonly created: number;
  readonly promptTokens: number;
  readonly maxTokens: number | undefined;
}

/** OpenAI's streaming: one `data:` event per token, the finish, the usage if asked, `[DONE]`. */
async function streamReply(
  request: OpenAiRequest,
  context: ReplyContext,
  script: Script,
  includeUsage: boolean,
): Promise<void> {
  const { response, timers } = request;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const chunk = (choice: Record<string, unknown> | undefined, usage?: unknown) => {
    const event: Record<string, unknown> = {
      id: context.id,
      object: context.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: context.created,
      model: context.model,
      choices: choice === undefined ? [] : [choice],
    };
    if (includeUsage) event.usage = usage ?? null;
    if (!isClosed(response)) response.write(`data: ${JSON.stringify(event)}\n\n`);
  };
  const choice = (text: string, finish: string | null): Record<string, unknown> =>
    context.kind === 'chat'
      ? {
          index: 0,
          delta:
            text === '' && finish === null ? { role: 'assistant', content: '' } : { content: text },
          logprobs: null,
          finish_reason: finish,
        }
      : { index: 0, text, logprobs: null, finish_reason: finish };
  if (context.kind === 'chat') chunk(choice('', null));
  for (const [index, token] of script.tokens.entries()) {
    await delay(timers, index === 0 ? script.firstTokenDelayMs : script.tokenIntervalMs);
    if (isClosed(response)) return;
    if (script.failAfterTokens !== undefined && index >= script.failAfterTokens) {
      response.destroy();
      return;
    }
    chunk(
      context.kind === 'chat'
        ? { index: 0, delta: { content: token }, logprobs: null, finish_reason: null }
        : choice(token, null),
    );
  }
  chunk(
    context.kind === 'chat'
      ? {
          index: 0,
          delta: {},
          logprobs: null,
          finish_reason: finishReasonOf(context.maxTokens, script.tokens.length),
        }
      : choice('', finishReasonOf(context.maxTokens, script.tokens.length)),
  );
  if (includeUsage) chunk(undefined, usageOf(context.promptTokens, script.tokens.length));
  if (!isClosed(response)) response.end('data: [DONE]\n\n');
}

function embeddings(response: ServerResponse, fields: Record<string, unknown>): void {
  const input = fields.input;
  const inputs = typeof input === 'string' ? [input] : Array.isArray(input) ? input : undefined;
  if (inputs === undefined || inputs.length === 0) {
    sendOpenAiError(response, 400, 'input must be a string or a non-empty array');
    return;
  }
  const base64 = fields.encoding_format === 'base64';
  let promptTokens = 0;
  const data = inputs.map((item, index) => {
    const text = typeof item === 'string' ? item : JSON.stringify(item);
    promptTokens += Math.max(1, wordsOf(text).length);
    const vector = vectorOf(text);
    return {
      object: 'embedding',
      index,
      embedding: base64 ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector,
    };
  });
  sendJson(response, 200, {
    object: 'list',
    data,
    model: fields.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}

/** A deterministic unit vector from the text, so equal inputs embed equally. */
function vectorOf(text: string): number[] {
  const vector = Array.from({ length: EMBEDDING_DIMENSIONS }, (_, dimension) => {
    let hash = dimension + 1;
    for (let index = 0; index < text.length; index++)
      hash = (hash * 31 + text.charCodeAt(index)) % 1_000_003;
    return (hash / 1_000_003) * 2 - 1;
  });
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => Math.fround(value / norm));
}

function promptOf(kind: 'chat' | 'text', fields: Record<string, unknown>): string | undefined {
  if (kind === 'text') {
    const prompt = fields.prompt;
    if (typeof prompt === 'string') return prompt;
    if (Array.isArray(prompt) && prompt.every((item) => typeof item === 'string'))
      return prompt.join(' ');
    return undefined;
  }
  const messages = fields.messages;
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  return messages
    .map((message) => {
      const content = (message as { content?: unknown } | null)?.content;
      if (typeof content === 'string') return content;
      if (Array.isArray(content)) {
        return content
          .map((part) => (part as { text?: unknown })?.text)
          .filter((text) => typeof text === 'string')
          .join(' ');
      }
      return '';
    })
    .join(' ');
}

function scriptOf(sim: unknown, prompt: string, maxTokens: unknown): Script {
  const fields = typeof sim === 'object' && sim !== null ? (sim as Record<string, unknown>) : {};
  const reply =
    typeof fields.reply === 'string' ? fields.reply : `Simulated reply to: ${lastWordsOf(prompt)}`;
  let tokens =
    typeof fields.tokens === 'number' && Number.isInteger(fields.tokens) && fields.tokens >= 0
      ? Array.from({ length: fields.tokens }, (_, index) => `token${index} `)
      : wordsOf(reply).map((word, index, words) => (index < words.length - 1 ? `${word} ` : word));
  if (typeof maxTokens === 'number' && maxTokens >= 0) tokens = tokens.slice(0, maxTokens);
  const error = fields.error as { status?: unknown; message?: unknown } | undefined;
  return {
    tokens,
    firstTokenDelayMs: numberOr(fields.firstTokenDelayMs, DEFAULT_FIRST_TOKEN_DELAY_MS),
    tokenIntervalMs: numberOr(fields.tokenIntervalMs, DEFAULT_TOKEN_INTERVAL_MS),
    failAfterTokens:
      typeof fields.failAfterTokens === 'number' ? fields.failAfterTokens : undefined,
    error:
      error !== undefined && typeof error.status === 'number'
        ? {
            status: error.status,
            message: typeof error.message === 'string' ? error.message : 'Simulated error',
          }
        : undefined,
  };
}

function finishReasonOf(maxTokens: number | undefined, produced: number): 'stop' | 'length' {
  return maxTokens !== undefined && produced >= maxTokens ? 'length' : 'stop';
}

function usageOf(promptTokens: number, completionTokens: number) {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}

function lastWordsOf(text: string): string {
  return wordsOf(text).slice(-8).join(' ');
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function delay(timers: TimerSet, ms: number): Promise<void> {
  return new Promise((resolve) => timers.after(ms, resolve));
}
