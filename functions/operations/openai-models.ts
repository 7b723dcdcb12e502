import { createApiHandler } from '../middleware/api-handler.ts';
import { forwardOpenAi } from '../openai/forward.ts';
import { routingQuerySchema } from '../validation/request-schemas.ts';

/** GET /v1/runpod/{surface}/openai/v1/models → the surface's endpoint's `/openai/v1/models`. */
export const handler = createApiHandler({
  operation: 'openai-models',
  query: routingQuerySchema,
  handle: (request) => forwardOpenAi(request, 'models'),
});
