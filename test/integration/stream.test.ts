import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
  submitSimulated,
  waitForTerminal,
} from '../helpers/local-gateway-fixture.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { outputsOf, readSse } from '../helpers/sse-client.ts';

let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({
    settings: {
      STREAM_KEEPALIVE_MS: '250',
      STREAM_MAX_DURATION_MS: '8000',
      STREAM_POLL_WAIT_MS: '2000',
    },
  });
});
afterAll(async () => {
  await fixture.close();
});

function submit(sim: Record<string, unknown>): Promise<string> {
  return submitSimulated(fixture, sim);
}

function streamUrl(jobId: string): string {
  return `${fixture.base}/chat/stream/${jobId}`;
}

describe('GET /stream as Server-Sent Events', () => {
  it.each([1, 100, 10_000])(
    'delivers all %i chunks once, in order, with increasing ids',
    async (count) => {
      const jobId = await submit({ stream: count, chunkIntervalMs: 0, queueMs: 0 });
      const read = await readSse(streamUrl(jobId), authHeaders(fixture.token));

      expect(read.status).toBe(200);
      expect(read.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(read.headers.get('cache-control')).toBe('no-cache');
      expect(read.headers.get('x-accel-buffering')).toBe('no');
      expect(read.headers.get('x-request-id')).toBeTruthy();
      const indexes = outputsOf(read).map((output) => (output as { index: number }).index);
      expect(indexes).toEqual(Array.from({ length: count }, (_, index) => index));
      const ids = read.events
        .filter((event) => event.event === 'output')
        .map((event) => Number(event.id));
      expect(ids).toEqual(Array.from({ length: count }, (_, index) => index + 1));
      expect(read.events.at(-1)).toMatchObject({
        event: 'done',
        data: { id: jobId, status: 'COMPLETED' },
      });
      expect(read.events.filter((event) => event.event === 'done')).toHaveLength(1);
      expect(read.ended).toBe(true);
    },
    60_000,
  );

  it('starts with the job’s status and forwards the first chunk long before the job ends', async () => {
    const jobId = await submit({
      stream: 3,
      firstChunkDelayMs: 200,
      chunkIntervalMs: 1000,
      queueMs: 0,
    });
    const read = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    expect(read.events[0]).toMatchObject({ event: 'status', data: { id: jobId } });
    const first = read.events.find((event) => event.event === 'output');
    const done = read.events.find((event) => event.event === 'done');
    expect(first?.at).toBeLessThan(700);
    expect((done?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThan(1500);
  });

  it('sends keep-alive comments while the job is idle', async () => {
    const jobId = await submit({ queueMs: 1500, stream: 1 });
    const read = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    expect(read.keepAlives).toBeGreaterThanOrEqual(3);
    expect(outputsOf(read)).toHaveLength(1);
  });

  it('reports status changes as status events', async () => {
    const jobId = await submit({ queueMs: 300, stream: 2, chunkIntervalMs: 50 });
    const read = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    const statuses = read.events
      .filter((event) => event.event === 'status')
      .map((event) => (event.data as { status: string }).status);
    expect(statuses).toEqual(['IN_QUEUE', 'IN_PROGRESS']);
  });

  it('ends a failed job with done carrying RunPod’s error and timing fields', async () => {
    const jobId = await submit({
      stream: 5,
      chunkIntervalMs: 20,
      fail: 'worker exploded',
      failAfterChunks: 2,
    });
    const read = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    expect(outputsOf(read)).toHaveLength(2);
    expect(read.events.at(-1)).toMatchObject({
      event: 'done',
      data: {
        id: jobId,
        status: 'FAILED',
        error: 'worker exploded',
        executionTime: expect.any(Number),
        delayTime: expect.any(Number),
      },
    });
  });

  it('ends with done CANCELLED when the job is cancelled mid-stream', async () => {
    const jobId = await submit({ stream: 50, chunkIntervalMs: 100, queueMs: 0 });
    const reading = readSse(streamUrl(jobId), authHeaders(fixture.token));
    await new Promise((resolve) => setTimeout(resolve, 450));
    await fetch(`${fixture.base}/chat/cancel/${jobId}`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
    });
    const read = await reading;

    expect(outputsOf(read).length).toBeGreaterThan(0);
    expect(outputsOf(read).length).toBeLessThan(50);
    expect(read.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'CANCELLED' } });
  });

  it('ends with done TIMED_OUT for a job RunPod timed out', async () => {
    const jobId = await submit({ stream: 2, chunkIntervalMs: 10, timeout: true });
    const read = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    expect(read.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'TIMED_OUT' } });
  });

  it('ends with event: timeout at the maximum duration, and a call with Last-Event-ID resumes', async () => {
    const jobId = await submit({ stream: 100, chunkIntervalMs: 100, queueMs: 0 });
    const first = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    expect(first.events.at(-1)).toMatchObject({
      event: 'timeout',
      data: { id: jobId, status: 'IN_PROGRESS' },
    });
    expect(first.ended).toBe(true);
    const firstOutputs = outputsOf(first) as { index: number }[];
    expect(firstOutputs.length).toBeGreaterThan(10);
    const lastId = first.events.filter((event) => event.event === 'output').at(-1)?.id;
    expect(lastId).toBe(String(firstOutputs.length));

    await fetch(`${fixture.base}/chat/cancel/${jobId}`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
    });
    const second = await readSse(
      streamUrl(jobId),
      authHeaders(fixture.token, { 'Last-Event-ID': String(lastId) }),
    );
    const secondOutputs = outputsOf(second) as { index: number }[];
    // Nothing delivered twice: the second stream starts where the first stopped.
    if (secondOutputs.length > 0) {
      expect(secondOutputs[0]?.index).toBe((firstOutputs.at(-1)?.index ?? -1) + 1);
      expect(second.events.find((event) => event.event === 'output')?.id).toBe(
        String(firstOutputs.length + 1),
      );
    }
    expect(second.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'CANCELLED' } });
  }, 20_000);

  it('keeps draining into the journal after the caller disconnects, until the job ends', async () => {
    const simulator = fixture.gateway.simulator;
    if (!simulator) throw new Error('the fixture runs the embedded simulator');
    const jobId = await submit({ stream: 20, chunkIntervalMs: 50, queueMs: 0 });
    const first = await readSse(
      streamUrl(jobId),
      authHeaders(fixture.token),
      (event) => event.event === 'output',
    );
    // No caller, and still the job's output is drained (and journaled) to its end.
    await waitForTerminal(fixture, 'chat', jobId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const polls = simulator.stats().requests.stream ?? 0;
    const rest = await readSse(
      streamUrl(jobId),
      authHeaders(fixture.token, { 'Last-Event-ID': String(first.events.at(-1)?.id) }),
    );

    expect((outputsOf(rest) as { index: number }[]).map((chunk) => chunk.index)).toEqual(
      Array.from({ length: 19 }, (_, index) => index + 1),
    );
    expect(rest.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
    // The replay came from the journal alone.
    expect(simulator.stats().requests.stream ?? 0).toBe(polls);
  });

  it('answers an unknown job with a 404 problem, not a 200 stream', async () => {
    const response = await fetch(streamUrl('00000000-0000-0000-0000-000000000000'), {
      headers: authHeaders(fixture.token, { Accept: 'text/event-stream' }),
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { code: string }).code).toBe('job_not_found');
  });

  it('answers a job RunPod no longer knows with RunPod\u2019s 404, before the first byte', async () => {
    // The job's policy.ttl elapses while it is queued: RunPod deletes it, the ledger keeps it.
    const response = await fetch(`${fixture.base}/chat/run`, {
      method: 'POST',
      headers: authHeaders(fixture.token),
      body: JSON.stringify({ input: { sim: { queueMs: 60_000 } }, policy: { ttl: 10_000 } }),
    });
    const { id } = (await response.json()) as { id: string };
    await fetch(`${fixture.base}/chat/status/${id}?ttl=0`, { headers: authHeaders(fixture.token) });
    await new Promise((resolve) => setTimeout(resolve, 50));

    const stream = await fetch(streamUrl(id), {
      headers: authHeaders(fixture.token, { Accept: 'text/event-stream' }),
    });

    expect(stream.status).toBe(404);
    expect(((await stream.json()) as { code: string }).code).toBe('upstream_not_found');
  });

  it.each([
    ['*/* (what RunPod\u2019s JS and Python SDKs and curl send)', { Accept: '*/*' }],
    ['no Accept header (what RunPod\u2019s Go SDK sends)', {}],
    ['a type the route does not offer', { Accept: 'text/html' }],
  ])('answers one RunPod JSON poll, not an event stream, for %s', async (_case, accept) => {
    const jobId = await submit({ stream: 3, chunkIntervalMs: 0, queueMs: 0 });
    await waitForTerminal(fixture, 'chat', jobId);
    const headers: Record<string, string> = { Authorization: `Bearer ${fixture.token}`, ...accept };

    const first = await rawRequest(streamUrl(jobId), { headers });
    const second = await rawRequest(streamUrl(jobId), { headers });

    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.json).toEqual({
      status: 'COMPLETED',
      stream: [0, 1, 2].map((index) => ({ output: { index, text: `chunk ${index}` } })),
    });
    // RunPod's drain semantics: the chunks were handed out once.
    expect(second.json).toEqual({ status: 'COMPLETED', stream: [] });
  });

  it('passes RunPod\u2019s wait on to a JSON poll (Go SDK style), GET and POST', async () => {
    const jobId = await submit({ stream: 1, firstChunkDelayMs: 600, queueMs: 0 });
    const headers = { Authorization: `Bearer ${fixture.token}` };

    const started = performance.now();
    const held = await fetch(`${streamUrl(jobId)}?wait=1000`, { method: 'POST', headers });
    const heldFor = performance.now() - started;
    const body = (await held.json()) as { stream: unknown[] };

    expect(held.status).toBe(200);
    // RunPod held the empty poll until the chunk existed, within the wait.
    expect(body.stream).toHaveLength(1);
    expect(heldFor).toBeGreaterThan(400);
    const tooLong = await fetch(`${streamUrl(jobId)}?wait=300001`, { headers });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { detail: string }).detail).toMatch(/wait/);
  });
});
