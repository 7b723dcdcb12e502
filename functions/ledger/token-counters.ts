import { utcDayOf } from '../limits/daily-quota.ts';
import type { CounterTable } from '../limits/table-counter.ts';
import { LedgerUnavailableError } from './job-ledger.ts';
import { LEDGER_TABLE, tokensKeyOf } from './ledger-table.ts';

const DAY_MS = 86_400_000;

/** What an OpenAI-compatible answer says it used (`usage`). */
export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** The `usage` object of an OpenAI answer or chunk, when it has one. */
export function tokenUsageOf(json: unknown): TokenUsage | undefined {
  if (typeof json !== 'object' || json === null || !('usage' in json)) return undefined;
  const usage = json.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const prompt = usage.prompt_tokens;
  const completion = usage.completion_tokens;
  if (typeof prompt !== 'number' && typeof completion !== 'number') return undefined;
  return {
    promptTokens: typeof prompt === 'number' && prompt >= 0 ? prompt : 0,
    completionTokens: typeof completion === 'number' && completion >= 0 ? completion : 0,
  };
}

/**
 * Token usage of the OpenAI-compatible routes, per key, UTC day, surface and model: one item
 * each (`tokens#<key>#<day>#<surface>#<model>`), one `ADD` per request. The item carries the
 * owner and the day as the `byOwner` index's keys, so usage reports read it with the key's job
 * records, in the same Query.
 */
export class DynamoDbTokenCounters {
  readonly #table: CounterTable;
  readonly #retentionDays: number;

  constructor(table: CounterTable, retentionDays: number) {
    this.#table = table;
    this.#retentionDays = retentionDays;
  }

  async add(options: {
    readonly keyId: string;
    readonly surface: string;
    readonly model: string;
    /** Undefined: a request whose usage the answer did not say. */
    readonly usage: TokenUsage | undefined;
    readonly now?: number;
  }): Promise<void> {
    const now = options.now ?? Date.now();
    const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
    const { client, sdk } = await this.#table.access();
    const index = LEDGER_TABLE.ownerIndex;
    try {
      await client.send(
        new sdk.UpdateItemCommand({
          TableName: this.#table.tableName,
          Key: {
            [LEDGER_TABLE.partitionKey]: {
              S: tokensKeyOf(options.keyId, utcDayOf(now), options.surface, options.model),
            },
          },
          UpdateExpression:
            'ADD #requests :one, #prompt :prompt, #completion :completion SET #owner = :owner, #created = :day, #surface = :surface, #model = :model, #ttl = :ttl',
          ExpressionAttributeNames: {
            '#requests': 'openaiRequests',
            '#prompt': 'promptTokens',
            '#completion': 'completionTokens',
            '#owner': index.partitionKey,
            '#created': index.sortKey,
            '#surface': 'surface',
            '#model': 'model',
            '#ttl': LEDGER_TABLE.timeToLive,
          },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':prompt': { N: String(options.usage?.promptTokens ?? 0) },
            ':completion': { N: String(options.usage?.completionTokens ?? 0) },
            ':owner': { S: options.keyId },
            ':day': { N: String(dayStart) },
            ':surface': { S: options.surface },
            ':model': { S: options.model },
            ':ttl': { N: String(Math.ceil(dayStart / 1000) + (this.#retentionDays + 1) * 86_400) },
          },
        }),
      );
    } catch (error) {
      throw new LedgerUnavailableError('The token usage could not be counted', { cause: error });
    }
  }
}
