import type { DynamoDbAccess } from '../ledger/dynamodb-job-ledger.ts';
import { LedgerUnavailableError } from '../ledger/job-ledger.ts';
import { concurrencyKeyOf, LEDGER_TABLE } from '../ledger/ledger-table.ts';
import { crypto } from '../runtime/builtins.ts';

/**
 * A key's concurrent long-running requests (`limits.concurrent`: streams, runsync and
 * status-sync holds), counted across instances as `limit` slots per key
 * (`conc#<keyId>#<n>`), each taken by one conditional put that names its holder and how long
 * it may hold. A request tries the slots from a random one on, so concurrent requests rarely
 * collide; it gives its slot back when it ends. A slot whose holder died frees itself when its
 * hold runs out (the function's timeout), so a crash costs the key a slot for at most that long.
 */
export class DynamoDbConcurrencySlots {
  readonly #tableName: string;
  readonly #access: () => Promise<DynamoDbAccess>;

  constructor(options: { tableName: string; access: () => Promise<DynamoDbAccess> }) {
    this.#tableName = options.tableName;
    this.#access = options.access;
  }

  /** Takes a free slot; its release, or undefined when all `limit` are held. */
  async acquire(
    keyId: string,
    limit: number,
    holdMs: number,
    now = Date.now(),
  ): Promise<(() => Promise<void>) | undefined> {
    const { client, sdk } = await this.#access();
    const holder = crypto.randomUUID();
    const first = Math.floor(Math.random() * limit);
    try {
      for (let tried = 0; tried < limit; tried++) {
        const key = concurrencyKeyOf(keyId, (first + tried) % limit);
        try {
          await client.send(
            new sdk.PutItemCommand({
              TableName: this.#tableName,
              Item: {
                [LEDGER_TABLE.partitionKey]: { S: key },
                holder: { S: holder },
                until: { N: String(now + holdMs) },
                [LEDGER_TABLE.timeToLive]: { N: String(Math.ceil((now + holdMs) / 1000) + 3600) },
              },
              ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now',
              ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey, '#until': 'until' },
              ExpressionAttributeValues: { ':now': { N: String(now) } },
            }),
          );
          return () => this.#release(key, holder);
        } catch (error) {
          if (!(error instanceof sdk.ConditionalCheckFailedException)) throw error;
        }
      }
      return undefined;
    } catch (error) {
      throw new LedgerUnavailableError('The concurrency slots could not be reached', {
        cause: error,
      });
    }
  }

  async #release(key: string, holder: string): Promise<void> {
    const { client, sdk } = await this.#access();
    try {
      await client.send(
        new sdk.DeleteItemCommand({
          TableName: this.#tableName,
          Key: { [LEDGER_TABLE.partitionKey]: { S: key } },
          ConditionExpression: '#holder = :holder',
          ExpressionAttributeNames: { '#holder': 'holder' },
          ExpressionAttributeValues: { ':holder': { S: holder } },
        }),
      );
    } catch (error) {
      // Taken over after this hold ran out: not ours to free.
      if (!(error instanceof sdk.ConditionalCheckFailedException)) throw error;
    }
  }
}
