import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import { GatewayError } from '../http/gateway-error.ts';
import { negotiateStream } from '../http/negotiate.ts';
import { passThroughJson } from '../http/response.ts';
import { DynamoDbStreamJournal } from '../ledger/dynamodb-stream-journal.ts';
import type { StreamJournal } from '../ledger/stream-journal.ts';
import { createApiHandler, type GatewayRequest } from '../middleware/api-handler.ts';
import { required } from '../middleware/request-state.ts';
import { logger } from '../observability/logger.ts';
import { logCompletion } from '../observability/request-log.ts';
import { RunPodInvalidResponseError } from '../runpod/errors.ts';
import { holdOf, RUNPOD_DEFAULT_STREAM_HOLD_MS } from '../runpod/holds.ts';
import { isTerminal, type StreamPoll, streamPollSchema } from '../runpod/job-status.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { closeJournal, JobJournal, StreamLease } from '../streaming/job-journal.ts';
import { chunkTextOf, type JournalAccess, relayJobStream } from '../streaming/job-stream-relay.ts';
import { SSE_HEADERS } from '../streaming/sse-format.ts';
import type { StreamQuery } from '../validation/request-schemas.ts';
import { streamQuerySchema } from '../validation/request-schemas.ts';

type StreamRequest = GatewayRequest<StreamQuery, unknown>;

function streamPollOf(json: unknown): StreamPoll {
  const result = streamPollSchema.safeParse(json);
  if (!result.success) {
    throw new RunPodInvalidResponseError('RunPod answered /stream without a status');
  }
  return result.data;
}

let journalStore: StreamJournal | undefined;

/** The stream journal, for a job the ledger recorded, unless the deployment turned it off. */
function journalOf(request: StreamRequest): StreamJournal | undefined {
  const runtime: GatewayRuntime = request.runtime;
  if (!runtime.settings.streamJournal || request.job === undefined || !runtime.ledger) {
    return undefined;
  }
  const ledger = runtime.ledger;
  journalStore ??= new DynamoDbStreamJournal({
    tableName: required(runtime.settings.ledgerTableName, 'ledger table'),
    access: () => ledger.access(),
  });
  return journalStore;
}

const SEQUENCE = /^\d{1,9}$/;

/** The last chunk the caller has: `?lastEventId=` (for clients without headers), else `Last-Event-ID`. */
function lastEventIdOf(request: StreamRequest): number {
  if (request.query.lastEventId !== undefined) return request.query.lastEventId;
  const header = request.header('last-event-id')?.trim();
  if (header === undefined || header === '') return 0;
  if (!SEQUENCE.test(header)) {
    throw new GatewayError(
      'invalid_request',
      'Last-Event-ID must be the id: of a chunk this route sent (a whole number)',
    );
  }
  return Number(header);
}

/**
 * A JSON poll drains RunPod's buffer as RunPod does, and journals what it drained first, so an
 * SSE viewer can replay it later. A journal that cannot be written costs the replay, not this
 * answer.
 */
async function journalPoll(
  request: StreamRequest,
  journal: StreamJournal,
  poll: StreamPoll,
): Promise<void> {
  const job = required(request.job, 'job');
  const chunks = (poll.stream ?? []).map(chunkTextOf);
  const ended = isTerminal(poll.status);
  if (chunks.length === 0 && !ended) return;
  const log = new JobJournal({
    journal,
    jobId: job.jobId,
    expiresAt: job.expiresAt,
    fromRememberedPosition: true,
  });
  try {
    await log.append(
      chunks,
      poll.status,
      ended ? { id: job.jobId, status: poll.status } : undefined,
    );
    if (ended) await closeJournal(journal, job.jobId, job.expiresAt);
  } catch (error) {
    logger.warn('stream output not journaled', {
      requestId: request.requestId,
      jobId: job.jobId,
      error: error instanceof Error ? error : String(error),
    });
  }
}

/**
 * GET|POST /v1/runpod/{surface}/stream/{jobId}[?wait=][&lastEventId=]
 * - `Accept: text/event-stream`: Server-Sent Events with the job's output until it ends. Output
 *   is journaled before it is sent, and `id:` is the chunk's sequence number in the job, so a
 *   reconnect with `Last-Event-ID` resumes after it; one relay polls RunPod per job (a lease in
 *   the ledger's table) and other viewers follow the journal.
 * - anything else (RunPod's SDKs, curl, no Accept): one RunPod poll, passed through with `wait`
 *   (and with `stream` always present), exactly as RunPod answers it; journaled too.
 * Errors known before the first byte (job not found, upstream down) are ordinary problems.
 */
export const handler = createApiHandler({
  operation: 'stream',
  executionMode: executionModeStreamifyResponse,
  query: streamQuerySchema,
  handle: async (request) => {
    const jobId = required(request.jobId, 'jobId');
    const path = `stream/${jobId}`;
    const journal = journalOf(request);
    if (negotiateStream(request.header('accept')) === 'json') {
      const hold = holdOf(request.query.wait, RUNPOD_DEFAULT_STREAM_HOLD_MS);
      const answer = await request.call({
        path,
        method: 'GET',
        query: hold.query,
        holdMs: hold.holdMs,
      });
      const poll = streamPollOf(answer.json);
      if (journal !== undefined) await journalPoll(request, journal, poll);
      return passThroughJson(poll.stream ? answer.text : JSON.stringify({ ...poll, stream: [] }));
    }

    const { settings } = request.runtime;
    const pollWaitMs = request.query.wait ?? settings.streamPollWaitMs;
    const afterSeq = lastEventIdOf(request);
    let access: JournalAccess | undefined;
    if (journal !== undefined) {
      const job = required(request.job, 'job');
      const lease = new StreamLease({
        journal,
        jobId,
        expiresAt: job.expiresAt,
        leaseMs: settings.streamLeaseMs,
        pollWaitMs,
      });
      await lease.hold();
      access = {
        log: new JobJournal({ journal, jobId, expiresAt: job.expiresAt }),
        lease,
        afterSeq,
      };
    }

    // The relay that polls RunPod reads /status first: it is not destructive, and it tells
    // where the job is (or that RunPod does not know it) before the first byte. A viewer that
    // follows another relay's journal does not call RunPod at all.
    let initialStatus: string | undefined;
    if (access === undefined || access.lease.held) {
      try {
        const statusAnswer = await request.call({
          path: `status/${jobId}`,
          method: 'GET',
          idempotent: true,
        });
        const status = statusAnswer.json.status;
        if (typeof status !== 'string') {
          throw new GatewayError('upstream_error', 'RunPod answered /status without a status');
        }
        initialStatus = status;
      } catch (error) {
        // No stream after all: the next viewer may poll at once.
        await access?.lease.release().catch(() => undefined);
        throw error;
      }
    }
    const state = request.state;
    const body = relayJobStream({
      jobId,
      requestId: request.requestId,
      initialStatus,
      journal: access,
      endsAt: Math.min(state.startedAt + settings.streamMaxDurationMs, request.deadline),
      keepAliveMs: settings.streamKeepAliveMs,
      pollWaitMs,
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
      onFinish: ({ outcome, code, chunks, polls, callerLeft }) => {
        logCompletion(state, 200, code ?? (outcome === 'done' ? undefined : `stream_${outcome}`), {
          streamOutcome: outcome,
          chunks,
          polls,
          ...(callerLeft ? { callerLeft: 'yes' } : {}),
          ...(access === undefined ? {} : { afterSeq }),
        });
      },
    });
    // On Lambda, the invocation lasts until the relay stops, even after the caller left.
    request.linger(body.finished);
    return { statusCode: 200, headers: { ...SSE_HEADERS }, body };
  },
});
