import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { settleJobEnd } from '../limits/job-limits.ts';
import { logger } from '../observability/logger.ts';
import { RunPodHttpError } from '../runpod/errors.ts';
import { RunPodSession } from '../runpod/runpod-session.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { DynamoDbJobLedger } from './dynamodb-job-ledger.ts';
import type { JobOutcome } from './job-ledger.ts';
import { outcomeOf } from './job-outcomes.ts';
import { jobIdOfKey, LEDGER_TABLE } from './ledger-table.ts';

/** What one sweep did. */
export interface SweepSummary {
  /** Unfinished jobs old enough to ask RunPod about. */
  readonly checked: number;
  /** Jobs RunPod showed ended: their ends are recorded now. */
  readonly ended: number;
  /** Jobs RunPod no longer knows (their result expired unseen): recorded as `UNKNOWN`. */
  readonly forgotten: number;
  /** Jobs still queued or running. */
  readonly running: number;
  /** Jobs whose status could not be read this time (retried by the next sweep). */
  readonly failed: number;
  /** Whether jobs were left for the next sweep (the per-sweep cap or the deadline). */
  readonly truncated: boolean;
}

/** The status a job gets when RunPod no longer knows it and nobody saw its end. */
export const FORGOTTEN_STATUS = 'UNKNOWN';

/** Status reads in flight at once: RunPod's `status` limit is shared with every consumer. */
const PARALLEL_READS = 4;

/**
 * Reads the end of jobs nobody polled to their end, so usage, jobs in flight and GPU quotas are
 * exact for them too: the ledger's `unfinished` index lists every job recorded without an end;
 * each one submitted at least `minAgeMs` ago (its client has had time to poll it) is read once
 * from RunPod with its surface's key. An end is recorded and settled as a follow-up's would be;
 * a job RunPod answers 404 for (expired, or deleted by its TTL) is recorded as `UNKNOWN`, with
 * no GPU time, and leaves the list.
 */
export async function sweepUnseenEnds(options: {
  readonly runtime: GatewayRuntime;
  readonly ledger: DynamoDbJobLedger;
  readonly minAgeMs: number;
  /** At most this many jobs per sweep; the rest wait for the next. */
  readonly maxJobs: number;
  /** Epoch ms by which the sweep stops asking. */
  readonly deadline: number;
  readonly requestId: string;
  readonly now?: number;
}): Promise<SweepSummary> {
  const now = options.now ?? Date.now();
  const jobIds = await unfinishedJobIds(
    options.ledger,
    now - options.minAgeMs,
    options.maxJobs + 1,
  );
  const counts = { checked: 0, ended: 0, forgotten: 0, running: 0, failed: 0 };
  let truncated = jobIds.length > options.maxJobs;
  const queue = jobIds.slice(0, options.maxJobs);
  const worker = async () => {
    for (let jobId = queue.shift(); jobId !== undefined; jobId = queue.shift()) {
      if (Date.now() >= options.deadline) {
        truncated = true;
        return;
      }
      counts.checked++;
      try {
        counts[await sweepJob(options, jobId)]++;
      } catch (error) {
        counts.failed++;
        logger.warn('sweep could not read a job', {
          requestId: options.requestId,
          jobId,
          error: error instanceof Error ? error : String(error),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_READS }, worker));
  return { ...counts, truncated };
}

async function sweepJob(
  options: Parameters<typeof sweepUnseenEnds>[0],
  jobId: string,
): Promise<'ended' | 'forgotten' | 'running'> {
  const { runtime, ledger } = options;
  const job = await ledger.find(jobId, { includeForgotten: true });
  // Gone, or ended since it was listed.
  if (job === undefined || job.outcome !== undefined) return 'running';
  if (job.expiresAt * 1000 <= Date.now()) {
    // Past RunPod's horizon: RunPod has forgotten it, nothing to ask.
    const forgotten = { status: FORGOTTEN_STATUS, endedAt: Date.now() };
    if (await ledger.recordOutcome(jobId, forgotten)) {
      await settleJobEnd(runtime, job, forgotten, false);
    }
    return 'forgotten';
  }
  const surface = runtime.routing.surfaces[job.surface];
  const session = new RunPodSession({
    client: runtime.client,
    apiKey: () =>
      runtime.runpodApiKeys.get(surface?.apiKeySecret ?? runtime.settings.runpodApiKeyRef),
    endpointId: job.endpointId,
    requestId: options.requestId,
    deadline: options.deadline,
    upstreamTimeoutMs: runtime.settings.upstreamTimeoutMs,
  });
  let outcome: JobOutcome | undefined;
  try {
    const answer = await session.call({ path: `status/${jobId}`, method: 'GET', idempotent: true });
    outcome = outcomeOf(answer.json);
    if (outcome === undefined) return 'running';
  } catch (error) {
    if (!(error instanceof RunPodHttpError && error.status === 404)) throw error;
    outcome = { status: FORGOTTEN_STATUS, endedAt: Date.now() };
  }
  if (await ledger.recordOutcome(jobId, outcome)) {
    await settleJobEnd(runtime, job, outcome, false);
  }
  return outcome.status === FORGOTTEN_STATUS ? 'forgotten' : 'ended';
}

/** Job ids from the unfinished index, submitted before `before`, oldest first per shard. */
async function unfinishedJobIds(
  ledger: DynamoDbJobLedger,
  before: number,
  limit: number,
): Promise<string[]> {
  const { client, sdk } = await ledger.access();
  const index = LEDGER_TABLE.unfinishedIndex;
  const ids: string[] = [];
  for (let shard = 0; shard < index.shards && ids.length < limit; shard++) {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new sdk.QueryCommand({
          TableName: ledger.tableName,
          IndexName: index.name,
          KeyConditionExpression: '#shard = :shard AND #created <= :before',
          ExpressionAttributeNames: { '#shard': index.partitionKey, '#created': index.sortKey },
          ExpressionAttributeValues: {
            ':shard': { S: String(shard) },
            ':before': { N: String(before) },
          },
          Limit: limit - ids.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const jobId = jobIdOfKey(item[LEDGER_TABLE.partitionKey]?.S ?? '');
        if (jobId !== undefined) ids.push(jobId);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && ids.length < limit);
  }
  return ids;
}
