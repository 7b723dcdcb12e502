import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { routingQuerySchema } from '../validation/request-schemas.ts';

/**
 * POST /v1/runpod/{surface}/retry/{jobId} → RunPod `POST /{endpointId}/retry/{jobId}`
 * (RunPod requeues FAILED or TIMED_OUT jobs under the same id).
 */
export const handler = createApiHandler({
  operation: 'retry',
  query: routingQuerySchema,
  handle: async (request) => {
    // The rerun's end is recorded when a follow-up sees it (see ledger/job-outcomes.ts).
    const answer = await request.call({ path: `retry/${request.jobId}`, method: 'POST' });
    return passThroughJson(answer.text);
  },
});
