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
        unfinished: 1,
        gpuSeconds: seconds(aEnds, 'executionTime'),
        queueSeconds: seconds(aEnds, 'delayTime'),
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
        unfinished: 0,
        gpuSeconds: seconds([bEnd], 'executionTime'),
        queueSeconds: seconds([bEnd], 'delayTime'),
      },
    ]);
    const csv = await usage('--keys', 'usage-b', '--format', 'csv');
    expect(csv.split('\n')[0]).toBe(
      'day,keyId,surface,submitted,completed,failed,cancelled,timedOut,unfinished,gpuSeconds,queueSeconds',
    );
    expect(
      await usage('--keys', 'usage-b', '--from', '2020-01-01', '--to', '2020-01-02'),
    ).toContain('No jobs in that period.');
  }, 30_000);
});
