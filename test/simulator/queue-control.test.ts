import { describe, expect, it } from 'vitest';
import { isStatus, sleep, startTestSimulator } from './simulator-client.ts';

const post = { method: 'POST' } as const;

describe('/cancel', () => {
  it('removes a queued job before it starts', async () => {
    const client = await startTestSimulator({ workers: 1 });
    const busy = await client.submit({ sim: { queueMs: 0, durationMs: 400 } });
    const queued = await client.submit({ sim: { queueMs: 0, durationMs: 10 } });
    await client.waitFor(busy, isStatus('IN_PROGRESS'));
    expect(await client.status(queued)).toEqual({ id: queued, status: 'IN_QUEUE' });

    const cancelled = await client.call(`/cancel/${queued}`, post);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ id: queued, status: 'CANCELLED' });

    await client.waitFor(busy, isStatus('COMPLETED'));
    await sleep(50);
    expect(await client.status(queued)).toEqual({ id: queued, status: 'CANCELLED' });
  });

  it('stops an in-progress job and frees its worker for the next one', async () => {
    const client = await startTestSimulator({ workers: 1 });
    const long = await client.submit({ sim: { queueMs: 0, durationMs: 5_000 } });
    const next = await client.submit({ sim: { queueMs: 0, durationMs: 10 } });
    await client.waitFor(long, isStatus('IN_PROGRESS'));

    const cancelled = await client.call(`/cancel/${long}`, { method: 'POST', body: {} });
    expect(cancelled.body).toEqual({ id: long, status: 'CANCELLED' });
    const job = await client.status(long);
    expect(job).toEqual({
      delayTime: expect.any(Number),
      executionTime: expect.any(Number),
      id: long,
      status: 'CANCELLED',
      workerId: expect.any(String),
    });
    expect(await client.waitFor(next, isStatus('COMPLETED'), 1_000)).toMatchObject({
      workerId: job.workerId,
    });
  });

  it('answers 200 with the unchanged status when the job already finished', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 0 } });
    await client.waitFor(id, isStatus('COMPLETED'));
    const response = await client.call(`/cancel/${id}`, post);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id, status: 'COMPLETED' });
    expect(await client.status(id)).toMatchObject({ status: 'COMPLETED' });
  });
});

describe('/retry', () => {
  it('requeues a FAILED job under the same id with its error cleared, and it can then complete', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 100, durationMs: 10, failTimes: 1 } });
    expect(await client.waitFor(id, isStatus('FAILED'))).toMatchObject({
      error: 'simulated failure',
    });

    const retried = await client.call(`/retry/${id}`, post);
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ id, status: 'IN_QUEUE' });
    expect(await client.status(id)).toEqual({ id, status: 'IN_QUEUE' });

    const done = await client.waitFor(id, isStatus('COMPLETED', 'FAILED'));
    expect(done).toMatchObject({ id, status: 'COMPLETED', output: { echo: {} } });
    expect(done).not.toHaveProperty('error');
    expect(done).not.toHaveProperty('retries');
  });

  it('requeues a TIMED_OUT job', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 10, timeout: true } });
    await client.waitFor(id, isStatus('TIMED_OUT'));
    expect((await client.call(`/retry/${id}`, post)).body).toEqual({ id, status: 'IN_QUEUE' });
  });

  it.each([
    ['COMPLETED', { queueMs: 0, durationMs: 0 }],
    ['IN_PROGRESS', { queueMs: 0, durationMs: 5_000 }],
    ['IN_QUEUE', { queueMs: 5_000 }],
  ])('refuses to retry an %s job with 400', async (status, sim) => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim });
    await client.waitFor(id, isStatus(status));
    const response = await client.call(`/retry/${id}`, post);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: `Job ${id} is ${status}; only FAILED or TIMED_OUT jobs can be retried`,
    });
  });

  it('refuses to retry a CANCELLED job with 400', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 5_000 } });
    await client.call(`/cancel/${id}`, post);
    expect((await client.call(`/retry/${id}`, post)).status).toBe(400);
  });
});

describe('/purge-queue', () => {
  it('removes only the queued jobs and lets the running one finish', async () => {
    const client = await startTestSimulator({ workers: 1 });
    const running = await client.submit({ sim: { queueMs: 0, durationMs: 300 } });
    const queued = [
      await client.submit({ sim: { queueMs: 0 } }),
      await client.submit({ sim: { queueMs: 1_000 } }),
    ];
    await client.waitFor(running, isStatus('IN_PROGRESS'));

    const response = await client.call('/purge-queue', { method: 'POST', body: {} });
    expect(response.body).toEqual({ removed: 2, status: 'completed' });
    for (const id of queued) expect((await client.call(`/status/${id}`)).status).toBe(404);
    expect(await client.waitFor(running, isStatus('COMPLETED'))).toMatchObject({
      status: 'COMPLETED',
    });
    expect((await client.call('/purge-queue', post)).body).toEqual({
      removed: 0,
      status: 'completed',
    });
  });
});

describe('/health', () => {
  it('reports all eleven counters, following jobs and workers', async () => {
    const client = await startTestSimulator({ workers: 2 });
    const idle = await client.call('/health');
    expect(idle.body).toEqual({
      jobs: { completed: 0, failed: 0, inProgress: 0, inQueue: 0, retried: 0 },
      workers: { idle: 2, initializing: 0, ready: 2, running: 0, throttled: 0, unhealthy: 0 },
    });

    const long = [1, 2, 3].map(() => client.submit({ sim: { queueMs: 0, durationMs: 5_000 } }));
    const ids = await Promise.all(long);
    await client.waitFor(ids[1] ?? '', isStatus('IN_PROGRESS'));
    await client.waitFor(ids[0] ?? '', isStatus('IN_PROGRESS'));
    const busy = await client.call('/health');
    expect(busy.body).toEqual({
      jobs: { completed: 0, failed: 0, inProgress: 2, inQueue: 1, retried: 0 },
      workers: { idle: 0, initializing: 0, ready: 0, running: 2, throttled: 0, unhealthy: 0 },
    });

    for (const id of ids) await client.call(`/cancel/${id}`, post);
    const ok = await client.submit({ sim: { queueMs: 0, durationMs: 0 } });
    const bad = await client.submit({ sim: { queueMs: 0, durationMs: 0, fail: 'x' } });
    await client.waitFor(ok, isStatus('COMPLETED'));
    await client.waitFor(bad, isStatus('FAILED'));
    expect((await client.call('/health')).body).toMatchObject({
      jobs: { completed: 1, failed: 1, inProgress: 0, inQueue: 0 },
      workers: { idle: 2, running: 0 },
    });
  });

  it('keeps each endpoint its own queue and counters', async () => {
    const client = await startTestSimulator({ workers: 1 });
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 5_000 } });
    await client.waitFor(id, isStatus('IN_PROGRESS'));
    const other = await client.call('/health', { endpointId: 'other-endpoint' });
    expect(other.body).toMatchObject({ jobs: { inProgress: 0 }, workers: { idle: 1 } });
    expect((await client.call(`/status/${id}`, { endpointId: 'other-endpoint' })).status).toBe(404);
  });
});

describe('queue order', () => {
  it('starts queued jobs first in, first out as workers free up', async () => {
    const client = await startTestSimulator({ workers: 1 });
    const ids: string[] = [];
    for (let index = 0; index < 4; index += 1) {
      ids.push(await client.submit({ sim: { queueMs: 0, durationMs: 30, output: index } }));
    }
    const finished = await Promise.all(
      ids.map(async (id) => {
        await client.waitFor(id, isStatus('COMPLETED'));
        return client.status(id);
      }),
    );
    const delays = finished.map((job) => Number(job.delayTime));
    expect([...delays].sort((a, b) => a - b)).toEqual(delays);
  });
});
