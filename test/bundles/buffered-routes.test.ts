import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobLedger } from '../../functions/ledger/dynamodb-job-ledger.ts';
import { emfLinesOf } from '../helpers/emf.ts';
import {
  type BundleHarness,
  bearer,
  callBundle,
  callerResponseOf,
  type StartedBundle,
  simulatorCall,
  startBundleHarness,
  waitForJobStatus,
} from '../helpers/lambda/bundle-harness.ts';
import { KEY_STORE_SECRET_ARN, RUNPOD_KEY_SECRET_ARN } from '../helpers/lambda/cdk-assembly.ts';
import { restProxyEvent } from '../helpers/lambda/rest-proxy-event.ts';

/** A loopback URL nothing listens on (connections are refused). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v2`;
}

/**
 * The buffered routes' bundles, as `cdk synth` produced them, under the real Lambda runtime
 * interface client (Node 24), called with API Gateway REST proxy events, against the RunPod
 * simulator and an emulated Secrets Manager.
 */
describe('buffered route bundles under aws-lambda-ric', () => {
  let harness: BundleHarness;
  let run: StartedBundle;
  let cancel: StartedBundle;
  let retry: StartedBundle;
  let purgeQueue: StartedBundle;
  let health: StartedBundle;
  let usage: StartedBundle;

  beforeAll(async () => {
    harness = await startBundleHarness();
    // Both forms of the RunPod key secret, across functions.
    [run, cancel, retry, purgeQueue, health, usage] = await Promise.all([
      harness.start('run', { runpodKeyForm: 'plain' }),
      harness.start('cancel', { runpodKeyForm: 'json' }),
      harness.start('retry', { runpodKeyForm: 'plain' }),
      harness.start('purge-queue', { runpodKeyForm: 'json' }),
      harness.start('health', { runpodKeyForm: 'plain' }),
      harness.start('usage', { runpodKeyForm: 'plain' }),
    ]);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('bundles each function as index.mjs with routing.json behind a buffered integration', () => {
    for (const bundle of [run, cancel, retry, purgeQueue, health, usage]) {
      const { fn } = bundle;
      expect(fn.runtime).toBe('nodejs24.x');
      expect(existsSync(join(fn.assetDir, 'index.mjs'))).toBe(true);
      const routing = JSON.parse(readFileSync(join(fn.assetDir, 'routing.json'), 'utf8')) as {
        surfaces: Record<string, unknown>;
      };
      expect(Object.keys(routing.surfaces)).toContain('chat');
      expect(fn.integration.transferMode).toBe('BUFFERED');
      expect(fn.integration.streamingInvocations).toBe(false);
    }
  });

  it('run answers 200 {id, status: IN_QUEUE} and the job exists upstream', async () => {
    const event = restProxyEvent({
      operation: 'run',
      surface: 'chat',
      headers: { ...bearer(harness.token), 'Content-Type': 'application/json' },
      body: { input: { prompt: 'hello', sim: { durationMs: 20, output: { answer: 42 } } } },
    });

    const result = await run.process.invoke(event);

    const response = callerResponseOf(result);
    expect(response.mode).toBe('buffered');
    expect(response.statusCode).toBe(200);
    expect(response.headers['Content-Type']).toBe('application/json');
    expect(response.headers['X-Request-Id']).toBe(event.requestContext.requestId);
    const job = JSON.parse(response.body) as { id: string; status: string };
    expect(job).toEqual({ id: expect.any(String), status: 'IN_QUEUE' });
    const upstream = await waitForJobStatus(harness.simulator, 'chatendpoint01', job.id, [
      'COMPLETED',
    ]);
    expect(upstream.output).toEqual({ answer: 42 });
    // Recorded in the ledger's table on a real engine, as the bundle's key's job.
    expect(await new DynamoDbJobLedger(harness.ledger).find(job.id)).toMatchObject({
      ownerKeyId: 'bundle-test',
      surface: 'chat',
      endpointId: 'chatendpoint01',
    });
  });

  it('cancel answers the cancelled job', async () => {
    const { id } = await simulatorCall(harness.simulator, 'chatendpoint01', 'run', {
      input: { sim: { queueMs: 60_000 } },
    });
    await harness.own(String(id));

    const response = await callBundle(cancel, {
      operation: 'cancel',
      surface: 'chat',
      jobId: String(id),
      headers: bearer(harness.token),
    });

    expect(response.mode).toBe('buffered');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ id, status: 'CANCELLED' });
  });

  it('retry requeues a failed job, which then completes', async () => {
    const { id } = await simulatorCall(harness.simulator, 'chatendpoint01', 'run', {
      input: {
        sim: {
          queueMs: 0,
          durationMs: 10,
          fail: 'boom',
          failTimes: 1,
          output: 'second time lucky',
        },
      },
    });
    await harness.own(String(id));
    await waitForJobStatus(harness.simulator, 'chatendpoint01', String(id), ['FAILED']);

    const response = await callBundle(retry, {
      operation: 'retry',
      surface: 'chat',
      jobId: String(id),
      headers: bearer(harness.token),
    });

    expect(response.mode).toBe('buffered');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ id, status: 'IN_QUEUE' });
    const job = await waitForJobStatus(harness.simulator, 'chatendpoint01', String(id), [
      'COMPLETED',
      'FAILED',
    ]);
    expect(job).toMatchObject({ status: 'COMPLETED', output: 'second time lucky' });
  });

  it('purge-queue removes the queued jobs of the surface endpoint', async () => {
    for (let index = 0; index < 2; index++) {
      await simulatorCall(harness.simulator, 'imagesendpoint1', 'run', {
        input: { sim: { queueMs: 60_000 } },
      });
    }

    const response = await callBundle(purgeQueue, {
      operation: 'purge-queue',
      surface: 'images',
      headers: bearer(harness.token),
    });

    expect(response.mode).toBe('buffered');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ removed: 2, status: 'completed' });
  });

  it('health answers the job and worker counts', async () => {
    const response = await callBundle(health, {
      operation: 'health',
      surface: 'embeddings',
      headers: bearer(harness.token),
    });

    expect(response.mode).toBe('buffered');
    expect(response.statusCode).toBe(200);
    const count = expect.any(Number);
    expect(JSON.parse(response.body)).toEqual({
      jobs: { completed: count, failed: count, inProgress: count, inQueue: count, retried: count },
      workers: {
        idle: count,
        initializing: count,
        ready: count,
        running: count,
        throttled: count,
        unhealthy: count,
      },
    });
  });

  it('usage answers the key its own jobs of today from the ledger index, on /v1/usage', async () => {
    const response = await callBundle(usage, {
      operation: 'usage',
      surface: '',
      headers: bearer(harness.token),
    });

    expect(response.mode).toBe('buffered');
    expect(response.statusCode).toBe(200);
    const answer = JSON.parse(response.body) as {
      to: string;
      rows: { keyId: string; surface: string }[];
      totals: { submitted: number };
    };
    expect(answer.to).toBe(new Date().toISOString().slice(0, 10));
    // The jobs the tests above submitted through the run bundle.
    expect(answer.totals.submitted).toBeGreaterThan(0);
    expect(answer.rows.every((row) => row.keyId === answer.rows[0]?.keyId)).toBe(true);
  });

  it('answers 401 problem+json with the event request id when no key is sent', async () => {
    const event = restProxyEvent({ operation: 'run', surface: 'chat', body: { input: {} } });

    const response = callerResponseOf(await run.process.invoke(event));

    expect(response.mode).toBe('buffered');
    expect(response.statusCode).toBe(401);
    expect(response.headers['Content-Type']).toBe('application/problem+json');
    expect(response.headers['WWW-Authenticate']).toBe('Bearer realm="runpod-gateway"');
    expect(response.headers['X-Request-Id']).toBe(event.requestContext.requestId);
    expect(JSON.parse(response.body)).toMatchObject({
      status: 401,
      code: 'unauthorized',
      requestId: event.requestContext.requestId,
    });
  });

  it('answers 401 invalid_token for a key the key store does not hold', async () => {
    const response = await callBundle(health, {
      operation: 'health',
      surface: 'chat',
      headers: bearer('rpg_not-a-real-key'),
    });

    expect(response.statusCode).toBe(401);
    expect(response.headers['WWW-Authenticate']).toContain('error="invalid_token"');
    expect(JSON.parse(response.body)).toMatchObject({ code: 'unauthorized' });
  });

  it('reads both secrets in one Secrets Manager request per execution environment and serves later invocations from cache', async () => {
    for (let index = 0; index < 3; index++) {
      const response = await callBundle(health, {
        operation: 'health',
        surface: 'chat',
        headers: bearer(harness.token),
      });
      expect(response.statusCode).toBe(200);
    }

    expect(health.secretsManager.callsOf(KEY_STORE_SECRET_ARN)).toBe(1);
    expect(health.secretsManager.callsOf(RUNPOD_KEY_SECRET_ARN)).toBe(1);
    expect(health.secretsManager.requests).toEqual(['secretsmanager.BatchGetSecretValue']);
  });

  it('answers 502 upstream_unreachable and logs the failure when RunPod cannot be reached', async () => {
    // A second execution environment of the health bundle whose upstream refuses connections.
    const unreachable = await harness.start('health', { upstreamBaseUrl: await closedPortUrl() });
    const event = restProxyEvent({
      operation: 'health',
      surface: 'chat',
      headers: bearer(harness.token),
    });

    const response = callerResponseOf(await unreachable.process.invoke(event));

    expect(response.statusCode).toBe(502);
    expect(response.headers['Content-Type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'upstream_unreachable',
      requestId: event.requestContext.requestId,
    });
    await expect
      .poll(() =>
        unreachable.process
          .jsonLogs()
          .find(
            (line) =>
              line.message === 'request failed' &&
              line.requestId === event.requestContext.requestId,
          ),
      )
      .toMatchObject({ level: 'ERROR', code: 'upstream_unreachable' });
  });

  it('logs one JSON line per request without the token, the RunPod key or the Authorization header', async () => {
    const event = restProxyEvent({
      operation: 'health',
      surface: 'chat',
      headers: bearer(harness.token),
    });
    await health.process.invoke(event);

    // The log line and the response travel on different pipes: wait for the line.
    await expect
      .poll(() =>
        health.process
          .jsonLogs()
          .filter(
            (line) =>
              line.message === 'request completed' &&
              line.requestId === event.requestContext.requestId,
          ),
      )
      .toEqual([
        expect.objectContaining({
          level: 'INFO',
          operation: 'health',
          keyId: 'bundle-test',
          status: 200,
        }),
      ]);
    const output = harness.allOutput();
    expect(output).not.toBe('');
    expect(output).not.toContain(harness.token);
    expect(output).not.toContain(harness.simulator.apiKey);
    expect(output.toLowerCase()).not.toContain('authorization');
  });

  it('writes one valid EMF line per request, with bounded dimensions and the ids as properties', () => {
    const lines = emfLinesOf(harness.allOutput());
    const of = (operation: string, metric: string) =>
      lines.filter((line) => line.dimensions.operation === operation && metric in line.metrics);

    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(line.namespace).toBe('RunPodGateway');
      expect(Object.keys(line.dimensions).sort()).toEqual(['operation', 'service', 'surface']);
      expect(line.metrics.Requests).toBe(1);
      expect(line.units.Latency).toBe('Milliseconds');
      expect(JSON.stringify(line.root)).not.toContain(harness.token);
    }
    // A success through RunPod, a key refused, RunPod unreachable: each counted as such.
    expect(of('health', 'RunPod2xx')[0]).toMatchObject({
      dimensions: { surface: 'embeddings' },
      root: { keyId: expect.any(String), requestId: expect.any(String) },
    });
    expect(of('health', 'RunPod2xx')[0]?.metrics.RunPodLatency).toBeGreaterThanOrEqual(0);
    expect(lines.filter((line) => 'AuthFailures' in line.metrics).length).toBeGreaterThan(0);
    expect(lines.find((line) => 'AuthFailures' in line.metrics)?.metrics.Errors4xx).toBe(1);
    expect(lines.find((line) => 'RunPodUnreachable' in line.metrics)?.metrics.Errors5xx).toBe(1);
    expect(of('run', 'Requests').length).toBeGreaterThan(0);
  });
});
