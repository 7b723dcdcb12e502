import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The floor the design card's dependencies impose on a function: create a Secrets Manager client,
 * read one secret (cached for the life of the environment), make one `fetch` to the upstream and
 * return its answer. Bundled with the same esbuild options as the gateway's functions.
 */
const client = new SecretsManagerClient({});
let apiKey: string | undefined;

export const handler = async (): Promise<{
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}> => {
  apiKey ??= (
    await client.send(new GetSecretValueCommand({ SecretId: process.env.RUNPOD_API_KEY_SECRET }))
  ).SecretString;
  const response = await fetch(process.env.BASELINE_UPSTREAM_URL ?? '', {
    headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
  });
  return {
    statusCode: response.status,
    headers: { 'Content-Type': 'application/json' },
    body: await response.text(),
  };
};
