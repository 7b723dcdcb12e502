import { describe, expect, it } from 'vitest';
import { drainStream, isStatus, sleep, startTestSimulator } from './simulator-client.ts';

const numbered = (count: number): unknown[] =>
  Array.from({ length: count }, (_, index) => ({ index, text: `chunk ${index}` }));

describe('/stream drain semantics', () => {
  it.each([
    { chunks: 1, chunkIntervalMs: 10 },
    { chunks: 100, chunkIntervalMs: 1 },
    { chunks: 10_000, chunkIntervalMs: 0 },
  ])(
    'delivers each of $chunks chunks exactly once, in order, across polls',
    async ({ chunks, chunkIntervalMs }) => {
      const client = await startTestSimulator();
      const id = await client.submit({ sim: { queueMs: 0, stream: chunks, chunkIntervalMs } });
      const { outputs, finalStatus } = await drainStream(client, id);
      expect(finalStatus).toBe('COMPLETED');
      expect(outputs).toEqual(numbered(chunks));
      const times = client.simulator.stats().chunks[id];
      expect(times?.producedAt).toHaveLength(chunks);
      expect(times?.deliveredAt).toHaveLength(chunks);
    },
  );

  it('streams an array of values as given', async () => {
    const client = await startTestSimulator();
    const values = [{ token: 'Hel' }, { token: 'lo' }, 'plain', 42, null];
    const id = await client.submit({ sim: { queueMs: 0, stream: values, chunkIntervalMs: 2 } });
    expect((await drainStream(client, id)).outputs).toEqual(values);
  });

  it.each([
    { chunks: 3_000, chunkIntervalMs: 0 },
    { chunks: 300, chunkIntervalMs: 1 },
  ])(
    'never hands one of $chunks chunks to two concurrent polls',
    async ({ chunks, chunkIntervalMs }) => {
      const client = await startTestSimulator();
      const id = await client.submit({ sim: { queueMs: 0, stream: chunks, chunkIntervalMs } });
      const pollers = await Promise.all([1, 2, 3, 4].map(() => drainStream(client, id)));
      const seen = pollers.flatMap((poller) => poller.outputs) as { index: number }[];
      expect(seen).toHaveLength(chunks);
      expect(new Set(seen.map((chunk) => chunk.index)).size).toBe(chunks);
      // Each poller sees its share in production order.
      for (const poller of pollers) {
        const indexes = (poller.outputs as { index: number }[]).map((chunk) => chunk.index);
        expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
      }
    },
  );

  it('returns the terminal status with the last chunks, then [] immediately on later reads', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, stream: 3, firstChunkDelayMs: 200 } });
    await client.waitFor(id, isStatus('COMPLETED'));
    const last = await client.call(`/stream/${id}`);
    expect(last.body).toEqual({
      status: 'COMPLETED',
      stream: numbered(3).map((output) => ({ output })),
    });
    for (let read = 0; read < 2; read += 1) {
      const after = await client.call(`/stream/${id}`);
      expect(after.body).toEqual({ status: 'COMPLETED', stream: [] });
      expect(after.elapsedMs).toBeLessThan(100);
    }
  });

  it('accepts POST like GET (the Go SDK polls with POST)', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, stream: 2, chunkIntervalMs: 0 } });
    await client.waitFor(id, isStatus('COMPLETED'));
    const response = await client.call(`/stream/${id}`, { method: 'POST' });
    expect(response.body).toMatchObject({ status: 'COMPLETED', stream: [{}, {}] });
  });
});

describe('/stream hold', () => {
  it('holds an empty poll on a queued job for the whole ?wait=', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 10_000 } });
    const response = await client.call(`/stream/${id}?wait=1000`);
    expect(response.body).toEqual({ status: 'IN_QUEUE', stream: [] });
    expect(response.elapsedMs).toBeGreaterThanOrEqual(990);
    expect(response.elapsedMs).toBeLessThan(1_500);
  });

  it('holds for streamHoldMs when the poll has no ?wait=', async () => {
    const client = await startTestSimulator({ streamHoldMs: 300 });
    const id = await client.submit({ sim: { queueMs: 10_000 } });
    const response = await client.call(`/stream/${id}`);
    expect(response.body).toEqual({ status: 'IN_QUEUE', stream: [] });
    expect(response.elapsedMs).toBeGreaterThanOrEqual(290);
    expect(response.elapsedMs).toBeLessThan(800);
  });

  it('returns a held poll as soon as a chunk is produced', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({
      sim: { queueMs: 0, stream: 2, firstChunkDelayMs: 400, chunkIntervalMs: 2_000 },
    });
    const response = await client.call(`/stream/${id}?wait=5000`);
    const receivedAt = performance.timeOrigin + performance.now();
    expect(response.body).toEqual({
      status: 'IN_PROGRESS',
      stream: [{ output: { index: 0, text: 'chunk 0' } }],
    });
    expect(response.elapsedMs).toBeGreaterThanOrEqual(350);
    expect(response.elapsedMs).toBeLessThan(1_000);
    const times = client.simulator.stats().chunks[id];
    const producedAt = times?.producedAt[0] ?? Number.NaN;
    // The held poll answers in the same event-loop turn the chunk was produced in.
    expect((times?.deliveredAt[0] ?? Number.NaN) - producedAt).toBeLessThan(5);
    expect(receivedAt - producedAt).toBeLessThan(100);
  });

  it('returns a held poll as soon as the job ends, even without chunks', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 300 } });
    const response = await client.call(`/stream/${id}?wait=5000`);
    expect(response.body).toEqual({ status: 'COMPLETED', stream: [] });
    expect(response.elapsedMs).toBeLessThan(700);
  });

  it('keeps the chunks of a poll whose client disconnected during the hold', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, stream: 1, firstChunkDelayMs: 300 } });
    const aborted = client.call(`/stream/${id}?wait=5000`, { signal: AbortSignal.timeout(100) });
    await expect(aborted).rejects.toThrow();
    await client.waitFor(id, isStatus('COMPLETED'));
    expect(client.simulator.stats().chunks[id]?.deliveredAt).toHaveLength(0);
    const response = await client.call(`/stream/${id}`);
    expect(response.body).toEqual({
      status: 'COMPLETED',
      stream: [{ output: { index: 0, text: 'chunk 0' } }],
    });
  });
});

describe('/stream and cancellation', () => {
  it('produces no more chunks once an in-progress stream is cancelled', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, stream: 1_000, chunkIntervalMs: 5 } });
    const first = await client.call(`/stream/${id}?wait=5000`);
    expect(first.body.status).toBe('IN_PROGRESS');
    expect(await client.call(`/cancel/${id}`, { method: 'POST' })).toMatchObject({
      body: { id, status: 'CANCELLED' },
    });
    const producedAtCancel = client.simulator.stats().chunks[id]?.producedAt.length ?? 0;
    await sleep(100);
    expect(client.simulator.stats().chunks[id]?.producedAt).toHaveLength(producedAtCancel);
    const rest = await client.call(`/stream/${id}`);
    expect(rest.body.status).toBe('CANCELLED');
    const delivered =
      (first.body.stream as unknown[]).length + (rest.body.stream as unknown[]).length;
    expect(delivered).toBe(producedAtCancel);
    expect(delivered).toBeLessThan(1_000);
  });
});

describe('a faulty upstream (ignoreStreamWait)', () => {
  it('answers an empty poll at once, whatever ?wait= asks', async () => {
    const client = await startTestSimulator({ ignoreStreamWait: true, streamHoldMs: 0 });
    const id = await client.submit({ sim: { queueMs: 60_000 } });

    const started = performance.now();
    const response = await client.call(`/stream/${id}?wait=5000`);

    expect(performance.now() - started).toBeLessThan(500);
    expect(response.body).toEqual({ status: 'IN_QUEUE', stream: [] });
  });
});
