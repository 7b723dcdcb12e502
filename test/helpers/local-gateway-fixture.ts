import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATIONS, type Operation } from '../../functions/routes.ts';
import { FileKeyStore } from '../../local/keys/file-key-store.ts';
import { createKey, type NewKey, rotateKey } from '../../local/keys/key-changes.ts';
import {
  type LocalGateway,
  type LocalGatewayOptions,
  startLocalGateway,
} from '../../local/local-gateway.ts';
import { TEST_ROUTING } from './test-routing.ts';

export interface GatewayFixture {
  readonly gateway: LocalGateway;
  readonly base: string;
  /** A token granted every surface and operation (its own jobs only). */
  readonly token: string;
  createToken(
    id: string,
    surfaces: string[],
    operations?: Operation[],
    grants?: { allJobs?: string[]; limits?: NewKey['limits'] },
  ): Promise<string>;
  /** `npm run keys -- rotate`: a new token for the id; the old ones expire after `overlapMs`. */
  rotateToken(id: string, overlapMs: number): Promise<string>;
  close(): Promise<void>;
}

/** A local gateway on a random port with its own routing config and key store. */
export async function startGatewayFixture(
  options: {
    routing?: unknown;
    upstream?: { baseUrl: string; apiKey: string };
    settings?: Record<string, string>;
    simulator?: LocalGatewayOptions['simulator'];
    ledger?: LocalGatewayOptions['ledger'];
  } = {},
): Promise<GatewayFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-test-'));
  const routingConfigPath = join(dir, 'routing.json');
  const keysFile = join(dir, 'keys.json');
  await writeFile(routingConfigPath, JSON.stringify(options.routing ?? TEST_ROUTING));
  // Every operation named, purge-queue included (a key without a list may not purge).
  const { token } = await createKey(new FileKeyStore(keysFile), {
    id: 'test-all',
    surfaces: ['*'],
    operations: [...OPERATIONS],
  });
  if (options.upstream) process.env.TEST_UPSTREAM_KEY = options.upstream.apiKey;
  const gateway = await startLocalGateway({
    routingConfigPath,
    keysFile,
    upstream: options.upstream
      ? { baseUrl: options.upstream.baseUrl, apiKeyVariable: 'TEST_UPSTREAM_KEY' }
      : undefined,
    settings: { SECRETS_MAX_AGE_MS: '1', LOG_LEVEL: 'SILENT', ...options.settings },
    ...(options.simulator ? { simulator: options.simulator } : {}),
    ...(options.ledger ? { ledger: options.ledger } : {}),
  });
  return {
    gateway,
    base: `${gateway.url}/v1/runpod`,
    token,
    createToken: async (id, surfaces, operations, grants) =>
      (await createKey(new FileKeyStore(keysFile), { id, surfaces, operations, ...grants })).token,
    rotateToken: async (id, overlapMs) =>
      (await rotateKey(new FileKeyStore(keysFile), id, overlapMs)).token,
    close: () => gateway.close(),
  };
}

export function authHeaders(
  token: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...extra };
}

/** Submits a simulated job (`input.sim`, see docs/simulator.md) on `chat`; its id. */
export async function submitSimulated(
  fixture: GatewayFixture,
  sim: Record<string, unknown>,
): Promise<string> {
  const response = await fetch(`${fixture.base}/chat/run`, {
    method: 'POST',
    headers: authHeaders(fixture.token),
    body: JSON.stringify({ input: { sim } }),
  });
  return ((await response.json()) as { id: string }).id;
}

/** Polls /status until the job reaches a terminal status. */
export async function waitForTerminal(
  fixture: GatewayFixture,
  surface: string,
  jobId: string,
): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await fetch(`${fixture.base}/${surface}/status/${jobId}`, {
      headers: authHeaders(fixture.token),
    });
    const job = (await response.json()) as Record<string, unknown>;
    if (['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(String(job.status))) return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${jobId} did not finish`);
}
