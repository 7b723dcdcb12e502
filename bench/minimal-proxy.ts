import { createServer, type Server } from 'node:http';

/**
 * The floor of "a Node process in the middle": read the request, forward it with `fetch` (which
 * pools keep-alive connections), send the answer back. No auth, routing, validation or logging.
 */
export function createMinimalProxy(upstreamOrigin: string, authorization: string): Server {
  return createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      const answer = await fetch(`${upstreamOrigin}${request.url}`, {
        method: request.method,
        headers: {
          authorization,
          'content-type': request.headers['content-type'] ?? 'application/json',
        },
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      response.end(body);
    } catch {
      response.writeHead(502).end();
    }
  });
}
