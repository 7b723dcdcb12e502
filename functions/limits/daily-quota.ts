import type { KeyEntry } from '../auth/key-store.ts';
import { GatewayError } from '../http/gateway-error.ts';
import type { DynamoDbAccess } from '../ledger/dynamodb-job-ledger.ts';
import { LedgerUnavailableError } from '../ledger/job-ledger.ts';
import { LEDGER_TABLE, quotaKeyOf } from '../ledger/ledger-table.ts';

const DAY_MS = 86_400_000;

/** The UTC day of an instant, as `YYYY-MM-DD`: a daily quota's period. */
export function utcDayOf(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Seconds from `now` to the next UTC midnight, when daily quotas start again. */
export function secondsToNextDay(now: number): number {
  return Math.max(1, Math.ceil((Math.floor(now / DAY_MS + 1) * DAY_MS - now) / 1000));
}

/**
 * A key's daily job quota: one item per key and UTC day (`quota#<keyId>#<day>`) counting the
 * jobs it submitted, taken by one conditional increment (exact across instances, like the rate
 * counters) and given back when the submission fails, so only jobs RunPod accepted count.
 */
export class DynamoDbDailyQuota {
  readonly #tableName: string;
  readonly #access: () => Promise<DynamoDbAccess>;

  constructor(options: { tableName: string; access: () => Promise<DynamoDbAccess> }) {
    this.#tableName = options.tableName;
    this.#access = options.access;
  }

  /** Counts one job against the day's quota; false when the quota is used up. */
  async take(keyId: string, max: number, now = Date.now()): Promise<boolean> {
    return this.#add(keyId, 1, now, max);
  }

  /** Gives a job back (its submission failed). */
  async giveBack(keyId: string, now = Date.now()): Promise<void> {
    await this.#add(keyId, -1, now, undefined);
  }

  async #add(keyId: string, delta: number, now: number, max: number | undefined): Promise<boolean> {
    const { client, sdk } = await this.#access();
    const values: Record<string, { N: string }> = {
      ':delta': { N: String(delta) },
      // Kept a day past its own, for reports of yesterday.
      ':ttl': { N: String(Math.ceil((Math.floor(now / DAY_MS + 2) * DAY_MS) / 1000)) },
    };
    if (max !== undefined) values[':max'] = { N: String(max) };
    try {
      await client.send(
        new sdk.UpdateItemCommand({
          TableName: this.#tableName,
          Key: { [LEDGER_TABLE.partitionKey]: { S: quotaKeyOf(keyId, utcDayOf(now)) } },
          UpdateExpression: 'ADD #jobs :delta SET #ttl = :ttl',
          ...(max === undefined
            ? {}
            : { ConditionExpression: 'attribute_not_exists(#jobs) OR #jobs < :max' }),
          ExpressionAttributeNames: { '#jobs': 'jobs', '#ttl': LEDGER_TABLE.timeToLive },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof sdk.ConditionalCheckFailedException) return false;
      throw new LedgerUnavailableError('The daily quota could not be counted', { cause: error });
    }
  }
}

/**
 * Submits within the key's daily job quota (`limits.daily.jobs`), when it has one: counted
 * before RunPod is called, given back if the submission fails; over it, 429 `quota_exceeded`
 * until the next UTC day.
 */
export async function submitWithinQuota<T>(options: {
  readonly quota: () => DynamoDbDailyQuota;
  readonly key: KeyEntry;
  readonly submit: () => Promise<T>;
}): Promise<T> {
  const max = options.key.limits?.daily?.jobs;
  if (max === undefined) return options.submit();
  const quota = options.quota();
  const now = Date.now();
  if (!(await quota.take(options.key.id, max, now))) {
    const wait = secondsToNextDay(now);
    throw new GatewayError(
      'quota_exceeded',
      `API key ${options.key.id} may submit ${max} jobs a day (UTC) and has; the quota starts again in ${wait} s`,
      {
        headers: {
          'Retry-After': String(wait),
          'RateLimit-Policy': `"daily-jobs";q=${max};w=86400`,
          RateLimit: `"daily-jobs";r=0;t=${wait}`,
        },
      },
    );
  }
  try {
    return await options.submit();
  } catch (error) {
    await quota.giveBack(options.key.id, now).catch(() => undefined);
    throw error;
  }
}
