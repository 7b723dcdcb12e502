import type { AttributeValue, QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import type { DynamoDbAccess } from './dynamodb-job-ledger.ts';
import { LedgerUnavailableError } from './job-ledger.ts';
import { LEDGER_TABLE, TOKENS_KEY_PREFIX } from './ledger-table.ts';

/** One key's use of one surface on one day (UTC, by submission time), from its job records. */
export interface UsageRow {
  readonly day: string;
  readonly keyId: string;
  readonly surface: string;
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly timedOut: number;
  /** Jobs RunPod had forgotten when the sweep asked (their end was never seen; no GPU time known). */
  readonly unknown: number;
  /** Jobs whose end the gateway has not seen (still running, or never polled to their end). */
  readonly unfinished: number;
  /** RunPod's `executionTime` summed: what GPU time is billed on. */
  readonly gpuSeconds: number;
  /** RunPod's `delayTime` summed: time in the queue. */
  readonly queueSeconds: number;
  /** Requests to the OpenAI-compatible routes, and the tokens their answers reported. */
  readonly openaiRequests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** The same by model (the request's `model`), when there were any. */
  readonly tokensByModel: Readonly<
    Record<string, { requests: number; promptTokens: number; completionTokens: number }>
  >;
}

const DAY_MS = 86_400_000;

type Counts = {
  -readonly [Field in Exclude<keyof UsageRow, 'tokensByModel'>]: UsageRow[Field];
} & {
  tokensByModel: Record<
    string,
    { requests: number; promptTokens: number; completionTokens: number }
  >;
};

const STATUS_FIELDS: Readonly<
  Record<string, 'completed' | 'failed' | 'cancelled' | 'timedOut' | 'unknown'>
> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TIMED_OUT: 'timedOut',
  // Recorded by the sweep (job-end-sweep.ts) for a job RunPod no longer knows.
  UNKNOWN: 'unknown',
};

/**
 * Usage from the job ledger: each key's job records and token counters of the period, read from
 * the `byOwner` index (one Query per key, paged), summed per day and surface. Exact for every job whose end the
 * gateway saw; the others count as `unfinished` (their records keep no timing).
 */
export async function usageReport(options: {
  readonly access: () => Promise<DynamoDbAccess>;
  readonly tableName: string;
  readonly keyIds: readonly string[];
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
}): Promise<UsageRow[]> {
  const { client, sdk } = await options.access();
  const index = LEDGER_TABLE.ownerIndex;
  const rows = new Map<string, Counts>();
  for (const keyId of options.keyIds) {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page: QueryCommandOutput = await client
        .send(
          new sdk.QueryCommand({
            TableName: options.tableName,
            IndexName: index.name,
            KeyConditionExpression: '#owner = :owner AND #created BETWEEN :from AND :to',
            ExpressionAttributeNames: { '#owner': index.partitionKey, '#created': index.sortKey },
            ExpressionAttributeValues: {
              ':owner': { S: keyId },
              ':from': { N: String(options.from) },
              ':to': { N: String(options.to - 1) },
            },
            ExclusiveStartKey: startKey,
          }),
        )
        .catch((error: unknown) => {
          throw new LedgerUnavailableError('The job ledger could not be read for usage', {
            cause: error,
          });
        });
      for (const item of page.Items ?? []) add(rows, keyId, item);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
  return [...rows.values()]
    .map((row) => ({
      ...row,
      gpuSeconds: Math.round(row.gpuSeconds) / 1000,
      queueSeconds: Math.round(row.queueSeconds) / 1000,
    }))
    .sort((a, b) =>
      `${a.day} ${a.keyId} ${a.surface}`.localeCompare(`${b.day} ${b.keyId} ${b.surface}`),
    );
}

/** Adds one job record to its day's row; the seconds are summed in ms until the end. */
function add(rows: Map<string, Counts>, keyId: string, item: Record<string, AttributeValue>): void {
  const createdAt = Number(item.createdAt?.N);
  if (!Number.isFinite(createdAt)) return;
  const day = new Date(Math.floor(createdAt / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
  const surface = item.surface?.S ?? '';
  const key = `${day}|${keyId}|${surface}`;
  let row = rows.get(key);
  if (row === undefined) {
    row = { day, keyId, surface, ...zeroTotals(), tokensByModel: {} };
    rows.set(key, row);
  }
  if (item[LEDGER_TABLE.partitionKey]?.S?.startsWith(TOKENS_KEY_PREFIX)) {
    const requests = numberOf(item.openaiRequests);
    const promptTokens = numberOf(item.promptTokens);
    const completionTokens = numberOf(item.completionTokens);
    row.openaiRequests += requests;
    row.promptTokens += promptTokens;
    row.completionTokens += completionTokens;
    const model = item.model?.S ?? '';
    const byModel = row.tokensByModel[model] ?? {
      requests: 0,
      promptTokens: 0,
      completionTokens: 0,
    };
    row.tokensByModel[model] = byModel;
    byModel.requests += requests;
    byModel.promptTokens += promptTokens;
    byModel.completionTokens += completionTokens;
    return;
  }
  row.submitted++;
  const field = STATUS_FIELDS[item.status?.S ?? ''];
  if (field === undefined) {
    row.unfinished++;
    return;
  }
  row[field]++;
  row.gpuSeconds += numberOf(item.executionTime);
  row.queueSeconds += numberOf(item.delayTime);
}

function numberOf(value: AttributeValue | undefined): number {
  const number = Number(value?.N);
  return Number.isFinite(number) ? number : 0;
}

/** A report's totals: every count of its rows (no day, key or surface). */
export type UsageTotals = Omit<UsageRow, 'day' | 'keyId' | 'surface' | 'tokensByModel'>;

/** The counted fields of a row, in the order reports show them. */
export const USAGE_COUNT_FIELDS = [
  'submitted',
  'completed',
  'failed',
  'cancelled',
  'timedOut',
  'unknown',
  'unfinished',
  'gpuSeconds',
  'queueSeconds',
  'openaiRequests',
  'promptTokens',
  'completionTokens',
] as const satisfies readonly (keyof UsageTotals)[];

function zeroTotals(): { -readonly [Field in keyof UsageTotals]: number } {
  return Object.fromEntries(USAGE_COUNT_FIELDS.map((field) => [field, 0])) as {
    -readonly [Field in keyof UsageTotals]: number;
  };
}

/** The rows summed (seconds to the millisecond). */
export function usageTotalsOf(rows: readonly UsageRow[]): UsageTotals {
  const totals = zeroTotals();
  for (const row of rows) {
    for (const field of Object.keys(totals) as (keyof UsageTotals)[]) totals[field] += row[field];
  }
  totals.gpuSeconds = Math.round(totals.gpuSeconds * 1000) / 1000;
  totals.queueSeconds = Math.round(totals.queueSeconds * 1000) / 1000;
  return totals;
}
