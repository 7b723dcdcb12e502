import runpodSdk from 'runpod-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobLedger } from '../../functions/ledger/dynamodb-job-ledger.ts';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
  waitForTerminal,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { outputsOf, readSse } from '../helpers/sse-client.ts';
import { TEST_ROUTING } from '../helpers/test-routing.ts';

/**
 * The job ledger through `npm start`'s runtime over real HTTP: follow-up calls find a job's
 * endpoint and owner in the ledger (the embedded DynamoDB-compatible engine), not in the query.
 */

let fixture: GatewayFixture;
let otherTeam: string;
let operator: string;

const ROUTING = {
  surfaces: {
    ...TEST_ROUTING.surfaces,
    legacy: { endpointId: 'legacyendpoint1', allowUnrecordedJobs: true },
  },
};

beforeAll(async () => {
  fixture = await startGatewayFixture({ routing: ROUTING });
  otherTeam = await fixture.createToken('other-team', ['*']);
  operator = await fixture.createToken('operator', ['chat'], undefined, { allJobs: ['chat'] });
});
afterAll(async () => {
  await fixture.close();
});

async function submit(
  surface: string,
  input: Record<string, unknown>,
  token = fixture.token,
): Promise<string> {
  const response = await fetch(`${fixture.base}/${surface}/run`, {
    method: 'POST',
    headers: authHeaders(token),
    body: JSON.stringify({ input }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

/** A job submitted straight to the simulator, never through the gateway. */
async function submitAroundTheGateway(endpointId: string): Promise<string> {
  const simulator = fixture.gateway.simulator;
  if (!simulator) throw new Error('the fixture runs the embedded simulator');
  const response = await fetch(`${simulator.baseUrl}/${endpointId}/run`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${simulator.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ input: { sim: { durationMs: 10 } } }),
  });
  return ((await response.json()) as { id: string }).id;
}

function upstreamRequests(): number {
  const requests = fixture.gateway.simulator?.stats().requests ?? {};
  return Object.values(requests).reduce((sum, count) => sum + (count ?? 0), 0);
}

function ledger(): DynamoDbJobLedger {
  return new DynamoDbJobLedger(fixture.gateway.ledger);
}

describe('follow-up calls go where the ledger recorded the job', () => {
  it('reads a model-routed job with no ?model= (the surface\u2019s default endpoint never saw it)', async () => {
    const jobId = await submit('chat', { model: 'llama-3-8b', sim: { durationMs: 20 } });

    const job = await waitForTerminal(fixture, 'chat', jobId);

    expect(job).toMatchObject({ id: jobId, status: 'COMPLETED' });
    expect(await ledger().find(jobId)).toMatchObject({
      ownerKeyId: 'test-all',
      surface: 'chat',
      model: 'llama-3-8b',
      endpointId: 'llama3endpoint01',
    });
  });

  it('serves RunPod\u2019s JS SDK status and cancel on a model-routed job', async () => {
    const chat = runpodSdk(fixture.token, { baseUrl: fixture.base }).endpoint('chat');
    if (!chat) throw new Error('runpod-sdk returned no endpoint');
    const { id } = await chat.run({
      input: { model: 'llama-3-8b', sim: { durationMs: 60_000, queueMs: 0 } },
    });

    const cancelled = await chat.cancel(id);
    const status = await chat.status(id);

    expect(cancelled).toMatchObject({ id, status: 'CANCELLED' });
    expect(status).toMatchObject({ id, status: 'CANCELLED' });
  });
});

describe('only the owner reaches its jobs', () => {
  it('answers 404 job_not_found to another key on every follow-up, without calling RunPod', async () => {
    const jobId = await submit('chat', {
      sim: { stream: 5, chunkIntervalMs: 100, firstChunkDelayMs: 600, queueMs: 0 },
    });
    const before = upstreamRequests();

    const answers = await Promise.all([
      rawRequest(`${fixture.base}/chat/status/${jobId}`, { headers: authHeaders(otherTeam) }),
      rawRequest(`${fixture.base}/chat/status-sync/${jobId}`, { headers: authHeaders(otherTeam) }),
      rawRequest(`${fixture.base}/chat/stream/${jobId}`, { headers: authHeaders(otherTeam) }),
      rawRequest(`${fixture.base}/chat/stream/${jobId}`, {
        headers: authHeaders(otherTeam, { Accept: 'text/event-stream' }),
      }),
      rawRequest(`${fixture.base}/chat/cancel/${jobId}`, {
        method: 'POST',
        headers: authHeaders(otherTeam),
      }),
      rawRequest(`${fixture.base}/chat/retry/${jobId}`, {
        method: 'POST',
        headers: authHeaders(otherTeam),
      }),
    ]);

    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.json).toMatchObject({ code: 'job_not_found' });
    }
    expect(upstreamRequests()).toBe(before);
    // The owner's output was not drained by anyone else.
    const read = await readSse(`${fixture.base}/chat/stream/${jobId}`, authHeaders(fixture.token));
    expect(outputsOf(read)).toHaveLength(5);
    expect(read.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
  });

  it('answers a job of one surface as not found on another', async () => {
    const jobId = await submit('chat', { sim: { durationMs: 10 } });

    const answer = await rawRequest(`${fixture.base}/images/status/${jobId}`, {
      headers: authHeaders(fixture.token),
    });

    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ code: 'job_not_found' });
  });

  it('lets a key granted all jobs of the surface read another consumer\u2019s job', async () => {
    const jobId = await submit('chat', { sim: { durationMs: 10 } }, otherTeam);
    await waitForTerminal({ ...fixture, token: otherTeam }, 'chat', jobId);

    const answer = await rawRequest(`${fixture.base}/chat/status/${jobId}`, {
      headers: authHeaders(operator),
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ id: jobId, status: 'COMPLETED' });
  });

  it('refuses jobs the ledger never saw, unless the surface opts in', async () => {
    const unseen = await submitAroundTheGateway('chatendpoint01');
    const unseenLegacy = await submitAroundTheGateway('legacyendpoint1');

    const refused = await rawRequest(`${fixture.base}/chat/status/${unseen}`, {
      headers: authHeaders(fixture.token),
    });
    const served = await rawRequest(`${fixture.base}/legacy/status/${unseenLegacy}`, {
      headers: authHeaders(fixture.token),
    });

    expect(refused.status).toBe(404);
    expect(refused.json).toMatchObject({ code: 'job_not_found' });
    expect(served.status).toBe(200);
    expect(served.json).toMatchObject({ id: unseenLegacy });
  });
});

describe('purge-queue', () => {
  it('is refused to a key whose operations list does not name it', async () => {
    const everyday = await fixture.createToken('everyday', ['*']);

    const refused = await rawRequest(`${fixture.base}/images/purge-queue`, {
      method: 'POST',
      headers: authHeaders(everyday),
    });

    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ code: 'forbidden' });
    expect(String((refused.json as { detail: string }).detail)).toMatch(/must name it/);
  });

  it('is allowed to a key that names it', async () => {
    const purger = await fixture.createToken('purger', ['images'], ['purge-queue']);

    const purged = await rawRequest(`${fixture.base}/images/purge-queue`, {
      method: 'POST',
      headers: authHeaders(purger),
    });

    expect(purged.status).toBe(200);
    expect(purged.json).toMatchObject({ status: 'completed' });
  });
});

describe('outcomes', () => {
  it('records a job\u2019s status, executionTime and delayTime once the gateway sees it end', async () => {
    const jobId = await submit('chat', { sim: { durationMs: 120, queueMs: 30 } });

    const final = await waitForTerminal(fixture, 'chat', jobId);
    const record = await ledger().find(jobId);

    expect(record?.outcome).toMatchObject({
      status: 'COMPLETED',
      executionTime: final.executionTime,
      delayTime: final.delayTime,
      endedAt: expect.any(Number),
    });
  });

  it('records a runsync job that came back finished', async () => {
    const response = await fetch(`${fixture.base}/chat/runsync`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: JSON.stringify({ input: { sim: { durationMs: 10, queueMs: 0 } } }),
    });
    const job = (await response.json()) as { id: string; executionTime: number };

    expect((await ledger().find(job.id))?.outcome).toMatchObject({
      status: 'COMPLETED',
      executionTime: job.executionTime,
    });
  });

  it('records the end of a rerun after /retry over the failed run\u2019s', async () => {
    const jobId = await submit('chat', { sim: { durationMs: 20, queueMs: 0, failTimes: 1 } });
    await waitForTerminal(fixture, 'chat', jobId);
    expect((await ledger().find(jobId))?.outcome).toMatchObject({ status: 'FAILED' });

    const retried = await fetch(`${fixture.base}/chat/retry/${jobId}`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
    });
    expect(retried.status).toBe(200);
    const final = await waitForTerminal(fixture, 'chat', jobId);

    expect(final.status).toBe('COMPLETED');
    expect((await ledger().find(jobId))?.outcome).toMatchObject({
      status: 'COMPLETED',
      executionTime: final.executionTime,
    });
  });

  it('records a cancelled job as CANCELLED', async () => {
    const jobId = await submit('chat', { sim: { durationMs: 60_000, queueMs: 0 } });

    await fetch(`${fixture.base}/chat/cancel/${jobId}`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
    });

    expect((await ledger().find(jobId))?.outcome).toMatchObject({ status: 'CANCELLED' });
  });
});
