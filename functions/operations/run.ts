import { passThroughJson } from '../http/response.ts';
import {
  IDEMPOTENT_REPLAYED_HEADER,
  IdempotentSubmissions,
} from '../ledger/idempotent-submissions.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { routingQuerySchema, submitBodySchema } from '../validation/request-schemas.ts';

/**
 * POST /v1/runpod/{surface}/run → RunPod `POST /{endpointId}/run` (never retried: it creates a
 * job), then the job is recorded in the ledger under the caller's key. With `Idempotency-Key`,
 * a repeat of the same request gets the first answer instead of a second job.
 */
export const handler = createApiHandler({
  operation: 'run',
  query: routingQuerySchema,
  body: submitBodySchema,
  idempotency: (options) => new IdempotentSubmissions(options),
  handle: async (request) => {
    const { text, replayed } = await request.submitOnce(async () => {
      const answer = await request.call({ path: 'run', method: 'POST', body: request.bodyText });
      await request.recordSubmission(answer, request.body.policy?.ttl);
      return answer;
    });
    const response = passThroughJson(text);
    if (replayed) {
      response.headers[IDEMPOTENT_REPLAYED_HEADER] = 'true';
      request.state.logFields = { ...request.state.logFields, replayed: 1 };
    }
    return response;
  },
});
