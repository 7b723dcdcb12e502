import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startSecondGateway } from '../helpers/second-gateway.ts';

/** A key's own request rate (`limits.rate` in its entry), enforced over real HTTP. */
let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture();
});
afterAll(async () => {
  await fixture.close();
});

function health(token: string, base = fixture.base) {
  return rawRequest(`${base}/chat/health`, { headers: authHeaders(token) });
}

describe("a key's own rate", () => {
  it('answers 429 rate_limited with Retry-After and RateLimit headers past it, and leaves other keys alone', async () => {
    const limited = await fixture.createToken('limited', ['chat'], undefined, {
      limits: { rate: { health: { perSecond: 0.5, burst: 2 } } },
    });
    const free = await fixture.createToken('free', ['chat']);

    const answers = [];
    for (let call = 0; call < 3; call++) answers.push(await health(limited));
    const others = await Promise.all([0, 1, 2, 3].map(() => health(free)));

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(answers[0]?.headers['ratelimit-policy']).toBe('"key";q=2;w=4');
    expect(answers[0]?.headers.ratelimit).toMatch(/^"key";r=1;t=\d+$/);
    const refused = answers[2];
    expect(refused?.json).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused?.headers.ratelimit).toMatch(/^"key";r=0;t=\d+$/);
    expect(others.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(others[0]?.headers.ratelimit).toBeUndefined();
  });

  it('applies "*" to every operation the key does not name', async () => {
    const token = await fixture.createToken('starred', ['chat'], undefined, {
      limits: {
        rate: { '*': { perSecond: 0.2, burst: 1 }, health: { perSecond: 100, burst: 100 } },
      },
    });

    const statuses = [];
    for (let call = 0; call < 2; call++) {
      statuses.push(
        (await rawRequest(`${fixture.base}/chat/status/none-u1`, { headers: authHeaders(token) }))
          .status,
      );
    }
    const healthy = await Promise.all([0, 1, 2].map(() => health(token)));

    // The first status call is let through (and finds no such job); the second is over the rate.
    expect(statuses).toEqual([404, 429]);
    expect(healthy.map((answer) => answer.status)).toEqual([200, 200, 200]);
  });

  it('is one limit across gateway instances sharing the table', async () => {
    const limits = { rate: { health: { perSecond: 0.2, burst: 4 } } };
    const token = await fixture.createToken('shared', ['chat'], undefined, { limits });
    const other = await startSecondGateway(
      fixture,
      { LOG_LEVEL: 'SILENT' },
      {
        id: 'shared',
        surfaces: ['chat'],
        limits,
      },
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          index % 2 === 0 ? health(token) : health(other.token, other.base),
        ),
      );

      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(4);
      expect(answers.filter((answer) => answer.status === 429)).toHaveLength(6);
    } finally {
      other.kill();
    }
  }, 30_000);
});

describe("a key's daily job quota", () => {
  function submit(token: string, idempotencyKey?: string) {
    return rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(token, idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
      body: JSON.stringify({ input: {} }),
    });
  }

  it('counts the jobs RunPod accepted, refuses more until the next UTC day, and leaves other keys alone', async () => {
    const quota = await fixture.createToken('quota', ['chat'], undefined, {
      limits: { daily: { jobs: 2 } },
    });
    const other = await fixture.createToken('no-quota', ['chat']);

    const first = await submit(quota, 'same-job');
    const replay = await submit(quota, 'same-job');
    const refusedByRunPod = await rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(quota),
      body: JSON.stringify({ input: { sim: { stream: 'not a count' } } }),
    });
    const second = await submit(quota);
    const third = await submit(quota);
    const others = await Promise.all([0, 1, 2].map(() => submit(other)));

    // A replay is not a new job, and a job RunPod refused is given back.
    expect([first.status, replay.status, refusedByRunPod.status, second.status]).toEqual([
      200, 200, 400, 200,
    ]);
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ code: 'quota_exceeded' });
    const midnight = Math.ceil(
      (Math.floor(Date.now() / 86_400_000 + 1) * 86_400_000 - Date.now()) / 1000,
    );
    expect(Math.abs(Number(third.headers['retry-after']) - midnight)).toBeLessThanOrEqual(2);
    expect(third.headers['ratelimit-policy']).toBe('"daily-jobs";q=2;w=86400');
    expect(others.map((answer) => answer.status)).toEqual([200, 200, 200]);
  });
});

describe("a key's jobs in flight", () => {
  it('refuses a submission past the limit with 429 rate_limited until the gateway sees a job end', async () => {
    const token = await fixture.createToken('in-flight', ['chat'], undefined, {
      limits: { inFlight: 2 },
    });
    const submit = (durationMs: number) =>
      rawRequest(`${fixture.base}/chat/run`, {
        method: 'POST',
        headers: authHeaders(token),
        body: JSON.stringify({ input: { sim: { queueMs: 0, durationMs } } }),
      });
    const status = (id: string) =>
      rawRequest(`${fixture.base}/chat/status/${id}`, { headers: authHeaders(token) });

    const quick = await submit(50);
    const slow = await submit(60_000);
    const third = await submit(50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The job ended at RunPod, but the gateway has not seen it: still in flight.
    const stillRefused = await submit(50);
    const seen = await status((quick.json as { id: string }).id);
    const afterTheEnd = await submit(50);

    expect([quick.status, slow.status]).toEqual([200, 200]);
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ code: 'rate_limited' });
    expect(third.json).toHaveProperty('detail', expect.stringContaining('2 jobs in flight'));
    expect(third.headers['retry-after']).toBe('5');
    expect(third.headers['ratelimit-policy']).toBe('"jobs-in-flight";q=2');
    expect(stillRefused.status).toBe(429);
    expect(seen.json).toMatchObject({ status: 'COMPLETED' });
    expect(afterTheEnd.status).toBe(200);
  });
});

describe("a key's daily GPU-seconds quota", () => {
  it('counts the GPU time of the jobs it saw end and refuses new jobs once the quota is used', async () => {
    const token = await fixture.createToken('gpu-quota', ['chat'], undefined, {
      limits: { daily: { gpuSeconds: 0.3 } },
    });
    const other = await fixture.createToken('gpu-free', ['chat']);
    const runsync = (key: string) =>
      rawRequest(`${fixture.base}/chat/runsync`, {
        method: 'POST',
        headers: authHeaders(key),
        body: JSON.stringify({ input: { sim: { queueMs: 0, durationMs: 200 } } }),
      });

    const first = await runsync(token);
    const second = await runsync(token);
    const third = await runsync(token);
    const unaffected = await runsync(other);

    expect(first.json).toMatchObject({ status: 'COMPLETED' });
    expect((first.json as { executionTime: number }).executionTime).toBeGreaterThanOrEqual(200);
    // 200 ms of 300 used: the second job may still start, and takes the day past the quota.
    expect(second.json).toMatchObject({ status: 'COMPLETED' });
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ code: 'quota_exceeded' });
    expect(third.json).toHaveProperty('detail', expect.stringContaining('0.3 GPU-seconds'));
    expect(third.headers['ratelimit-policy']).toBe('"daily-gpu-seconds";q=0.3;w=86400');
    expect(unaffected.status).toBe(200);
  });
});

describe("a key's concurrent long-running requests", () => {
  it('refuses a stream past the limit with 429 rate_limited and frees the slot when one ends', async () => {
    const token = await fixture.createToken('concurrent', ['chat'], undefined, {
      limits: { concurrent: 1 },
    });
    const submitted = await rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(token),
      body: JSON.stringify({ input: { sim: { stream: 3, chunkIntervalMs: 400, queueMs: 0 } } }),
    });
    const { id } = submitted.json as { id: string };
    const stream = () =>
      rawRequest(`${fixture.base}/chat/stream/${id}`, {
        headers: authHeaders(token, { Accept: 'text/event-stream' }),
      });

    const holding = stream();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await stream();
    const first = await holding;
    // The slot is given back as the invocation ends, just after the last byte.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const afterwards = await stream();
    const quick = await rawRequest(`${fixture.base}/chat/status/${id}`, {
      headers: authHeaders(token),
    });

    expect(second.status).toBe(429);
    expect(second.json).toMatchObject({ code: 'rate_limited' });
    expect(first.status).toBe(200);
    expect(first.text).toContain('event: done');
    // The slot came back when the first stream ended (this one replays the journal).
    expect(afterwards.status).toBe(200);
    // Short requests are not counted.
    expect(quick.status).toBe(200);
  });
});
