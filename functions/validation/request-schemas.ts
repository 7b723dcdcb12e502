import * as z from 'zod/mini';
import { jobId, modelName, surfaceName } from '../routing/identifiers.ts';

/**
 * Request shapes: the single source of truth for validation and for the handlers' types.
 * Unknown fields and query parameters are rejected so that typos fail loudly.
 */

// Each schema is built by a call marked free of side effects, so a function's bundle keeps (and
// its cold start builds) only the schemas its operation imports.
/* @__NO_SIDE_EFFECTS__ */
function built<T>(build: () => T): T {
  return build();
}

/* @__NO_SIDE_EFFECTS__ */
function milliseconds(min: number, max: number) {
  return z.number().check(z.int(), z.minimum(min), z.maximum(max));
}

/** Query strings arrive as text; numbers are parsed strictly (no `1e3`, no blanks). */
/* @__NO_SIDE_EFFECTS__ */
function integerText(min: number, max: number) {
  return z.pipe(
    z.string().check(z.regex(/^\d{1,9}$/)),
    z.pipe(
      z.transform((text: string) => Number(text)),
      milliseconds(min, max),
    ),
  );
}

const DAY = 86_400_000;

export const policySchema = built(() =>
  z.strictObject({
    executionTimeout: z.optional(milliseconds(5_000, 7 * DAY)),
    lowPriority: z.optional(z.boolean()),
    ttl: z.optional(milliseconds(10_000, 7 * DAY)),
  }),
);

export const s3ConfigSchema = built(() =>
  z.strictObject({
    accessId: z.string(),
    accessSecret: z.string(),
    bucketName: z.string(),
    endpointUrl: z.string(),
    objectPath: z.optional(z.string()),
  }),
);

/**
 * A JSON object, checked without being copied. `z.record` would rebuild it key by key, and an
 * `input` within the body limit can hold ~700 000 keys: the copy cost about 1 s of CPU and
 * 200–330 MB of memory on such a body, for nothing, since the raw body is what is forwarded.
 */
/* @__NO_SIDE_EFFECTS__ */
function jsonObject() {
  return z.custom<Record<string, unknown>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an object') },
  );
}

/** RunPod's `/run` and `/runsync` body, as RunPod documents it and its SDKs send it. */
export const submitBodySchema = built(() =>
  z.strictObject({
    input: jsonObject(),
    webhook: z.optional(z.url({ protocol: /^https$/ })),
    /** In the JS and Go SDKs' request types (undocumented by RunPod); forwarded as sent. */
    webhookV2: z.optional(z.url({ protocol: /^https$/ })),
    policy: z.optional(policySchema),
    s3Config: z.optional(s3ConfigSchema),
  }),
);

/** Parameters every route takes to choose the endpoint. */
/* @__NO_SIDE_EFFECTS__ */
function routingQuery() {
  return {
    endpointId: z.optional(z.string().check(z.maxLength(128))),
    model: z.optional(modelName),
  };
}

export const routingQuerySchema = built(() => z.strictObject(routingQuery()));

/** How long RunPod holds the request (runsync, status-sync, stream), passed on. */
/* @__NO_SIDE_EFFECTS__ */
function waitQuery() {
  return { wait: z.optional(integerText(1_000, 300_000)) };
}

/** `?ttl=`: RunPod deletes the job at most this many ms from now (it can only shorten its life). */
/* @__NO_SIDE_EFFECTS__ */
function ttlQuery() {
  return { ttl: z.optional(integerText(0, 7 * DAY)) };
}

export const runsyncQuerySchema = built(() =>
  z.strictObject({ ...routingQuery(), ...waitQuery() }),
);

export const statusQuerySchema = built(() => z.strictObject({ ...routingQuery(), ...ttlQuery() }));

export const statusSyncQuerySchema = built(() =>
  z.strictObject({ ...routingQuery(), ...waitQuery(), ...ttlQuery() }),
);

/** `?lastEventId=`: `Last-Event-ID` for clients that cannot set headers (the SSE `id:` of a chunk). */
export const streamQuerySchema = built(() =>
  z.strictObject({
    ...routingQuery(),
    ...waitQuery(),
    lastEventId: z.optional(integerText(0, 999_999_999)),
  }),
);

export const jobPathSchema = built(() => z.strictObject({ jobId }));

export type SubmitBody = z.infer<typeof submitBodySchema>;
export type RoutingQuery = z.infer<typeof routingQuerySchema>;
export type RunsyncQuery = z.infer<typeof runsyncQuerySchema>;
export type StatusQuery = z.infer<typeof statusQuerySchema>;
export type StatusSyncQuery = z.infer<typeof statusSyncQuerySchema>;
export type StreamQuery = z.infer<typeof streamQuerySchema>;

/** A UTC day, `YYYY-MM-DD`, that exists. */
const utcDay = built(() =>
  z.string().check(
    z.regex(/^\d{4}-\d{2}-\d{2}$/),
    z.refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)), 'Not a calendar day'),
  ),
);

/** `GET /v1/usage`: days (inclusive, UTC), whose keys (`*`: all), which surface. */
export const usageQuerySchema = built(() =>
  z.strictObject({
    from: z.optional(utcDay),
    to: z.optional(utcDay),
    keys: z.optional(
      z
        .string()
        .check(
          z.regex(/^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63}(,[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,99})$/),
        ),
    ),
    surface: z.optional(surfaceName),
  }),
);

/**
 * The OpenAI-compatible routes' bodies: what the gateway reads (`model` to route, `stream` to
 * relay); every other field goes to the worker as sent, for it to judge.
 */
export const openAiBodySchema = built(() =>
  z.looseObject({
    model: modelName,
    stream: z.optional(z.nullable(z.boolean())),
  }),
);

export type OpenAiBody = z.infer<typeof openAiBodySchema>;
