import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FailingDynamoDb {
  /** `http://127.0.0.1:<port>`: the engine behind it, or a failure for the chosen operations. */
  readonly endpoint: string;
  /** DynamoDB operations (`PutItem`, `GetItem`, …) answered with a 500 until changed. */
  failing: ReadonlySet<string>;
  /** Requests answered with a failure so far, by operation. */
  readonly failures: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A DynamoDB endpoint that forwards to a real engine, except for the operations it is told to
 * fail: those get DynamoDB's own 500 `InternalServerError`, which the SDK retries and then
 * throws — a table outage as the functions see it.
 */
export async function startFailingDynamoDb(engineEndpoint: string): Promise<FailingDynamoDb> {
  const engine = new URL(engineEndpoint);
  const state: FailingDynamoDb = {
    endpoint: '',
    failing: new Set(),
    failures: new Map(),
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    if (state.failing.has(operation)) {
      request.resume();
      state.failures.set(operation, (state.failures.get(operation) ?? 0) + 1);
      response.writeHead(500, { 'Content-Type': 'application/x-amz-json-1.0' });
      response.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: 'injected outage',
        }),
      );
      return;
    }
    const upstream = httpRequest(
      {
        hostname: engine.hostname,
        port: engine.port,
        path: request.url,
        method: request.method,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
