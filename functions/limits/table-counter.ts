import type { DynamoDbAccess } from '../ledger/dynamodb-job-ledger.ts';
import { LedgerUnavailableError } from '../ledger/job-ledger.ts';
import { LEDGER_TABLE } from '../ledger/ledger-table.ts';

/** Where a counter lives: the ledger table, reached lazily through the ledger's client. */
export interface CounterTable {
  readonly tableName: string;
  readonly access: () => Promise<DynamoDbAccess>;
}

/**
 * Adds to number attributes of one item in a single conditional update, so every instance
 * counting the same item agrees without a read first: `below` keeps each named attribute under
 * its maximum before the addition (absent counts as 0), `above` keeps it over its minimum (a
 * release never counts below zero). False when a condition held it back. `what` names the
 * counter in the error a failed call raises.
 */
export async function addToCounter(
  table: CounterTable,
  options: {
    readonly key: string;
    readonly add: Readonly<Record<string, number>>;
    readonly below?: Readonly<Record<string, number>>;
    readonly above?: Readonly<Record<string, number>>;
    /** Epoch seconds after which DynamoDB's TTL may remove the item. */
    readonly expiresAt?: number;
    readonly what: string;
  },
): Promise<boolean> {
  const { client, sdk } = await table.access();
  const names: Record<string, string> = {};
  const values: Record<string, { N: string }> = {};
  const additions: string[] = [];
  const conditions: string[] = [];
  let index = 0;
  const nameOf = (attribute: string) => {
    const existing = Object.entries(names).find(([, name]) => name === attribute)?.[0];
    if (existing !== undefined) return existing;
    const placeholder = `#a${index++}`;
    names[placeholder] = attribute;
    return placeholder;
  };
  for (const [attribute, delta] of Object.entries(options.add)) {
    const name = nameOf(attribute);
    values[`:add${name.slice(2)}`] = { N: String(delta) };
    additions.push(`${name} :add${name.slice(2)}`);
  }
  for (const [attribute, max] of Object.entries(options.below ?? {})) {
    const name = nameOf(attribute);
    values[`:max${name.slice(2)}`] = { N: String(max) };
    conditions.push(`(attribute_not_exists(${name}) OR ${name} < :max${name.slice(2)})`);
  }
  for (const [attribute, min] of Object.entries(options.above ?? {})) {
    const name = nameOf(attribute);
    values[`:min${name.slice(2)}`] = { N: String(min) };
    conditions.push(`${name} > :min${name.slice(2)}`);
  }
  let update = `ADD ${additions.join(', ')}`;
  if (options.expiresAt !== undefined) {
    names['#ttl'] = LEDGER_TABLE.timeToLive;
    values[':ttl'] = { N: String(options.expiresAt) };
    update += ' SET #ttl = :ttl';
  }
  try {
    await client.send(
      new sdk.UpdateItemCommand({
        TableName: table.tableName,
        Key: { [LEDGER_TABLE.partitionKey]: { S: options.key } },
        UpdateExpression: update,
        ...(conditions.length === 0 ? {} : { ConditionExpression: conditions.join(' AND ') }),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof sdk.ConditionalCheckFailedException) return false;
    throw new LedgerUnavailableError(`The ${options.what} could not be counted`, { cause: error });
  }
}

/** A counter item's number attributes, read consistently (to say which limit refused). */
export async function readCounter(
  table: CounterTable,
  key: string,
  what: string,
): Promise<Record<string, number>> {
  const { client, sdk } = await table.access();
  try {
    const { Item } = await client.send(
      new sdk.GetItemCommand({
        TableName: table.tableName,
        Key: { [LEDGER_TABLE.partitionKey]: { S: key } },
        ConsistentRead: true,
      }),
    );
    return Object.fromEntries(
      Object.entries(Item ?? {}).flatMap(([name, value]) =>
        value.N === undefined ? [] : [[name, Number(value.N)]],
      ),
    );
  } catch (error) {
    throw new LedgerUnavailableError(`The ${what} could not be read`, { cause: error });
  }
}
