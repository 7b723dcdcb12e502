import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { LEDGER_TABLE } from '../functions/ledger/ledger-table.ts';

/** The ledger table the local runtime uses unless told another. */
export const LOCAL_LEDGER_TABLE = 'runpod-gateway-ledger';

/**
 * What the AWS SDK needs to talk to a local engine: a region and credentials of any value
 * (nothing leaves the machine), set only where the environment has none.
 */
export function useLocalAwsDefaults(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_REGION ??= 'local';
  if (env.AWS_ACCESS_KEY_ID === undefined && env.AWS_PROFILE === undefined) {
    env.AWS_ACCESS_KEY_ID = 'local';
    env.AWS_SECRET_ACCESS_KEY = 'local';
  }
}

export interface LedgerEngine {
  /** `http://127.0.0.1:<port>`, for `DYNAMODB_ENDPOINT`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * An embedded DynamoDB-compatible engine (dynalite, in memory): what `npm start` keeps the job
 * ledger in when `DYNAMODB_ENDPOINT` names no other engine. A real engine over HTTP, not a mock:
 * the functions talk to it with the same SDK calls as to DynamoDB.
 */
export async function startLedgerEngine(): Promise<LedgerEngine> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/**
 * Creates the ledger table as the CDK construct defines it (partition key `pk`, the `byOwner`
 * and `unfinished` indexes, on demand, TTL on `expiresAt`), unless it exists (a table made by an
 * earlier version, without the indexes, serves everything but usage reports and the sweep). Engines without `UpdateTimeToLive` (dynalite) keep expired
 * items, which the ledger ignores on read anyway.
 */
export async function ensureLedgerTable(endpoint: string, tableName: string): Promise<void> {
  useLocalAwsDefaults();
  const client = new DynamoDBClient({ endpoint });
  const index = LEDGER_TABLE.ownerIndex;
  const unfinished = LEDGER_TABLE.unfinishedIndex;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [{ AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: LEDGER_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: index.partitionKey, AttributeType: 'S' },
          { AttributeName: index.sortKey, AttributeType: 'N' },
          { AttributeName: unfinished.partitionKey, AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.attributes] },
          },
          {
            IndexName: unfinished.name,
            KeySchema: [
              { AttributeName: unfinished.partitionKey, KeyType: 'HASH' },
              { AttributeName: unfinished.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: LEDGER_TABLE.timeToLive, Enabled: true },
      }),
    );
  } catch {
    // dynalite has no TTL; DynamoDB Local refuses enabling it twice. Reads check expiry anyway.
  }
  client.destroy();
}
