import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { type RawAnswer, rawRequest } from '../helpers/raw-http.ts';

/**
 * `Idempotency-Key` on run and runsync through `npm start`'s runtime: a retried submission is
 * not a second paid job.
 */
let fixture: GatewayFixture;
let otherTeam: string;

beforeAll(async () => {
  fixture = await startGatewayFixture();
  otherTeam = await fixture.createToken('other-team', ['*']);
});
afterAll(async () => {
  await fixture.close();
});

function submissions(operation: 'run' | 'runsync'): number {
  return fixture.gateway.simulator?.stats().requests[operation] ?? 0;
}

function submit(
  operation: 'run' | 'runsync',
  body: unknown,
  key: string | undefined,
  token = fixture.token,
): Promise<RawAnswer> {
  return rawRequest(`${fixture.base}/chat/${operation}`, {
    method: 'POST',
    headers: authHeaders(token, key === undefined ? {} : { 'Idempotency-Key': key }),
    body: JSON.stringify(body),
  });
}

describe('Idempotency-Key', () => {
  it('replays the first answer of run, marked as a replay, without a second job', async () => {
    const key = randomUUID();
    const body = { input: { prompt: 'once', sim: { durationMs: 10 } } };
    const before = submissions('run');

    const first = await submit('run', body, key);
    const second = await submit('run', body, key);

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(submissions('run')).toBe(before + 1);
  });

  it('replays runsync\u2019s finished answer, output included', async () => {
    const key = randomUUID();
    const body = { input: { sim: { durationMs: 10, output: { answer: 42 } } } };
    const before = submissions('runsync');

    const first = await submit('runsync', body, key);
    const second = await submit('runsync', body, key);

    expect(first.json).toMatchObject({ status: 'COMPLETED', output: { answer: 42 } });
    expect(second.text).toBe(first.text);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(submissions('runsync')).toBe(before + 1);
  });

  it('accepts the key in the draft\u2019s quoted form as the same key', async () => {
    const key = randomUUID();
    const body = { input: {} };

    const first = await submit('run', body, key);
    const second = await submit('run', body, `"${key}"`);

    expect(second.text).toBe(first.text);
  });

  it('answers 422 when the key comes back with another body', async () => {
    const key = randomUUID();
    await submit('run', { input: { n: 1 } }, key);
    const before = submissions('run');

    const reused = await submit('run', { input: { n: 2 } }, key);

    expect(reused.status).toBe(422);
    expect(reused.json).toMatchObject({ code: 'idempotency_key_reused' });
    expect(submissions('run')).toBe(before);
  });

  it('answers 409 with Retry-After while the first request is still in flight', async () => {
    const key = randomUUID();
    const body = { input: { sim: { durationMs: 1_500, queueMs: 0 } } };

    const first = submit('runsync', body, key);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const concurrent = await submit('runsync', body, key);

    expect(concurrent.status).toBe(409);
    expect(concurrent.json).toMatchObject({ code: 'idempotency_in_progress' });
    expect(concurrent.headers['retry-after']).toBe('1');
    expect((await first).status).toBe(200);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['not ASCII', 'cl\u00e9-1'],
  ])(
    'answers 400 invalid_idempotency_key for a key that is %s, before calling RunPod',
    async (_case, key) => {
      const before = submissions('run');

      const refused = await submit('run', { input: {} }, key);

      expect(refused.status).toBe(400);
      expect(refused.json).toMatchObject({ code: 'invalid_idempotency_key' });
      expect(submissions('run')).toBe(before);
    },
  );

  it('keeps consumers\u2019 keys apart: the same key from another consumer is a new job', async () => {
    const key = randomUUID();
    const body = { input: {} };
    const before = submissions('run');

    const mine = await submit('run', body, key);
    const theirs = await submit('run', body, key, otherTeam);

    expect(theirs.status).toBe(200);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect((theirs.json as { id: string }).id).not.toBe((mine.json as { id: string }).id);
    expect(submissions('run')).toBe(before + 2);
  });

  it('lets a submission RunPod refused be sent again with the same key', async () => {
    const key = randomUUID();
    const before = submissions('run');

    const refused = await submit('run', { input: { sim: { nope: true } } }, key);
    const again = await submit('run', { input: { sim: { nope: true } } }, key);

    expect(refused.status).toBe(400);
    expect(again.status).toBe(400);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(submissions('run')).toBe(before + 2);
  });

  it('submits as before without the header', async () => {
    const before = submissions('run');

    await submit('run', { input: {} }, undefined);
    await submit('run', { input: {} }, undefined);

    expect(submissions('run')).toBe(before + 2);
  });
});
