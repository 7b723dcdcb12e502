import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A RunPod stand-in that misbehaves on purpose. The endpoint id chooses the fault, so one
 * gateway can exercise every failure through `?endpointId=`. It counts requests per path.
 */
export const FAULTS = {
  rejects400: 'fault400',
  unauthorized401: 'fault401',
  forbidden403: 'fault403',
  notFound404: 'fault404',
  rateLimited: 'fault429',
  rateLimitedNoHeader: 'fault429bare',
  serverError: 'fault500',
  unavailable: 'fault503',
  flaky: 'faultflaky',
  garbage: 'faultgarbage',
  slow: 'faultslow',
  reset: 'faultreset',
  streamBreaks: 'faultstreambreak',
  streamRateLimited: 'faultstream429',
  /** A misconfigured base URL or egress proxy that reflects the request in its 400/404 text. */
  reflects400: 'faultreflect400',
  reflects404: 'faultreflect404',
  /** A 2 MiB answer, and one that never ends. */
  huge: 'faulthuge',
  endless: 'faultendless',
  /** Headers at once, then one byte of body every 50 ms, never finishing (a slow drip). */
  drip: 'faultdrip',
  /** `/stream`: headers and half a JSON body with a chunk in it, then the connection reset. */
  streamResetMidBody: 'faultstreamreset',
  /** `/stream`: a slow drip instead of a poll's answer. */
  streamDrip: 'faultstreamdrip',
} as const;

export const FAULT_API_KEY = 'fault-upstream-key';

export interface FaultUpstream {
  readonly baseUrl: string;
  hits(path: string): number;
  close(): Promise<void>;
}

function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** Answers 200 at once, then a byte every 50 ms until the client gives up. */
function drip(response: ServerResponse): void {
  response.writeHead(200, { 'Content-Type': 'application/json' });
  response.write('{"id":"job-1","status":"COMPLETED","output":"');
  const timer = setInterval(() => {
    if (response.destroyed) clearInterval(timer);
    else response.write('x');
  }, 50);
  response.once('close', () => clearInterval(timer));
}

export async function startFaultUpstream(): Promise<FaultUpstream> {
  const hits = new Map<string, number>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const count = (hits.get(url.pathname) ?? 0) + 1;
    hits.set(url.pathname, count);
    const [, , endpointId = '', operation = ''] = url.pathname.split('/');
    request.resume();
    if (request.headers.authorization !== `Bearer ${FAULT_API_KEY}`) {
      return json(response, 401, { error: 'Unauthorized' });
    }
    switch (endpointId) {
      case FAULTS.rejects400:
        return json(response, 400, { error: 'input.prompt is required by this worker' });
      case FAULTS.huge:
        response.writeHead(200, { 'Content-Type': 'application/json' });
        return response.end(
          `{"id":"job-1","status":"COMPLETED","output":"${'x'.repeat(2 * 1024 * 1024)}"}`,
        );
      case FAULTS.endless: {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.write('{"id":"job-1","status":"COMPLETED","output":"');
        const chunk = 'x'.repeat(64 * 1024);
        const timer = setInterval(() => {
          if (response.destroyed) clearInterval(timer);
          else response.write(chunk);
        }, 1);
        response.once('close', () => clearInterval(timer));
        return;
      }
      case FAULTS.drip:
        return drip(response);
      case FAULTS.streamResetMidBody:
        if (operation === 'status')
          return json(response, 200, { id: 'job-1', status: 'IN_PROGRESS' });
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.write('{"status":"IN_PROGRESS","stream":[{"output":{"index":0}}');
        setTimeout(() => request.socket.destroy(), 20).unref();
        return;
      case FAULTS.streamDrip:
        if (operation === 'status')
          return json(response, 200, { id: 'job-1', status: 'IN_PROGRESS' });
        return drip(response);
      case FAULTS.reflects400:
      case FAULTS.reflects404:
        return json(response, endpointId === FAULTS.reflects400 ? 400 : 404, {
          message: `Cannot route ${request.method} ${url.pathname}; headers were authorization=${request.headers.authorization} x-api-key: ${FAULT_API_KEY} token rpa_ABCDEF0123456789ABCDEF`,
        });
      case FAULTS.unauthorized401:
        return json(response, 401, { error: 'key rpa_SECRETSECRET is not valid' });
      case FAULTS.forbidden403:
        return json(response, 403, { error: 'restricted key' });
      case FAULTS.notFound404:
        return json(response, 404, { error: 'job not found' });
      case FAULTS.rateLimited:
        return json(response, 429, { error: 'slow down' }, { 'Retry-After': '7' });
      case FAULTS.rateLimitedNoHeader:
        return json(response, 429, { error: 'slow down' });
      case FAULTS.serverError:
        return json(response, 500, { error: 'boom' });
      case FAULTS.unavailable:
        return json(response, 503, { error: 'unavailable' });
      case FAULTS.flaky:
        return count === 1
          ? json(response, 503, {})
          : json(response, 200, { id: 'job-1', status: 'COMPLETED' });
      case FAULTS.garbage:
        response.writeHead(200, { 'Content-Type': 'application/json' });
        return response.end('<html>not json</html>');
      case FAULTS.slow:
        setTimeout(() => json(response, 200, { id: 'late', status: 'COMPLETED' }), 3_000).unref();
        return;
      case FAULTS.reset:
        return request.socket.destroy();
      case FAULTS.streamBreaks:
        if (operation === 'status')
          return json(response, 200, { id: 'job-1', status: 'IN_PROGRESS' });
        return count === 1
          ? json(response, 200, { status: 'IN_PROGRESS', stream: [{ output: { index: 0 } }] })
          : json(response, 500, { error: 'internal' });
      case FAULTS.streamRateLimited:
        if (operation === 'status')
          return json(response, 200, { id: 'job-1', status: 'IN_PROGRESS' });
        return count === 1
          ? json(response, 429, { error: 'slow down' }, { 'Retry-After': '1' })
          : json(response, 200, { status: 'COMPLETED', stream: [{ output: { index: 0 } }] });
      default:
        return json(response, 404, { error: `unknown endpoint ${endpointId}` });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v2`,
    hits: (path) => hits.get(path) ?? 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A routing config whose `fault` surface allows every fault endpoint as an override. */
export function faultRouting(): unknown {
  // The fault upstream's job ids were never submitted through the gateway: the surface lets
  // such jobs through, routed by `?endpointId=`.
  return {
    surfaces: { fault: { allowedEndpointIds: Object.values(FAULTS), allowUnrecordedJobs: true } },
  };
}
