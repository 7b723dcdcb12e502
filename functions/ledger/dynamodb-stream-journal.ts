import type {
  AttributeValue,
  BatchGetItemCommandOutput,
  BatchWriteItemCommandOutput,
  KeysAndAttributes,
  WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { crypto } from '../runtime/builtins.ts';
import type { DynamoDbAccess } from './dynamodb-job-ledger.ts';
import {
  journalPageKeyOf,
  journalPartKeyOf,
  LEDGER_TABLE,
  streamLeaseKeyOf,
} from './ledger-table.ts';
import { type JournalPage, JournalUnavailableError, type StreamJournal } from './stream-journal.ts';

type Item = Record<string, AttributeValue>;

/**
 * A page's chunks are stored as one UTF-8 text (JSON texts joined by newlines: JSON.stringify
 * never emits a raw one), cut into parts that fit DynamoDB's 400 KB item limit with room for the
 * page's other attributes. RunPod's chunks go up to 1 MB, so a page may take several items.
 */
const PART_BYTES = 350_000;
/** BatchGetItem's limit per call. */
const BATCH_GET_KEYS = 100;
/** BatchWriteItem's limit per call. */
const BATCH_WRITE_ITEMS = 25;
const UNPROCESSED_RETRIES = 8;

/**
 * The stream journal in the ledger's DynamoDB table, with the ledger's client: no transactions
 * (the embedded engine has none), so a page is claimed by one conditional put, after any parts
 * it needs were written under a key only this attempt uses.
 */
export class DynamoDbStreamJournal implements StreamJournal {
  readonly #tableName: string;
  readonly #access: () => Promise<DynamoDbAccess>;

  constructor(options: { tableName: string; access: () => Promise<DynamoDbAccess> }) {
    this.#tableName = options.tableName;
    this.#access = options.access;
  }

  async read(jobId: string, from: number, max: number): Promise<JournalPage[]> {
    const count = Math.max(1, Math.min(max, BATCH_GET_KEYS));
    const keys = Array.from({ length: count }, (_, index) => journalPageKeyOf(jobId, from + index));
    const items = await this.#getAll(keys, 'The stream journal could not be read');
    const pages: JournalPage[] = [];
    for (let page = from; page < from + count; page++) {
      const item = items.get(journalPageKeyOf(jobId, page));
      if (item === undefined) break;
      pages.push(await this.#pageOf(jobId, page, item));
    }
    return pages;
  }

  async write(jobId: string, page: JournalPage, expiresAt: number): Promise<boolean> {
    const { client, sdk } = await this.#access();
    const data = Buffer.from(page.chunks.join('\n'), 'utf8');
    const parts = Math.max(1, Math.ceil(data.length / PART_BYTES));
    const nonce = crypto.randomUUID();
    const ttl = { N: String(expiresAt) };
    const item: Item = {
      [LEDGER_TABLE.partitionKey]: { S: journalPageKeyOf(jobId, page.page) },
      first: { N: String(page.first) },
      count: { N: String(page.chunks.length) },
      status: { S: page.status },
      [LEDGER_TABLE.timeToLive]: ttl,
    };
    if (data.length > 0) item.data = { B: data.subarray(0, PART_BYTES) };
    if (page.end !== undefined) item.end = { S: JSON.stringify(page.end) };
    try {
      if (parts > 1) {
        item.parts = { N: String(parts) };
        item.nonce = { S: nonce };
        const requests: WriteRequest[] = [];
        for (let part = 1; part < parts; part++) {
          requests.push({
            PutRequest: {
              Item: {
                [LEDGER_TABLE.partitionKey]: {
                  S: journalPartKeyOf(jobId, page.page, nonce, part),
                },
                data: { B: data.subarray(part * PART_BYTES, (part + 1) * PART_BYTES) },
                [LEDGER_TABLE.timeToLive]: ttl,
              },
            },
          });
        }
        await this.#writeAll(requests);
      }
      await client.send(
        new sdk.PutItemCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey },
        }),
      );
      return true;
    } catch (error) {
      // The parts written for a page lost to another writer stay unreferenced until they expire.
      if (error instanceof sdk.ConditionalCheckFailedException) return false;
      throw new JournalUnavailableError('The stream journal could not be written', {
        cause: error,
      });
    }
  }

  async lease(jobId: string, holder: string, untilMs: number, expiresAt: number): Promise<boolean> {
    const { client, sdk } = await this.#access();
    try {
      await client.send(
        new sdk.PutItemCommand({
          TableName: this.#tableName,
          Item: {
            [LEDGER_TABLE.partitionKey]: { S: streamLeaseKeyOf(jobId) },
            holder: { S: holder },
            until: { N: String(untilMs) },
            [LEDGER_TABLE.timeToLive]: { N: String(expiresAt) },
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now OR #holder = :holder',
          ExpressionAttributeNames: {
            '#pk': LEDGER_TABLE.partitionKey,
            '#until': 'until',
            '#holder': 'holder',
          },
          ExpressionAttributeValues: {
            ':now': { N: String(Date.now()) },
            ':holder': { S: holder },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof sdk.ConditionalCheckFailedException) return false;
      throw new JournalUnavailableError('The stream lease could not be taken', { cause: error });
    }
  }

  async leaseOf(jobId: string): Promise<{ holder: string; untilMs: number } | undefined> {
    const { client, sdk } = await this.#access();
    let item: Item | undefined;
    try {
      const answer = await client.send(
        new sdk.GetItemCommand({
          TableName: this.#tableName,
          Key: { [LEDGER_TABLE.partitionKey]: { S: streamLeaseKeyOf(jobId) } },
          ConsistentRead: true,
        }),
      );
      item = answer.Item;
    } catch (error) {
      throw new JournalUnavailableError('The stream lease could not be read', { cause: error });
    }
    const holder = item?.holder?.S;
    const untilMs = numberOf(item?.until);
    return holder === undefined || untilMs === undefined ? undefined : { holder, untilMs };
  }

  async release(jobId: string, holder: string): Promise<void> {
    const { client, sdk } = await this.#access();
    try {
      await client.send(
        new sdk.DeleteItemCommand({
          TableName: this.#tableName,
          Key: { [LEDGER_TABLE.partitionKey]: { S: streamLeaseKeyOf(jobId) } },
          ConditionExpression: '#holder = :holder',
          ExpressionAttributeNames: { '#holder': 'holder' },
          ExpressionAttributeValues: { ':holder': { S: holder } },
        }),
      );
    } catch (error) {
      if (error instanceof sdk.ConditionalCheckFailedException) return;
      throw new JournalUnavailableError('The stream lease could not be released', {
        cause: error,
      });
    }
  }

  async #pageOf(jobId: string, page: number, item: Item): Promise<JournalPage> {
    const first = numberOf(item.first);
    const count = numberOf(item.count) ?? 0;
    const status = item.status?.S;
    if (first === undefined || status === undefined) {
      throw new JournalUnavailableError(`The stream journal's page ${page} is malformed`);
    }
    let data = bytesOf(item.data);
    const parts = numberOf(item.parts) ?? 1;
    const nonce = item.nonce?.S;
    if (parts > 1 && nonce !== undefined) {
      const keys = Array.from({ length: parts - 1 }, (_, index) =>
        journalPartKeyOf(jobId, page, nonce, index + 1),
      );
      const found = await this.#getAll(keys, 'The stream journal could not be read');
      const pieces = [data];
      for (const key of keys) {
        const piece = found.get(key);
        if (piece === undefined) {
          throw new JournalUnavailableError(
            `A part of the stream journal's page ${page} is missing`,
          );
        }
        pieces.push(bytesOf(piece.data));
      }
      data = Buffer.concat(pieces);
    }
    const chunks = count === 0 ? [] : Buffer.from(data).toString('utf8').split('\n');
    if (chunks.length !== count) {
      throw new JournalUnavailableError(`The stream journal's page ${page} is malformed`);
    }
    const end = item.end?.S;
    return {
      page,
      first,
      chunks,
      status,
      end: end === undefined ? undefined : (JSON.parse(end) as Record<string, unknown>),
    };
  }

  /** Reads items by key (any number), consistently, following up on unprocessed keys. */
  async #getAll(keys: readonly string[], failure: string): Promise<Map<string, Item>> {
    const { client, sdk } = await this.#access();
    const found = new Map<string, Item>();
    try {
      for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
        let request: KeysAndAttributes | undefined = {
          Keys: keys
            .slice(start, start + BATCH_GET_KEYS)
            .map((key) => ({ [LEDGER_TABLE.partitionKey]: { S: key } })),
          ConsistentRead: true,
        };
        for (let attempt = 0; request !== undefined; attempt++) {
          if (attempt > UNPROCESSED_RETRIES) throw new Error('Keys left unprocessed');
          if (attempt > 0) await pause(attempt);
          const answer: BatchGetItemCommandOutput = await client.send(
            new sdk.BatchGetItemCommand({ RequestItems: { [this.#tableName]: request } }),
          );
          for (const item of answer.Responses?.[this.#tableName] ?? []) {
            const key = item[LEDGER_TABLE.partitionKey]?.S;
            if (key !== undefined) found.set(key, item);
          }
          request = answer.UnprocessedKeys?.[this.#tableName];
          if (request?.Keys?.length === 0) request = undefined;
        }
      }
    } catch (error) {
      throw new JournalUnavailableError(failure, { cause: error });
    }
    return found;
  }

  async #writeAll(requests: readonly WriteRequest[]): Promise<void> {
    const { client, sdk } = await this.#access();
    for (let start = 0; start < requests.length; start += BATCH_WRITE_ITEMS) {
      let batch: WriteRequest[] | undefined = requests.slice(start, start + BATCH_WRITE_ITEMS);
      for (let attempt = 0; batch !== undefined && batch.length > 0; attempt++) {
        if (attempt > UNPROCESSED_RETRIES) throw new Error('Items left unprocessed');
        if (attempt > 0) await pause(attempt);
        const answer: BatchWriteItemCommandOutput = await client.send(
          new sdk.BatchWriteItemCommand({ RequestItems: { [this.#tableName]: batch } }),
        );
        batch = answer.UnprocessedItems?.[this.#tableName];
      }
    }
  }
}

function pause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1_000)));
}

function bytesOf(value: AttributeValue | undefined): Uint8Array {
  return value?.B ?? new Uint8Array();
}

function numberOf(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const number = Number(value.N);
  return Number.isFinite(number) ? number : undefined;
}
