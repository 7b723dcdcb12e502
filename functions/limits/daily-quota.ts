import { quotaKeyOf } from '../ledger/ledger-table.ts';
import { addToCounter, type CounterTable, readCounter } from './table-counter.ts';

const DAY_MS = 86_400_000;

/** The UTC day of an instant, as `YYYY-MM-DD`: a daily quota's period. */
export function utcDayOf(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Seconds from `now` to the next UTC midnight, when daily quotas start again. */
export function secondsToNextDay(now: number): number {
  return Math.max(1, Math.ceil((Math.floor(now / DAY_MS + 1) * DAY_MS - now) / 1000));
}

/** A key's daily quotas (`limits.daily`); either may be absent. */
export interface DailyLimits {
  readonly jobs?: number | undefined;
  readonly gpuSeconds?: number | undefined;
}

/** Which quota refused a submission, if one did. */
export type QuotaDecision = 'taken' | 'jobs' | 'gpuSeconds';

/**
 * A key's daily quotas: one item per key and UTC day (`quota#<keyId>#<day>`) counting the jobs
 * it submitted (`jobs`) and the GPU time its jobs used (`gpuMs`, RunPod's `executionTime` added
 * when the gateway sees each job end). A submission is one conditional increment of `jobs` that
 * also checks `gpuMs` — exact across instances, like the rate counters — given back when the
 * submission fails, so only jobs RunPod accepted count. GPU time is known only at a job's end,
 * so the GPU quota stops new jobs once it is reached; jobs already running finish (and count).
 */
export class DynamoDbDailyQuota {
  readonly #table: CounterTable;

  constructor(table: CounterTable) {
    this.#table = table;
  }

  /** Counts one job against the day's quotas; which quota refused it, if one did. */
  async take(keyId: string, limits: DailyLimits, now = Date.now()): Promise<QuotaDecision> {
    const below: Record<string, number> = {};
    if (limits.jobs !== undefined) below.jobs = limits.jobs;
    if (limits.gpuSeconds !== undefined) below.gpuMs = limits.gpuSeconds * 1000;
    const key = quotaKeyOf(keyId, utcDayOf(now));
    const taken = await addToCounter(this.#table, {
      key,
      add: { jobs: 1 },
      below,
      expiresAt: expiryOf(now),
      what: 'daily quota',
    });
    if (taken) return 'taken';
    const used = await readCounter(this.#table, key, 'daily quota');
    return limits.jobs !== undefined && (used.jobs ?? 0) >= limits.jobs ? 'jobs' : 'gpuSeconds';
  }

  /** Gives a job back (its submission failed). */
  async giveBack(keyId: string, now = Date.now()): Promise<void> {
    await addToCounter(this.#table, {
      key: quotaKeyOf(keyId, utcDayOf(now)),
      add: { jobs: -1 },
      expiresAt: expiryOf(now),
      what: 'daily quota',
    });
  }

  /** Adds a finished job's GPU time to the day it was seen to end. */
  async addGpuTime(keyId: string, executionMs: number, now = Date.now()): Promise<void> {
    await addToCounter(this.#table, {
      key: quotaKeyOf(keyId, utcDayOf(now)),
      add: { gpuMs: executionMs },
      expiresAt: expiryOf(now),
      what: 'daily GPU time',
    });
  }
}

/** Kept a day past its own, for reports of yesterday. */
function expiryOf(now: number): number {
  return Math.ceil((Math.floor(now / DAY_MS + 2) * DAY_MS) / 1000);
}
