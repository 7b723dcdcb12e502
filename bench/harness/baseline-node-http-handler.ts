import { request } from 'node:http';
import { type BaselineResult, readOneItem, runpodApiKey } from './baseline-secret.ts';

/**
 * The same floor with Node's own HTTP client in place of `fetch`, as the gateway's RunPod client
 * uses: not budgeted, reported next to the floor so that what the gateway adds over a handler
 * with the same HTTP client can be read too.
 */
export const handler = async (): Promise<BaselineResult> => {
  const apiKey = await runpodApiKey();
  await readOneItem();
  return new Promise((resolve, reject) => {
    const outgoing = request(process.env.BASELINE_UPSTREAM_URL ?? '', {
      headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
    });
    outgoing.once('error', reject);
    outgoing.once('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.once('error', reject);
      response.once('end', () =>
        resolve({
          statusCode: response.statusCode ?? 0,
          headers: { 'Content-Type': 'application/json' },
          body,
        }),
      );
    });
    outgoing.end();
  });
};
