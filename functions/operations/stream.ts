import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { GatewayError } from '../http/gateway-error.ts';
import { negotiateStream } from '../http/negotiate.ts';
import { passThroughJson } from '../http/response.ts';
import { createApiHandler } from '../middleware/api-handler.ts';
import { required } from '../middleware/request-state.ts';
import { logCompletion } from '../observability/request-log.ts';
import { RunPodInvalidResponseError } from '../runpod/errors.ts';
import { holdOf, RUNPOD_DEFAULT_STREAM_HOLD_MS } from '../runpod/holds.ts';
import { type StreamPoll, streamPollSchema } from '../runpod/job-status.ts';
import { relayJobStream } from '../streaming/job-stream-relay.ts';
import { SSE_HEADERS } from '../streaming/sse-format.ts';
import { streamQuerySchema } from '../validation/request-schemas.ts';

function streamPollOf(json: unknown): StreamPoll {
  const result = streamPollSchema.safeParse(json);
  if (!result.success) {
    throw new RunPodInvalidResponseError('RunPod answered /stream without a status');
  }
  return result.data;
}

/**
 * GET|POST /v1/runpod/{surface}/stream/{jobId}[?wait=]
 * - `Accept: text/event-stream`: Server-Sent Events relaying the job's output live until it ends;
 *   `wait` sets how long each upstream poll may be held.
 * - anything else (RunPod's SDKs, curl, no Accept): one RunPod poll, passed through with `wait`
 *   (and with `stream` always present), exactly as RunPod answers it.
 * Errors known before the first byte (job not found, upstream down) are ordinary problems.
 */
export const handler = createApiHandler({
  operation: 'stream',
  executionMode: executionModeStreamifyResponse,
  query: streamQuerySchema,
  handle: async (request) => {
    const jobId = required(request.jobId, 'jobId');
    const path = `stream/${jobId}`;
    if (negotiateStream(request.header('accept')) === 'json') {
      const hold = holdOf(request.query.wait, RUNPOD_DEFAULT_STREAM_HOLD_MS);
      const answer = await request.call({
        path,
        method: 'GET',
        query: hold.query,
        holdMs: hold.holdMs,
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
      pollWaitMs: request.query.wait ?? settings.streamPollWaitMs,
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
        finalStatus: async (signal) => {
          const job = (
            await request.call({ path: `status/${jobId}`, method: 'GET', idempotent: true, signal })
          ).json;
          await request.noteOutcome(job);
          return job;
        },
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
