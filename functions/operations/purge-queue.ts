import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { routingQuerySchema } from '../validation/request-schemas.ts';

/** POST /v1/runpod/{surface}/purge-queue → RunPod `POST /{endpointId}/purge-queue` (queued jobs only). */
export const handler = createApiHandler({
  operation: 'purge-queue',
  query: routingQuerySchema,
  handle: async (request) => {
    const answer = await request.call({ path: 'purge-queue', method: 'POST' });
    return passThroughJson(answer.text);
  },
});
