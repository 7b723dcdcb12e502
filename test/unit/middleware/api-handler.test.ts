import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type KeyEntry, sha256Hex } from '../../../functions/auth/key-store.ts';
import type { GatewayResponse } from '../../../functions/http/response.ts';
import type { GatewayContext } from '../../../functions/middleware/request-state.ts';
import { restProxyEvent } from '../../../local/api-gateway-event.ts';
import {
  ensureLedgerTable,
  type LedgerEngine,
  startLedgerEngine,
} from '../../../local/ledger-engine.ts';
import { TEST_ROUTING } from '../../helpers/test-routing.ts';
import { type CapturedOutput, captureOutput } from '../../helpers/unit/captured-output.ts';
import {
  type LocalHttpServer,
  type ReceivedRequest,
  reply,
  startLocalHttpServer,
} from '../../helpers/unit/local-http-server.ts';

type BufferedHandler = (
  event: APIGatewayProxyEvent,
  context: GatewayContext,
) => Promise<GatewayResponse>;

const RUNPOD_KEY = 'rpa_UNITRUNPODKEY0123456789ABCDEF';
const TOKENS = {
  all: 'rpg_all0123456789abcdef0123456789abcdef',
  chatOnly: 'rpg_chat0123456789abcdef0123456789abcde',
  runOnly: 'rpg_run0123456789abcdef0123456789abcdef',
  expired: 'rpg_expired0123456789abcdef0123456789ab',
  disabled: 'rpg_disabled0123456789abcdef0123456789a',
} as const;

const KEYS: KeyEntry[] = [
  { id: 'all-surfaces', sha256: sha256Hex(TOKENS.all), surfaces: ['*'] },
  { id: 'chat-only', sha256: sha256Hex(TOKENS.chatOnly), surfaces: ['chat'] },
  { id: 'run-only', sha256: sha256Hex(TOKENS.runOnly), surfaces: ['*'], operations: ['run'] },
  {
    id: 'expired',
    sha256: sha256Hex(TOKENS.expired),
    surfaces: ['*'],
    expiresAt: '2020-01-01T00:00:00Z',
  },
  { id: 'disabled', sha256: sha256Hex(TOKENS.disabled), surfaces: ['*'], disabled: true },
];

/** RunPod's answer with unusual spacing and a number JSON.parse would round: passed on as is. */
const HEALTH_BODY =
  '{ "jobs": {"completed": 12, "inQueue":0},\n  "workers": {"idle": 1, "big": 12345678901234567890} }';
const RUN_BODY = '{"id":"eaebd6e7-6a92-4bb8-a911-f996ac5ea99d-u1","status":"IN_QUEUE"}';

let requestCount = 0;

/** The logger writes here; kept out of the test output and read by the logging test. */
let output: CapturedOutput;

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => {
  output.restore();
});

interface EventParts {
  readonly method?: 'GET' | 'POST';
  readonly surface?: string;
  readonly path?: string;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: string;
}

/** A REST API (payload v1) proxy event for `/v1/runpod/{surface}/<path>`. */
function eventOf(parts: EventParts): APIGatewayProxyEvent {
  const method = parts.method ?? 'GET';
  const surface = parts.surface ?? 'chat';
  const path = parts.path ?? 'health';
  const headers: Record<string, string> = { Accept: 'application/json', ...parts.headers };
  if (parts.token !== undefined) headers.Authorization = `Bearer ${parts.token}`;
  return restProxyEvent({
    method,
    resource: `/v1/runpod/{surface}/${path}`,
    path: `/v1/runpod/${surface}/${path}`,
    pathParameters: { surface },
    headers: Object.entries(headers),
    query: Object.entries(parts.query ?? {}),
    body: parts.body ?? null,
    requestId: `req-${++requestCount}`,
    stage: 'prod',
  });
}

function contextOf(): GatewayContext {
  const context: Context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'gateway-health',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:gateway-health',
    memoryLimitInMB: '256',
    awsRequestId: 'aws-request-id',
    logGroupName: '/aws/lambda/gateway-health',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 28_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  // `gateway` is filled in by the request-context middleware, first in the chain.
  return context as GatewayContext;
}

function bodyText(response: GatewayResponse): string {
  if (typeof response.body !== 'string') throw new Error('expected a buffered (string) body');
  return response.body;
}

function problemOf(response: GatewayResponse): Record<string, unknown> {
  expect(response.headers['Content-Type']).toBe('application/problem+json');
  return JSON.parse(bodyText(response)) as Record<string, unknown>;
}

function runpodAnswers(request: ReceivedRequest): { status: number; body: string } {
  if (request.method === 'GET' && request.url.endsWith('/health'))
    return { status: 200, body: HEALTH_BODY };
  if (request.method === 'POST' && request.url.endsWith('/run'))
    return { status: 200, body: RUN_BODY };
  return { status: 404, body: '{"error":"not found"}' };
}

async function writeJson(path: string, value: unknown): Promise<string> {
  await writeFile(path, JSON.stringify(value));
  return path;
}

describe('operation handlers through the middleware chain', () => {
  let directory: string;
  let runpod: LocalHttpServer;
  let ledger: LedgerEngine;
  let health: BufferedHandler;
  let run: BufferedHandler;

  const respondNormally = () =>
    runpod.respondWith((request, response) => {
      const answer = runpodAnswers(request);
      reply(response, answer.status, answer.body);
    });

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'api-handler-'));
    runpod = await startLocalHttpServer(() => undefined);
    // `run` records its jobs in the ledger: a real engine, as on AWS.
    ledger = await startLedgerEngine();
    await ensureLedgerTable(ledger.endpoint, 'unit-ledger');
    vi.stubEnv('LEDGER_TABLE', 'unit-ledger');
    vi.stubEnv('DYNAMODB_ENDPOINT', ledger.endpoint);
    vi.stubEnv('AWS_REGION', 'local');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('GATEWAY_CONFIG', await writeJson(join(directory, 'routing.json'), TEST_ROUTING));
    vi.stubEnv(
      'GATEWAY_KEY_STORE',
      `file:${await writeJson(join(directory, 'keys.json'), { keys: KEYS })}`,
    );
    vi.stubEnv('RUNPOD_API_KEY_SECRET', 'env:UNIT_GATEWAY_RUNPOD_KEY');
    vi.stubEnv('UNIT_GATEWAY_RUNPOD_KEY', RUNPOD_KEY);
    vi.stubEnv('RUNPOD_BASE_URL', `${runpod.baseUrl}/v2`);
    vi.resetModules();
    health = (await import('../../../functions/operations/health.ts')).handler;
    run = (await import('../../../functions/operations/run.ts')).handler;
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await runpod.close();
    await ledger.close();
    await rm(directory, { recursive: true, force: true });
  });

  beforeEach(() => {
    runpod.requests.length = 0;
    respondNormally();
  });

  describe('authentication', () => {
    it('answers 401 with a Bearer challenge and a problem body when no Authorization header is sent', async () => {
      // Prepare
      const event = eventOf({});

      // Act
      const response = await health(event, contextOf());

      // Assess
      expect(response.statusCode).toBe(401);
      expect(response.headers).toMatchObject({
        'WWW-Authenticate': 'Bearer realm="runpod-gateway"',
        'X-Request-Id': event.requestContext.requestId,
        'Cache-Control': 'no-store',
      });
      expect(problemOf(response)).toEqual({
        type: 'about:blank',
        status: 401,
        title: 'Missing or invalid API key',
        detail: 'Send an API key as "Authorization: Bearer <token>"',
        code: 'unauthorized',
        requestId: event.requestContext.requestId,
        error: 'Send an API key as "Authorization: Bearer <token>"',
      });
      expect(runpod.requests).toHaveLength(0);
    });

    it.each([
      ['no token', 'Bearer'],
      ['two tokens', `Bearer ${TOKENS.all} extra`],
      ['a token with forbidden characters', 'Bearer rpg_abc;def'],
      ['a token longer than 512 characters', `Bearer ${'a'.repeat(513)}`],
    ])(
      'answers 401 invalid_token for a malformed Authorization header with %s',
      async (_case, authorization) => {
        // Prepare
        const event = eventOf({ headers: { Authorization: authorization } });

        // Act
        const response = await health(event, contextOf());

        // Assess
        expect(response.statusCode).toBe(401);
        expect(response.headers['WWW-Authenticate']).toBe(
          'Bearer realm="runpod-gateway", error="invalid_token"',
        );
        expect(response.headers['X-Request-Id']).toBe(event.requestContext.requestId);
        expect(problemOf(response)).toMatchObject({
          code: 'unauthorized',
          detail: 'The Authorization header must be "Bearer <token>"',
          requestId: event.requestContext.requestId,
        });
        expect(runpod.requests).toHaveLength(0);
      },
    );

    it('answers 401 without an error code when the caller used another scheme (RFC 6750 §3.1)', async () => {
      // Prepare
      const event = eventOf({
        headers: { Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
      });

      // Act
      const response = await health(event, contextOf());

      // Assess
      expect(response.statusCode).toBe(401);
      expect(response.headers['WWW-Authenticate']).toBe('Bearer realm="runpod-gateway"');
      expect(runpod.requests).toHaveLength(0);
    });

    it.each([
      ['unknown', 'rpg_not-in-the-key-store-at-all'],
      ['expired', TOKENS.expired],
      ['disabled', TOKENS.disabled],
    ])('answers 401 invalid_token for an %s key', async (_case, token) => {
      // Prepare
      const event = eventOf({ token });

      // Act
      const response = await health(event, contextOf());

      // Assess
      expect(response.statusCode).toBe(401);
      expect(response.headers['WWW-Authenticate']).toMatch(
        /^Bearer realm="runpod-gateway", error="invalid_token"$/,
      );
      expect(response.headers['X-Request-Id']).toBe(event.requestContext.requestId);
      expect(problemOf(response)).toMatchObject({
        status: 401,
        code: 'unauthorized',
        detail: 'The API key is unknown, expired or disabled',
        requestId: event.requestContext.requestId,
      });
      expect(runpod.requests).toHaveLength(0);
    });

    it('accepts the header name and the scheme in any case', async () => {
      // Prepare
      const event = eventOf({ headers: { AUTHORIZATION: `bearer ${TOKENS.all}` } });

      // Act
      const response = await health(event, contextOf());

      // Assess
      expect(response.statusCode).toBe(200);
    });
  });

  describe('authorization', () => {
    it('answers 403 forbidden when the key is not granted the surface', async () => {
      // Act
      const response = await health(
        eventOf({ token: TOKENS.chatOnly, surface: 'images' }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(403);
      expect(problemOf(response)).toMatchObject({
        code: 'forbidden',
        detail: 'API key chat-only is not allowed to use surface images',
      });
      expect(runpod.requests).toHaveLength(0);
    });

    it('answers 403 forbidden when the key is not granted the operation', async () => {
      // Act
      const response = await health(eventOf({ token: TOKENS.runOnly }), contextOf());

      // Assess
      expect(response.statusCode).toBe(403);
      expect(problemOf(response)).toMatchObject({
        code: 'forbidden',
        detail: 'API key run-only is not allowed to call health',
      });
    });

    it('lets a key limited to some operations call them', async () => {
      // Act
      const response = await run(
        eventOf({ method: 'POST', path: 'run', token: TOKENS.runOnly, body: '{"input":{}}' }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(200);
    });

    it('answers 404 unknown_surface to a "*" key for a surface that is not configured', async () => {
      // Act
      const response = await health(eventOf({ token: TOKENS.all, surface: 'nope' }), contextOf());

      // Assess
      expect(response.statusCode).toBe(404);
      expect(problemOf(response)).toMatchObject({
        code: 'unknown_surface',
        detail: 'Surface nope is not configured',
      });
    });

    it('answers 403, not 404, to a key limited to other surfaces, so it learns nothing about which exist', async () => {
      // Act
      const response = await health(
        eventOf({ token: TOKENS.chatOnly, surface: 'nope' }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(403);
      expect(problemOf(response)).toMatchObject({ code: 'forbidden' });
    });
  });

  describe('order of the checks', () => {
    it('answers 401, not 400, to an anonymous request with an invalid body', async () => {
      // Act
      const response = await run(
        eventOf({ method: 'POST', path: 'run', body: '{"input": ' }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(401);
      expect(problemOf(response)).toMatchObject({ code: 'unauthorized' });
    });

    it('answers 401, not 404, to an anonymous request for an unknown surface', async () => {
      const response = await health(eventOf({ surface: 'nope' }), contextOf());
      expect(response.statusCode).toBe(401);
    });

    it('answers 401, not 400, to an anonymous request with an unknown query parameter', async () => {
      const response = await health(eventOf({ query: { typo: '1' } }), contextOf());
      expect(response.statusCode).toBe(401);
    });

    it('answers 400 invalid_json to an authenticated request whose body is not JSON', async () => {
      // Act
      const response = await run(
        eventOf({ method: 'POST', path: 'run', token: TOKENS.all, body: '{"input": ' }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(400);
      expect(problemOf(response)).toMatchObject({ code: 'invalid_json' });
      expect(runpod.requests).toHaveLength(0);
    });

    it('answers 400 invalid_request naming the field to an authenticated request with an invalid body', async () => {
      // Act
      const response = await run(
        eventOf({
          method: 'POST',
          path: 'run',
          token: TOKENS.all,
          body: '{"input":{},"webhook":"http://x.test"}',
        }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(400);
      expect(problemOf(response)).toMatchObject({
        code: 'invalid_request',
        detail: 'webhook: must be a valid https URL',
      });
    });

    it('answers 400 invalid_request naming an unknown query parameter', async () => {
      // Act
      const response = await health(
        eventOf({ token: TOKENS.all, query: { typo: '1' } }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(400);
      expect(problemOf(response)).toMatchObject({
        code: 'invalid_request',
        detail: 'query: unknown field "typo"',
      });
    });
  });

  describe('calling RunPod', () => {
    it('passes RunPod answer through byte for byte, with the request id', async () => {
      // Prepare
      const event = eventOf({ token: TOKENS.all });

      // Act
      const response = await health(event, contextOf());

      // Assess
      expect(response.statusCode).toBe(200);
      expect(bodyText(response)).toBe(HEALTH_BODY);
      expect(response.headers).toEqual({
        'Content-Type': 'application/json',
        'X-Request-Id': event.requestContext.requestId,
      });
    });

    it('calls the surface endpoint with the RunPod key, never the caller token', async () => {
      // Prepare
      const event = eventOf({ token: TOKENS.all });

      // Act
      await health(event, contextOf());

      // Assess
      expect(runpod.requests).toHaveLength(1);
      expect(runpod.requests[0]).toMatchObject({ method: 'GET', url: '/v2/chatendpoint01/health' });
      expect(runpod.requests[0]?.headers.authorization).toBe(`Bearer ${RUNPOD_KEY}`);
      expect(runpod.requests[0]?.headers['x-request-id']).toBe(event.requestContext.requestId);
      expect(JSON.stringify(runpod.requests[0]?.headers)).not.toContain(TOKENS.all);
    });

    it('routes ?model= to the endpoint the model maps to', async () => {
      // Act
      await health(eventOf({ token: TOKENS.all, query: { model: 'llama-3-8b' } }), contextOf());

      // Assess
      expect(runpod.requests[0]?.url).toBe('/v2/llama3endpoint01/health');
    });

    it('routes an allowed ?endpointId= override', async () => {
      // Act
      await health(
        eventOf({ token: TOKENS.all, query: { endpointId: 'chatcanary01' } }),
        contextOf(),
      );

      // Assess
      expect(runpod.requests[0]?.url).toBe('/v2/chatcanary01/health');
    });

    it('answers 403 endpoint_not_allowed to an override of another surface endpoint, without calling RunPod', async () => {
      // Act
      const response = await health(
        eventOf({ token: TOKENS.all, query: { endpointId: 'imagesendpoint1' } }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(403);
      expect(problemOf(response)).toMatchObject({ code: 'endpoint_not_allowed' });
      expect(runpod.requests).toHaveLength(0);
    });

    it('forwards a /run body byte for byte and routes it by input.model', async () => {
      // Prepare
      const body = '{"input": {"model": "llama-3-8b", "seed": 12345678901234567890, "p": 1.50}}';

      // Act
      const response = await run(
        eventOf({ method: 'POST', path: 'run', token: TOKENS.all, body }),
        contextOf(),
      );

      // Assess
      expect(response.statusCode).toBe(200);
      expect(bodyText(response)).toBe(RUN_BODY);
      expect(runpod.requests[0]).toMatchObject({
        method: 'POST',
        url: '/v2/llama3endpoint01/run',
        body,
      });
    });

    it('answers 502 upstream_auth_failed without RunPod text when RunPod refuses the gateway key', async () => {
      // Prepare
      runpod.respondWith((_request, response) =>
        reply(response, 401, '{"error":"key rpa_XYZ revoked"}'),
      );

      // Act
      const response = await health(eventOf({ token: TOKENS.all }), contextOf());

      // Assess
      expect(response.statusCode).toBe(502);
      expect(problemOf(response)).toMatchObject({ code: 'upstream_auth_failed' });
      expect(bodyText(response)).not.toContain('rpa_XYZ');
    });

    it('answers 429 with Retry-After when RunPod rate-limits the gateway', async () => {
      // Prepare
      runpod.respondWith((_request, response) =>
        reply(response, 429, '{"error":"slow down"}', {
          'Content-Type': 'application/json',
          'Retry-After': '9',
        }),
      );

      // Act
      const response = await health(eventOf({ token: TOKENS.all }), contextOf());

      // Assess
      expect(response.statusCode).toBe(429);
      expect(response.headers['Retry-After']).toBe('9');
      expect(problemOf(response)).toMatchObject({ code: 'upstream_rate_limited' });
    });
  });

  describe('logging', () => {
    it('writes one completion line per request and never the token, the RunPod key or the Authorization header', async () => {
      // Prepare
      runpod.respondWith((request, response) => {
        if (request.url.includes('llama3endpoint01'))
          reply(response, 500, '{"error":"worker crashed"}');
        else reply(response, 200, HEALTH_BODY);
      });
      const events = [
        eventOf({ token: TOKENS.all }),
        eventOf({ token: TOKENS.all, query: { model: 'llama-3-8b' } }),
        eventOf({ token: `${TOKENS.all}x` }),
        eventOf({ token: TOKENS.expired }),
        eventOf({ token: TOKENS.chatOnly, surface: 'images' }),
        eventOf({ headers: { Authorization: `Basic ${TOKENS.all}` } }),
      ];

      // Act
      const statuses: number[] = [];
      for (const event of events) statuses.push((await health(event, contextOf())).statusCode);
      const written = output.text();
      const completions = output
        .records()
        .filter((record) => record.message === 'request completed');

      // Assess
      expect(statuses).toEqual([200, 502, 401, 401, 403, 401]);
      expect(completions.map((record) => record.requestId)).toEqual(
        events.map((event) => event.requestContext.requestId),
      );
      expect(completions[0]).toMatchObject({
        keyId: 'all-surfaces',
        endpointId: 'chatendpoint01',
        status: 200,
      });
      for (const token of Object.values(TOKENS)) expect(written).not.toContain(token);
      expect(written).not.toContain(RUNPOD_KEY);
      expect(written.toLowerCase()).not.toContain('authorization');
      expect(written.toLowerCase()).not.toContain('bearer');
    });
  });
});

describe('operation handlers when secrets cannot be read', () => {
  let directory: string;
  let runpod: LocalHttpServer;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'api-handler-secrets-'));
    runpod = await startLocalHttpServer((_request, response) => reply(response, 200, HEALTH_BODY));
    vi.stubEnv('GATEWAY_CONFIG', await writeJson(join(directory, 'routing.json'), TEST_ROUTING));
    vi.stubEnv('RUNPOD_API_KEY_SECRET', 'env:UNIT_GATEWAY_UNSET_RUNPOD_KEY');
    vi.stubEnv('UNIT_GATEWAY_UNSET_RUNPOD_KEY', undefined);
    vi.stubEnv('RUNPOD_BASE_URL', `${runpod.baseUrl}/v2`);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await runpod.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function healthHandlerWithKeyStore(keyStoreRef: string): Promise<BufferedHandler> {
    vi.stubEnv('GATEWAY_KEY_STORE', keyStoreRef);
    vi.resetModules();
    return (await import('../../../functions/operations/health.ts')).handler;
  }

  it('answers 503 secrets_unavailable with Retry-After when the key store cannot be read', async () => {
    // Prepare
    const missing = join(directory, 'missing-keys.json');
    const health = await healthHandlerWithKeyStore(`file:${missing}`);

    // Act
    const response = await health(eventOf({ token: TOKENS.all }), contextOf());

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers['Retry-After']).toBe('5');
    expect(problemOf(response)).toMatchObject({
      code: 'secrets_unavailable',
      detail: 'The gateway could not read its API key store; try again shortly',
    });
    expect(bodyText(response)).not.toContain(missing);
  });

  it('answers 401 to an anonymous request without reading the key store', async () => {
    // Prepare
    const health = await healthHandlerWithKeyStore(`file:${join(directory, 'missing-keys.json')}`);

    // Act
    const response = await health(eventOf({}), contextOf());

    // Assess
    expect(response.statusCode).toBe(401);
  });

  it('answers 503 secrets_unavailable without calling RunPod when the RunPod key cannot be read', async () => {
    // Prepare
    const keys = await writeJson(join(directory, 'keys.json'), { keys: KEYS });
    const health = await healthHandlerWithKeyStore(`file:${keys}`);

    // Act
    const response = await health(eventOf({ token: TOKENS.all }), contextOf());

    // Assess
    expect(response.statusCode).toBe(503);
    expect(problemOf(response)).toMatchObject({
      code: 'secrets_unavailable',
      detail: 'The gateway could not read its RunPod API key; try again shortly',
    });
    expect(bodyText(response)).not.toContain('UNIT_GATEWAY_UNSET_RUNPOD_KEY');
    expect(runpod.requests).toHaveLength(0);
  });
});

describe('createApiHandler', () => {
  const handle = async () => ({ statusCode: 200, headers: {}, body: '{}' });

  it('refuses a buffered route given the streaming execution mode, and a streaming route without it', async () => {
    // Prepare
    const { createApiHandler } = await import('../../../functions/middleware/api-handler.ts');
    const { executionModeStreamifyResponse } = await import('@middy/core/StreamifyResponse');
    const { routingQuerySchema } = await import('../../../functions/validation/request-schemas.ts');

    // Act and assess
    expect(() =>
      createApiHandler({
        operation: 'health',
        executionMode: executionModeStreamifyResponse,
        query: routingQuerySchema,
        handle,
      }),
    ).toThrow("The health handler must not pass middy's streaming execution mode");
    expect(() =>
      createApiHandler({ operation: 'stream', query: routingQuerySchema, handle }),
    ).toThrow(
      "The stream handler must pass middy's streaming execution mode: routes.ts marks the route streaming",
    );
  });
});
