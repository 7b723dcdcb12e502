import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LedgerEngine, startLedgerEngine } from '../../local/ledger-engine.ts';
import { type FailingDynamoDb, startFailingDynamoDb } from '../helpers/failing-dynamodb.ts';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';

/**
 * A ledger table that fails, between the gateway and a real engine: a job that cannot be
 * recorded must not be left running where its owner cannot reach it.
 */
let engine: LedgerEngine;
let table: FailingDynamoDb;
let fixture: GatewayFixture;

beforeAll(async () => {
  engine = await startLedgerEngine();
  table = await startFailingDynamoDb(engine.endpoint);
  fixture = await startGatewayFixture({ ledger: { endpoint: table.endpoint } });
});
afterAll(async () => {
  await fixture?.close();
  await table?.close();
  await engine?.close();
});
beforeEach(() => {
  table.failing = new Set();
});

/** The simulator's view of a job, asked directly. */
async function upstreamJob(jobId: string): Promise<Record<string, unknown>> {
  const simulator = fixture.gateway.simulator;
  if (!simulator) throw new Error('the fixture runs the embedded simulator');
  const response = await fetch(`${simulator.baseUrl}/chatendpoint01/status/${jobId}`, {
    headers: { Authorization: `Bearer ${simulator.apiKey}` },
  });
  return (await response.json()) as Record<string, unknown>;
}

describe('when the ledger cannot record a submitted job', () => {
  it('run cancels the job at RunPod and answers 503 ledger_unavailable with Retry-After', async () => {
    table.failing = new Set(['PutItem']);
    const runsBefore = fixture.gateway.simulator?.stats().requests.run ?? 0;

    const answer = await rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: JSON.stringify({ input: { sim: { durationMs: 60_000 } } }),
    });

    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    const problem = answer.json as { code: string; detail: string };
    expect(problem.code).toBe('ledger_unavailable');
    const jobId = /job ([^\s,]+)/.exec(problem.detail)?.[1] ?? '';
    expect(problem.detail).toMatch(/cancelled the job at RunPod/);
    expect(fixture.gateway.simulator?.stats().requests.run).toBe(runsBefore + 1);
    expect(await upstreamJob(jobId)).toMatchObject({ id: jobId, status: 'CANCELLED' });
    expect(table.failures.get('PutItem')).toBeGreaterThanOrEqual(1);
  });

  it('runsync answers a job that came back finished, since its owner has the result', async () => {
    table.failing = new Set(['PutItem']);

    const answer = await rawRequest(`${fixture.base}/chat/runsync`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: JSON.stringify({ input: { sim: { durationMs: 10, output: 'kept' } } }),
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'COMPLETED', output: 'kept' });
  });

  it('answers follow-ups 503 ledger_unavailable while the ledger cannot be read, without calling RunPod', async () => {
    const submitted = await rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: JSON.stringify({ input: {} }),
    });
    const { id } = submitted.json as { id: string };
    table.failing = new Set(['GetItem']);
    const statusBefore = fixture.gateway.simulator?.stats().requests.status ?? 0;

    const answer = await rawRequest(`${fixture.base}/chat/status/${id}`, {
      headers: authHeaders(fixture.token),
    });

    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ code: 'ledger_unavailable' });
    expect(fixture.gateway.simulator?.stats().requests.status ?? 0).toBe(statusBefore);
    table.failing = new Set();
    const recovered = await rawRequest(`${fixture.base}/chat/status/${id}`, {
      headers: authHeaders(fixture.token),
    });
    expect(recovered.status).toBe(200);
  });

  it('still answers a finished job when only the outcome cannot be written', async () => {
    const submitted = await rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: JSON.stringify({ input: { sim: { durationMs: 10, queueMs: 0 } } }),
    });
    const { id } = submitted.json as { id: string };
    await new Promise((resolve) => setTimeout(resolve, 200));
    table.failing = new Set(['UpdateItem']);

    const answer = await rawRequest(`${fixture.base}/chat/status/${id}`, {
      headers: authHeaders(fixture.token),
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ id, status: 'COMPLETED' });
  });
});

describe('when the stream journal cannot be kept', () => {
  async function streamingJob(): Promise<string> {
    const submitted = await rawRequest(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: JSON.stringify({ input: { sim: { stream: 3, chunkIntervalMs: 10, queueMs: 0 } } }),
    });
    return (submitted.json as { id: string }).id;
  }

  it('refuses an SSE viewer with 503 ledger_unavailable before the first byte, without draining RunPod', async () => {
    const id = await streamingJob();
    table.failing = new Set(['PutItem']);
    const pollsBefore = fixture.gateway.simulator?.stats().requests.stream ?? 0;

    const answer = await rawRequest(`${fixture.base}/chat/stream/${id}`, {
      headers: authHeaders(fixture.token, { Accept: 'text/event-stream' }),
    });

    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ code: 'ledger_unavailable' });
    expect(fixture.gateway.simulator?.stats().requests.stream ?? 0).toBe(pollsBefore);
  });

  it('still answers a JSON poll with what RunPod drained: the journal is the replay’s loss, not the caller’s', async () => {
    const id = await streamingJob();
    await new Promise((resolve) => setTimeout(resolve, 200));
    table.failing = new Set(['PutItem']);

    const answer = await rawRequest(`${fixture.base}/chat/stream/${id}`, {
      headers: authHeaders(fixture.token, { Accept: '*/*' }),
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'COMPLETED', stream: expect.any(Array) });
    expect((answer.json as { stream: unknown[] }).stream).toHaveLength(3);
  });

  it('ends an SSE stream whose journal cannot be read with one event: error ledger_unavailable', async () => {
    const id = await streamingJob();
    table.failing = new Set(['BatchGetItem']);

    const answer = await rawRequest(`${fixture.base}/chat/stream/${id}`, {
      headers: authHeaders(fixture.token, { Accept: 'text/event-stream' }),
    });

    expect(answer.status).toBe(200);
    const events = [...answer.text.matchAll(/^event: (\w+)$/gm)].map((match) => match[1]);
    expect(events.filter((event) => ['done', 'error', 'timeout'].includes(event ?? ''))).toEqual([
      'error',
    ]);
    expect(answer.text).toContain('"code":"ledger_unavailable"');
  });
});
