import { describe, expect, it } from 'vitest';
import { isStatus, sleep, startTestSimulator } from './simulator-client.ts';

const sortedKeys = (job: Record<string, unknown>): string[] => Object.keys(job).sort();

describe('job lifecycle on /run and /status', () => {
  it('goes IN_QUEUE, IN_PROGRESS, COMPLETED with the fields of each state in alphabetical order', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ prompt: 'hi', sim: { queueMs: 150, durationMs: 300 } });

    const queued = await client.status(id);
    expect(queued).toEqual({ id, status: 'IN_QUEUE' });

    const running = await client.waitFor(id, isStatus('IN_PROGRESS'));
    expect(Object.keys(running)).toEqual([
      'delayTime',
      'executionTime',
      'id',
      'status',
      'workerId',
    ]);
    expect(running.delayTime).toBeGreaterThanOrEqual(140);
    expect(running.workerId).toMatch(/^[a-z0-9]{14}$/);

    const done = await client.waitFor(id, isStatus('COMPLETED'));
    expect(Object.keys(done)).toEqual(sortedKeys(done));
    expect(done).toEqual({
      delayTime: expect.any(Number),
      executionTime: expect.any(Number),
      id,
      output: { echo: { prompt: 'hi' } },
      status: 'COMPLETED',
      workerId: running.workerId,
    });
    expect(done.executionTime).toBeGreaterThanOrEqual(290);
  });

  it('answers /run with the id and IN_QUEUE only, using RunPod-style ids', async () => {
    const client = await startTestSimulator();
    const response = await client.call('/run', {
      body: { input: {}, policy: { lowPriority: true }, s3Config: { bucketName: 'b' } },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: expect.any(String), status: 'IN_QUEUE' });
    expect(response.body.id).toMatch(/^[0-9a-f-]{36}-u1$/);
  });

  it('never echoes s3Config, input or webhook in /status', async () => {
    const client = await startTestSimulator();
    const id = await client.submit(
      { sim: { queueMs: 0, durationMs: 0, output: 'ok' } },
      { s3Config: { accessSecret: 'secret' }, webhook: 'http://127.0.0.1:9/hook' },
    );
    const done = await client.waitFor(id, isStatus('COMPLETED'));
    expect(Object.keys(done)).not.toContain('input');
    expect(JSON.stringify(done)).not.toContain('secret');
    expect(done.output).toBe('ok');
  });

  it('shows progress updates as output while IN_PROGRESS', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({
      sim: { queueMs: 0, durationMs: 600, progress: [{ step: 1 }, { step: 2 }], output: 'done' },
    });
    const first = await client.waitFor(id, (job) => job.output !== undefined);
    expect(first).toMatchObject({ status: 'IN_PROGRESS', output: { step: 1 } });
    const second = await client.waitFor(
      id,
      (job) => JSON.stringify(job.output) === '{"step":2}' || job.status === 'COMPLETED',
    );
    expect(second).toMatchObject({ status: 'IN_PROGRESS', output: { step: 2 } });
    expect(await client.waitFor(id, isStatus('COMPLETED'))).toMatchObject({ output: 'done' });
  });

  it('fails with the scripted error and no output', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 20, fail: 'CUDA OOM' } });
    const failed = await client.waitFor(id, isStatus('FAILED'));
    expect(failed).toEqual({
      delayTime: expect.any(Number),
      error: 'CUDA OOM',
      executionTime: expect.any(Number),
      id,
      status: 'FAILED',
      workerId: expect.any(String),
    });
  });

  it('ends TIMED_OUT when the script asks for a timeout', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 20, timeout: true } });
    const timedOut = await client.waitFor(id, isStatus('TIMED_OUT'));
    expect(timedOut).not.toHaveProperty('output');
    expect(timedOut).not.toHaveProperty('error');
  });

  it('ends TIMED_OUT when policy.executionTimeout elapses before the job finishes', async () => {
    const client = await startTestSimulator();
    const id = await client.submit(
      { sim: { queueMs: 0, durationMs: 5_000 } },
      { policy: { executionTimeout: 200 } },
    );
    const timedOut = await client.waitFor(id, isStatus('TIMED_OUT', 'COMPLETED'), 2_000);
    expect(timedOut.status).toBe('TIMED_OUT');
    expect(timedOut.executionTime).toBeGreaterThanOrEqual(195);
    expect(timedOut.executionTime).toBeLessThan(1_000);
  });

  it('returns 404 for a job whose policy.ttl elapsed while it was running', async () => {
    const client = await startTestSimulator();
    const id = await client.submit(
      { sim: { queueMs: 0, durationMs: 5_000 } },
      { policy: { ttl: 300 } },
    );
    expect((await client.call(`/status/${id}`)).status).toBe(200);
    await sleep(400);
    const gone = await client.call(`/status/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ error: expect.any(String) });
  });

  it('returns 404 for a job once the ?ttl= given on /status elapsed', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 0 } });
    await client.waitFor(id, isStatus('COMPLETED'));
    expect((await client.call(`/status/${id}?ttl=200`)).status).toBe(200);
    expect((await client.call(`/status/${id}`)).status).toBe(200);
    await sleep(300);
    expect((await client.call(`/status/${id}`)).status).toBe(404);
  });

  it('outputs a string of outputBytes bytes intact (20 MB)', async () => {
    const client = await startTestSimulator();
    const response = await client.call('/runsync', {
      body: { input: { sim: { queueMs: 0, durationMs: 0, outputBytes: 20_000_000 } } },
    });
    expect(response.body.status).toBe('COMPLETED');
    const output = response.body.output;
    expect(typeof output === 'string' && output.length).toBe(20_000_000);
  });

  it('rejects an unknown or malformed input.sim knob with 400', async () => {
    const client = await startTestSimulator();
    for (const sim of [{ durationMS: 5 }, { queueMs: -1 }, { stream: 'many' }, 'fast']) {
      const response = await client.call('/run', { body: { input: { sim } } });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: expect.stringContaining('input.sim') });
    }
  });
});

describe('streamed jobs on /status', () => {
  it('reports the yielded values as output with aggregate, and [] without', async () => {
    const client = await startTestSimulator();
    const stream = ['a', { b: 2 }, 3];
    const aggregated = await client.submit({ sim: { queueMs: 0, stream, aggregate: true } });
    const plain = await client.submit({ sim: { queueMs: 0, stream } });
    expect(await client.waitFor(aggregated, isStatus('COMPLETED'))).toMatchObject({
      output: stream,
    });
    expect(await client.waitFor(plain, isStatus('COMPLETED'))).toMatchObject({ output: [] });
  });

  it('fails after failAfterChunks chunks with the error in /status', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({
      sim: { queueMs: 0, stream: 10, chunkIntervalMs: 1, fail: 'boom', failAfterChunks: 3 },
    });
    const failed = await client.waitFor(id, isStatus('FAILED'));
    expect(failed.error).toBe('boom');
    const stream = await client.call(`/stream/${id}`);
    expect(stream.body).toEqual({
      status: 'FAILED',
      stream: [0, 1, 2].map((index) => ({ output: { index, text: `chunk ${index}` } })),
    });
  });
});

describe('/runsync and /status-sync', () => {
  it('runsync returns the finished job object under a sync- id', async () => {
    const client = await startTestSimulator();
    const response = await client.call('/runsync', {
      body: { input: { n: 1, sim: { queueMs: 0, durationMs: 50 } } },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'COMPLETED', output: { echo: { n: 1 } } });
    expect(response.body.id).toMatch(/^sync-/);
    expect(Object.keys(response.body)).toEqual(sortedKeys(response.body));
    // The result stays readable on /status for the retention period.
    expect(await client.status(String(response.body.id))).toMatchObject({ status: 'COMPLETED' });
  });

  it('runsync returns only the id and IN_PROGRESS when the job outlives wait, and the job goes on', async () => {
    const client = await startTestSimulator();
    const response = await client.call('/runsync?wait=1000', {
      body: { input: { sim: { queueMs: 0, durationMs: 1_800 } } },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: expect.stringMatching(/^sync-/), status: 'IN_PROGRESS' });
    expect(response.elapsedMs).toBeGreaterThanOrEqual(990);
    expect(response.elapsedMs).toBeLessThan(1_500);

    const later = await client.call(`/status-sync/${response.body.id}?wait=3000`);
    expect(later.body).toMatchObject({ status: 'COMPLETED' });
    expect(later.elapsedMs).toBeLessThan(1_500);
  });

  it('runsync clamps a wait below 1000 ms up to 1000 ms and answers IN_QUEUE for a queued job', async () => {
    const client = await startTestSimulator();
    const response = await client.call('/runsync?wait=10', {
      body: { input: { sim: { queueMs: 5_000 } } },
    });
    expect(response.body).toEqual({ id: expect.any(String), status: 'IN_QUEUE' });
    expect(response.elapsedMs).toBeGreaterThanOrEqual(990);
  });

  it('status-sync returns as soon as the job ends', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 200 } });
    const response = await client.call(`/status-sync/${id}?wait=5000`, { method: 'POST' });
    expect(response.body).toMatchObject({ id, status: 'COMPLETED' });
    expect(response.elapsedMs).toBeLessThan(1_000);
  });

  it('status-sync returns the full non-terminal job object when wait elapses', async () => {
    const client = await startTestSimulator();
    const id = await client.submit({ sim: { queueMs: 0, durationMs: 3_000 } });
    const response = await client.call(`/status-sync/${id}?wait=1000`);
    expect(response.elapsedMs).toBeGreaterThanOrEqual(990);
    expect(Object.keys(response.body)).toEqual([
      'delayTime',
      'executionTime',
      'id',
      'status',
      'workerId',
    ]);
    expect(response.body.status).toBe('IN_PROGRESS');
  });
});
