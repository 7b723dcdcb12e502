import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BundleHarness,
  parseSse,
  startBundleHarness,
} from '../helpers/lambda/bundle-harness.ts';
import { bundleFixture } from '../helpers/lambda/fixture-bundle.ts';
import { type LambdaProcess, startLambdaProcess } from '../helpers/lambda/ric-process.ts';
import type { InvocationResult } from '../helpers/lambda/runtime-api-emulator.ts';
import type { MiddyFixtureEvent } from './fixtures/middy-stream-failures.ts';
import type { RawFixtureEvent } from './fixtures/raw-stream-failure.ts';

type Streamed = Extract<InvocationResult, { kind: 'streamed' }>;

function streamed(result: InvocationResult): Streamed {
  if (result.kind !== 'streamed')
    throw new Error(`Expected a streamed response, got ${JSON.stringify(result)}`);
  return result;
}

const FIXTURES = join(import.meta.dirname, 'fixtures');

/**
 * How the Lambda runtime (aws-lambda-ric 4.0.2 on Node 24) reports streamed failures that the
 * gateway's bundles cannot be driven into from outside, shown with test-only handlers bundled
 * like the functions (`fixtures/`), plus a cold start of a real bundle with a bad setting.
 */
describe('Lambda runtime failure contract', () => {
  const bundles: string[] = [];
  const processes: LambdaProcess[] = [];

  async function startFixture(module: string, name: string): Promise<LambdaProcess> {
    const assetDir = await bundleFixture(join(FIXTURES, module));
    bundles.push(assetDir);
    const lambda = await startLambdaProcess({
      definition: {
        assetDir,
        handler: 'index.handler',
        memorySize: 256,
        timeoutSeconds: 10,
        environment: {},
        logFormat: 'JSON',
      },
      functionName: name,
      // The fixtures read no secret.
      secretsManagerUrl: 'http://127.0.0.1:9',
    });
    processes.push(lambda);
    return lambda;
  }

  afterAll(async () => {
    await Promise.all(processes.map((lambda) => lambda.stop()));
    await Promise.all(bundles.map((directory) => rm(directory, { recursive: true, force: true })));
  });

  describe('with the runtime’s own streaming API', () => {
    let raw: LambdaProcess;

    beforeAll(async () => {
      raw = await startFixture('raw-stream-failure.ts', 'raw-stream-failure');
    });

    it('an exception after the first write ends the body with the error trailers', async () => {
      const result = streamed(
        await raw.invoke({ scenario: 'write-then-throw' } satisfies RawFixtureEvent),
      );

      expect(result.prelude).toEqual({
        statusCode: 200,
        headers: { 'Content-Type': 'text/plain' },
      });
      expect(result.body).toBe('first line\n');
      expect(result.errorType).toBe('FixtureFailure');
      expect(result.errorBody).toMatchObject({
        errorType: 'FixtureFailure',
        errorMessage: 'thrown after the first write',
      });
    });

    it('the execution environment keeps serving after such a failure', async () => {
      await raw.invoke({ scenario: 'write-then-throw' } satisfies RawFixtureEvent);

      const result = streamed(
        await raw.invoke({ scenario: 'write-then-end' } satisfies RawFixtureEvent),
      );

      expect(result.body).toBe('first line\nlast line\n');
      expect(result.errorType).toBeUndefined();
    });
  });

  describe('in middy 7’s streaming mode, as the gateway’s streamed routes run', () => {
    let pending: Promise<InvocationResult> | undefined;

    afterEach(async () => {
      await pending?.catch(() => undefined);
      pending = undefined;
    });

    it('an exception before any write ends an empty body with the error trailers and no prelude', async () => {
      const lambda = await startFixture('middy-stream-failures.ts', 'middy-throw-before-write');

      const result = streamed(
        await lambda.invoke({ scenario: 'throw-before-first-write' } satisfies MiddyFixtureEvent),
      );

      expect(result.contentType).toBe('application/octet-stream');
      expect(result.prelude).toBeUndefined();
      expect(result.body).toBe('');
      expect(result.errorType).toBe('FixtureFailure');
      expect(result.errorBody).toMatchObject({ errorMessage: 'failed before the first byte' });
    });

    it('a body failing after its first write aborts the response stream without trailers and the runtime exits', async () => {
      const lambda = await startFixture('middy-stream-failures.ts', 'middy-body-fails');
      let received = '';

      pending = lambda.invoke(
        { scenario: 'body-fails-after-first-write' } satisfies MiddyFixtureEvent,
        {
          onChunk: (_chunk, bodyBytes) => {
            received += bodyBytes.toString('utf8');
          },
        },
      );

      // middy pipes the body into the response stream; the pipeline destroys the response
      // stream, so the runtime cannot send trailers, and aws-lambda-ric leaves the rejected
      // response-stream promises unhandled: Node exits (Lambda reports Runtime.ExitError).
      await expect(pending).rejects.toThrow(/aborted the response stream/);
      expect(received).toBe('id: 1\nevent: output\ndata: "first"\n\n');
      await expect(lambda.exited).resolves.toBe(1);
      expect(lambda.output()).toContain('FixtureFailure: the body failed after its first event');
    });

    it('the gateway relay’s failure path ends the stream with event: error and the runtime keeps serving', async () => {
      const lambda = await startFixture('middy-stream-failures.ts', 'middy-relay-bug');
      let received = '';

      const result = streamed(
        await lambda.invoke({ scenario: 'relay-bug' } satisfies MiddyFixtureEvent, {
          onChunk: (_chunk, bodyBytes) => {
            received += bodyBytes.toString('utf8');
          },
        }),
      );

      const events = parseSse(received);
      expect(events.map((sse) => sse.event)).toEqual(['status', 'status', 'output', 'error']);
      expect(events.at(-1)?.data).toMatchObject({
        status: 500,
        code: 'internal_error',
        requestId: 'fixture-request',
      });
      // The caller is told by the event; the body ends cleanly instead of killing the process.
      expect(result.errorType).toBeUndefined();
      expect(lambda.output()).toContain('stream relay failed');
      const again = streamed(
        await lambda.invoke({ scenario: 'relay-bug' } satisfies MiddyFixtureEvent),
      );
      expect(parseSse(again.body).at(-1)?.event).toBe('error');
    });
  });

  describe('a real bundle with a bad setting', () => {
    let harness: BundleHarness;

    beforeAll(async () => {
      harness = await startBundleHarness();
    });

    afterAll(async () => {
      await harness?.close();
    });

    it('fails its cold start through /init/error, naming the setting', async () => {
      await expect(
        harness.start('run', {
          environmentOverrides: { MAX_REQUEST_BODY_BYTES: 'five megabytes' },
        }),
      ).rejects.toThrow(
        /Function init failed: Error: MAX_REQUEST_BODY_BYTES must be a positive integer/,
      );
    });
  });
});
