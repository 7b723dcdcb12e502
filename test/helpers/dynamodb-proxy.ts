import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DynamoDbProxy {
  /** `http://127.0.0.1:<port>`: point the SDK here instead of the engine. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * A DynamoDB endpoint in front of a real engine: each request is shown to `observe` (its
 * operation, from `X-Amz-Target`, and its JSON body) and forwarded, unless `fails` says to answer
 * it with DynamoDB's own 500 `InternalServerError` instead — which the SDK retries and then
 * throws, a table outage as the functions see it.
 */
export async function startDynamoDbProxy(
  engineEndpoint: string,
  hooks: {
    readonly observe?: (operation: string, body: string) => void;
    readonly fails?: (operation: string) => boolean;
  },
): Promise<DynamoDbProxy> {
  const engine = new URL(engineEndpoint);
  const server: Server = createServer((request, response) => {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      const body = Buffer.concat(parts);
      hooks.observe?.(operation, body.toString('utf8'));
      if (hooks.fails?.(operation)) {
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
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
