import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { createApiHandler } from '../middleware/api-handler.ts';
import { forwardOpenAi } from '../openai/forward.ts';
import { openAiBodySchema, routingQuerySchema } from '../validation/request-schemas.ts';

/**
 * POST /v1/runpod/{surface}/openai/v1/chat/completions → the routed endpoint's
 * `/openai/v1/chat/completions` (a vLLM worker's OpenAI-compatible API), routed by the body's `model`.
 */
export const handler = createApiHandler({
  operation: 'openai-chat',
  executionMode: executionModeStreamifyResponse,
  query: routingQuerySchema,
  body: openAiBodySchema,
  handle: (request) => forwardOpenAi(request, 'chat/completions'),
});
