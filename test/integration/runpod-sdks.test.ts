import { createRunpod } from '@runpod/ai-sdk-provider';
import { generateImage } from 'ai';
import runpodSdk from 'runpod-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewayFixture,
  startGatewayFixture,
  waitForTerminal,
} from '../helpers/local-gateway-fixture.ts';

/**
 * RunPod's own clients, unchanged, pointed at `npm start`'s runtime over real HTTP: the JS SDK
 * (`runpod-sdk`) with its base URL set to the gateway's `/v1/runpod` and the surface as the
 * endpoint id, and `@runpod/ai-sdk-provider` with its base URL set to a surface.
 */

/** RunPod's default `runsync` hold is 90 s; shortened so a job can outlive it in a test. */
const SYNC_WAIT_MS = 1_000;
/** A 1×1 PNG, served as a data: URL so the provider's image download needs no server. */
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const IMAGE_URL = `data:image/png;base64,${PNG_BASE64}`;

let fixture: GatewayFixture;

beforeAll(async () => {
  fixture = await startGatewayFixture({ simulator: { syncWaitMs: SYNC_WAIT_MS } });
});
afterAll(async () => {
  await fixture.close();
});

function endpoint(surface = 'chat', token = fixture.token) {
  const found = runpodSdk(token, { baseUrl: fixture.base }).endpoint(surface);
  if (!found) throw new Error('runpod-sdk returned no endpoint');
  return found;
}

function simulatorRequests(operation: string): number {
  return fixture.gateway.simulator?.stats().requests[operation] ?? 0;
}

/** What a rejected promise rejected with. */
async function rejectionOf(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the call to be refused');
}

describe('runpod-sdk (RunPod\u2019s JavaScript SDK) through the gateway', () => {
  it('run submits with every field of its request type, and status reads the job', async () => {
    const sdk = endpoint();

    const submitted = await sdk.run({
      input: { prompt: 'hello', sim: { durationMs: 50 } },
      webhook: 'https://hooks.example.com/done',
      webhookV2: 'https://hooks.example.com/v2',
      policy: { executionTimeout: 60_000, lowPriority: false, ttl: 600_000 },
      s3Config: {
        accessId: 'id',
        accessSecret: 'secret',
        bucketName: 'bucket',
        endpointUrl: 'https://s3.example.com',
        objectPath: 'out/',
      },
    });
    expect(submitted).toMatchObject({ id: expect.any(String), status: 'IN_QUEUE' });
    await waitForTerminal(fixture, 'chat', submitted.id);
    const status = await sdk.status(submitted.id);

    expect(status).toMatchObject({
      id: submitted.id,
      status: 'COMPLETED',
      output: { echo: { prompt: 'hello' } },
      started: true,
      completed: true,
      succeeded: true,
    });
  });

  it('runSync returns a short job\u2019s output from the first wait', async () => {
    const statusSyncsBefore = simulatorRequests('status-sync');

    const result = await endpoint().runSync({ input: { prompt: 'quick' } }, 5_000);

    expect(result).toMatchObject({
      status: 'COMPLETED',
      output: { echo: { prompt: 'quick' } },
      completed: true,
      succeeded: true,
    });
    expect(simulatorRequests('status-sync')).toBe(statusSyncsBefore);
  });

  it('runSync follows a job that outlives its first wait through /status-sync', async () => {
    const statusSyncsBefore = simulatorRequests('status-sync');

    // runsync?wait=2500 comes back IN_PROGRESS; the SDK then loops on /status-sync?wait=…
    const result = await endpoint().runSync(
      { input: { prompt: 'slow', sim: { durationMs: 3_500, queueMs: 0 } } },
      2_500,
    );

    expect(result).toMatchObject({
      status: 'COMPLETED',
      output: { echo: { prompt: 'slow' } },
      completed: true,
      succeeded: true,
    });
    expect(simulatorRequests('status-sync')).toBeGreaterThan(statusSyncsBefore);
  });

  it('statusSync waits for a running job to end', async () => {
    const sdk = endpoint();
    const { id } = await sdk.run({ input: { sim: { durationMs: 800, queueMs: 0 } } });

    const result = await sdk.statusSync(id, 10_000);

    expect(result).toMatchObject({ id, status: 'COMPLETED', completed: true, succeeded: true });
  });

  it('stream yields every chunk exactly once, in order, and ends with the job', async () => {
    const sdk = endpoint();
    const { id } = await sdk.run({
      input: { sim: { stream: 12, chunkIntervalMs: 40, queueMs: 0 } },
    });

    const chunks: unknown[] = [];
    for await (const chunk of sdk.stream(id)) chunks.push(chunk);

    expect(chunks).toEqual(
      Array.from({ length: 12 }, (_, index) => ({ output: { index, text: `chunk ${index}` } })),
    );
    expect((await sdk.status(id)).status).toBe('COMPLETED');
  });

  it('cancel stops a running job', async () => {
    const sdk = endpoint();
    const { id } = await sdk.run({ input: { sim: { durationMs: 60_000, queueMs: 0 } } });

    const cancelled = await sdk.cancel(id);

    expect(cancelled).toMatchObject({ id, status: 'CANCELLED' });
    expect((await sdk.status(id)).status).toBe('CANCELLED');
  });

  it('purgeQueue removes the queued jobs and health counts the endpoint\u2019s jobs', async () => {
    const sdk = endpoint('images');
    const queued = await Promise.all(
      [1, 2].map(() => sdk.run({ input: { sim: { queueMs: 600_000 } } })),
    );

    const health = await sdk.health();
    const purged = await sdk.purgeQueue();

    expect(health.jobs.inQueue).toBeGreaterThanOrEqual(2);
    expect(Object.keys(health.workers).sort()).toEqual(
      ['idle', 'initializing', 'ready', 'running', 'throttled', 'unhealthy'].sort(),
    );
    expect(purged).toEqual({ removed: queued.length, status: 'completed' });
  });

  it('a refused call throws with the gateway\u2019s reason in the error body', async () => {
    const chatOnly = await fixture.createToken('sdk-chat-only', ['chat']);

    const error = await rejectionOf(endpoint('images', chatOnly).health());

    const response = error.response as { status: number; data: Record<string, unknown> };
    expect(response.status).toBe(403);
    expect(response.data).toMatchObject({
      code: 'forbidden',
      error: 'API key sdk-chat-only is not allowed to use surface images',
    });
  });

  it('an unknown job is a 404 whose error names the job', async () => {
    const error = await rejectionOf(endpoint().status('00000000-0000-0000-0000-000000000000-u1'));

    const response = error.response as { status: number; data: Record<string, unknown> };
    expect(response.status).toBe(404);
    expect(response.data).toMatchObject({
      code: 'job_not_found',
      error: 'No job 00000000-0000-0000-0000-000000000000-u1 on surface chat',
    });
  });
});

describe('@runpod/ai-sdk-provider through the gateway', () => {
  function imageModel(token = fixture.token) {
    return createRunpod({ apiKey: token, baseURL: `${fixture.base}/images` }).image(
      'black-forest-labs-flux-1-schnell',
    );
  }

  it('generates an image from a runsync that completes at once', async () => {
    const result = await generateImage({
      model: imageModel(),
      prompt: 'a lighthouse',
      providerOptions: { runpod: { sim: { output: { image_url: IMAGE_URL } } } },
    });

    expect(Buffer.from(result.image.uint8Array).toString('base64')).toBe(PNG_BASE64);
  });

  it('polls /status when the job outlives runsync\u2019s wait, then generates the image', async () => {
    const statusBefore = simulatorRequests('status');

    const result = await generateImage({
      model: imageModel(),
      prompt: 'a slow lighthouse',
      providerOptions: {
        runpod: {
          pollIntervalMillis: 200,
          sim: { durationMs: SYNC_WAIT_MS + 800, queueMs: 0, output: { result: IMAGE_URL } },
        },
      },
    });

    expect(Buffer.from(result.image.uint8Array).toString('base64')).toBe(PNG_BASE64);
    expect(simulatorRequests('status')).toBeGreaterThan(statusBefore);
  });

  it('shows the gateway\u2019s reason, not "Unknown Runpod error", when a call is refused', async () => {
    const chatOnly = await fixture.createToken('provider-chat-only', ['chat']);

    const error = await rejectionOf(
      generateImage({ model: imageModel(chatOnly), prompt: 'refused' }),
    );

    expect(error.message).toBe('API key provider-chat-only is not allowed to use surface images');
    expect(error.statusCode).toBe(403);
  });

  it('shows the gateway\u2019s reason for a bad token', async () => {
    const error = await rejectionOf(
      generateImage({ model: imageModel('rpg_not-a-real-token'), prompt: 'refused' }),
    );

    expect(error.message).toBe('The API key is unknown, expired or disabled');
    expect(error.statusCode).toBe(401);
  });
});
