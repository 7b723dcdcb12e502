import type { GatewayResponse } from '../http/response.ts';
import { passThroughJson } from '../http/response.ts';
import { type TokenUsage, tokenUsageOf } from '../ledger/token-counters.ts';
import type { GatewayRequest } from '../middleware/api-handler.ts';
import { required } from '../middleware/request-state.ts';
import { logger } from '../observability/logger.ts';
import { logCompletion } from '../observability/request-log.ts';
import { relayOpenAiStream } from '../streaming/openai-stream-relay.ts';
import { SSE_HEADERS } from '../streaming/sse-format.ts';
import type { OpenAiBody } from '../validation/request-schemas.ts';

type OpenAiRequest = GatewayRequest<unknown, unknown>;

/**
 * A request to the worker's OpenAI-compatible API (`/openai/v1/<path>` of the routed endpoint),
 * with the surface's RunPod key: the body as sent; the answer as the worker sends it — a JSON
 * document, or with `"stream": true` its Server-Sent Events relayed as they arrive. The tokens
 * the answer reports go to the key's usage (and the log line) after the answer, never in its way.
 */
export async function forwardOpenAi(
  request: OpenAiRequest,
  path: string,
): Promise<GatewayResponse> {
  const upstreamPath = `openai/v1/${path}`;
  // The validated body (openAiBodySchema), or none for `models`.
  const body = request.body as OpenAiBody | undefined;
  if (body === undefined) {
    const answer = await request.call({ path: upstreamPath, method: 'GET', idempotent: true });
    return passThroughJson(answer.text);
  }
  const state = request.state;
  state.logFields = { model: body.model };
  if (body.stream !== true) {
    const answer = await request.call({
      path: upstreamPath,
      method: 'POST',
      body: request.bodyText,
    });
    const usage = tokenUsageOf(answer.json);
    noteUsage(state.logFields, usage);
    request.linger(countTokens(request, body.model, usage));
    return passThroughJson(answer.text);
  }
  const upstream = new AbortController();
  const stream = await request.open({
    path: upstreamPath,
    method: 'POST',
    body: request.bodyText,
    signal: upstream.signal,
  });
  const { settings } = request.runtime;
  let counted: Promise<void> = Promise.resolve();
  const relay = relayOpenAiStream({
    upstream: stream,
    abort: () => upstream.abort(),
    endsAt: Math.min(state.startedAt + settings.streamMaxDurationMs, request.deadline),
    keepAliveMs: settings.streamKeepAliveMs,
    requestId: request.requestId,
    onFinish: ({ outcome, code, usage, bytes }) => {
      const fields = { ...state.logFields, streamOutcome: outcome, bytes };
      noteUsage(fields, usage);
      logCompletion(state, 200, code, fields);
      counted = countTokens(request, body.model, usage);
    },
  });
  // On Lambda, the invocation lasts until the relay stopped and its tokens are counted.
  request.linger(relay.finished.then(() => counted));
  return {
    statusCode: 200,
    headers: {
      ...SSE_HEADERS,
      ...(stream.contentType === undefined ? {} : { 'Content-Type': stream.contentType }),
    },
    body: relay,
  };
}

function noteUsage(fields: Record<string, string | number>, usage: TokenUsage | undefined): void {
  if (usage === undefined) return;
  fields.promptTokens = usage.promptTokens;
  fields.completionTokens = usage.completionTokens;
}

/** One request (and its tokens, when the answer said) on the key's counter; failures are logged. */
async function countTokens(
  request: OpenAiRequest,
  model: string,
  usage: TokenUsage | undefined,
): Promise<void> {
  const runtime = request.runtime;
  // Without the table (a local runtime without a ledger) there is nowhere to count.
  if (runtime.settings.ledgerTableName === undefined) return;
  try {
    await runtime.tokenCounters().add({
      keyId: request.key.id,
      surface: required(request.state.surfaceName, 'surface'),
      model,
      usage,
    });
  } catch (error) {
    logger.warn('token usage not counted', {
      requestId: request.requestId,
      error: error instanceof Error ? error : String(error),
    });
  }
}
