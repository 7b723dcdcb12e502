import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { passThroughJson } from '../http/response.ts';
import {
  IDEMPOTENT_REPLAYED_HEADER,
  IdempotentSubmissions,
} from '../ledger/idempotent-submissions.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { holdOf, RUNPOD_DEFAULT_SYNC_WAIT_MS } from '../runpod/holds.ts';
import { runsyncQuerySchema, submitBodySchema } from '../validation/request-schemas.ts';

/**
 * POST /v1/runpod/{surface}/runsync → RunPod `POST /{endpointId}/runsync[?wait=]`.
 * Streamed, so outputs above 6 MB and waits beyond 29 s get through. Never retried.
 */
export const handler = createApiHandler({
  operation: 'runsync',
  executionMode: executionModeStreamifyResponse,
  query: runsyncQuerySchema,
  body: submitBodySchema,
  idempotency: (options) => new IdempotentSubmissions(options),
  handle: async (request) => {
    const hold = holdOf(request.query.wait, RUNPOD_DEFAULT_SYNC_WAIT_MS);
    const { text, replayed } = await request.submitOnce(async () => {
      const answer = await request.call({
        path: 'runsync',
        method: 'POST',
        body: request.bodyText,
        query: hold.query,
        holdMs: hold.holdMs,
      });
      // Records the job, with its outcome when it came back finished (one write).
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
