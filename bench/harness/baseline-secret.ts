import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The floor handlers' one secret: read once, cached for the life of the environment. */
const client = new SecretsManagerClient({});
let apiKey: string | undefined;

/**
 * And one item of a DynamoDB table per invocation (consistently, as the ledger reads a job):
 * since the job ledger, the design's dependencies include a table read.
 */
const dynamoDb = new DynamoDBClient({});

export async function readOneItem(): Promise<void> {
  await dynamoDb.send(
    new GetItemCommand({
      TableName: process.env.BASELINE_LEDGER_TABLE,
      Key: { pk: { S: 'job#floor' } },
      ConsistentRead: true,
    }),
  );
}

export async function runpodApiKey(): Promise<string | undefined> {
  apiKey ??= (
    await client.send(new GetSecretValueCommand({ SecretId: process.env.RUNPOD_API_KEY_SECRET }))
  ).SecretString;
  return apiKey;
}

export interface BaselineResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}
