import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { routingQuerySchema, submitBodySchema } from '../validation/request-schemas.ts';

/**
 * POST /v1/runpod/{surface}/run → RunPod `POST /{endpointId}/run` (never retried: it creates a
 * job), then the job is recorded in the ledger under the caller's key.
 */
export const handler = createApiHandler({
  operation: 'run',
  query: routingQuerySchema,
  body: submitBodySchema,
  handle: async (request) => {
    const answer = await request.call({ path: 'run', method: 'POST', body: request.bodyText });
    await request.recordSubmission(answer, request.body.policy?.ttl);
    return passThroughJson(answer.text);
  },
});
