import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { createApiHandler } from '../middleware/api-handler.ts';
import { forwardOpenAi } from '../openai/forward.ts';
import { openAiBodySchema, routingQuerySchema } from '../validation/request-schemas.ts';

/**
 * POST /v1/runpod/{surface}/openai/v1/completions → the routed endpoint's
 * `/openai/v1/completions` (a vLLM worker's OpenAI-compatible API), routed by the body's `model`.
 */
export const handler = createApiHandler({
  operation: 'openai-completions',
  executionMode: executionModeStreamifyResponse,
  query: routingQuerySchema,
  body: openAiBodySchema,
  handle: (request) => forwardOpenAi(request, 'completions'),
});
