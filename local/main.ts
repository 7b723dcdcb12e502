import { existsSync } from 'node:fs';
import { OPERATIONS } from '../functions/routes.ts';
import { FileKeyStore } from './keys/file-key-store.ts';
import { createKey } from './keys/key-changes.ts';
import { startLocalGateway } from './local-gateway.ts';
import { DEFAULT_KEYS_FILE, DEFAULT_PORT, DEFAULT_ROUTING_CONFIG } from './local-settings.ts';

/** `npm start`: the gateway on http://127.0.0.1:$PORT, against the simulator unless RUNPOD_BASE_URL is set. */
async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? DEFAULT_PORT);
  const routingConfigPath = process.env.GATEWAY_CONFIG ?? DEFAULT_ROUTING_CONFIG;
  const keysFile = process.env.GATEWAY_KEYS_FILE ?? DEFAULT_KEYS_FILE;
  const upstreamUrl = process.env.RUNPOD_BASE_URL;
  const ledgerEndpoint = process.env.DYNAMODB_ENDPOINT;
  if (upstreamUrl && !process.env.RUNPOD_API_KEY) {
    throw new Error(
      'RUNPOD_BASE_URL is set, so RUNPOD_API_KEY must hold the RunPod API key to use',
    );
  }

  let devToken: string | undefined;
  if (!existsSync(keysFile)) {
    devToken = (
      await createKey(new FileKeyStore(keysFile), {
        id: 'local-dev',
        surfaces: ['*'],
        // Named one by one: purge-queue is granted only to keys that name it.
        operations: [...OPERATIONS],
        description: 'Created by npm start',
      })
    ).token;
  }

  const gateway = await startLocalGateway({
    port,
    routingConfigPath,
    keysFile,
    upstream: upstreamUrl ? { baseUrl: upstreamUrl, apiKeyVariable: 'RUNPOD_API_KEY' } : undefined,
    ledger: ledgerEndpoint
      ? { endpoint: ledgerEndpoint, tableName: process.env.LEDGER_TABLE || undefined }
      : undefined,
  });
  const base = `${gateway.url}/v1/runpod`;
  const lines = [
    `RunPod gateway (local) listening on ${gateway.url}`,
    `  upstream:   ${gateway.simulator ? `embedded RunPod simulator at ${gateway.simulator.baseUrl}` : upstreamUrl}`,
    `  routing:    ${routingConfigPath}`,
    `  key store:  ${keysFile}`,
    `  job ledger: ${ledgerEndpoint ? `table ${gateway.ledger.tableName} at ${ledgerEndpoint}` : `embedded DynamoDB-compatible engine at ${gateway.ledger.endpoint} (in memory)`}`,
  ];
  if (devToken) {
    lines.push(
      '',
      'Created a development key (id local-dev, all surfaces). Its token, shown only now:',
      `  ${devToken}`,
      '',
      'Try:',
      `  curl -s -X POST ${base}/chat/run -H "Authorization: Bearer ${devToken}" -H 'Content-Type: application/json' -d '{"input":{"prompt":"hello"}}'`,
    );
  } else {
    lines.push('', 'Use a token from `npm run keys -- create --id <id> --surfaces <list>`.');
  }
  console.log(lines.join('\n'));

  const stop = () => {
    gateway.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
