import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type JobLedger,
  type JobOutcome,
  type JobRecord,
  LedgerUnavailableError,
} from './job-ledger.ts';
import {
  IDEMPOTENCY_KEY_PREFIX,
  jobKeyOf,
  LEDGER_TABLE,
  unfinishedShardOf,
} from './ledger-table.ts';

export interface DynamoDbLedgerOptions {
  readonly tableName: string;
  /** A DynamoDB-compatible endpoint (the local runtime's embedded engine); AWS's by default. */
  readonly endpoint?: string | undefined;
  /**
   * How long a job record stays for usage reports after its creation (days); it is found by
   * follow-up calls only until RunPod forgets the job (`expiresAt`). Default: until then only.
   */
  readonly usageRetentionDays?: number | undefined;
}

/** The job's own horizon, when the record is kept longer for usage (the TTL attribute then). */
const HORIZON_ATTRIBUTE = 'jobExpiresAt';

type Item = Record<string, AttributeValue>;

/** Never written: read once per cold start to set the client up (see `warm`). */
const WARM_UP_KEY = `${IDEMPOTENCY_KEY_PREFIX}warm-up`;

/** The table's client and the SDK module it came from (for its command and error classes). */
export interface DynamoDbAccess {
  readonly client: DynamoDBClient;
  readonly sdk: typeof import('@aws-sdk/client-dynamodb');
}

/**
 * The ledger in DynamoDB, through the low-level client: three calls, each item a handful of
 * string and number attributes, so the document client's marshalling layer is not worth its
 * load time. The SDK is imported on first use, as the Secrets Manager one is.
 */
export class DynamoDbJobLedger implements JobLedger {
  readonly #options: DynamoDbLedgerOptions;
  #access: Promise<DynamoDbAccess> | undefined;

  constructor(options: DynamoDbLedgerOptions) {
    this.#options = options;
  }

  get tableName(): string {
    return this.#options.tableName;
  }

  /**
   * At cold start: loads the SDK, creates the client and sends one cheap read (an item that never
   * exists, under the key prefix every ledger-using function may read), while the secrets are on
   * their way. A DynamoDB client's first request costs several milliseconds of one-time set-up
   * (measured ≈ 6–10 ms of the first invocation's answer in the bench); this moves it off the
   * first caller's path. Failures are ignored: the real calls report their own.
   */
  warm(): void {
    void this.#accessed()
      .then(({ client, sdk }) =>
        client.send(
          new sdk.GetItemCommand({
            TableName: this.#options.tableName,
            Key: { [LEDGER_TABLE.partitionKey]: { S: WARM_UP_KEY } },
          }),
        ),
      )
      .catch(() => undefined);
  }

  /** The ledger's client, for others that keep items in its table (idempotency records). */
  async client(): Promise<DynamoDBClient> {
    return (await this.#accessed()).client;
  }

  /** The ledger's client and SDK, for others that keep items in its table (the stream journal). */
  access(): Promise<DynamoDbAccess> {
    return this.#accessed();
  }

  #accessed(): Promise<DynamoDbAccess> {
    this.#access ??= import('@aws-sdk/client-dynamodb').then((sdk) => ({
      sdk,
      client: new sdk.DynamoDBClient(
        this.#options.endpoint === undefined ? {} : { endpoint: this.#options.endpoint },
      ),
    }));
    return this.#access;
  }

  async record(job: JobRecord): Promise<void> {
    const { client, sdk } = await this.#accessed();
    const item: Item = {
      [LEDGER_TABLE.partitionKey]: { S: jobKeyOf(job.jobId) },
      jobId: { S: job.jobId },
      ownerKeyId: { S: job.ownerKeyId },
      surface: { S: job.surface },
      endpointId: { S: job.endpointId },
      createdAt: { N: String(job.createdAt) },
      [LEDGER_TABLE.timeToLive]: { N: String(job.expiresAt) },
    };
    const retentionDays = this.#options.usageRetentionDays;
    if (retentionDays !== undefined) {
      // Kept for usage reports long after RunPod forgets the job; follow-ups stop finding it then.
      const keptUntil = Math.ceil(job.createdAt / 1000) + retentionDays * 86_400;
      if (keptUntil > job.expiresAt) {
        item[LEDGER_TABLE.timeToLive] = { N: String(keptUntil) };
        item[HORIZON_ATTRIBUTE] = { N: String(job.expiresAt) };
      }
    }
    if (job.model !== undefined) item.model = { S: job.model };
    if (job.counted?.inFlight) item.countedInFlight = { BOOL: true };
    if (job.counted?.gpuTime) item.countedGpuTime = { BOOL: true };
    if (job.outcome !== undefined) Object.assign(item, outcomeAttributesOf(job.outcome));
    else {
      // Until its end is recorded, the job is listed for the sweep.
      item[LEDGER_TABLE.unfinishedIndex.partitionKey] = { S: unfinishedShardOf(job.jobId) };
    }
    try {
      await client.send(
        new sdk.PutItemCommand({
          TableName: this.#options.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey },
        }),
      );
    } catch (error) {
      // RunPod never hands out an id twice; an existing record is the same job, kept as it is.
      if (error instanceof sdk.ConditionalCheckFailedException) return;
      throw new LedgerUnavailableError('The job ledger could not record the job', {
        cause: error,
      });
    }
  }

  /**
   * The job's record, read consistently; undefined when unknown, or RunPod has forgotten the job
   * (unless `includeForgotten`: the sweep ends such records).
   */
  async find(
    jobId: string,
    options: { readonly includeForgotten?: boolean } = {},
  ): Promise<JobRecord | undefined> {
    const { client, sdk } = await this.#accessed();
    let item: Item | undefined;
    try {
      const answer = await client.send(
        new sdk.GetItemCommand({
          TableName: this.#options.tableName,
          Key: { [LEDGER_TABLE.partitionKey]: { S: jobKeyOf(jobId) } },
          // A client polls right after submitting.
          ConsistentRead: true,
        }),
      );
      item = answer.Item;
    } catch (error) {
      throw new LedgerUnavailableError('The job ledger could not be read', { cause: error });
    }
    if (item === undefined) return undefined;
    const record = jobRecordOf(item);
    if (record === undefined) return undefined;
    // RunPod has forgotten the job (and DynamoDB deletes expired items only eventually).
    if (!options.includeForgotten && record.expiresAt * 1000 <= Date.now()) return undefined;
    return record;
  }

  async recordOutcome(
    jobId: string,
    outcome: JobOutcome,
    replacing?: JobOutcome,
  ): Promise<boolean> {
    const { client, sdk } = await this.#accessed();
    const names: Record<string, string> = {
      '#pk': LEDGER_TABLE.partitionKey,
      '#status': 'status',
      '#endedAt': 'endedAt',
      '#unfinished': LEDGER_TABLE.unfinishedIndex.partitionKey,
    };
    const values: Item = {
      ':status': { S: outcome.status },
      ':endedAt': { N: String(outcome.endedAt) },
    };
    const sets = ['#status = :status', '#endedAt = :endedAt'];
    let condition = 'attribute_exists(#pk) AND attribute_not_exists(#endedAt)';
    if (replacing !== undefined) {
      // Only over the outcome the caller saw, so two requests never both replace it.
      condition = '#status = :previousStatus AND #endedAt = :previousEndedAt';
      // DynamoDB refuses names an expression does not use.
      delete names['#pk'];
      values[':previousStatus'] = { S: replacing.status };
      values[':previousEndedAt'] = { N: String(replacing.endedAt) };
    }
    for (const field of ['executionTime', 'delayTime'] as const) {
      const value = outcome[field];
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = { N: String(value) };
      sets.push(`#${field} = :${field}`);
    }
    try {
      await client.send(
        new sdk.UpdateItemCommand({
          TableName: this.#options.tableName,
          Key: { [LEDGER_TABLE.partitionKey]: { S: jobKeyOf(jobId) } },
          UpdateExpression: `SET ${sets.join(', ')} REMOVE #unfinished`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof sdk.ConditionalCheckFailedException) return false;
      throw new LedgerUnavailableError('The job ledger could not record the outcome', {
        cause: error,
      });
    }
  }
}

function outcomeAttributesOf(outcome: JobOutcome): Item {
  const attributes: Item = {
    status: { S: outcome.status },
    endedAt: { N: String(outcome.endedAt) },
  };
  if (outcome.executionTime !== undefined) {
    attributes.executionTime = { N: String(outcome.executionTime) };
  }
  if (outcome.delayTime !== undefined) attributes.delayTime = { N: String(outcome.delayTime) };
  return attributes;
}

function jobRecordOf(item: Item): JobRecord | undefined {
  const jobId = item.jobId?.S;
  const ownerKeyId = item.ownerKeyId?.S;
  const surface = item.surface?.S;
  const endpointId = item.endpointId?.S;
  const createdAt = numberOf(item.createdAt);
  const expiresAt = numberOf(item[HORIZON_ATTRIBUTE]) ?? numberOf(item[LEDGER_TABLE.timeToLive]);
  if (
    jobId === undefined ||
    ownerKeyId === undefined ||
    surface === undefined ||
    endpointId === undefined ||
    createdAt === undefined ||
    expiresAt === undefined
  ) {
    return undefined;
  }
  const status = item.status?.S;
  const endedAt = numberOf(item.endedAt);
  return {
    jobId,
    ownerKeyId,
    surface,
    model: item.model?.S,
    endpointId,
    createdAt,
    expiresAt,
    counted:
      item.countedInFlight?.BOOL || item.countedGpuTime?.BOOL
        ? {
            ...(item.countedInFlight?.BOOL ? { inFlight: true } : {}),
            ...(item.countedGpuTime?.BOOL ? { gpuTime: true } : {}),
          }
        : undefined,
    outcome:
      status === undefined || endedAt === undefined
        ? undefined
        : {
            status,
            endedAt,
            executionTime: numberOf(item.executionTime),
            delayTime: numberOf(item.delayTime),
          },
  };
}

function numberOf(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const number = Number(value.N);
  return Number.isFinite(number) ? number : undefined;
}
