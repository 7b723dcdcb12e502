import { type BaselineResult, readOneItem, runpodApiKey } from './baseline-secret.ts';

/**
 * The floor the design card's dependencies impose on a function: create a Secrets Manager client
 * and a DynamoDB client, read one secret (cached for the life of the environment) and one item,
 * make one `fetch` to the upstream and return its answer. Bundled with the same esbuild options as
 * the gateway's functions.
 */
export const handler = async (): Promise<BaselineResult> => {
  const apiKey = await runpodApiKey();
  await readOneItem();
  const response = await fetch(process.env.BASELINE_UPSTREAM_URL ?? '', {
    headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
  });
  return {
    statusCode: response.status,
    headers: { 'Content-Type': 'application/json' },
    body: await response.text(),
  };
};
