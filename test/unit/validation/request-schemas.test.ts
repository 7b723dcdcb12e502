import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import { describeIssues } from '../../../functions/validation/describe-issues.ts';
import {
  jobPathSchema,
  routingQuerySchema,
  runsyncQuerySchema,
  statusQuerySchema,
  statusSyncQuerySchema,
  streamQuerySchema,
  submitBodySchema,
} from '../../../functions/validation/request-schemas.ts';

const DAY_MS = 86_400_000;
const UUID = 'eaebd6e7-6a92-4bb8-a911-f996ac5ea99d';

type Outcome = { ok: true; data: unknown } | { ok: false; message: string };

/** Parses like the validate-request middleware does and returns the caller's message. */
function check(schema: z.ZodMiniType, value: unknown, part = ''): Outcome {
  const result = schema.safeParse(value, { reportInput: true });
  return result.success
    ? { ok: true, data: result.data }
    : { ok: false, message: describeIssues(result.error.issues, part) };
}

describe('submitBodySchema (/run and /runsync bodies)', () => {
  it('accepts a body with every documented field', () => {
    // Prepare
    const body = {
      input: { prompt: 'hi', nested: { n: [1, 2] } },
      webhook: 'https://hooks.example.com/runpod?token=x',
      policy: { executionTimeout: 600_000, lowPriority: true, ttl: DAY_MS },
      s3Config: {
        accessId: 'AKIA',
        accessSecret: 'secret',
        bucketName: 'bucket',
        endpointUrl: 'https://s3.example.com',
        objectPath: 'out/',
      },
    };

    // Act + Assess
    expect(check(submitBodySchema, body)).toEqual({ ok: true, data: body });
  });

  it('hands on the very input object it was given, never a copy of its keys', () => {
    // A body within the limit can hold ~700 000 keys in `input`: copying them cost ~1 s of CPU.
    const input = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]));
    const result = submitBodySchema.safeParse({ input });

    expect(result.success && result.data.input).toBe(input);
  });

  it('accepts an empty input object', () => {
    expect(check(submitBodySchema, { input: {} })).toEqual({ ok: true, data: { input: {} } });
  });

  it('rejects a body without input as required', () => {
    expect(check(submitBodySchema, { webhook: 'https://example.com' })).toEqual({
      ok: false,
      message: 'input: is required',
    });
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', 'prompt'],
    ['null', null],
    ['a number', 3],
  ])('rejects input that is %s', (_case, input) => {
    expect(check(submitBodySchema, { input })).toEqual({
      ok: false,
      message: 'input: must be an object',
    });
  });

  it.each([
    'http://hooks.example.com/runpod',
    'ftp://hooks.example.com/runpod',
    'javascript:alert(1)',
    'not a url',
  ])('rejects the webhook %s because only https is allowed', (webhook) => {
    expect(check(submitBodySchema, { input: {}, webhook })).toEqual({
      ok: false,
      message: 'webhook: must be a valid https URL',
    });
  });

  it.each([5_000, 7 * DAY_MS])(
    'accepts policy.executionTimeout %i at the edge of its range',
    (executionTimeout) => {
      expect(check(submitBodySchema, { input: {}, policy: { executionTimeout } }).ok).toBe(true);
    },
  );

  it.each([
    [4_999, 'policy.executionTimeout: must be >= 5000'],
    [7 * DAY_MS + 1, 'policy.executionTimeout: must be <= 604800000'],
    [60_000.5, 'policy.executionTimeout: must be an integer'],
    ['60000', 'policy.executionTimeout: must be a number'],
  ])('rejects policy.executionTimeout %j', (executionTimeout, message) => {
    expect(check(submitBodySchema, { input: {}, policy: { executionTimeout } })).toEqual({
      ok: false,
      message,
    });
  });

  it.each([10_000, 7 * DAY_MS])('accepts policy.ttl %i at the edge of its range', (ttl) => {
    expect(check(submitBodySchema, { input: {}, policy: { ttl } }).ok).toBe(true);
  });

  it.each([
    [9_999, 'policy.ttl: must be >= 10000'],
    [7 * DAY_MS + 1, 'policy.ttl: must be <= 604800000'],
    [10_000.25, 'policy.ttl: must be an integer'],
  ])('rejects policy.ttl %j', (ttl, message) => {
    expect(check(submitBodySchema, { input: {}, policy: { ttl } })).toEqual({ ok: false, message });
  });

  it('rejects a lowPriority that is not a boolean', () => {
    expect(check(submitBodySchema, { input: {}, policy: { lowPriority: 'yes' } })).toEqual({
      ok: false,
      message: 'policy.lowPriority: must be a boolean',
    });
  });

  it('rejects an unknown policy field and names it', () => {
    expect(check(submitBodySchema, { input: {}, policy: { priority: 1 } })).toEqual({
      ok: false,
      message: 'policy: unknown field "priority"',
    });
  });

  it('rejects an s3Config missing its required fields and names each', () => {
    expect(check(submitBodySchema, { input: {}, s3Config: { accessId: 'AKIA' } })).toEqual({
      ok: false,
      message:
        's3Config.accessSecret: is required; s3Config.bucketName: is required; s3Config.endpointUrl: is required',
    });
  });

  it('rejects an s3Config field of the wrong type without echoing its value', () => {
    // Act
    const outcome = check(submitBodySchema, {
      input: {},
      s3Config: { accessId: 'AKIA', accessSecret: 12345678, bucketName: 'b', endpointUrl: 'e' },
    });

    // Assess
    expect(outcome).toEqual({ ok: false, message: 's3Config.accessSecret: must be a string' });
  });

  it('rejects an unknown s3Config field and names it', () => {
    expect(
      check(submitBodySchema, {
        input: {},
        s3Config: {
          accessId: 'a',
          accessSecret: 's',
          bucketName: 'b',
          endpointUrl: 'e',
          region: 'r',
        },
      }),
    ).toEqual({ ok: false, message: 's3Config: unknown field "region"' });
  });

  it('rejects an unknown top-level field and names it', () => {
    expect(check(submitBodySchema, { input: {}, webhok: 'https://example.com' })).toEqual({
      ok: false,
      message: 'unknown field "webhok"',
    });
  });

  it('accepts webhookV2, which RunPod\u2019s JS and Go SDKs send, as an https URL', () => {
    const body = { input: {}, webhook: 'https://a.example/1', webhookV2: 'https://b.example/2' };
    expect(check(submitBodySchema, body)).toEqual({ ok: true, data: body });
    expect(check(submitBodySchema, { input: {}, webhookV2: 'http://b.example/2' })).toEqual({
      ok: false,
      message: 'webhookV2: must be a valid https URL',
    });
  });

  it('names every unknown top-level field', () => {
    expect(check(submitBodySchema, { input: {}, a: 1, b: 2 })).toEqual({
      ok: false,
      message: 'unknown fields "a", "b"',
    });
  });

  it('rejects a body that is not an object', () => {
    expect(check(submitBodySchema, [{ input: {} }])).toEqual({
      ok: false,
      message: 'must be an object',
    });
  });
});

describe('runsyncQuerySchema', () => {
  it.each([
    ['1000', 1_000],
    ['300000', 300_000],
    ['90000', 90_000],
  ])('accepts wait=%s as the number %i', (wait, expected) => {
    expect(check(runsyncQuerySchema, { wait }, 'query')).toEqual({
      ok: true,
      data: { wait: expected },
    });
  });

  it('accepts a query without wait', () => {
    expect(check(runsyncQuerySchema, {}, 'query')).toEqual({ ok: true, data: {} });
  });

  it.each(['1e3', ' 1000', '1000 ', '-1', 'abc', '1000.0', '0x3e8', '', '+1000', '1234567890'])(
    'rejects wait=%j as not strict integer text',
    (wait) => {
      expect(check(runsyncQuerySchema, { wait }, 'query')).toEqual({
        ok: false,
        message: 'query.wait: has an invalid format',
      });
    },
  );

  it.each([
    ['999', 'query.wait: must be >= 1000'],
    ['300001', 'query.wait: must be <= 300000'],
  ])('rejects wait=%s outside 1000..300000', (wait, message) => {
    expect(check(runsyncQuerySchema, { wait }, 'query')).toEqual({ ok: false, message });
  });

  it('rejects an unknown query parameter and names it', () => {
    expect(check(runsyncQuerySchema, { wait: '1000', timeout: '5' }, 'query')).toEqual({
      ok: false,
      message: 'query: unknown field "timeout"',
    });
  });

  it('accepts the routing parameters next to wait', () => {
    expect(
      check(
        runsyncQuerySchema,
        { wait: '2000', endpointId: 'chatcanary01', model: 'llama-3-8b' },
        'query',
      ),
    ).toEqual({ ok: true, data: { wait: 2_000, endpointId: 'chatcanary01', model: 'llama-3-8b' } });
  });
});

describe('status, status-sync and stream queries (what RunPod takes on them)', () => {
  it('accepts ttl on status and status-sync, from 0 to 7 days, as a number', () => {
    expect(check(statusQuerySchema, { ttl: '6000' }, 'query')).toEqual({
      ok: true,
      data: { ttl: 6000 },
    });
    expect(check(statusSyncQuerySchema, { ttl: '0', wait: '1000' }, 'query')).toEqual({
      ok: true,
      data: { ttl: 0, wait: 1000 },
    });
    expect(check(statusQuerySchema, { ttl: String(7 * DAY_MS + 1) }, 'query')).toEqual({
      ok: false,
      message: `query.ttl: must be <= ${7 * DAY_MS}`,
    });
  });

  it('accepts wait on status-sync and stream within RunPod\u2019s 1000..300000', () => {
    expect(check(statusSyncQuerySchema, { wait: '90000' }, 'query')).toEqual({
      ok: true,
      data: { wait: 90_000 },
    });
    expect(check(streamQuerySchema, { wait: '300000' }, 'query')).toEqual({
      ok: true,
      data: { wait: 300_000 },
    });
    expect(check(streamQuerySchema, { wait: '999' }, 'query')).toEqual({
      ok: false,
      message: 'query.wait: must be >= 1000',
    });
  });

  it('keeps refusing what RunPod does not take: wait on status, ttl on stream', () => {
    expect(check(statusQuerySchema, { wait: '1000' }, 'query')).toEqual({
      ok: false,
      message: 'query: unknown field "wait"',
    });
    expect(check(streamQuerySchema, { ttl: '1000' }, 'query')).toEqual({
      ok: false,
      message: 'query: unknown field "ttl"',
    });
  });
});

describe('routingQuerySchema', () => {
  it('rejects wait on routes that do not take it', () => {
    expect(check(routingQuerySchema, { wait: '1000' }, 'query')).toEqual({
      ok: false,
      message: 'query: unknown field "wait"',
    });
  });

  it('rejects an empty model', () => {
    // Act
    const outcome = check(routingQuerySchema, { model: '' }, 'query');

    // Assess
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.message).toMatch(/^query\.model: must have at least 1 /);
  });

  it('rejects an endpointId longer than 128 characters', () => {
    expect(check(routingQuerySchema, { endpointId: 'a'.repeat(129) }, 'query')).toEqual({
      ok: false,
      message: 'query.endpointId: must have at most 128 characters',
    });
  });
});

describe('jobPathSchema', () => {
  it.each([
    UUID,
    `${UUID}-u1`,
    `${UUID}-e1`,
    `sync-${UUID}`,
    `sync-${UUID}-u1`,
    'a'.repeat(128),
    'job_1',
  ])('accepts the job id %s', (jobId) => {
    expect(check(jobPathSchema, { jobId })).toEqual({ ok: true, data: { jobId } });
  });

  it.each(['../etc', 'a/b', 'a%2Fb', 'a?b', 'a#b', 'a b', '-leading', 'a'.repeat(129), ''])(
    'rejects the job id %j',
    (jobId) => {
      expect(check(jobPathSchema, { jobId })).toEqual({
        ok: false,
        message: 'jobId: has an invalid format',
      });
    },
  );

  it('rejects a missing job id as required', () => {
    expect(check(jobPathSchema, { jobId: undefined })).toEqual({
      ok: false,
      message: 'jobId: is required',
    });
  });
});
