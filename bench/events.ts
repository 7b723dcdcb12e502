import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { sha256Hex, TOKEN_PREFIX } from '../functions/auth/key-store.ts';
import { OPERATIONS, type Operation, routeFor } from '../functions/routes.ts';
import { restProxyEvent } from '../local/api-gateway-event.ts';
import { FileKeyStore } from '../local/keys/file-key-store.ts';
import { createKey } from '../local/keys/key-changes.ts';
import { OUT_DIR } from './processes.ts';

/**
 * The invocations the Lambda sections send: one realistic API Gateway REST proxy event per
 * operation (the headers a client behind API Gateway arrives with), the upstream request each
 * operation makes (for the warm baseline), and the key store that admits the bench's token.
 */
export const SURFACE = 'chat';
/** The `chat` surface's default endpoint in config/routing.json. */
export const ENDPOINT_ID = 'chatendpoint01';
export const JOB_ID = '5c6b2a44-7c61-4b0e-9f5e-8d2f3a1b9c0d-u1';
export const RUNPOD_API_KEY = 'rpa_BENCHMARKKEY0000000000000000000000000000';
const SUBMIT_BODY = JSON.stringify({
  input: { prompt: 'Write a haiku about latency.', max_tokens: 64 },
});

/** The OpenAI-compatible routes' bodies: answered whole (the streamed relay is its own section). */
const OPENAI_BODIES: Partial<Record<Operation, string>> = {
  'openai-chat': JSON.stringify({
    model: 'bench-model',
    messages: [{ role: 'user', content: 'Write a haiku about latency.' }],
    max_tokens: 64,
  }),
  'openai-completions': JSON.stringify({
    model: 'bench-model',
    prompt: 'Latency is',
    max_tokens: 64,
  }),
  'openai-embeddings': JSON.stringify({ model: 'bench-model', input: 'Latency' }),
};

export interface BenchCredentials {
  readonly token: string;
  /** A second key, with a request rate for every operation (never reached in the bench). */
  readonly limitedToken: string;
  /** The key store document (`{"keys":[…]}`) holding the token's digest. */
  readonly keyStore: string;
}

export function benchCredentials(): BenchCredentials {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const limitedToken = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const keyStore = JSON.stringify({
    keys: [
      {
        id: 'bench-limited',
        sha256: sha256Hex(limitedToken),
        surfaces: ['*'],
        operations: [...OPERATIONS],
        limits: { rate: { '*': { perSecond: 1000, burst: 1000 } } },
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      {
        id: 'bench',
        sha256: sha256Hex(token),
        surfaces: ['*'],
        // purge-queue is granted only to keys that name it.
        operations: [...OPERATIONS],
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    ],
  });
  return { token, limitedToken, keyStore };
}

export interface LocalBenchKeys {
  /** Key file for a local gateway (`GATEWAY_KEYS_FILE`), holding one all-surfaces key. */
  readonly keysFile: string;
  /** That key's token. */
  readonly token: string;
  /** The RunPod key a simulator process is started with (`SIM_API_KEY`). */
  readonly simKey: string;
}

/** Fresh keys for a local gateway and simulator the bench starts, in `bench/out/<name>-keys.json`. */
export async function localBenchKeys(name: string): Promise<LocalBenchKeys> {
  const keysFile = join(OUT_DIR, `${name}-keys.json`);
  await rm(keysFile, { force: true });
  const { token } = await createKey(new FileKeyStore(keysFile), {
    id: 'bench',
    surfaces: ['*'],
    operations: [...OPERATIONS],
    description: 'npm run bench',
  });
  return { keysFile, token, simKey: `sim_${randomUUID()}` };
}

interface OperationCall {
  readonly method: 'GET' | 'POST';
  /** Below `/v1/runpod/{surface}`, as `routes.ts` has it (`/status/{jobId}`). */
  readonly resource: string;
  /** The same with the job id filled in. */
  readonly path: string;
  readonly body: string | undefined;
}

/**
 * Each operation's call, from `routes.ts`: its first method (GET where a route takes both;
 * `stream` is then one poll answered as JSON, the SSE relay being the streaming section's), a
 * submit body for `run` and `runsync`. The function makes the same call upstream, below the
 * endpoint.
 */
function callOf(operation: Operation): OperationCall {
  const route = routeFor(operation);
  const method = route.methods[0] ?? 'GET';
  const submits = operation === 'run' || operation === 'runsync';
  const body = submits
    ? SUBMIT_BODY
    : route.openAi && method === 'POST'
      ? OPENAI_BODIES[operation]
      : undefined;
  return { method, resource: route.path, path: route.path.replace('{jobId}', JOB_ID), body };
}

/** The REST proxy event API Gateway hands the operation's function. */
export function eventOf(operation: Operation, token: string): APIGatewayProxyEvent {
  const call = callOf(operation);
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Encoding': 'gzip, deflate, br',
    Authorization: `Bearer ${token}`,
    'CloudFront-Forwarded-Proto': 'https',
    'CloudFront-Is-Desktop-Viewer': 'true',
    'CloudFront-Viewer-Country': 'DE',
    Host: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'python-requests/2.32.3',
    Via: '2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)',
    'X-Amz-Cf-Id': 'Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4',
    'X-Amzn-Trace-Id': 'Root=1-67a1b2c3-0123456789abcdef01234567',
    'X-Forwarded-For': '203.0.113.7, 130.176.0.1',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
  };
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  return restProxyEvent({
    method: call.method,
    resource: `/v1/runpod/{surface}${call.resource}`,
    path: `/v1/runpod/${SURFACE}${call.path}`,
    pathParameters: {
      surface: SURFACE,
      ...(call.resource.includes('{jobId}') ? { jobId: JOB_ID } : {}),
    },
    headers: Object.entries(headers),
    body: call.body ?? null,
    requestId: 'c0ffee00-0000-4000-8000-000000000001',
    sourceIp: '203.0.113.7',
    stage: 'prod',
  });
}

/** The request the operation's function makes upstream, as the warm baseline makes it with `fetch`. */
export function upstreamRequestOf(
  operation: Operation,
  upstreamBaseUrl: string,
): { url: string; method: string; headers: Record<string, string>; body?: string } {
  const call = callOf(operation);
  const headers: Record<string, string> = {
    Authorization: `Bearer ${RUNPOD_API_KEY}`,
    Accept: 'application/json',
    'User-Agent': 'runpod-gateway/0.1',
  };
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  return {
    url: `${upstreamBaseUrl}/${ENDPOINT_ID}${call.path}`,
    method: call.method,
    headers,
    ...(call.body === undefined ? {} : { body: call.body }),
  };
}
