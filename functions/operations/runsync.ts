import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { runsyncQuerySchema, submitBodySchema } from '../validation/request-schemas.ts';

/** RunPod holds /runsync for 90 s when no `wait` is given. */
const RUNPOD_DEFAULT_WAIT_MS = 90_000;

/**
 * POST /v1/runpod/{surface}/runsync → RunPod `POST /{endpointId}/runsync[?wait=]`.
 * Streamed, so outputs above 6 MB and waits beyond 29 s get through. Never retried.
 */
export const handler = createApiHandler({
  operation: 'runsync',
  query: runsyncQuerySchema,
  body: submitBodySchema,
  handle: async (request) => {
    const { wait } = request.query;
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
