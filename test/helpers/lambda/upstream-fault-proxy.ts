import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does to a request a fault matches:
 * - `garbage`: answers 200 with an HTML page instead of RunPod's JSON (a misbehaving proxy
 *   or load balancer in the path);
 * - `drop-response`: forwards the request (RunPod acts on it, e.g. drains `/stream` chunks),
 *   then closes the connection instead of answering.
 */
export type FaultAction = 'garbage' | 'drop-response';

export interface Fault {
  /** Matches on method and path (below the proxy's base, e.g. `/v2/ep/stream/job-1`). */
  readonly matches: (method: string, path: string) => boolean;
  /** Matching requests passed through untouched before the fault strikes. @default 0 */
  readonly after?: number;
  readonly action: FaultAction;
}

export interface FaultProxy {
  /** Same shape as the upstream's base URL, e.g. `http://127.0.0.1:41235/v2`. */
  readonly baseUrl: string;
  /** Arms a fault; it strikes once, on the (`after` + 1)-th matching request. */
  inject(fault: Fault): void;
  /** How many faults struck so far. */
  readonly struck: number;
  close(): Promise<void>;
}

/** An HTTP proxy in front of an upstream (the RunPod simulator) that can fail chosen requests. */
export async function startFaultProxy(upstreamBaseUrl: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamBaseUrl);
  const armed: { fault: Fault; seen: number }[] = [];
  let struck = 0;

  const strikeFor = (request: IncomingMessage): FaultAction | undefined => {
    const path = new URL(request.url ?? '/', 'http://proxy').pathname;
    for (const [index, entry] of armed.entries()) {
      if (!entry.fault.matches(request.method ?? 'GET', path)) continue;
      if (entry.seen++ < (entry.fault.after ?? 0)) return undefined;
      armed.splice(index, 1);
      struck++;
      return entry.fault.action;
    }
    return undefined;
  };

  const server: Server = createServer((request, response) => {
    const action = strikeFor(request);
    if (action === 'garbage') {
      request.resume();
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: upstream.host },
      },
      (answer) => {
        if (action === 'drop-response') {
          answer.resume();
          answer.once('end', () => request.socket.destroy());
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.once('error', () => request.socket.destroy());
    // A caller that goes away (an aborted long poll) releases the upstream request too.
    response.once('close', () => forwarded.destroy());
    request.pipe(forwarded);
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, '')}`,
    inject: (fault) => {
      armed.push({ fault, seen: 0 });
    },
    get struck() {
      return struck;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
