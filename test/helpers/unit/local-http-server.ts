import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the local server received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as sent on the request line. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Responder = (
  request: ReceivedRequest,
  response: ServerResponse,
) => void | Promise<void>;

export interface LocalHttpServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Every request received, in order. */
  readonly requests: ReceivedRequest[];
  /** How many TCP connections clients have opened so far. */
  readonly connections: () => number;
  /** Closes the connections that sit idle between requests, as a server's keep-alive timeout does. */
  closeIdleConnections(): void;
  /** Replaces how the server answers from now on. */
  respondWith(responder: Responder): void;
  close(): Promise<void>;
}

/** A real HTTP server on a random local port, standing in for RunPod. */
export async function startLocalHttpServer(responder: Responder): Promise<LocalHttpServer> {
  let respond = responder;
  const requests: ReceivedRequest[] = [];
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const received: ReceivedRequest = {
        method: incoming.method ?? '',
        url: incoming.url ?? '',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      Promise.resolve(respond(received, response)).catch((error: unknown) => {
        response.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });
  let connections = 0;
  server.on('connection', () => {
    connections += 1;
  });
  const port = await listen(server);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    closeIdleConnections: () => server.closeIdleConnections(),
    respondWith: (next) => {
      respond = next;
    },
    close: () => closeServer(server),
  };
}

/** A local port with nothing listening on it, so connections to it are refused. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await closeServer(server);
  return port;
}

/** Answers with a JSON (or any text) body and status. */
export function reply(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
): void {
  response.writeHead(status, headers);
  response.end(body);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
