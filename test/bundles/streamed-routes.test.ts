import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeFor } from '../../functions/routes.ts';
import { emfLinesOf } from '../helpers/emf.ts';
import {
  type BundleHarness,
  bearer,
  callBundle,
  callerResponseOf,
  parseSse,
  type StartedBundle,
  simulatorCall,
  startBundleHarness,
  waitForJobStatus,
} from '../helpers/lambda/bundle-harness.ts';
import { KEY_STORE_SECRET_ARN, RUNPOD_KEY_SECRET_ARN } from '../helpers/lambda/cdk-assembly.ts';
import { restProxyEvent } from '../helpers/lambda/rest-proxy-event.ts';
import type { InvocationResult, StreamChunk } from '../helpers/lambda/runtime-api-emulator.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/lambda/upstream-fault-proxy.ts';

const ENDPOINT = 'chatendpoint01';

type Streamed = Extract<InvocationResult, { kind: 'streamed' }>;

function streamed(result: InvocationResult): Streamed {
  if (result.kind !== 'streamed')
    throw new Error(`Expected a streamed response, got ${JSON.stringify(result)}`);
  return result;
}

/** When the body chunk holding `text` arrived at the Runtime API. */
function arrivalOf(chunks: readonly StreamChunk[], text: string): number {
  let seen = '';
  for (const chunk of chunks) {
    seen += chunk.bytes.toString('utf8');
    if (seen.includes(text)) return chunk.at;
  }
  throw new Error(`"${text}" never arrived`);
}

/**
 * The streamed routes' bundles (runsync, status, status-sync, stream), as `cdk synth` produced them, under
 * the real Lambda runtime interface client: responses must arrive in streaming mode with the
 * HTTP integration prelude, and `/stream` must relay output while the job runs.
 */
describe('streamed route bundles under aws-lambda-ric', () => {
  let harness: BundleHarness;
  let proxy: FaultProxy;
  let runsync: StartedBundle;
  let status: StartedBundle;
  let statusSync: StartedBundle;
  let stream: StartedBundle;

  beforeAll(async () => {
    harness = await startBundleHarness();
    // The stream function reaches the simulator through a proxy that can fail chosen polls.
    proxy = await startFaultProxy(harness.simulator.baseUrl);
    [runsync, status, statusSync, stream] = await Promise.all([
      harness.start('runsync', { runpodKeyForm: 'plain' }),
      harness.start('status', { runpodKeyForm: 'json' }),
      harness.start('status-sync', { runpodKeyForm: 'plain' }),
      harness.start('stream', { runpodKeyForm: 'json', upstreamBaseUrl: proxy.baseUrl }),
    ]);
  });

  afterAll(async () => {
    await harness?.close();
    await proxy?.close();
  });

  it('routes runsync, status, status-sync and stream through streaming integrations timed like their functions', () => {
    for (const bundle of [runsync, status, statusSync, stream]) {
      const { fn } = bundle;
      expect(fn.runtime).toBe('nodejs24.x');
      expect(fn.integration.transferMode).toBe('STREAM');
      expect(fn.integration.streamingInvocations).toBe(true);
      expect(fn.timeoutSeconds).toBe(routeFor(fn.operation).functionTimeoutSeconds);
      expect(fn.integration.timeoutMs).toBe(fn.timeoutSeconds * 1000);
    }
  });

  it('runsync streams 200 with the prelude, the 8-NUL separator and the completed job', async () => {
    const event = restProxyEvent({
      operation: 'runsync',
      surface: 'chat',
      headers: { ...bearer(harness.token), 'Content-Type': 'application/json' },
      body: { input: { sim: { durationMs: 50, output: { answer: 42 } } } },
    });

    const result = streamed(await runsync.process.invoke(event));

    expect(result.contentType).toBe('application/vnd.awslambda.http-integration-response');
    expect(result.separatorSeen).toBe(true);
    const raw = Buffer.concat(result.chunks.map((chunk) => chunk.bytes));
    expect(
      raw.subarray(
        Buffer.byteLength(result.preludeText ?? ''),
        Buffer.byteLength(result.preludeText ?? '') + 8,
      ),
    ).toEqual(Buffer.alloc(8));
    expect(result.prelude).toEqual({
      statusCode: 200,
      headers: {
        'Content-Type': 'application/json',
        'X-Request-Id': event.requestContext.requestId,
      },
    });
    expect(result.errorType).toBeUndefined();
    expect(JSON.parse(result.body)).toMatchObject({
      id: expect.any(String),
      status: 'COMPLETED',
      output: { answer: 42 },
    });
  });

  it('status streams the job for GET and for POST (as RunPod’s Go SDK polls)', async () => {
    const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
      input: { sim: { durationMs: 10, output: 'done' } },
    });
    // Submitted as the token's through the gateway would have recorded it.
    await harness.own(String(id));
    await waitForJobStatus(harness.simulator, ENDPOINT, String(id), ['COMPLETED']);

    for (const method of ['GET', 'POST'] as const) {
      const event = restProxyEvent({
        operation: 'status',
        method,
        surface: 'chat',
        jobId: String(id),
        headers: bearer(harness.token),
      });
      const response = callerResponseOf(await status.process.invoke(event));

      expect(response.mode).toBe('streamed');
      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({
        'Content-Type': 'application/json',
        'X-Request-Id': event.requestContext.requestId,
      });
      expect(JSON.parse(response.body)).toMatchObject({ id, status: 'COMPLETED', output: 'done' });
    }
  });

  it('status-sync holds until the running job ends, then streams the job (GET and POST, as the JS and Go SDKs call it)', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
        input: { sim: { queueMs: 0, durationMs: 600, output: 'waited' } },
      });
      // Submitted as the token's through the gateway would have recorded it.
      await harness.own(String(id));

      const response = await callBundle(statusSync, {
        operation: 'status-sync',
        method,
        surface: 'chat',
        jobId: String(id),
        query: { wait: '5000' },
        headers: { ...bearer(harness.token), Accept: '*/*' },
      });

      expect(response.mode).toBe('streamed');
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        id,
        status: 'COMPLETED',
        output: 'waited',
      });
    }
  });

  it('status streams a 401 problem carrying the event request id when no key is sent', async () => {
    const event = restProxyEvent({ operation: 'status', surface: 'chat', jobId: 'job-1' });

    const response = callerResponseOf(await status.process.invoke(event));

    expect(response.mode).toBe('streamed');
    expect(response.statusCode).toBe(401);
    expect(response.headers['Content-Type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({
      status: 401,
      code: 'unauthorized',
      requestId: event.requestContext.requestId,
    });
  });

  it('stream relays each output chunk as an SSE event while the job runs, ending with done', async () => {
    const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
      input: { sim: { stream: 5, chunkIntervalMs: 200, firstChunkDelayMs: 300 } },
    });
    // Submitted as the token's through the gateway would have recorded it.
    await harness.own(String(id));
    const event = restProxyEvent({
      operation: 'stream',
      surface: 'chat',
      jobId: String(id),
      headers: { ...bearer(harness.token), Accept: 'text/event-stream' },
    });
    let invocationEnded = false;
    let bodyBytesBeforeEnd = '';

    const pending = stream.process
      .invoke(event, {
        timeoutMs: 30_000,
        onChunk: (_chunk, bodyBytes) => {
          if (!invocationEnded) bodyBytesBeforeEnd += bodyBytes.toString('utf8');
        },
      })
      .then((result) => {
        invocationEnded = true;
        return result;
      });
    // Observed while the invocation is still running: the first output is already there.
    await expect
      .poll(() => bodyBytesBeforeEnd, { timeout: 5_000, interval: 20 })
      .toContain('event: output');
    expect(invocationEnded).toBe(false);
    const result = streamed(await pending);

    expect(result.prelude?.statusCode).toBe(200);
    expect(result.prelude?.headers).toMatchObject({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Request-Id': event.requestContext.requestId,
    });
    const events = parseSse(result.body);
    // The job may still be queued when the stream opens (then a second status event follows).
    expect(events[0]?.event).toBe('status');
    expect(events.filter((sse) => sse.event !== 'status').map((sse) => sse.event)).toEqual([
      'output',
      'output',
      'output',
      'output',
      'output',
      'done',
    ]);
    expect(events.filter((sse) => sse.event === 'output').map((sse) => sse.data)).toEqual(
      [0, 1, 2, 3, 4].map((index) => ({ index, text: `chunk ${index}` })),
    );
    expect(events.at(-1)?.data).toMatchObject({ id, status: 'COMPLETED' });
    expect(result.body.endsWith('\n\n')).toBe(true);
    expect(result.errorType).toBeUndefined();

    // Live, not buffered: each output reached the runtime API before the next chunk existed.
    const produced = harness.simulator.stats().chunks[String(id)]?.producedAt ?? [];
    expect(produced).toHaveLength(5);
    const arrivals = [0, 1, 2, 3, 4].map((index) =>
      arrivalOf(result.bodyChunks, `"text":"chunk ${index}"`),
    );
    for (let index = 0; index < 4; index++) {
      expect(arrivals[index]).toBeLessThan(produced[index + 1] ?? 0);
    }
    expect(arrivalOf(result.bodyChunks, 'event: done') - (arrivals[0] ?? 0)).toBeGreaterThan(600);
    expect(new Set(arrivals).size).toBe(5);
  });

  it('stream journals the output: a second invocation with Last-Event-ID gets the rest from the journal, ids stable', async () => {
    const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
      input: { sim: { stream: 5, chunkIntervalMs: 20, queueMs: 0 } },
    });
    await harness.own(String(id));
    const invoke = (headers: Record<string, string>) =>
      stream.process.invoke(
        restProxyEvent({
          operation: 'stream',
          surface: 'chat',
          jobId: String(id),
          headers: { ...bearer(harness.token), Accept: 'text/event-stream', ...headers },
        }),
        { timeoutMs: 30_000 },
      );
    const outputsOf = (body: string) =>
      parseSse(body)
        .filter((sse) => sse.event === 'output')
        .map((sse) => [sse.id, (sse.data as { index: number }).index]);

    const live = streamed(await invoke({}));
    const pollsAfterLive = harness.simulator.stats().requests.stream ?? 0;
    const resumed = streamed(await invoke({ 'Last-Event-ID': '2' }));

    expect(outputsOf(live.body)).toEqual(
      [0, 1, 2, 3, 4].map((index) => [String(index + 1), index]),
    );
    expect(outputsOf(resumed.body)).toEqual([
      ['3', 2],
      ['4', 3],
      ['5', 4],
    ]);
    expect(parseSse(resumed.body).at(-1)).toMatchObject({
      event: 'done',
      data: { status: 'COMPLETED' },
    });
    expect(harness.simulator.stats().requests.stream ?? 0).toBe(pollsAfterLive);
  });

  it('stream answers one RunPod poll as JSON to a caller that does not ask for text/event-stream (RunPod\u2019s SDKs send */*)', async () => {
    const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
      input: { sim: { stream: ['a', 'b'], chunkIntervalMs: 0 } },
    });
    // Submitted as the token's through the gateway would have recorded it.
    await harness.own(String(id));
    await waitForJobStatus(harness.simulator, ENDPOINT, String(id), ['COMPLETED']);

    const response = await callBundle(stream, {
      operation: 'stream',
      surface: 'chat',
      jobId: String(id),
      headers: { ...bearer(harness.token), Accept: '*/*' },
    });

    expect(response.mode).toBe('streamed');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      status: 'COMPLETED',
      stream: [{ output: 'a' }, { output: 'b' }],
    });
  });

  it('stream answers an unknown job with a 404 problem before the first byte', async () => {
    const response = await callBundle(stream, {
      operation: 'stream',
      surface: 'chat',
      jobId: 'no-such-job',
      headers: { ...bearer(harness.token), Accept: 'text/event-stream' },
    });

    expect(response.statusCode).toBe(404);
    expect(response.headers['Content-Type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({ code: 'job_not_found' });
  });

  it('stream closes with event: timeout before the deadline the runtime API gives the function', async () => {
    const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
      input: { sim: { stream: 100, chunkIntervalMs: 100 } },
    });
    // Submitted as the token's through the gateway would have recorded it.
    await harness.own(String(id));
    const event = restProxyEvent({
      operation: 'stream',
      surface: 'chat',
      jobId: String(id),
      headers: { ...bearer(harness.token), Accept: 'text/event-stream' },
    });
    const deadline = Date.now() + 3_000;

    const result = streamed(await stream.process.invoke(event, { timeoutMs: 3_000 }));

    expect(result.endedAt).toBeLessThan(deadline);
    const events = parseSse(result.body);
    expect(events.filter((sse) => sse.event === 'output').length).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)).toMatchObject({ event: 'timeout', data: { id, status: 'IN_PROGRESS' } });
    expect(result.errorType).toBeUndefined();
    await simulatorCall(harness.simulator, ENDPOINT, `cancel/${String(id)}`, {});
  });

  it.each([
    { action: 'garbage', code: 'upstream_error' },
    { action: 'drop-response', code: 'upstream_unreachable' },
  ] as const)(
    'stream ends with event: error and a clean end when a poll mid-stream fails ($action)',
    async ({ action, code }) => {
      const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
        input: { sim: { stream: 4, chunkIntervalMs: 200, firstChunkDelayMs: 200 } },
      });
      // Submitted as the token's through the gateway would have recorded it.
      await harness.own(String(id));
      const streamPath = `/v2/${ENDPOINT}/stream/${String(id)}`;
      // The first poll goes through; the second one fails.
      proxy.inject({ matches: (_method, path) => path === streamPath, after: 1, action });
      const event = restProxyEvent({
        operation: 'stream',
        surface: 'chat',
        jobId: String(id),
        headers: { ...bearer(harness.token), Accept: 'text/event-stream' },
      });

      const result = streamed(await stream.process.invoke(event, { timeoutMs: 30_000 }));

      expect(result.prelude?.statusCode).toBe(200);
      const events = parseSse(result.body);
      expect(events[0]?.event).toBe('status');
      expect(events.filter((sse) => sse.event === 'output').length).toBeGreaterThanOrEqual(1);
      expect(events.at(-1)).toEqual({
        event: 'error',
        id: undefined,
        data: expect.objectContaining({
          status: 502,
          code,
          requestId: event.requestContext.requestId,
        }),
      });
      // The failure is the caller's to see in the body; the invocation itself succeeded.
      expect(result.errorType).toBeUndefined();
      expect(result.body.endsWith('\n\n')).toBe(true);
      // The log line and the response travel on different pipes: wait for the line.
      await expect
        .poll(() =>
          stream.process
            .jsonLogs()
            .find(
              (line) =>
                line.message === 'request completed' &&
                line.requestId === event.requestContext.requestId,
            ),
        )
        .toMatchObject({ streamOutcome: 'error', code });

      // RunPod still holds the output not handed out: calling again resumes to the end.
      const resumed = parseSse(
        streamed(
          await stream.process.invoke(
            restProxyEvent({
              operation: 'stream',
              surface: 'chat',
              jobId: String(id),
              headers: { ...bearer(harness.token), Accept: 'text/event-stream' },
            }),
            { timeoutMs: 30_000 },
          ),
        ).body,
      );
      expect(resumed.at(-1)).toMatchObject({ event: 'done', data: { status: 'COMPLETED' } });
    },
  );

  it('reads each secret once per execution environment across invocations', async () => {
    const { id } = await simulatorCall(harness.simulator, ENDPOINT, 'run', {
      input: { sim: { durationMs: 0 } },
    });
    // Submitted as the token's through the gateway would have recorded it.
    await harness.own(String(id));
    await waitForJobStatus(harness.simulator, ENDPOINT, String(id), ['COMPLETED']);
    const auth = bearer(harness.token);
    for (let index = 0; index < 2; index++) {
      const answers = await Promise.all([
        runsync.process.invoke(
          restProxyEvent({
            operation: 'runsync',
            surface: 'chat',
            headers: auth,
            body: { input: { sim: { durationMs: 0 } } },
          }),
        ),
        status.process.invoke(
          restProxyEvent({
            operation: 'status',
            surface: 'chat',
            jobId: String(id),
            headers: auth,
          }),
        ),
        stream.process.invoke(
          restProxyEvent({
            operation: 'stream',
            surface: 'chat',
            jobId: String(id),
            headers: auth,
          }),
        ),
      ]);
      expect(answers.map((answer) => callerResponseOf(answer).statusCode)).toEqual([200, 200, 200]);
    }

    for (const bundle of [runsync, status, stream]) {
      expect(bundle.secretsManager.callsOf(KEY_STORE_SECRET_ARN)).toBe(1);
      expect(bundle.secretsManager.callsOf(RUNPOD_KEY_SECRET_ARN)).toBe(1);
    }
  });

  it('never logs the token, the RunPod key or the Authorization header', async () => {
    await runsync.process.invoke(
      restProxyEvent({
        operation: 'runsync',
        surface: 'chat',
        headers: bearer(harness.token),
        body: { input: { secret: 'prompt' } },
      }),
    );

    await expect.poll(() => harness.allOutput()).toContain('"operation":"runsync"');
    const output = harness.allOutput();
    expect(output).not.toContain(harness.token);
    expect(output).not.toContain(harness.simulator.apiKey);
    expect(output.toLowerCase()).not.toContain('authorization');
  });

  it('writes valid EMF for streamed answers too: stream outcomes, chunks and durations', () => {
    const lines = emfLinesOf(harness.allOutput());
    const streams = lines.filter((line) => line.dimensions.operation === 'stream');
    const done = streams.find((line) => 'StreamDone' in line.metrics && line.metrics.StreamChunks);

    expect(lines.length).toBeGreaterThan(5);
    expect(done?.metrics.StreamChunks).toBeGreaterThanOrEqual(1);
    expect(done?.units.StreamDuration).toBe('Milliseconds');
    expect(streams.some((line) => 'StreamTimeout' in line.metrics)).toBe(true);
    expect(lines.some((line) => line.dimensions.operation === 'runsync')).toBe(true);
    for (const line of lines) expect(line.metrics.Requests).toBe(1);
  });
});
