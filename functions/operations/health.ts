import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { routingQuerySchema } from '../validation/request-schemas.ts';

/** GET /v1/runpod/{surface}/health → RunPod `GET /{endpointId}/health`; retried like any read. */
export const handler = createApiHandler({
  operation: 'health',
  query: routingQuerySchema,
  handle: async (request) => {
    const answer = await request.call({ path: 'health', method: 'GET', idempotent: true });
    return passThroughJson(answer.text);
  },
});
