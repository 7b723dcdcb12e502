import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
  submitSimulated,
} from '../helpers/local-gateway-fixture.ts';
import { readSse } from '../helpers/sse-client.ts';

/** `STREAM_JOURNAL=off` (the construct's `streamJournal: false`): RunPod's stream alone. */
let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({
    settings: { STREAM_JOURNAL: 'off', STREAM_KEEPALIVE_MS: '250', STREAM_POLL_WAIT_MS: '2000' },
  });
});
afterAll(async () => {
  await fixture.close();
});

function submit(sim: Record<string, unknown>): Promise<string> {
  return submitSimulated(fixture, sim);
}

describe('the stream route with the journal turned off', () => {
  it('numbers chunks per response and resumes with what RunPod still holds', async () => {
    const jobId = await submit({ stream: 10, chunkIntervalMs: 30, queueMs: 0 });
    const url = `${fixture.base}/chat/stream/${jobId}`;
    const first = await readSse(url, authHeaders(fixture.token), (event) => event.id === '3');
    const second = await readSse(url, authHeaders(fixture.token, { 'Last-Event-ID': '3' }));
    const ids = second.events.filter((event) => event.event === 'output').map((event) => event.id);

    expect(first.events.filter((event) => event.event === 'output')).toHaveLength(3);
    expect(ids[0]).toBe('1');
    expect(second.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
  });

  it('stops polling RunPod when the caller disconnects', async () => {
    const simulator = fixture.gateway.simulator;
    if (!simulator) throw new Error('the fixture runs the embedded simulator');
    const jobId = await submit({ stream: 200, chunkIntervalMs: 50, queueMs: 0 });
    await readSse(
      `${fixture.base}/chat/stream/${jobId}`,
      authHeaders(fixture.token),
      (event) => event.event === 'output',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const pollsAfterDisconnect = simulator.stats().requests.stream ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 1000));

    expect(simulator.stats().requests.stream ?? 0).toBe(pollsAfterDisconnect);
  });
});
