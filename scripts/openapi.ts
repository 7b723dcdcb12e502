/**
 * The gateway's OpenAPI 3.1 contract, generated from its route table (`functions/routes.ts`), its
 * request schemas (zod, through zod's own JSON Schema conversion), its error codes and the answer
 * shapes below. `npm run openapi` writes `docs/openapi.json`, which the deployed API and
 * `npm start` serve at `GET /v1/openapi.json`; a test keeps the file current.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { ERROR_CODES, type ErrorCode } from '../functions/http/error-codes.ts';
import { USAGE_COUNT_FIELDS } from '../functions/ledger/usage-report.ts';
import {
  type Operation,
  ROUTES,
  type RouteDefinition,
  resourcePathOf,
} from '../functions/routes.ts';
import {
  openAiBodySchema,
  routingQuerySchema,
  runsyncQuerySchema,
  statusQuerySchema,
  statusSyncQuerySchema,
  streamQuerySchema,
  submitBodySchema,
  usageQuerySchema,
} from '../functions/validation/request-schemas.ts';

const ROOT = join(import.meta.dirname, '..');
export const OPENAPI_FILE = join(ROOT, 'docs', 'openapi.json');

type Json = Record<string, unknown>;

/** Each operation's query and body schemas: the ones its handler module validates with. */
const REQUEST_SCHEMAS: Readonly<
  Record<Operation, { query?: z.ZodMiniType; body?: z.ZodMiniType }>
> = {
  run: { query: routingQuerySchema, body: submitBodySchema },
  runsync: { query: runsyncQuerySchema, body: submitBodySchema },
  status: { query: statusQuerySchema },
  'status-sync': { query: statusSyncQuerySchema },
  stream: { query: streamQuerySchema },
  cancel: { query: routingQuerySchema },
  retry: { query: routingQuerySchema },
  'purge-queue': { query: routingQuerySchema },
  health: { query: routingQuerySchema },
  usage: { query: usageQuerySchema },
  'openai-chat': { query: routingQuerySchema, body: openAiBodySchema },
  'openai-completions': { query: routingQuerySchema, body: openAiBodySchema },
  'openai-embeddings': { query: routingQuerySchema, body: openAiBodySchema },
  'openai-models': { query: routingQuerySchema },
  openapi: {},
};

/** What each operation answers with on success (components/schemas). */
const SUCCESS_SCHEMAS: Readonly<Record<Operation, string>> = {
  run: 'SubmittedJob',
  runsync: 'Job',
  status: 'Job',
  'status-sync': 'Job',
  stream: 'StreamPoll',
  cancel: 'JobState',
  retry: 'JobState',
  'purge-queue': 'PurgeResult',
  health: 'Health',
  usage: 'Usage',
  'openai-chat': 'OpenAiAnswer',
  'openai-completions': 'OpenAiAnswer',
  'openai-embeddings': 'OpenAiAnswer',
  'openai-models': 'OpenAiAnswer',
  openapi: 'OpenApiDocument',
};

/** The error codes each kind of route can answer (the problem table's). */
function errorCodesOf(route: RouteDefinition): ErrorCode[] {
  if (route.public) return ['throttled', 'internal_error'];
  const codes: ErrorCode[] = [
    'invalid_request',
    'unauthorized',
    'forbidden',
    'not_found',
    'throttled',
    'rate_limited',
    'secrets_unavailable',
    'gateway_timeout',
    'internal_error',
  ];
  if (route.gatewayWide) return [...codes, 'ledger_unavailable'];
  codes.push(
    'unknown_surface',
    'missing_endpoint_id',
    'endpoint_not_allowed',
    'endpoint_rate_limited',
    'upstream_bad_request',
    'upstream_not_found',
    'upstream_rate_limited',
    'upstream_auth_failed',
    'upstream_error',
    'upstream_unreachable',
    'upstream_timeout',
    'gateway_error',
  );
  if (route.methods.includes('POST')) codes.push('invalid_json', 'payload_too_large');
  if (route.ledger === 'record') {
    codes.push(
      'quota_exceeded',
      'ledger_unavailable',
      'invalid_idempotency_key',
      'idempotency_in_progress',
      'idempotency_key_reused',
    );
  }
  if (route.ledger === 'lookup') codes.push('job_not_found', 'ledger_unavailable');
  return codes;
}

function jsonSchemaOf(schema: z.ZodMiniType): Json {
  const converted = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  delete converted.$schema;
  return converted;
}

function parametersOf(route: RouteDefinition): Json[] {
  const parameters: Json[] = [];
  if (!route.gatewayWide) {
    parameters.push({ $ref: '#/components/parameters/surface' });
  }
  if (route.path.includes('{jobId}')) parameters.push({ $ref: '#/components/parameters/jobId' });
  const query = REQUEST_SCHEMAS[route.operation].query;
  if (query !== undefined) {
    const schema = jsonSchemaOf(query) as { properties?: Record<string, Json> };
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      parameters.push({ name, in: 'query', required: false, schema: property });
    }
  }
  if (route.ledger === 'record') {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'A repeat of the same request within 24 h gets the first answer (Idempotent-Replayed: true) instead of a second job.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  if (route.operation === 'stream') {
    parameters.push(
      {
        name: 'Accept',
        in: 'header',
        required: false,
        description:
          '`text/event-stream` for Server-Sent Events until the job ends; anything else gets one RunPod poll as JSON.',
        schema: { type: 'string' },
      },
      {
        name: 'Last-Event-ID',
        in: 'header',
        required: false,
        description: 'Resume after this chunk (the `id:` of an `output` event).',
        schema: { type: 'string', pattern: '^\\d{1,9}$' },
      },
    );
  }
  return parameters;
}

function successOf(route: RouteDefinition): Json {
  const schema = { $ref: `#/components/schemas/${SUCCESS_SCHEMAS[route.operation]}` };
  const content: Json = { 'application/json': { schema } };
  if (route.operation === 'stream') {
    content['text/event-stream'] = {
      schema: {
        type: 'string',
        description: 'Events `status`, `output` (with `id:`), `done`, `error`, `timeout`.',
      },
    };
  }
  if (route.operation === 'openai-chat' || route.operation === 'openai-completions') {
    content['text/event-stream'] = {
      schema: {
        type: 'string',
        description:
          'With `"stream": true`: the worker\'s `data:` chunks, ending `data: [DONE]` (or one `data: {"error": …}`).',
      },
    };
  }
  const headers: Json = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
  if (!route.public) {
    headers.RateLimit = { $ref: '#/components/headers/RateLimit' };
    headers['RateLimit-Policy'] = { $ref: '#/components/headers/RateLimit-Policy' };
  }
  if (route.ledger === 'record') {
    headers['Idempotent-Replayed'] = { $ref: '#/components/headers/Idempotent-Replayed' };
  }
  return { description: 'Success', headers, content };
}

function errorsOf(route: RouteDefinition): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(route)) {
    const { status } = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    // A reference with the route's own codes as its description (OpenAPI 3.1 allows both).
    responses[String(status)] = {
      $ref: `#/components/responses/${route.openAi ? 'OpenAiError' : 'Problem'}${status}`,
      description: `codes: ${codes.join(', ')}`,
    };
  }
  return responses;
}

/** One shared error response per shape and status. */
function errorResponses(): Record<string, Json> {
  const statuses = [...new Set(Object.values(ERROR_CODES).map(({ status }) => status))].sort();
  const responses: Record<string, Json> = {};
  for (const status of statuses) {
    const headers: Json = {
      'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' },
      ...(status === 429 || status === 503 || status === 409
        ? { 'Retry-After': { $ref: '#/components/headers/Retry-After' } }
        : {}),
    };
    const codes = Object.entries(ERROR_CODES)
      .filter(([, definition]) => definition.status === status)
      .map(([code]) => code);
    const description = `codes: ${codes.join(', ')}`;
    responses[`Problem${status}`] = {
      description,
      headers,
      content: {
        'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
      },
    };
    responses[`OpenAiError${status}`] = {
      description,
      headers,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/OpenAiError' } } },
    };
  }
  return responses;
}

const JOB_STATUS = {
  type: 'string',
  enum: ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'],
};

const COUNT = { type: 'integer', minimum: 0 };

const SCHEMAS: Record<string, Json> = {
  SubmittedJob: {
    type: 'object',
    required: ['id', 'status'],
    properties: { id: { type: 'string' }, status: JOB_STATUS },
  },
  Job: {
    type: 'object',
    description: "RunPod's job object, passed through as RunPod sent it.",
    required: ['id', 'status'],
    properties: {
      id: { type: 'string' },
      status: JOB_STATUS,
      delayTime: { type: 'number' },
      executionTime: { type: 'number' },
      output: {},
      error: {},
      workerId: { type: 'string' },
      retries: { type: 'integer' },
    },
  },
  JobState: {
    type: 'object',
    required: ['id', 'status'],
    properties: { id: { type: 'string' }, status: JOB_STATUS },
  },
  StreamPoll: {
    type: 'object',
    required: ['status', 'stream'],
    properties: {
      status: JOB_STATUS,
      stream: { type: 'array', items: { type: 'object', properties: { output: {} } } },
    },
  },
  PurgeResult: {
    type: 'object',
    required: ['removed', 'status'],
    properties: { removed: COUNT, status: { type: 'string' } },
  },
  Health: {
    type: 'object',
    required: ['jobs', 'workers'],
    properties: {
      jobs: { type: 'object', additionalProperties: COUNT },
      workers: { type: 'object', additionalProperties: COUNT },
    },
  },
  UsageTotals: {
    type: 'object',
    required: [...USAGE_COUNT_FIELDS],
    properties: Object.fromEntries(
      USAGE_COUNT_FIELDS.map((field) => [
        field,
        field.endsWith('Seconds') ? { type: 'number', minimum: 0 } : COUNT,
      ]),
    ),
  },
  Usage: {
    type: 'object',
    required: ['from', 'to', 'rows', 'totals'],
    properties: {
      from: { type: 'string', format: 'date' },
      to: { type: 'string', format: 'date' },
      rows: {
        type: 'array',
        items: {
          allOf: [{ $ref: '#/components/schemas/UsageTotals' }],
          type: 'object',
          required: ['day', 'keyId', 'surface', 'tokensByModel'],
          properties: {
            day: { type: 'string', format: 'date' },
            keyId: { type: 'string' },
            surface: { type: 'string' },
            tokensByModel: {
              type: 'object',
              additionalProperties: {
                type: 'object',
                required: ['requests', 'promptTokens', 'completionTokens'],
                properties: { requests: COUNT, promptTokens: COUNT, completionTokens: COUNT },
              },
            },
          },
        },
      },
      totals: { $ref: '#/components/schemas/UsageTotals' },
    },
  },
  OpenAiAnswer: {
    type: 'object',
    description: "The worker's OpenAI-compatible answer, passed through as it sent it.",
  },
  OpenApiDocument: { type: 'object', required: ['openapi', 'paths'] },
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details; branch on `code`.',
    required: ['type', 'status', 'title', 'detail', 'code', 'requestId', 'error'],
    properties: {
      type: { const: 'about:blank' },
      status: { type: 'integer' },
      title: { type: 'string' },
      detail: { type: 'string' },
      code: { type: 'string', enum: Object.keys(ERROR_CODES) },
      requestId: { type: 'string' },
      error: { type: 'string', description: "`detail` again, for RunPod's SDKs." },
    },
  },
  OpenAiError: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['message', 'type', 'code'],
        properties: {
          message: { type: 'string' },
          type: { type: 'string' },
          param: { type: 'null' },
          code: { type: 'string', enum: Object.keys(ERROR_CODES) },
          request_id: { type: 'string' },
        },
      },
    },
  },
};

function versionOf(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** The whole document. */
export function openApiDocument(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const path = resourcePathOf(route);
    const item = paths[path] ?? {};
    paths[path] = item;
    const body = REQUEST_SCHEMAS[route.operation].body;
    for (const method of route.methods) {
      item[method.toLowerCase()] = {
        operationId:
          route.methods.length > 1 && method === 'POST'
            ? `${route.operation}-post`
            : route.operation,
        tags: [route.openAi ? 'openai' : route.gatewayWide ? 'gateway' : 'jobs'],
        ...(route.public ? { security: [] } : {}),
        parameters: parametersOf(route),
        ...(body !== undefined && method === 'POST'
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: jsonSchemaOf(body) } },
              },
            }
          : {}),
        responses: { '200': successOf(route), ...errorsOf(route) },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'RunPod jobs gateway',
      version: versionOf(),
      description:
        "RunPod Serverless's job API and its workers' OpenAI-compatible API behind one authenticated gateway. Errors are RFC 9457 problems (OpenAI's shape on the OpenAI-compatible routes) with a stable `code`.",
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
        variables: {
          apiId: { default: 'abcdef1234' },
          region: { default: 'us-east-1' },
          stage: { default: 'prod' },
        },
      },
      { url: 'http://127.0.0.1:3000', description: 'npm start' },
    ],
    security: [{ bearer: [] }],
    tags: [
      { name: 'jobs', description: "RunPod's queue API, per surface." },
      { name: 'openai', description: "A vLLM worker's OpenAI-compatible API, per surface." },
      { name: 'gateway', description: 'The gateway itself.' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A gateway key, rpg_…' },
      },
      parameters: {
        surface: {
          name: 'surface',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
        },
        jobId: {
          name: 'jobId',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' },
        },
      },
      responses: errorResponses(),
      headers: {
        'X-Request-Id': { schema: { type: 'string' }, description: 'The request id, in logs too.' },
        'Retry-After': { schema: { type: 'string' }, description: 'Seconds to wait.' },
        RateLimit: {
          schema: { type: 'string' },
          description:
            'IETF RateLimit: what is left of the limit that applies (`r`), full again in `t` s.',
        },
        'RateLimit-Policy': {
          schema: { type: 'string' },
          description: 'IETF RateLimit-Policy: the limit (`q` at once, over `w` s).',
        },
        'Idempotent-Replayed': {
          schema: { type: 'string', enum: ['true'] },
          description: 'The answer is the first one for this Idempotency-Key.',
        },
      },
      schemas: SCHEMAS,
    },
  };
}

export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(OPENAPI_FILE, openApiText());
  console.log(`wrote ${OPENAPI_FILE}`);
}
