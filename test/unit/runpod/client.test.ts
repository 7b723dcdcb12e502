import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RunPodCall, RunPodClient } from '../../../functions/runpod/client.ts';
import {
  RunPodHttpError,
  RunPodInvalidResponseError,
  RunPodNetworkError,
  RunPodTimeoutError,
} from '../../../functions/runpod/errors.ts';
import { rejected } from '../../helpers/unit/caught.ts';
import {
  type LocalHttpServer,
  refusedPort,
  reply,
  startLocalHttpServer,
} from '../../helpers/unit/local-http-server.ts';

const API_KEY = 'rpa_UNITTESTKEY0123456789';

describe('RunPodClient', () => {
  let server: LocalHttpServer;
  let client: RunPodClient;

  const call = (overrides: Partial<RunPodCall> = {}): RunPodCall => ({
    endpointId: 'abc123endpoint',
    path: 'health',
    method: 'GET',
    apiKey: API_KEY,
    timeoutMs: 2_000,
    ...overrides,
  });

  beforeAll(async () => {
    server = await startLocalHttpServer((_request, response) => reply(response, 200, '{}'));
    // A trailing slash on the base URL must not double up in request paths.
    client = new RunPodClient(`${server.baseUrl}/v2/`);
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    server.requests.length = 0;
    server.respondWith((_request, response) => reply(response, 200, '{}'));
  });

  describe('urlOf', () => {
    it('puts the endpoint id and the path below the base URL', () => {
      expect(client.urlOf({ endpointId: 'abc123endpoint', path: 'status/job-1' })).toBe(
        `${server.baseUrl}/v2/abc123endpoint/status/job-1`,
      );
    });

    it('adds the query parameters, encoded', () => {
      expect(
        client.urlOf({
          endpointId: 'abc123endpoint',
          path: 'runsync',
          query: { wait: '1000', q: 'a b&c' },
        }),
      ).toBe(`${server.baseUrl}/v2/abc123endpoint/runsync?wait=1000&q=a+b%26c`);
    });

    it('encodes an endpoint id so that it cannot leave its path segment', () => {
      expect(client.urlOf({ endpointId: '../admin?x=1', path: 'run' })).toBe(
        `${server.baseUrl}/v2/..%2Fadmin%3Fx%3D1/run`,
      );
    });
  });

  describe('send', () => {
    it('calls the endpoint path with the query on the RunPod server', async () => {
      // Act
      await client.send(call({ path: 'stream/job-1', query: { wait: '5000' } }));

      // Assess
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]).toMatchObject({
        method: 'GET',
        url: '/v2/abc123endpoint/stream/job-1?wait=5000',
      });
    });

    it('sends the RunPod key as a bearer token, asks for JSON and names itself', async () => {
      // Act
      await client.send(call());

      // Assess
      expect(server.requests[0]?.headers).toMatchObject({
        authorization: `Bearer ${API_KEY}`,
        accept: 'application/json',
        'user-agent': 'runpod-gateway/0.1',
      });
    });

    it('posts the body exactly as given, as JSON, with the request id', async () => {
      // Prepare
      const body = '{"input":{"n":12345678901234567890, "text":"héllo"}}';

      // Act
      await client.send(call({ path: 'run', method: 'POST', body, requestId: 'req-42' }));

      // Assess
      expect(server.requests[0]).toMatchObject({
        method: 'POST',
        url: '/v2/abc123endpoint/run',
        body,
      });
      expect(server.requests[0]?.headers).toMatchObject({
        'content-type': 'application/json',
        'x-request-id': 'req-42',
      });
    });

    it('sends no Content-Type and no X-Request-Id when there is no body and no request id', async () => {
      // Act
      await client.send(call());

      // Assess
      expect(server.requests[0]?.headers['content-type']).toBeUndefined();
      expect(server.requests[0]?.headers['x-request-id']).toBeUndefined();
    });

    it('returns the status, the exact body text and the parsed object on success', async () => {
      // Prepare
      const text = '{ "id" : "job-1",\n  "delayTime": 1.50, "status":"IN_QUEUE" }';
      server.respondWith((_request, response) => reply(response, 200, text));

      // Act
      const answer = await client.send(call());

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.text).toBe(text);
      expect(answer.json).toEqual({ id: 'job-1', delayTime: 1.5, status: 'IN_QUEUE' });
    });

    it('rejects a 2xx body that is not JSON with RunPodInvalidResponseError', async () => {
      // Prepare
      server.respondWith((_request, response) =>
        reply(response, 200, '<html>ok</html>', { 'Content-Type': 'text/html' }),
      );

      // Act
      const error = await rejected(client.send(call()), RunPodInvalidResponseError);

      // Assess
      expect(error.message).toBe('RunPod answered with a body that is not JSON');
    });

    it.each([
      ['an array', '[{"id":"job-1"}]'],
      ['null', 'null'],
      ['a string', '"ok"'],
    ])(
      'rejects a 2xx JSON body that is %s with RunPodInvalidResponseError',
      async (_case, body) => {
        // Prepare
        server.respondWith((_request, response) => reply(response, 200, body));

        // Act
        const error = await rejected(client.send(call()), RunPodInvalidResponseError);

        // Assess
        expect(error.message).toBe('RunPod answered with JSON that is not an object');
      },
    );

    it('rejects a 4xx with RunPodHttpError carrying the status and RunPod error message', async () => {
      // Prepare
      server.respondWith((_request, response) =>
        reply(response, 400, '{"error":"input is required"}'),
      );

      // Act
      const error = await rejected(client.send(call()), RunPodHttpError);

      // Assess
      expect(error.status).toBe(400);
      expect(error.upstreamMessage).toBe('input is required');
      expect(error.retryAfter).toBeUndefined();
    });

    it('takes RunPod message field when there is no error field', async () => {
      // Prepare
      server.respondWith((_request, response) =>
        reply(response, 404, '{"message":"job not found"}'),
      );

      // Act
      const error = await rejected(client.send(call()), RunPodHttpError);

      // Assess
      expect(error).toMatchObject({ status: 404, upstreamMessage: 'job not found' });
    });

    it('has no upstream message when the error field is not text', async () => {
      // Prepare
      server.respondWith((_request, response) => reply(response, 400, '{"error":{"code":7}}'));

      // Act + Assess
      expect(
        (await rejected(client.send(call()), RunPodHttpError)).upstreamMessage,
      ).toBeUndefined();
    });

    it('strips control characters from RunPod message', async () => {
      // Prepare
      server.respondWith((_request, response) =>
        reply(
          response,
          400,
          JSON.stringify({ error: '\u0007bad\u0000input\r\n\u001b[31mred\u007f\t' }),
        ),
      );

      // Act
      const error = await rejected(client.send(call()), RunPodHttpError);

      // Assess
      expect(error.upstreamMessage).toBe('bad input [31mred');
    });

    it('replaces the RunPod key, in every form a reflection carries it, and credential shapes', async () => {
      // Prepare
      const key = 'rpa_KEY/with+chars=';
      server.respondWith((_request, response) =>
        reply(
          response,
          400,
          JSON.stringify({
            error: `raw ${key} url ${encodeURIComponent(key)} auth Bearer abc.def gateway rpg_0123456789abcdef`,
          }),
        ),
      );

      // Act
      const error = await rejected(client.send(call({ apiKey: key })), RunPodHttpError);

      // Assess
      expect(error.upstreamMessage).toBe(
        'raw [redacted] url [redacted] auth [redacted] gateway [redacted]',
      );
    });

    it('truncates a RunPod message longer than 500 characters', async () => {
      // Prepare
      server.respondWith((_request, response) =>
        reply(response, 400, JSON.stringify({ error: 'x'.repeat(600) })),
      );

      // Act
      const error = await rejected(client.send(call()), RunPodHttpError);

      // Assess
      expect(error.upstreamMessage).toBe(`${'x'.repeat(500)}…`);
    });

    it('passes the Retry-After header of a 429 on', async () => {
      // Prepare
      server.respondWith((_request, response) =>
        reply(response, 429, '{"error":"rate limited"}', {
          'Content-Type': 'application/json',
          'Retry-After': '7',
        }),
      );

      // Act
      const error = await rejected(client.send(call()), RunPodHttpError);

      // Assess
      expect(error).toMatchObject({
        status: 429,
        retryAfter: '7',
        upstreamMessage: 'rate limited',
      });
    });

    it('rejects with RunPodTimeoutError when RunPod does not answer in time', async () => {
      // Prepare: the server never answers
      server.respondWith(() => undefined);
      const started = Date.now();

      // Act
      const error = await rejected(client.send(call({ timeoutMs: 150 })), RunPodTimeoutError);

      // Assess
      expect(error.timeoutMs).toBe(150);
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('rejects with RunPodTimeoutError when the body stalls after the headers', async () => {
      // Prepare
      server.respondWith((_request, response) => {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.write('{"status":');
      });

      // Act + Assess
      await rejected(client.send(call({ timeoutMs: 150 })), RunPodTimeoutError);
    });

    it('rejects with RunPodNetworkError when the connection is refused', async () => {
      // Prepare
      const refused = new RunPodClient(`http://127.0.0.1:${await refusedPort()}/v2`);

      // Act
      const error = await rejected(refused.send(call()), RunPodNetworkError);

      // Assess
      expect(error.message).toBe('RunPod could not be reached');
      expect(error.cause).toBeInstanceOf(Error);
    });

    it('rejects with RunPodNetworkError, once, when the connection drops without an answer', async () => {
      // Prepare
      server.respondWith((_request, response) => {
        response.socket?.destroy();
      });

      // Act
      await rejected(
        client.send(call({ path: 'cancel/job-1', method: 'POST' })),
        RunPodNetworkError,
      );

      // Assess
      expect(server.requests).toHaveLength(1);
    });

    it('rejects with RunPodNetworkError when the body is cut short after the headers', async () => {
      // Prepare: RunPod announces 100 bytes, sends a few, and the connection drops
      server.respondWith((_request, response) => {
        response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
        response.write('{"status":');
        setTimeout(() => response.socket?.destroy(), 20);
      });

      // Act + Assess: never a partial body passed off as an answer
      await rejected(client.send(call()), RunPodNetworkError);
    });

    it('decodes a UTF-8 character split across two chunks of the body', async () => {
      // Prepare
      const bytes = Buffer.from('{"text":"héllo 😀"}');
      server.respondWith((_request, response) => {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.write(bytes.subarray(0, 13)); // ends inside the emoji's four bytes
        setTimeout(() => response.end(bytes.subarray(13)), 20);
      });

      // Act
      const answer = await client.send(call());

      // Assess
      expect(answer.json).toEqual({ text: 'héllo 😀' });
    });

    it('reuses one kept-alive connection for calls in sequence', async () => {
      // Prepare
      const before = server.connections();

      // Act
      await client.send(call());
      await client.send(call({ path: 'run', method: 'POST', body: '{"input":{}}' }));
      await client.send(call());

      // Assess
      expect(server.connections() - before).toBeLessThanOrEqual(1);
    });

    it('opens a new connection when RunPod has closed the idle one', async () => {
      // Prepare
      await client.send(call());
      const before = server.connections();
      server.closeIdleConnections();
      await new Promise((done) => setTimeout(done, 20));

      // Act
      const answer = await client.send(call());

      // Assess
      expect(answer.status).toBe(200);
      expect(server.connections()).toBe(before + 1);
    });

    it('does not send on a connection RunPod closed while the process was frozen (Lambda between invocations)', async () => {
      // Prepare: a kept-alive connection, which RunPod then closes; the process does not get to
      // see that (no turn of the event loop) before its clock has moved on, as after a thaw
      await client.send(call());
      server.closeIdleConnections();
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 60_000 });

      try {
        // Act: a submission, which is never retried
        const answer = await client.send(
          call({ path: 'run', method: 'POST', body: '{"input":{}}' }),
        );

        // Assess
        expect(answer.status).toBe(200);
      } finally {
        vi.useRealTimers();
      }
    });

    it('waits for an answer slower than the idle-connection timeout (a long poll)', async () => {
      // Prepare: idle kept-alive connections close after 4 s; a call in flight must not
      server.respondWith((_request, response) => {
        setTimeout(() => reply(response, 200, '{"status":"IN_PROGRESS"}'), 4_500);
      });

      // Act
      const answer = await client.send(call({ path: 'stream/job-1', timeoutMs: 10_000 }));

      // Assess
      expect(answer.json).toEqual({ status: 'IN_PROGRESS' });
    }, 10_000);

    it('rejects with the caller abort reason when the caller goes away', async () => {
      // Prepare
      server.respondWith(() => undefined);
      const controller = new AbortController();
      const reason = new Error('caller left');
      setTimeout(() => controller.abort(reason), 50);

      // Act
      const error = await rejected(client.send(call({ signal: controller.signal })), Error);

      // Assess
      expect(error).toBe(reason);
    });

    it('never retries, even a 503', async () => {
      // Prepare
      server.respondWith((_request, response) => reply(response, 503, '{"error":"busy"}'));

      // Act
      const error = await rejected(
        client.send(call({ path: 'run', method: 'POST', body: '{}' })),
        RunPodHttpError,
      );

      // Assess
      expect(error.status).toBe(503);
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('sendIdempotent', () => {
    it('retries a 503 and returns the answer that follows', async () => {
      // Prepare
      server.respondWith((_request, response) => {
        if (server.requests.length === 1) reply(response, 503, '{"error":"busy"}');
        else reply(response, 200, '{"jobs":{"completed":1}}');
      });

      // Act
      const answer = await client.sendIdempotent(call(), { deadline: Date.now() + 5_000 });

      // Assess
      expect(answer.text).toBe('{"jobs":{"completed":1}}');
      expect(server.requests).toHaveLength(2);
    });

    it.each([502, 504])('retries a %i', async (status) => {
      // Prepare
      server.respondWith((_request, response) => {
        if (server.requests.length === 1) reply(response, status, '{}');
        else reply(response, 200, '{"ok":true}');
      });

      // Act
      const answer = await client.sendIdempotent(call(), { deadline: Date.now() + 5_000 });

      // Assess
      expect(answer.json).toEqual({ ok: true });
      expect(server.requests).toHaveLength(2);
    });

    it.each([400, 404, 429, 500])('does not retry a %i', async (status) => {
      // Prepare
      server.respondWith((_request, response) => reply(response, status, '{"error":"no"}'));

      // Act
      const error = await rejected(
        client.sendIdempotent(call(), { deadline: Date.now() + 5_000 }),
        RunPodHttpError,
      );

      // Assess
      expect(error.status).toBe(status);
      expect(server.requests).toHaveLength(1);
    });

    it('does not retry a timeout', async () => {
      // Prepare
      server.respondWith(() => undefined);

      // Act
      await rejected(
        client.sendIdempotent(call({ timeoutMs: 100 }), { deadline: Date.now() + 5_000 }),
        RunPodTimeoutError,
      );

      // Assess
      expect(server.requests).toHaveLength(1);
    });

    it('retries a connection dropped without an answer and returns the answer that follows', async () => {
      // Prepare
      server.respondWith((_request, response) => {
        if (server.requests.length === 1) response.socket?.destroy();
        else reply(response, 200, '{"ok":true}');
      });

      // Act
      const answer = await client.sendIdempotent(call(), { deadline: Date.now() + 5_000 });

      // Assess
      expect(answer.json).toEqual({ ok: true });
      expect(server.requests).toHaveLength(2);
    });

    it('rejects with RunPodNetworkError when every attempt is refused', async () => {
      // Prepare
      const refused = new RunPodClient(`http://127.0.0.1:${await refusedPort()}/v2`);

      // Act + Assess
      await rejected(
        refused.sendIdempotent(call(), { deadline: Date.now() + 5_000, maxAttempts: 2 }),
        RunPodNetworkError,
      );
    });

    it('stops after three attempts by default', async () => {
      // Prepare
      server.respondWith((_request, response) => reply(response, 503, '{}'));

      // Act
      await rejected(
        client.sendIdempotent(call(), { deadline: Date.now() + 10_000 }),
        RunPodHttpError,
      );

      // Assess
      expect(server.requests).toHaveLength(3);
    });

    it('stops after maxAttempts', async () => {
      // Prepare
      server.respondWith((_request, response) => reply(response, 503, '{}'));

      // Act
      await rejected(
        client.sendIdempotent(call(), { deadline: Date.now() + 10_000, maxAttempts: 1 }),
        RunPodHttpError,
      );

      // Assess
      expect(server.requests).toHaveLength(1);
    });

    it('gives up by the deadline while RunPod keeps answering 503', async () => {
      // Prepare
      server.respondWith((_request, response) => reply(response, 503, '{"error":"busy"}'));
      const deadline = Date.now() + 400;

      // Act
      const error = await rejected(
        client.sendIdempotent(call(), { deadline, maxAttempts: 1_000 }),
        RunPodHttpError,
      );

      // Assess
      expect(error.status).toBe(503);
      expect(Date.now()).toBeLessThanOrEqual(deadline + 100);
      expect(server.requests.length).toBeGreaterThanOrEqual(1);
      expect(server.requests.length).toBeLessThan(20);
    });

    it('cuts an attempt short at the deadline even when the call allows longer', async () => {
      // Prepare
      server.respondWith(() => undefined);
      const deadline = Date.now() + 200;

      // Act
      await rejected(
        client.sendIdempotent(call({ timeoutMs: 10_000 }), { deadline }),
        RunPodTimeoutError,
      );

      // Assess
      expect(Date.now()).toBeLessThan(deadline + 500);
    });
  });
});
