import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { statusQuerySchema } from '../validation/request-schemas.ts';

/**
 * GET|POST /v1/runpod/{surface}/status/{jobId}[?ttl=] → RunPod `GET /{endpointId}/status/{jobId}`.
 * An idempotent read, so retried on connection failures and 502/503/504. Streamed, so
 * outputs up to RunPod's 20 MB get through.
 */
export const handler = createApiHandler({
  operation: 'status',
  executionMode: executionModeStreamifyResponse,
  query: statusQuerySchema,
  handle: async (request) => {
    const { ttl } = request.query;
    const answer = await request.call({
      path: `status/${request.jobId}`,
      method: 'GET',
      ...(ttl === undefined ? {} : { query: { ttl: String(ttl) } }),
      idempotent: true,
    });
    await request.noteOutcome(answer.json);
    return passThroughJson(answer.text);
  },
});
