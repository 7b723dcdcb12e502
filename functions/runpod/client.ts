import { timersPromises } from '../runtime/builtins.ts';
import {
  RunPodHttpError,
  RunPodInvalidResponseError,
  RunPodNetworkError,
  RunPodResponseTooLargeError,
  RunPodTimeoutError,
} from './errors.ts';
import {
  type HttpAnswer,
  HttpBodyTooLargeError,
  type HttpOrigin,
  HttpTimeoutError,
  httpOriginOf,
  openHttp,
  sendHttp,
} from './http-request.ts';

type IncomingMessage = import('node:http').IncomingMessage;

/** An answer RunPod (a worker's OpenAI-compatible server) is still sending. */
export interface RunPodStream {
  readonly status: number;
  readonly contentType: string | undefined;
  /** The body as it arrives; destroy it to stop. */
  readonly body: IncomingMessage;
}

/** How much of a refused stream's body is read for its message. */
const ERROR_BODY_LIMIT_BYTES = 64 * 1024;

export interface RunPodCall {
  readonly endpointId: string;
  /** Operation path below the endpoint, built from validated parts only (e.g. `status/<jobId>`). */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  /** Aborts the call when the caller goes away; the abort propagates as an AbortError. */
  readonly signal?: AbortSignal;
  readonly requestId?: string;
}

export interface RunPodAnswer {
  readonly status: number;
  /** The body exactly as RunPod sent it. */
  readonly text: string;
  /** The body parsed; always a JSON object. */
  readonly json: Record<string, unknown>;
}

export interface RetryPolicy {
  /** Epoch ms after which no further attempt starts. */
  readonly deadline: number;
  readonly maxAttempts?: number;
}

const RETRYABLE_STATUSES = new Set([502, 503, 504]);
/**
 * Above RunPod's documented 20 MB outputs with room for JSON escaping; what a 256 MB function can
 * hold as bytes, then as text, alongside its own work.
 */
export const DEFAULT_MAX_UPSTREAM_BODY_BYTES = 32 * 1024 * 1024;
const USER_AGENT = 'runpod-gateway/0.1';

/**
 * The RunPod Serverless HTTP client: one request per call, timeouts, and retries only where
 * the caller says the call is idempotent.
 */
export class RunPodClient {
  readonly #origin: HttpOrigin;
  /** `https://api.runpod.ai` of `https://api.runpod.ai/v2`. */
  readonly #originUrl: string;
  /** `/v2` of `https://api.runpod.ai/v2`. */
  readonly #basePath: string;

  readonly #maxBodyBytes: number;

  /** `baseUrl` is an http(s) URL (`settings.ts` checks it). */
  constructor(baseUrl: string, options: { readonly maxBodyBytes?: number } = {}) {
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_UPSTREAM_BODY_BYTES;
    const url = new URL(baseUrl);
    this.#origin = httpOriginOf(url);
    this.#originUrl = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
  }

  urlOf(call: Pick<RunPodCall, 'endpointId' | 'path' | 'query'>): string {
    return `${this.#originUrl}${this.#pathOf(call)}`;
  }

  #pathOf(call: Pick<RunPodCall, 'endpointId' | 'path' | 'query'>): string {
    // Built as a string once per call: every part is validated or encoded.
    const path = `${this.#basePath}/${encodeURIComponent(call.endpointId)}/${call.path}`;
    if (call.query === undefined) return path;
    const query = new URLSearchParams(call.query).toString();
    return query === '' ? path : `${path}?${query}`;
  }

  /** One attempt; never retried. For submissions and control calls. */
  async send(call: RunPodCall): Promise<RunPodAnswer> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${call.apiKey}`,
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
    };
    if (call.body !== undefined) headers['Content-Type'] = 'application/json';
    if (call.requestId !== undefined) headers['X-Request-Id'] = call.requestId;

    let answer: HttpAnswer;
    try {
      answer = await sendHttp(this.#origin, {
        method: call.method,
        path: this.#pathOf(call),
        headers,
        timeoutMs: call.timeoutMs,
        maxBodyBytes: this.#maxBodyBytes,
        ...(call.body === undefined ? {} : { body: call.body }),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      });
    } catch (error) {
      throw failureOf(error, call);
    }
    const { status, text } = answer;
    if (status < 200 || status > 299) {
      throw new RunPodHttpError(status, upstreamMessageOf(text, call.apiKey), answer.retryAfter);
    }
    return { status, text, json: jsonObjectOf(text) };
  }

  /**
   * One attempt whose 2xx body is handed over as it arrives (a worker's Server-Sent Events);
   * `timeoutMs` bounds the wait for the answer to start. Any other status is read (bounded) and
   * thrown as a `RunPodHttpError`, as `send` does.
   */
  async openStream(call: RunPodCall): Promise<RunPodStream> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${call.apiKey}`,
      Accept: 'text/event-stream, application/json',
      'User-Agent': USER_AGENT,
      'Content-Type': 'application/json',
    };
    if (call.requestId !== undefined) headers['X-Request-Id'] = call.requestId;
    let stream: Awaited<ReturnType<typeof openHttp>>;
    try {
      stream = await openHttp(this.#origin, {
        method: call.method,
        path: this.#pathOf(call),
        headers,
        timeoutMs: call.timeoutMs,
        ...(call.body === undefined ? {} : { body: call.body }),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      });
    } catch (error) {
      throw failureOf(error, call);
    }
    const contentType = stream.headers['content-type'];
    if (stream.status >= 200 && stream.status <= 299) {
      return {
        status: stream.status,
        contentType: typeof contentType === 'string' ? contentType : undefined,
        body: stream.body,
      };
    }
    const text = await boundedTextOf(stream.body, ERROR_BODY_LIMIT_BYTES).catch(() => '');
    const retryAfter = stream.headers['retry-after'];
    throw new RunPodHttpError(
      stream.status,
      upstreamMessageOf(text, call.apiKey),
      typeof retryAfter === 'string' ? retryAfter : undefined,
    );
  }

  /**
   * For idempotent reads (`status`, `health`): retried on connection failures and
   * 502/503/504 with full-jitter backoff, while the deadline leaves room for another try.
   */
  async sendIdempotent(call: RunPodCall, policy: RetryPolicy): Promise<RunPodAnswer> {
    const maxAttempts = policy.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const remaining = policy.deadline - Date.now();
      try {
        return await this.send({
          ...call,
          timeoutMs: Math.max(1, Math.min(call.timeoutMs, remaining)),
        });
      } catch (error) {
        const retryable =
          error instanceof RunPodNetworkError ||
          (error instanceof RunPodHttpError && RETRYABLE_STATUSES.has(error.status));
        const backoff = Math.random() * Math.min(1000, 100 * 2 ** attempt);
        if (!retryable || attempt >= maxAttempts || Date.now() + backoff + 50 >= policy.deadline) {
          throw error;
        }
        await timersPromises.setTimeout(backoff, undefined, { signal: call.signal });
      }
    }
  }
}

function failureOf(error: unknown, call: RunPodCall): Error {
  if (call.signal?.aborted)
    return call.signal.reason instanceof Error ? call.signal.reason : new Error('aborted');
  if (error instanceof HttpTimeoutError) return new RunPodTimeoutError(call.timeoutMs);
  if (error instanceof HttpBodyTooLargeError)
    return new RunPodResponseTooLargeError(error.limitBytes);
  return new RunPodNetworkError('RunPod could not be reached', { cause: error });
}

/** At most `limit` bytes of a body, as text; the rest is dropped with the connection. */
function boundedTextOf(body: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      size += chunk.length;
      if (size >= limit) body.destroy();
    });
    body.once('close', () => resolve(Buffer.concat(parts).subarray(0, limit).toString('utf8')));
    body.once('error', reject);
  });
}

function jsonObjectOf(text: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RunPodInvalidResponseError('RunPod answered with a body that is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new RunPodInvalidResponseError('RunPod answered with JSON that is not an object');
  }
  return json as Record<string, unknown>;
}

/**
 * What looks like a credential in text an upstream sent back: a bearer token, RunPod keys
 * (`rpa_…`) and the gateway's own tokens (`rpg_…`).
 */
const CREDENTIAL_SHAPES = /\b(?:Bearer\s+\S+|rp[ag]_[A-Za-z0-9_-]{8,})/gi;

/**
 * RunPod's own error text: `error` or `message` of a JSON body, else the text of a plain one;
 * control characters removed, the RunPod key and anything shaped like a credential replaced
 * (an upstream that reflects the request — a misconfigured base URL, an egress proxy — would
 * otherwise hand the key to the caller), and bounded, so it is safe to put in a problem's detail
 * and a log line.
 */
function upstreamMessageOf(text: string, apiKey: string): string | undefined {
  let message: unknown;
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null) {
      message = 'error' in json ? json.error : 'message' in json ? json.message : undefined;
      // OpenAI's (and vLLM's) shape: {"error": {"message": …}}.
      if (typeof message === 'object' && message !== null && 'message' in message) {
        message = message.message;
      }
    } else if (typeof json === 'string') {
      message = json;
    }
  } catch {
    message = text;
  }
  if (typeof message !== 'string') return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const cleaned = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  let scrubbed = cleaned;
  // The key as sent, and as a URL or a JSON string would carry it.
  for (const form of new Set([
    apiKey,
    encodeURIComponent(apiKey),
    JSON.stringify(apiKey).slice(1, -1),
  ])) {
    if (form !== '') scrubbed = scrubbed.split(form).join('[redacted]');
  }
  scrubbed = scrubbed.replace(CREDENTIAL_SHAPES, '[redacted]');
  if (scrubbed === '') return undefined;
  return scrubbed.length > 500 ? `${scrubbed.slice(0, 500)}…` : scrubbed;
}
