import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';

/** `npm run usage` against the job ledger of a running local gateway, as an operator runs it. */
const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'local', 'usage-cli.ts');
const TSX = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');

let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture();
});
afterAll(async () => {
  await fixture.close();
});

async function submit(token: string, sim: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${fixture.base}/chat/run`, {
    method: 'POST',
    headers: authHeaders(token),
    body: JSON.stringify({ input: { sim } }),
  });
  return ((await response.json()) as { id: string }).id;
}

/** Polls as a client does until the job ends; the gateway records the outcome it sees. */
async function finished(token: string, jobId: string): Promise<Record<string, unknown>> {
  for (;;) {
    const job = (await (
      await fetch(`${fixture.base}/chat/status/${jobId}`, { headers: authHeaders(token) })
    ).json()) as Record<string, unknown>;
    if (['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(String(job.status))) return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function usage(...args: string[]): Promise<string> {
  const { stdout } = await run(TSX, [
    CLI,
    '--endpoint',
    fixture.gateway.ledger.endpoint,
    '--table',
    fixture.gateway.ledger.tableName,
    ...args,
  ]);
  return stdout;
}

describe('npm run usage', () => {
  it('totals each key’s jobs, their ends, GPU- and queue-seconds, to the millisecond', async () => {
    const a = await fixture.createToken('usage-a', ['chat']);
    const b = await fixture.createToken('usage-b', ['chat']);
    const aJobs = await Promise.all([
      submit(a, { durationMs: 300, queueMs: 20 }),
      submit(a, { durationMs: 450, queueMs: 10 }),
      submit(a, { durationMs: 100, fail: 'boom', queueMs: 0 }),
    ]);
    const running = await submit(a, { durationMs: 60_000, queueMs: 0 });
    const bJob = await submit(b, { durationMs: 200, queueMs: 0 });
    const aEnds = await Promise.all(aJobs.map((jobId) => finished(a, jobId)));
    const bEnd = await finished(b, bJob);
    expect(running).toBeTruthy();
    const seconds = (jobs: Record<string, unknown>[], field: string) =>
      jobs.reduce((sum, job) => sum + Number(job[field] ?? 0), 0) / 1000;

    const rows = JSON.parse(await usage('--keys', 'usage-a,usage-b', '--format', 'json')) as Record<
      string,
      unknown
    >[];
    const today = new Date().toISOString().slice(0, 10);

    expect(rows).toEqual([
      {
        day: today,
        keyId: 'usage-a',
        surface: 'chat',
        submitted: 4,
        completed: 2,
        failed: 1,
        cancelled: 0,
        timedOut: 0,
        unknown: 0,
        unfinished: 1,
        gpuSeconds: seconds(aEnds, 'executionTime'),
        queueSeconds: seconds(aEnds, 'delayTime'),
        openaiRequests: 0,
        promptTokens: 0,
        completionTokens: 0,
        tokensByModel: {},
      },
      {
        day: today,
        keyId: 'usage-b',
        surface: 'chat',
        submitted: 1,
        completed: 1,
        failed: 0,
        cancelled: 0,
        timedOut: 0,
        unknown: 0,
        unfinished: 0,
        gpuSeconds: seconds([bEnd], 'executionTime'),
        queueSeconds: seconds([bEnd], 'delayTime'),
        openaiRequests: 0,
        promptTokens: 0,
        completionTokens: 0,
        tokensByModel: {},
      },
    ]);
    const csv = await usage('--keys', 'usage-b', '--format', 'csv');
    expect(csv.split('\n')[0]).toBe(
      'day,keyId,surface,submitted,completed,failed,cancelled,timedOut,unknown,unfinished,gpuSeconds,queueSeconds,openaiRequests,promptTokens,completionTokens',
    );
    expect(
      await usage('--keys', 'usage-b', '--from', '2020-01-01', '--to', '2020-01-02'),
    ).toContain('No jobs in that period.');
  }, 30_000);
});

describe('GET /v1/usage', () => {
  const usageOf = async (token: string, query = '') => {
    const response = await fetch(`${fixture.gateway.url}/v1/usage${query}`, {
      headers: authHeaders(token),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  it("answers a key's own usage, and other keys' only to an operator key on its surfaces", async () => {
    const own = await fixture.createToken('self-a', ['chat']);
    const neighbour = await fixture.createToken('self-b', ['chat']);
    const operator = await fixture.createToken('ops', ['*'], undefined, { allJobs: ['chat'] });
    const ended = await finished(own, await submit(own, { durationMs: 120, queueMs: 0 }));
    await finished(neighbour, await submit(neighbour, { durationMs: 80, queueMs: 0 }));
    const today = new Date().toISOString().slice(0, 10);

    const mine = await usageOf(own);
    const theirs = await usageOf(own, '?keys=self-b');
    const everyone = await usageOf(operator, '?keys=*&surface=chat');
    const elsewhere = await usageOf(operator, '?keys=self-a&surface=images');

    expect(mine.status).toBe(200);
    expect(mine.json).toMatchObject({
      to: today,
      rows: [
        {
          day: today,
          keyId: 'self-a',
          surface: 'chat',
          submitted: 1,
          completed: 1,
          gpuSeconds: Number(ended.executionTime) / 1000,
        },
      ],
      totals: { submitted: 1, completed: 1, gpuSeconds: Number(ended.executionTime) / 1000 },
    });
    expect(theirs.status).toBe(403);
    expect(theirs.json).toMatchObject({ code: 'forbidden' });
    const keys = (everyone.json.rows as { keyId: string }[]).map((row) => row.keyId);
    expect(keys).toEqual(expect.arrayContaining(['self-a', 'self-b']));
    expect(elsewhere.json.rows).toEqual([]);
  }, 30_000);

  it('refuses a bad period, an unknown parameter and a missing key with the documented errors', async () => {
    const token = await fixture.createToken('self-c', ['chat']);

    const reversed = await usageOf(token, '?from=2026-12-06&to=2026-12-01');
    const tooLong = await usageOf(token, '?from=2026-01-01&to=2026-12-01');
    const notADay = await usageOf(token, '?from=2026-02-30x');
    const unknown = await usageOf(token, '?key=self-c');
    const anonymous = await fetch(`${fixture.gateway.url}/v1/usage`);

    expect([reversed.status, tooLong.status, notADay.status, unknown.status]).toEqual([
      400, 400, 400, 400,
    ]);
    expect(tooLong.json.detail).toContain('at most 93 days');
    expect(unknown.json).toMatchObject({ code: 'invalid_request' });
    expect(anonymous.status).toBe(401);
  });
});
