import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobLedger } from '../../functions/ledger/dynamodb-job-ledger.ts';
import { DynamoDbDailyQuota, secondsToNextDay } from '../../functions/limits/daily-quota.ts';
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

    const evening = await Promise.all([0, 1, 2, 3].map(() => quota.take(key, 3, lateEvening)));
    await quota.giveBack(key, lateEvening);
    const afterGiveBack = await quota.take(key, 3, lateEvening);
    const morning = await quota.take(key, 3, nextMorning);

    expect(evening.filter(Boolean)).toHaveLength(3);
    expect(afterGiveBack).toBe(true);
    expect(morning).toBe(true);
    expect(secondsToNextDay(lateEvening)).toBe(2);
  });
});
