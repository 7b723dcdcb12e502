import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';

/** The scheduled sweep of jobs nobody polled to their end, run on the local gateway. */
let fixture: GatewayFixture;

beforeAll(async () => {
  // Every unfinished job is old enough; no background sweep, so each test runs its own.
  fixture = await startGatewayFixture({
    settings: { SWEEP_MIN_AGE_MS: '0', SWEEP_INTERVAL_MS: '0' },
  });
});
afterAll(async () => {
  await fixture.close();
});

function submit(token: string, sim: Record<string, unknown>) {
  return rawRequest(`${fixture.base}/chat/run`, {
    method: 'POST',
    headers: authHeaders(token),
    body: JSON.stringify({ input: { sim: { queueMs: 0, ...sim } } }),
  });
}

async function usageOf(token: string) {
  const response = await fetch(`${fixture.gateway.url}/v1/usage`, { headers: authHeaders(token) });
  return ((await response.json()) as { totals: Record<string, number> }).totals;
}

describe('the sweep of unseen job ends', () => {
  it('records the end of a job nobody polled: usage, jobs in flight and GPU time count it', async () => {
    const token = await fixture.createToken('unpolled', ['chat'], undefined, {
      limits: { inFlight: 1 },
    });
    const first = await submit(token, { durationMs: 150 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const blocked = await submit(token, { durationMs: 150 });
    const before = await usageOf(token);

    const summary = await fixture.gateway.sweep();
    const after = await usageOf(token);
    const admitted = await submit(token, { durationMs: 150 });
    // What RunPod reports for the job, read only now (the sweep read it first).
    const job = (
      await rawRequest(`${fixture.base}/chat/status/${(first.json as { id: string }).id}`, {
        headers: authHeaders(token),
      })
    ).json as { status: string; executionTime: number };

    expect(first.status).toBe(200);
    expect(blocked.status).toBe(429);
    expect(before).toMatchObject({ submitted: 1, completed: 0, unfinished: 1, gpuSeconds: 0 });
    expect(summary).toMatchObject({ ended: 1, forgotten: 0, failed: 0, truncated: false });
    expect(job.status).toBe('COMPLETED');
    expect(after).toMatchObject({
      submitted: 1,
      completed: 1,
      unfinished: 0,
      gpuSeconds: job.executionTime / 1000,
    });
    expect(admitted.status).toBe(200);
  });

  it('records a job RunPod has forgotten as UNKNOWN, and leaves running jobs for later', async () => {
    const token = await fixture.createToken('forgotten', ['chat'], undefined, {
      limits: { inFlight: 2 },
    });
    const doomed = (await submit(token, { durationMs: 60_000 })).json as { id: string };
    const running = (await submit(token, { durationMs: 60_000 })).json as { id: string };
    const simulator = fixture.gateway.simulator;
    if (!simulator) throw new Error('the fixture runs the embedded simulator');
    // RunPod deletes the job (as its TTL would) without the gateway seeing it.
    await fetch(`${simulator.baseUrl}/chatendpoint01/status/${doomed.id}?ttl=0`, {
      headers: { Authorization: `Bearer ${simulator.apiKey}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));

    const summary = await fixture.gateway.sweep();
    const totals = await usageOf(token);
    const again = await fixture.gateway.sweep();

    expect(summary).toMatchObject({ forgotten: 1, running: 1, failed: 0 });
    expect(totals).toMatchObject({ submitted: 2, unknown: 1, unfinished: 1, gpuSeconds: 0 });
    // Only the running job is left to ask about.
    expect(again).toMatchObject({ checked: 1, running: 1 });
    expect((await submit(token, { durationMs: 10 })).status).toBe(200);
    expect(running.id).toBeTruthy();
  });
});
