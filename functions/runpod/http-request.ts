import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Destroys the request (and its connection) when aborted; the promise rejects. */
  readonly signal: AbortSignal;
}

export interface HttpAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** The whole body, decoded as UTF-8. */
  readonly text: string;
}

// Keep-alive pools, one per scheme, so warm invocations reuse the TLS connection to RunPod.
// `lifo` hands out the most recently used socket, the one least likely to have been closed by
// the server; idle sockets close after 4 s (sooner if the server announces a shorter
// `Keep-Alive: timeout`), and are unref'd, so they never keep a process alive.
const AGENT_OPTIONS = { keepAlive: true, scheduling: 'lifo', timeout: 4000 } as const;
const httpAgent = new HttpAgent(AGENT_OPTIONS);
const httpsAgent = new HttpsAgent(AGENT_OPTIONS);

/**
 * One HTTP exchange with the body read to the end, on Node's own HTTP client. Not `fetch`: the
 * AWS SDK already loads `node:http`/`node:https` for Secrets Manager, while `fetch` would load
 * and compile a second HTTP stack (undici) on the first call of every cold start, and costs
 * more CPU per request. No `Accept-Encoding` is sent, so bodies arrive uncompressed.
 */
export function sendHttp(url: string, init: HttpRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const request = (secure ? httpsRequest : httpRequest)(url, {
      method: init.method,
      headers: init.headers,
      agent: secure ? httpsAgent : httpAgent,
      signal: init.signal,
    });
    // `on`, not `once`: a second 'error' with no listener left would crash the process.
    request.on('error', reject);
    request.once('response', (response: IncomingMessage) => {
      response.setEncoding('utf8');
      let text = '';
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      // A body cut short (connection reset, abort) ends in 'error', never in 'end'.
      response.on('error', reject);
      response.once('end', () => {
        const retryAfter = response.headers['retry-after'];
        resolve({ status: response.statusCode ?? 0, retryAfter, text });
      });
    });
    request.end(init.body);
  });
}
