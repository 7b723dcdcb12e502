import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayFixture, startGatewayFixture } from '../helpers/local-gateway-fixture.ts';
import { type RawAnswer, rawRequest } from '../helpers/raw-http.ts';

/**
 * RunPod's Python SDK (runpod-python 1.12, `runpod/endpoint/runner.py`) cannot be installed here,
 * and the Go SDK is not on npm: these tests put on the wire what those clients send (headers,
 * methods, bodies, polling loops, as recorded in the team's client notes) and assert what the
 * clients then read.
 */

const FINAL_STATES = ['COMPLETED', 'FAILED', 'TIMED_OUT'];
const SYNC_WAIT_MS = 1_000;

let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({ simulator: { syncWaitMs: SYNC_WAIT_MS } });
});
afterAll(async () => {
  await fixture.close();
});

/** The headers Python's `requests` sends from runpod-python's `RunPodClient`. */
function pythonHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'User-Agent': 'python-requests/2.32.3',
    'Accept-Encoding': 'gzip, deflate',
    Accept: '*/*',
    Connection: 'keep-alive',
    'Content-Type': 'application/json',
    Authorization: `Bearer ${fixture.token}`,
    ...extra,
  };
}

function python(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  extra?: Record<string, string>,
): Promise<RawAnswer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  // requests sends `Content-Length: 0` on a POST without data.
  const length: Record<string, string> =
    method === 'POST' ? { 'Content-Length': String(Buffer.byteLength(text ?? '')) } : {};
  return rawRequest(`${fixture.base}/chat${path}`, {
    method,
    headers: pythonHeaders({ ...length, ...extra }),
    ...(text === undefined ? {} : { body: text }),
  });
}

function jsonOf(answer: RawAnswer): Record<string, unknown> {
  expect(answer.headers['content-type']).toBe('application/json');
  return answer.json as Record<string, unknown>;
}

describe('what runpod-python\u2019s Endpoint and Job send', () => {
  it('run_sync: runsync without wait, then /status every second until a final state', async () => {
    const first = jsonOf(
      await python('POST', '/runsync', {
        input: { prompt: 'py', sim: { durationMs: SYNC_WAIT_MS + 600, queueMs: 0 } },
      }),
    );
    expect(first.status).toBe('IN_PROGRESS');

    let job = first;
    while (!FINAL_STATES.includes(String(job.status))) {
      await sleep(1_000);
      job = jsonOf(await python('GET', `/status/${String(first.id)}`));
    }

    expect(job).toMatchObject({
      id: first.id,
      status: 'COMPLETED',
      output: { echo: { prompt: 'py' } },
    });
  });

  it('Job.stream: sleeps 1 s, GETs /stream, yields each output until final with an empty stream', async () => {
    const { id } = jsonOf(
      await python('POST', '/run', {
        input: { sim: { stream: 6, chunkIntervalMs: 300, queueMs: 0 } },
      }),
    ) as { id: string };

    // The loop of `Job.stream()`, with the asyncio client's X-Request-ID header.
    const outputs: unknown[] = [];
    for (;;) {
      await sleep(1_000);
      const partial = jsonOf(
        await python('GET', `/stream/${id}`, undefined, { 'X-Request-ID': id }),
      );
      const stream = partial.stream as { output: unknown }[];
      if (!FINAL_STATES.includes(String(partial.status)) || stream.length > 0) {
        for (const chunk of stream) outputs.push(chunk.output);
      } else {
        break;
      }
    }

    expect(outputs).toEqual(
      Array.from({ length: 6 }, (_, index) => ({ index, text: `chunk ${index}` })),
    );
  });

  it('cancel and purge_queue post with no body but a JSON content type', async () => {
    const { id } = jsonOf(
      await python('POST', '/run', { input: { sim: { durationMs: 60_000, queueMs: 0 } } }),
    ) as { id: string };

    const cancelled = jsonOf(await python('POST', `/cancel/${id}`));
    const purged = jsonOf(await python('POST', '/purge-queue'));

    expect(cancelled).toEqual({ id, status: 'CANCELLED' });
    expect(purged).toEqual({ removed: 0, status: 'completed' });
  });

  it('health answers all eleven counters', async () => {
    const health = jsonOf(await python('GET', '/health')) as {
      jobs: Record<string, number>;
      workers: Record<string, number>;
    };

    expect(Object.keys(health.jobs).sort()).toEqual(
      ['completed', 'failed', 'inProgress', 'inQueue', 'retried'].sort(),
    );
    expect(Object.keys(health.workers)).toHaveLength(6);
  });

  it('an error body has the string `error` the client raises with', async () => {
    const answer = await python('GET', '/status/no-such-job', undefined, {
      Authorization: 'Bearer rpg_wrong',
    });

    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({
      code: 'unauthorized',
      error: 'The API key is unknown, expired or disabled',
    });
  });
});

describe('what RunPod\u2019s Go SDK sends (POST polls, wait on /stream and /status-sync, no Accept)', () => {
  function go(path: string): Promise<RawAnswer> {
    return rawRequest(`${fixture.base}/chat${path}`, {
      method: 'POST',
      headers: {
        'User-Agent': 'Go-http-client/1.1',
        'Content-Type': 'application/json',
        Authorization: `Bearer ${fixture.token}`,
        'Content-Length': '0',
      },
    });
  }

  it('RunSync: runsync?wait=, then POST /status-sync?wait= until final', async () => {
    const first = jsonOf(
      await rawRequest(`${fixture.base}/chat/runsync?wait=1000`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${fixture.token}` },
        body: JSON.stringify({ input: { sim: { durationMs: 1_800, queueMs: 0 } } }),
      }),
    );
    expect(first.status).toBe('IN_PROGRESS');

    let job = first;
    while (!FINAL_STATES.includes(String(job.status))) {
      job = jsonOf(await go(`/status-sync/${String(first.id)}?wait=1000`));
    }

    expect(job).toMatchObject({ id: first.id, status: 'COMPLETED' });
  });

  it('Stream: POST /stream?wait= answers RunPod\u2019s JSON poll, every chunk once', async () => {
    const { id } = jsonOf(
      await rawRequest(`${fixture.base}/chat/run`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${fixture.token}` },
        body: JSON.stringify({ input: { sim: { stream: 5, chunkIntervalMs: 100, queueMs: 0 } } }),
      }),
    ) as { id: string };

    const outputs: unknown[] = [];
    let status = '';
    while (!FINAL_STATES.includes(status)) {
      const poll = jsonOf(await go(`/stream/${id}?wait=2000`)) as {
        status: string;
        stream: { output: unknown }[];
      };
      status = poll.status;
      for (const chunk of poll.stream) outputs.push(chunk.output);
    }

    expect(outputs.map((output) => (output as { index: number }).index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('Status: POST /status with an empty body', async () => {
    const { id } = jsonOf(
      await rawRequest(`${fixture.base}/chat/run`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${fixture.token}` },
        body: JSON.stringify({ input: {} }),
      }),
    ) as { id: string };

    expect(jsonOf(await go(`/status/${id}`))).toMatchObject({ id });
  });
});
