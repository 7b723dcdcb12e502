import runpodSdk from 'runpod-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  type GatewayFixture,
  startGatewayFixture,
  submitSimulated,
  waitForTerminal,
} from '../helpers/local-gateway-fixture.ts';
import { startSecondGateway } from '../helpers/second-gateway.ts';
import { outputsOf, readSse, type SseRead } from '../helpers/sse-client.ts';

/** Short holds and a short lease, so a dead relay is taken over within seconds. */
const SETTINGS = {
  STREAM_KEEPALIVE_MS: '250',
  STREAM_MAX_DURATION_MS: '20000',
  STREAM_POLL_WAIT_MS: '1000',
  STREAM_LEASE_MS: '3000',
};

let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({ settings: SETTINGS });
});
afterAll(async () => {
  await fixture.close();
});

function submit(sim: Record<string, unknown>): Promise<string> {
  return submitSimulated(fixture, sim);
}

function streamUrl(jobId: string, base = fixture.base): string {
  return `${base}/chat/stream/${jobId}`;
}

function indexesOf(read: SseRead): number[] {
  return (outputsOf(read) as { index: number }[]).map((chunk) => chunk.index);
}

function idsOf(read: SseRead): string[] {
  return read.events.filter((event) => event.event === 'output').map((event) => event.id ?? '');
}

function upTo(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

function streamPolls(): number {
  const simulator = fixture.gateway.simulator;
  if (!simulator) throw new Error('the fixture runs the embedded simulator');
  return simulator.stats().requests.stream ?? 0;
}

describe('the stream journal', () => {
  it('resumes after Last-Event-ID: every chunk exactly once across two responses, in order', async () => {
    const jobId = await submit({ stream: 30, chunkIntervalMs: 30, queueMs: 0 });
    const first = await readSse(
      streamUrl(jobId),
      authHeaders(fixture.token),
      (event) => event.event === 'output' && event.id === '7',
    );
    const second = await readSse(
      streamUrl(jobId),
      authHeaders(fixture.token, { 'Last-Event-ID': '7' }),
    );

    expect([...indexesOf(first), ...indexesOf(second)]).toEqual(upTo(30));
    // The id is the chunk's sequence number in the job, stable across responses.
    expect([...idsOf(first), ...idsOf(second)]).toEqual(upTo(30).map((index) => String(index + 1)));
    expect(second.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
    expect(second.events.filter((event) => event.event === 'done')).toHaveLength(1);
  });

  it('takes ?lastEventId= from clients that cannot set headers', async () => {
    const jobId = await submit({ stream: 6, chunkIntervalMs: 0, queueMs: 0 });
    await waitForTerminal(fixture, 'chat', jobId);
    const read = await readSse(`${streamUrl(jobId)}?lastEventId=4`, authHeaders(fixture.token));

    expect(indexesOf(read)).toEqual([4, 5]);
    expect(idsOf(read)).toEqual(['5', '6']);
  });

  it('replays the whole output and done to a viewer who comes after the job ended, without RunPod', async () => {
    const jobId = await submit({ stream: 12, chunkIntervalMs: 10, queueMs: 0 });
    const live = await readSse(streamUrl(jobId), authHeaders(fixture.token));
    const polls = streamPolls();
    const replay = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    expect(indexesOf(replay)).toEqual(upTo(12));
    expect(replay.events.at(-1)).toEqual({ ...live.events.at(-1), at: replay.events.at(-1)?.at });
    expect(streamPolls()).toBe(polls);
  });

  it('gives three concurrent viewers every chunk each, with one relay polling RunPod', async () => {
    const chunks = 20;
    const jobId = await submit({ stream: chunks, chunkIntervalMs: 100, queueMs: 300 });
    const polls = streamPolls();
    const viewers = await Promise.all(
      [0, 1, 2].map(() => readSse(streamUrl(jobId), authHeaders(fixture.token))),
    );

    for (const viewer of viewers) {
      expect(indexesOf(viewer)).toEqual(upTo(chunks));
      expect(viewer.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
    }
    // One relay: about one poll per chunk (the queue's held polls and the last one besides),
    // and never two polls of the job at once.
    expect(streamPolls() - polls).toBeLessThanOrEqual(chunks + 4);
    expect(fixture.gateway.simulator?.stats().chunks[jobId]?.maxConcurrentPolls).toBe(1);
  });

  it('carries a 1 MB chunk through the journal intact', async () => {
    const big = `${'x'.repeat(1_048_576 - 20)}-the-end`;
    const jobId = await submit({
      stream: ['before', big, 'after'],
      chunkIntervalMs: 0,
      queueMs: 0,
    });
    const live = await readSse(streamUrl(jobId), authHeaders(fixture.token));
    const replay = await readSse(streamUrl(jobId), authHeaders(fixture.token));

    for (const read of [live, replay]) {
      expect(outputsOf(read)).toEqual(['before', big, 'after']);
    }
  });

  it('journals what RunPod’s SDK drains with stream(), for an SSE viewer to replay', async () => {
    const sdk = runpodSdk(fixture.token, { baseUrl: fixture.base }).endpoint('chat');
    if (!sdk) throw new Error('runpod-sdk returned no endpoint');
    const { id } = await sdk.run({
      input: { sim: { stream: 5, chunkIntervalMs: 20, queueMs: 0 } },
    });
    const drained: unknown[] = [];
    for await (const chunk of sdk.stream(id)) drained.push(chunk);
    const polls = streamPolls();
    const replay = await readSse(streamUrl(id), authHeaders(fixture.token));

    expect(drained).toEqual(
      upTo(5).map((index) => ({ output: { index, text: `chunk ${index}` } })),
    );
    expect(indexesOf(replay)).toEqual(upTo(5));
    expect(replay.events.at(-1)).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
    expect(streamPolls()).toBe(polls);
  });

  it('refuses a Last-Event-ID that is not a chunk number', async () => {
    const jobId = await submit({ stream: 1, chunkIntervalMs: 0, queueMs: 0 });
    const response = await fetch(streamUrl(jobId), {
      headers: {
        ...authHeaders(fixture.token, { 'Last-Event-ID': 'abc' }),
        Accept: 'text/event-stream',
      },
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'invalid_request',
      detail: expect.stringContaining('Last-Event-ID'),
    });
  });

  it('lets another viewer take over when the relay dies, losing and repeating nothing', async () => {
    const other = await startSecondGateway(fixture, SETTINGS);
    try {
      const jobId = await submit({ stream: 12, chunkIntervalMs: 400, queueMs: 0 });
      const dying = await readSse(
        streamUrl(jobId, other.base),
        authHeaders(other.token),
        (event) => event.event === 'output' && event.id === '3',
      );
      other.kill();
      const survivor = await readSse(streamUrl(jobId), authHeaders(fixture.token));

      expect(indexesOf(dying)).toEqual([0, 1, 2]);
      expect(indexesOf(survivor)).toEqual(upTo(12));
      expect(idsOf(survivor)).toEqual(upTo(12).map((index) => String(index + 1)));
      expect(survivor.events.at(-1)).toMatchObject({
        event: 'done',
        data: { status: 'COMPLETED' },
      });
    } finally {
      other.kill();
    }
  }, 30_000);
});
