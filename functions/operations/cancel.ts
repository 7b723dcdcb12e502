import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { routingQuerySchema } from '../validation/request-schemas.ts';

/** POST /v1/runpod/{surface}/cancel/{jobId} → RunPod `POST /{endpointId}/cancel/{jobId}`. */
export const handler = createApiHandler({
  operation: 'cancel',
  query: routingQuerySchema,
  handle: async (request) => {
    const answer = await request.call({ path: `cancel/${request.jobId}`, method: 'POST' });
    await request.noteOutcome(answer.json);
    return passThroughJson(answer.text);
  },
});
