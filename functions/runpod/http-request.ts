import { http, https, url as nodeUrl } from '../runtime/builtins.ts';

type HttpAgent = import('node:http').Agent;
type IncomingMessage = import('node:http').IncomingMessage;

/** Where requests go: scheme, host and port, parsed once from a base URL. */
export interface HttpOrigin {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number | undefined;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  /** Path and query, already encoded. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The whole exchange, body included, must end by then; else it rejects with HttpTimeoutError. */
  readonly timeoutMs: number;
  /** Destroys the request (and its connection) when aborted; the promise rejects. */
  readonly signal?: AbortSignal;
  /** The largest body accepted; a longer one destroys the exchange with HttpBodyTooLargeError. */
  readonly maxBodyBytes: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** The whole body, decoded as UTF-8. */
  readonly text: string;
}

export class HttpTimeoutError extends Error {
  override name = 'HttpTimeoutError';
}

export class HttpBodyTooLargeError extends Error {
  override name = 'HttpBodyTooLargeError';
  readonly limitBytes: number;

  constructor(limitBytes: number) {
    super(`The answer's body is larger than ${limitBytes} bytes`);
    this.limitBytes = limitBytes;
  }
}

export function httpOriginOf(url: URL): HttpOrigin {
  // urlToHttpOptions also unwraps an IPv6 literal's brackets.
  const { hostname, port } = nodeUrl.urlToHttpOptions(url);
  return {
    secure: url.protocol === 'https:',
    hostname: hostname ?? '',
    port: port === undefined || port === '' ? undefined : Number(port),
  };
}

// Keep-alive pools, one per scheme, so warm invocations reuse the TLS connection to RunPod.
// `lifo` hands out the most recently used socket, the one least likely to have been closed by
// the server; idle sockets close after IDLE_SOCKET_MS (sooner if the server announces a shorter
// `Keep-Alive: timeout`), and are unref'd, so they never keep a process alive.
const IDLE_SOCKET_MS = 4000;

interface Pool {
  readonly agent: HttpAgent;
  /** Epoch ms of the last request started or settled through this pool. */
  lastActivityAt: number;
}

const AGENT_OPTIONS = {
  keepAlive: true,
  scheduling: 'lifo',
  timeout: IDLE_SOCKET_MS,
  // An egress proxy from HTTP_PROXY / HTTPS_PROXY / NO_PROXY under NODE_USE_ENV_PROXY=1, as
  // Node's own fetch and global agents take it.
  ...(process.env.NODE_USE_ENV_PROXY === '1' ? { proxyEnv: process.env } : {}),
} as const;
const httpPool: Pool = { agent: new http.Agent(AGENT_OPTIONS), lastActivityAt: 0 };
const httpsPool: Pool = { agent: new https.Agent(AGENT_OPTIONS), lastActivityAt: 0 };

/**
 * Lambda freezes an execution environment between invocations, and with it the timers that
 * close idle sockets. After a thaw the pool would hand out a socket the server closed meanwhile,
 * and the request on it would fail with ECONNRESET — for a submission, a 502 the caller did not
 * deserve. So when nothing went through the pool for longer than the idle timeout, its idle
 * sockets are closed first, as their timers would have done.
 */
function agentOf(pool: Pool): HttpAgent {
  const now = Date.now();
  if (now - pool.lastActivityAt > IDLE_SOCKET_MS) {
    for (const sockets of Object.values(pool.agent.freeSockets)) {
      for (const socket of sockets ?? []) socket.destroy();
    }
  }
  pool.lastActivityAt = now;
  return pool.agent;
}

type ClientRequest = import('node:http').ClientRequest;

/** An exchange under way, as its response handler sees it. */
interface Exchange<T> {
  readonly request: ClientRequest;
  /** Stops the exchange's timer (the answer is complete, or handed over). */
  settle(): void;
  fail(error: Error): void;
  resolve(value: T): void;
}

/**
 * Starts one exchange on the pool of its scheme, bounded by `timeoutMs` until `settle`, and hands
 * the response to `onResponse`. A plain timer rather than an AbortSignal: no signal and listener
 * per request, and the timer is cleared as soon as the exchange settles.
 */
function startExchange<T>(
  origin: HttpOrigin,
  init: Omit<HttpRequest, 'maxBodyBytes'>,
  onResponse: (response: IncomingMessage, exchange: Exchange<T>) => void,
): Promise<T> {
  const pool = origin.secure ? httpsPool : httpPool;
  return new Promise((resolve, reject) => {
    const request = (origin.secure ? https.request : http.request)({
      hostname: origin.hostname,
      port: origin.port,
      path: init.path,
      method: init.method,
      headers: init.headers,
      agent: agentOf(pool),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy(new HttpTimeoutError());
    }, init.timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      pool.lastActivityAt = Date.now();
    };
    const fail = (error: Error) => {
      settle();
      // Whichever of the request's and the response's errors comes first, a timeout is one.
      reject(timedOut ? new HttpTimeoutError() : error);
    };
    // `on`, not `once`: a second 'error' with no listener left would crash the process.
    request.on('error', fail);
    request.once('response', (response: IncomingMessage) =>
      onResponse(response, { request, settle, fail, resolve }),
    );
    request.end(init.body);
  });
}

/**
 * One HTTP exchange with the body read to the end, on Node's own HTTP client. Not `fetch`: the
 * AWS SDK already loads `node:http`/`node:https` for Secrets Manager, while `fetch` would load
 * and compile a second HTTP stack (undici) on the first call of every cold start, and costs
 * more CPU per request. No `Accept-Encoding` is sent, so bodies arrive uncompressed.
 */
export function sendHttp(origin: HttpOrigin, init: HttpRequest): Promise<HttpAnswer> {
  return startExchange<HttpAnswer>(origin, init, (response, exchange) => {
    // Held as the bytes received and decoded once at the end: a growing string would copy the
    // body over and over, and a body past the limit is refused before it can exhaust memory.
    const parts: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > init.maxBodyBytes) {
        exchange.request.destroy(new HttpBodyTooLargeError(init.maxBodyBytes));
        return;
      }
      parts.push(chunk);
    });
    // A body cut short (connection reset, abort, timeout) ends in 'error', never in 'end'.
    response.on('error', exchange.fail);
    response.once('end', () => {
      exchange.settle();
      const retryAfter = response.headers['retry-after'];
      const text = Buffer.concat(parts, size).toString('utf8');
      exchange.resolve({ status: response.statusCode ?? 0, retryAfter, text });
    });
  });
}

/** An exchange whose body is read by the caller, as it arrives. */
export interface HttpStream {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body; destroy it to end the exchange early. */
  readonly body: IncomingMessage;
}

/**
 * One HTTP exchange answered as soon as the status and headers arrive, for bodies relayed as
 * they come (Server-Sent Events). `timeoutMs` bounds the wait for the headers only; the caller
 * bounds the body (and aborts with `signal`).
 */
export function openHttp(
  origin: HttpOrigin,
  init: Omit<HttpRequest, 'maxBodyBytes'>,
): Promise<HttpStream> {
  return startExchange<HttpStream>(origin, init, (response, exchange) => {
    exchange.settle();
    // From here on the body's own 'error' reports failures to whoever reads it.
    exchange.request.off('error', exchange.fail);
    exchange.request.on('error', () => undefined);
    exchange.resolve({
      status: response.statusCode ?? 0,
      headers: response.headers,
      body: response,
    });
  });
}
