import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { runsyncQuerySchema, submitBodySchema } from '../validation/request-schemas.ts';

/** RunPod holds /runsync for 90 s when no `wait` is given. */
const RUNPOD_DEFAULT_WAIT_MS = 90_000;
/**
 * API Gateway drops a streamed response that sends nothing for 5 minutes, and this route
 * writes nothing until RunPod answers. Holding RunPod at most 290 s keeps the answer inside
 * that window; a job that outlives it comes back non-terminal, as RunPod's own runsync does.
 */
export const MAX_HOLD_MS = 290_000;

/**
 * POST /v1/runpod/{surface}/runsync → RunPod `POST /{endpointId}/runsync[?wait=]`.
 * Streamed, so outputs above 6 MB and waits beyond 29 s get through. Never retried.
 */
export const handler = createApiHandler({
  operation: 'runsync',
  executionMode: executionModeStreamifyResponse,
  query: runsyncQuerySchema,
  body: submitBodySchema,
  handle: async (request) => {
    const wait =
      request.query.wait === undefined ? undefined : Math.min(request.query.wait, MAX_HOLD_MS);
    const answer = await request.call({
      path: 'runsync',
      method: 'POST',
      body: request.bodyText,
      query: wait === undefined ? undefined : { wait: String(wait) },
      holdMs: wait ?? RUNPOD_DEFAULT_WAIT_MS,
    });
    return passThroughJson(answer.text);
  },
});
