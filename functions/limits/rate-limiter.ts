import type { DynamoDbAccess } from '../ledger/dynamodb-job-ledger.ts';
import { LedgerUnavailableError } from '../ledger/job-ledger.ts';
import { LEDGER_TABLE, rateKeyOf } from '../ledger/ledger-table.ts';

/** A key's request rate for one operation: a steady rate, and how many may come at once. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Requests that may follow at once. */
  readonly remaining: number;
  /** Seconds until the full burst is available again. */
  readonly resetSeconds: number;
  /** When refused: seconds until one request is allowed. */
  readonly retryAfterSeconds?: number;
}

/** How long a counter outlives its last use (DynamoDB's TTL removes it after). */
const KEEP_MS = 3_600_000;

/**
 * Per-key request rates enforced across every instance with one item per key and operation in
 * the ledger table (`rate#<keyId>#<operation>`), by the generic cell rate algorithm: the item
 * holds the theoretical arrival time (TAT) of the next request; a request is allowed when TAT is
 * at most `burst − 1` intervals ahead of now, and moves TAT on by one interval. Both cases are one
 * conditional update, so concurrent instances never admit more than the limit (the enforcement
 * is exact, within the clocks' skew). A key near its limit costs one write per request; an idle
 * one two (the first form fails, the second sets TAT afresh); a refusal one more read, for
 * `Retry-After`. One item takes at most 1 000 writes a second (a DynamoDB partition's limit):
 * per-key rates above that need sharding, which this does not do.
 */
export class DynamoDbRateLimiter {
  readonly #tableName: string;
  readonly #access: () => Promise<DynamoDbAccess>;
  /** The TAT this instance last saw per item: chooses which update to try first. */
  readonly #lastSeen = new Map<string, number>();

  constructor(options: { tableName: string; access: () => Promise<DynamoDbAccess> }) {
    this.#tableName = options.tableName;
    this.#access = options.access;
  }

  async take(
    keyId: string,
    operation: string,
    limit: RateLimit,
    now = Date.now(),
  ): Promise<RateDecision> {
    const key = rateKeyOf(keyId, operation);
    const interval = 1000 / limit.perSecond;
    const tolerance = (limit.burst - 1) * interval;
    const busy = (this.#lastSeen.get(key) ?? 0) >= now;
    const order = busy ? (['busy', 'idle'] as const) : (['idle', 'busy'] as const);
    try {
      for (const form of [...order, order[0]]) {
        const tat =
          form === 'busy'
            ? await this.#advance(key, now, interval, tolerance)
            : await this.#restart(key, now, interval);
        if (tat !== undefined) {
          this.#lastSeen.set(key, tat);
          return {
            allowed: true,
            remaining: Math.max(0, Math.floor((now + tolerance - tat) / interval) + 1),
            resetSeconds: Math.ceil((tat - now) / 1000),
          };
        }
      }
      const tat = (await this.#read(key)) ?? now;
      this.#lastSeen.set(key, tat);
      return {
        allowed: false,
        remaining: 0,
        resetSeconds: Math.ceil((tat - now) / 1000),
        retryAfterSeconds: Math.max(1, Math.ceil((tat - tolerance - now) / 1000)),
      };
    } catch (error) {
      if (error instanceof LedgerUnavailableError) throw error;
      throw new LedgerUnavailableError('The rate limiter could not reach its table', {
        cause: error,
      });
    }
  }

  /** TAT within the tolerance ahead of now: moves it on by one interval. */
  async #advance(key: string, now: number, interval: number, tolerance: number) {
    return this.#update(key, {
      UpdateExpression: 'SET #tat = #tat + :interval, #ttl = :ttl',
      ConditionExpression: '#tat BETWEEN :now AND :latest',
      values: { ':interval': interval, ':now': now, ':latest': now + tolerance },
      ttlFrom: now + tolerance + interval,
    });
  }

  /** No TAT, or one in the past: the bucket is full; this request sets it one interval ahead. */
  async #restart(key: string, now: number, interval: number) {
    return this.#update(key, {
      UpdateExpression: 'SET #tat = :next, #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#tat) OR #tat < :now',
      values: { ':next': now + interval, ':now': now },
      ttlFrom: now + interval,
    });
  }

  async #update(
    key: string,
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      values: Record<string, number>;
      ttlFrom: number;
    },
  ): Promise<number | undefined> {
    const { client, sdk } = await this.#access();
    const values: Record<string, { N: string }> = {
      ':ttl': { N: String(Math.ceil((update.ttlFrom + KEEP_MS) / 1000)) },
    };
    for (const [name, value] of Object.entries(update.values)) values[name] = { N: String(value) };
    try {
      const answer = await client.send(
        new sdk.UpdateItemCommand({
          TableName: this.#tableName,
          Key: { [LEDGER_TABLE.partitionKey]: { S: key } },
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: update.ConditionExpression,
          ExpressionAttributeNames: { '#tat': 'tat', '#ttl': LEDGER_TABLE.timeToLive },
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const tat = Number(answer.Attributes?.tat?.N);
      return Number.isFinite(tat) ? tat : undefined;
    } catch (error) {
      if (error instanceof sdk.ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async #read(key: string): Promise<number | undefined> {
    const { client, sdk } = await this.#access();
    const answer = await client.send(
      new sdk.GetItemCommand({
        TableName: this.#tableName,
        Key: { [LEDGER_TABLE.partitionKey]: { S: key } },
        ConsistentRead: true,
      }),
    );
    const tat = Number(answer.Item?.tat?.N);
    return Number.isFinite(tat) ? tat : undefined;
  }
}
