import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { holdOf, RUNPOD_DEFAULT_SYNC_WAIT_MS } from '../runpod/holds.ts';
import { statusSyncQuerySchema } from '../validation/request-schemas.ts';

/**
 * GET|POST /v1/runpod/{surface}/status-sync/{jobId}[?wait=][&ttl=] → RunPod
 * `GET /{endpointId}/status-sync/{jobId}`: RunPod holds the request until the job ends or `wait`
 * elapses, then answers the job object. What RunPod's JS SDK `runSync` and `statusSync` (and Go's
 * `RunSync`) call once the first `runsync` wait is over. A read, so retried like `status`;
 * streamed, so waits beyond 29 s and outputs up to RunPod's 20 MB get through.
 */
export const handler = createApiHandler({
  operation: 'status-sync',
  executionMode: executionModeStreamifyResponse,
  query: statusSyncQuerySchema,
  handle: async (request) => {
    const { wait, ttl } = request.query;
    const hold = holdOf(wait, RUNPOD_DEFAULT_SYNC_WAIT_MS);
    const answer = await request.call({
      path: `status-sync/${request.jobId}`,
      method: 'GET',
      query: { ...hold.query, ...(ttl === undefined ? {} : { ttl: String(ttl) }) },
      holdMs: hold.holdMs,
      idempotent: true,
    });
    await request.noteOutcome(answer.json);
    return passThroughJson(answer.text);
  },
});
