import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isStatus, sleep, startTestSimulator } from './simulator-client.ts';

interface Delivery {
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

const receivers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((close) => close()));
});

/** A webhook receiver answering `statusCode` to every delivery. */
async function startReceiver(statusCode: number): Promise<{ url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      deliveries.push({
        at: performance.now(),
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
      });
      response.writeHead(statusCode).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receivers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, deliveries };
}

async function until(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('webhooks', () => {
  it('posts the job object plus input and webhook once the job completes', async () => {
    const receiver = await startReceiver(200);
    const client = await startTestSimulator();
    const input = { x: 1, sim: { queueMs: 0, durationMs: 10 } };
    const id = await client.submit(input, { webhook: receiver.url });
    await until(() => receiver.deliveries.length === 1);

    const [delivery] = receiver.deliveries;
    expect(delivery?.body).toEqual({
      delayTime: expect.any(Number),
      executionTime: expect.any(Number),
      id,
      input,
      output: { echo: { x: 1 } },
      status: 'COMPLETED',
      webhook: receiver.url,
      workerId: expect.any(String),
    });
    expect(Object.keys(delivery?.body ?? {})).toEqual(Object.keys(delivery?.body ?? {}).sort());
    expect(delivery?.headers['content-type']).toBe('application/json');
    expect(delivery?.headers['user-agent']).toBe('Go-http-client/2.0');
    expect(delivery?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('makes three attempts in all against a failing receiver, and the job stays COMPLETED', async () => {
    const receiver = await startReceiver(500);
    const client = await startTestSimulator({ webhookRetryDelaysMs: [50, 150] });
    const id = await client.submit(
      { sim: { queueMs: 0, durationMs: 0 } },
      { webhook: receiver.url },
    );
    await until(() => receiver.deliveries.length === 3);
    await sleep(300);
    expect(receiver.deliveries).toHaveLength(3);
    const [first, second, third] = receiver.deliveries.map((delivery) => delivery.at);
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(45);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(145);
    expect(await client.status(id)).toMatchObject({ status: 'COMPLETED' });
  });

  it('reports a FAILED job with its error', async () => {
    const receiver = await startReceiver(204);
    const client = await startTestSimulator();
    const id = await client.submit(
      { sim: { queueMs: 0, durationMs: 0, fail: 'bad input' } },
      { webhook: receiver.url },
    );
    await client.waitFor(id, isStatus('FAILED'));
    await until(() => receiver.deliveries.length === 1);
    expect(receiver.deliveries[0]?.body).toMatchObject({
      id,
      status: 'FAILED',
      error: 'bad input',
    });
    await sleep(100);
    expect(receiver.deliveries).toHaveLength(1);
  });
});
