import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobLedger } from '../../functions/ledger/dynamodb-job-ledger.ts';
import { DynamoDbDailyQuota, secondsToNextDay } from '../../functions/limits/daily-quota.ts';
import { DynamoDbJobsInFlight } from '../../functions/limits/jobs-in-flight.ts';
import { DynamoDbRateLimiter } from '../../functions/limits/rate-limiter.ts';
import { LEDGER_ENGINES, startEngineWithTable } from '../helpers/ledger-engines.ts';

/** The per-key rate counters on both engines, with a clock the test sets. */
const TABLE = 'rates-test';

describe.each(LEDGER_ENGINES)('per-key rates on $name', ({ start }) => {
  let engine: { endpoint: string; close(): Promise<void> };
  let access: DynamoDbJobLedger;

  beforeAll(async () => {
    engine = await startEngineWithTable(start, TABLE);
    access = new DynamoDbJobLedger({ tableName: TABLE, endpoint: engine.endpoint });
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
  });

  function limiter(): DynamoDbRateLimiter {
    return new DynamoDbRateLimiter({ tableName: TABLE, access: () => access.access() });
  }

  it('admits the burst at once, then one per interval, and says when to come back', async () => {
    const rates = limiter();
    const key = randomUUID();
    const limit = { perSecond: 2, burst: 3 };
    const now = 1_000_000_000_000;

    const first = await Promise.all([0, 1, 2, 3].map(() => rates.take(key, 'run', limit, now)));
    const later = await rates.take(key, 'run', limit, now + 500);
    const tooSoon = await rates.take(key, 'run', limit, now + 600);

    expect(first.filter((decision) => decision.allowed)).toHaveLength(3);
    const refused = first.find((decision) => !decision.allowed);
    expect(refused).toMatchObject({ remaining: 0, retryAfterSeconds: 1 });
    expect(later.allowed).toBe(true);
    expect(tooSoon.allowed).toBe(false);
  });

  it('shares one limit between instances, and keeps keys and operations apart', async () => {
    const [a, b] = [limiter(), limiter()];
    const key = randomUUID();
    const limit = { perSecond: 1, burst: 5 };
    const now = 1_000_000_000_000;

    const decisions = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        (index % 2 === 0 ? a : b).take(key, 'status', limit, now),
      ),
    );
    const other = await a.take(randomUUID(), 'status', limit, now);
    const otherOperation = await a.take(key, 'cancel', limit, now);

    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5);
    expect(other.allowed).toBe(true);
    expect(otherOperation.allowed).toBe(true);
  });

  it('counts down what is left, and refills after an idle spell', async () => {
    const rates = limiter();
    const key = randomUUID();
    const limit = { perSecond: 10, burst: 3 };
    const now = 1_000_000_000_000;

    const remaining = [];
    for (let index = 0; index < 3; index++) {
      remaining.push((await rates.take(key, 'run', limit, now)).remaining);
    }
    const refilled = await rates.take(key, 'run', limit, now + 60_000);

    expect(remaining).toEqual([2, 1, 0]);
    expect(refilled).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('counts a daily quota per UTC day: used up at the limit, fresh after midnight', async () => {
    const quota = new DynamoDbDailyQuota({ tableName: TABLE, access: () => access.access() });
    const key = randomUUID();
    const lateEvening = Date.parse('2026-12-06T23:59:58.000Z');
    const nextMorning = Date.parse('2026-12-07T00:00:01.000Z');

    const limits = { jobs: 3 };
    const evening = await Promise.all([0, 1, 2, 3].map(() => quota.take(key, limits, lateEvening)));
    await quota.giveBack(key, lateEvening);
    const afterGiveBack = await quota.take(key, limits, lateEvening);
    const morning = await quota.take(key, limits, nextMorning);

    expect(evening.filter((decision) => decision === 'taken')).toHaveLength(3);
    expect(evening).toContain('jobs');
    expect(afterGiveBack).toBe('taken');
    expect(morning).toBe('taken');
    expect(secondsToNextDay(lateEvening)).toBe(2);
  });

  it('stops new jobs once the day GPU time reaches the GPU quota, and says which quota', async () => {
    const quota = new DynamoDbDailyQuota({ tableName: TABLE, access: () => access.access() });
    const key = randomUUID();
    const noon = Date.parse('2026-12-06T12:00:00.000Z');
    const limits = { jobs: 100, gpuSeconds: 2 };

    const first = await quota.take(key, limits, noon);
    await quota.addGpuTime(key, 1_999, noon);
    const underIt = await quota.take(key, limits, noon);
    await quota.addGpuTime(key, 1, noon);
    const atIt = await quota.take(key, limits, noon);
    const tomorrow = await quota.take(key, limits, noon + 86_400_000);

    expect([first, underIt, atIt, tomorrow]).toEqual(['taken', 'taken', 'gpuSeconds', 'taken']);
  });

  it('counts jobs in flight: never above the limit at once, never below zero', async () => {
    const inFlight = new DynamoDbJobsInFlight({ tableName: TABLE, access: () => access.access() });
    const key = randomUUID();

    const taken = await Promise.all([0, 1, 2, 3, 4].map(() => inFlight.take(key, 3)));
    await inFlight.release(key);
    const afterOneEnded = await inFlight.take(key, 3);
    for (let i = 0; i < 6; i++) await inFlight.release(key);
    const afterAllEnded = await Promise.all([0, 1, 2, 3].map(() => inFlight.take(key, 3)));

    expect(taken.filter(Boolean)).toHaveLength(3);
    expect(afterOneEnded).toBe(true);
    expect(afterAllEnded.filter(Boolean)).toHaveLength(3);
  });
});
