import { Agent, createServer, request, type Server } from 'node:http';

/** The HTTP client the proxy forwards with: `fetch` (the budget's floor) or Node's own. */
export type ProxyClient = 'fetch' | 'node:http';

interface Forwarded {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

type Forward = (
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
) => Promise<Forwarded>;

/**
 * The floor of "a Node process in the middle": read the request, forward it (keep-alive
 * connections to the upstream), send the answer back. No auth, routing, validation or logging.
 */
export function createMinimalProxy(
  upstreamOrigin: string,
  authorization: string,
  client: ProxyClient = 'fetch',
): Server {
  const forward = client === 'fetch' ? forwardWithFetch : forwardWithNodeHttp();
  return createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      const answer = await forward(
        `${upstreamOrigin}${request.url}`,
        request.method ?? 'GET',
        {
          authorization,
          'content-type': request.headers['content-type'] ?? 'application/json',
        },
        chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      );
      response.writeHead(answer.status, {
        'content-type': answer.contentType ?? 'application/json',
      });
      response.end(answer.body);
    } catch {
      response.writeHead(502).end();
    }
  });
}

const forwardWithFetch: Forward = async (url, method, headers, body) => {
  const answer = await fetch(url, { method, headers, body });
  return {
    status: answer.status,
    contentType: answer.headers.get('content-type') ?? undefined,
    body: Buffer.from(await answer.arrayBuffer()),
  };
};

function forwardWithNodeHttp(): Forward {
  const agent = new Agent({ keepAlive: true });
  return (url, method, headers, body) =>
    new Promise((resolve, reject) => {
      const outgoing = request(url, { method, headers, agent });
      outgoing.once('error', reject);
      outgoing.once('response', (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (part: Buffer) => parts.push(part));
        answer.once('error', reject);
        answer.once('end', () =>
          resolve({
            status: answer.statusCode ?? 502,
            contentType: answer.headers['content-type'],
            body: Buffer.concat(parts),
          }),
        );
      });
      outgoing.end(body);
    });
}
