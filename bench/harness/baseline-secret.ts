import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The floor handlers' one secret: read once, cached for the life of the environment. */
const client = new SecretsManagerClient({});
let apiKey: string | undefined;

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
