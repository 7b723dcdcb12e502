import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { GatewayError } from '../http/gateway-error.ts';
import { negotiateStream } from '../http/negotiate.ts';
import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { required } from '../middleware/request-state.ts';
import { logCompletion } from '../observability/request-log.ts';
import { RunPodInvalidResponseError } from '../runpod/errors.ts';
import { type StreamPoll, streamPollSchema } from '../runpod/job-status.ts';
import { relayJobStream } from '../streaming/job-stream-relay.ts';
import { SSE_HEADERS } from '../streaming/sse-format.ts';
import { routingQuerySchema } from '../validation/request-schemas.ts';

/** RunPod's hold of an empty /stream poll when no `wait` is given. */
const RUNPOD_DEFAULT_STREAM_HOLD_MS = 10_000;

function streamPollOf(json: unknown): StreamPoll {
  const result = streamPollSchema.safeParse(json);
  if (!result.success) {
    throw new RunPodInvalidResponseError('RunPod answered /stream without a status');
  }
  return result.data;
}

/**
 * GET|POST /v1/runpod/{surface}/stream/{jobId}
 * - `Accept: application/json`: one RunPod poll, passed through (with `stream` always present).
 * - otherwise: Server-Sent Events relaying the job's output live until it ends.
 * Errors known before the first byte (job not found, upstream down) are ordinary problems.
 */
export const handler = createApiHandler({
  operation: 'stream',
  executionMode: executionModeStreamifyResponse,
  query: routingQuerySchema,
  handle: async (request) => {
    const jobId = required(request.jobId, 'jobId');
    const path = `stream/${jobId}`;
    if (negotiateStream(request.header('accept')) === 'json') {
      const answer = await request.call({
        path,
        method: 'GET',
        holdMs: RUNPOD_DEFAULT_STREAM_HOLD_MS,
      });
      const poll = streamPollOf(answer.json);
      return passThroughJson(poll.stream ? answer.text : JSON.stringify({ ...poll, stream: [] }));
    }

    // /status is not destructive: it tells where the job is (or that it does not exist)
    // before the first byte, without draining any output.
    const statusAnswer = await request.call({
      path: `status/${jobId}`,
      method: 'GET',
      idempotent: true,
    });
    const initialStatus = statusAnswer.json.status;
    if (typeof initialStatus !== 'string') {
      throw new GatewayError('upstream_error', 'RunPod answered /status without a status');
    }
    const { settings } = request.runtime;
    const state = request.state;
    const body = relayJobStream({
      jobId,
      requestId: request.requestId,
      initialStatus,
      endsAt: Math.min(state.startedAt + settings.streamMaxDurationMs, request.deadline),
      keepAliveMs: settings.streamKeepAliveMs,
      pollWaitMs: settings.streamPollWaitMs,
      source: {
        poll: async (waitMs, signal) => {
          const answer = await request.call({
            path,
            method: 'GET',
            query: { wait: String(waitMs) },
            holdMs: waitMs,
            signal,
          });
          return streamPollOf(answer.json);
        },
        finalStatus: async (signal) =>
          (await request.call({ path: `status/${jobId}`, method: 'GET', idempotent: true, signal }))
            .json,
      },
      onFinish: ({ outcome, code, chunks, polls }) => {
        logCompletion(state, 200, code ?? (outcome === 'done' ? undefined : `stream_${outcome}`), {
          streamOutcome: outcome,
          chunks,
          polls,
        });
      },
    });
    return { statusCode: 200, headers: { ...SSE_HEADERS }, body };
  },
});
