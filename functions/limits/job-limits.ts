import type { KeyEntry } from '../auth/key-store.ts';
import { GatewayError } from '../http/gateway-error.ts';
import type { JobCounts, JobOutcome, JobRecord } from '../ledger/job-ledger.ts';
import { type DynamoDbDailyQuota, secondsToNextDay } from './daily-quota.ts';
import type { DynamoDbJobsInFlight } from './jobs-in-flight.ts';

/** The per-key job counters, created on first use. */
export interface JobCounters {
  dailyQuota(): DynamoDbDailyQuota;
  jobsInFlight(): DynamoDbJobsInFlight;
}

/** How long a caller over its jobs-in-flight limit is told to wait: jobs end in seconds to hours. */
const IN_FLIGHT_RETRY_SECONDS = 5;

/**
 * Submits within the key's job limits, when it has them — the daily quotas (`limits.daily`:
 * jobs, GPU-seconds) and its jobs in flight (`limits.inFlight`) — counted before RunPod is called
 * and given back if the submission fails. `submit` gets what was counted, for the job's record,
 * so the job's end can settle it (`settleJobEnd`). Over a quota: 429 `quota_exceeded` until the
 * next UTC day; over jobs in flight: 429 `rate_limited`.
 */
export async function submitWithinLimits<T>(options: {
  readonly counters: JobCounters;
  readonly key: KeyEntry;
  readonly submit: (counted: JobCounts) => Promise<T>;
}): Promise<T> {
  const { key, counters } = options;
  const daily = key.limits?.daily;
  const inFlight = key.limits?.inFlight;
  const countsDaily = daily?.jobs !== undefined || daily?.gpuSeconds !== undefined;
  if (!countsDaily && inFlight === undefined) return options.submit({});
  const now = Date.now();
  if (countsDaily) {
    const decision = await counters.dailyQuota().take(key.id, daily ?? {}, now);
    if (decision !== 'taken') throw quotaExceeded(key, decision, now);
  }
  const giveBack = async () => {
    if (countsDaily) await counters.dailyQuota().giveBack(key.id, now);
  };
  if (inFlight !== undefined) {
    const taken = await counters
      .jobsInFlight()
      .take(key.id, inFlight)
      .catch(async (error: unknown) => {
        await giveBack().catch(() => undefined);
        throw error;
      });
    if (!taken) {
      await giveBack().catch(() => undefined);
      throw new GatewayError(
        'rate_limited',
        `API key ${key.id} may have ${inFlight} jobs in flight (submitted and not yet seen to end), and has; retry when one ends`,
        {
          headers: {
            'Retry-After': String(IN_FLIGHT_RETRY_SECONDS),
            'RateLimit-Policy': `"jobs-in-flight";q=${inFlight}`,
            RateLimit: `"jobs-in-flight";r=0;t=${IN_FLIGHT_RETRY_SECONDS}`,
          },
        },
      );
    }
  }
  const counted: JobCounts = {
    ...(inFlight === undefined ? {} : { inFlight: true }),
    ...(daily?.gpuSeconds === undefined ? {} : { gpuTime: true }),
  };
  try {
    return await options.submit(counted);
  } catch (error) {
    await giveBack().catch(() => undefined);
    if (inFlight !== undefined)
      await counters
        .jobsInFlight()
        .release(key.id)
        .catch(() => undefined);
    throw error;
  }
}

function quotaExceeded(key: KeyEntry, quota: 'jobs' | 'gpuSeconds', now: number): GatewayError {
  const wait = secondsToNextDay(now);
  const max = key.limits?.daily?.[quota] ?? 0;
  const what = quota === 'jobs' ? `submit ${max} jobs` : `use ${max} GPU-seconds`;
  const policy = quota === 'jobs' ? 'daily-jobs' : 'daily-gpu-seconds';
  return new GatewayError(
    'quota_exceeded',
    `API key ${key.id} may ${what} a day (UTC) and has; the quota starts again in ${wait} s`,
    {
      headers: {
        'Retry-After': String(wait),
        'RateLimit-Policy': `"${policy}";q=${max};w=86400`,
        RateLimit: `"${policy}";r=0;t=${wait}`,
      },
    },
  );
}

/**
 * What a job's end settles, once the ledger first records it: the job leaves its owner's jobs in
 * flight, and its GPU time counts toward the owner's daily GPU quota (a rerun's too: RunPod bills
 * each run). Only what the job's record says was counted at submission.
 */
export async function settleJobEnd(
  counters: JobCounters,
  job: JobRecord,
  outcome: JobOutcome,
  rerun: boolean,
): Promise<void> {
  const settled: Promise<void>[] = [];
  if (job.counted?.inFlight && !rerun) {
    settled.push(counters.jobsInFlight().release(job.ownerKeyId));
  }
  if (job.counted?.gpuTime && outcome.executionTime !== undefined && outcome.executionTime > 0) {
    settled.push(
      counters.dailyQuota().addGpuTime(job.ownerKeyId, outcome.executionTime, outcome.endedAt),
    );
  }
  await Promise.all(settled);
}
