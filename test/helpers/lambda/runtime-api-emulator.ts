import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Lambda Runtime API (the API `aws-lambda-ric` polls) for one execution environment:
 * `GET /2018-06-01/runtime/invocation/next`, `POST …/invocation/{id}/response` (buffered or
 * streamed), `POST …/invocation/{id}/error` and `POST …/init/error`.
 *
 * @example
 * const api = await startRuntimeApi({ functionName: 'status' });
 * // spawn aws-lambda-ric with AWS_LAMBDA_RUNTIME_API=api.address
 * const result = await api.invoke(event, { timeoutMs: 10_000 });
 */

export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const API = '/2018-06-01/runtime';
const SEPARATOR = Buffer.alloc(8);

export interface StreamChunk {
  /** `Date.now()` when the chunk reached the Runtime API. */
  readonly at: number;
  readonly bytes: Buffer;
}

/** The JSON that `awslambda.HttpResponseStream.from(stream, prelude)` writes first. */
export interface HttpPrelude {
  readonly statusCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[]>>;
  readonly cookies?: readonly string[];
}

/** What the runtime reports for a failed invocation or init (`formatError` in the RIC). */
export interface LambdaErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

export type InvocationResult =
  | {
      readonly kind: 'buffered';
      readonly requestId: string;
      readonly text: string;
      readonly payload: unknown;
    }
  | {
      readonly kind: 'streamed';
      readonly requestId: string;
      readonly contentType: string | undefined;
      /** Present for `application/vnd.awslambda.http-integration-response` once the 8 NULs arrived. */
      readonly prelude: HttpPrelude | undefined;
      readonly preludeText: string | undefined;
      readonly separatorSeen: boolean;
      /** Every chunk as it arrived, prelude and separator included. */
      readonly chunks: readonly StreamChunk[];
      /** The body part of each chunk (after the separator), empty parts left out. */
      readonly bodyChunks: readonly StreamChunk[];
      readonly body: string;
      /** From the trailers the runtime sends when the function fails after streaming started. */
      readonly errorType?: string;
      readonly errorBody?: LambdaErrorPayload;
      readonly endedAt: number;
    }
  | {
      readonly kind: 'error';
      readonly requestId: string;
      readonly phase: 'invoke' | 'init';
      readonly errorType: string | undefined;
      readonly payload: LambdaErrorPayload | undefined;
    };

export interface InvokeOptions {
  /** The function's remaining time, sent as `Lambda-Runtime-Deadline-Ms`. @default 30000 */
  readonly timeoutMs?: number;
  readonly requestId?: string;
  /** Called for each streamed chunk as it arrives, with the part of it that is body. */
  readonly onChunk?: (chunk: StreamChunk, bodyBytes: Buffer) => void;
}

interface Invocation {
  readonly requestId: string;
  readonly eventJson: string;
  readonly deadlineMs: number;
  readonly onChunk: InvokeOptions['onChunk'];
  readonly resolve: (result: InvocationResult) => void;
  readonly reject: (error: Error) => void;
  readonly watchdog: NodeJS.Timeout;
}

/** Past the deadline, the emulator gives up on an invocation (Lambda would stop the environment). */
const DEADLINE_GRACE_MS = 2_000;

export class RuntimeApiEmulator {
  readonly #server: Server;
  readonly #functionArn: string;
  readonly #queued: Invocation[] = [];
  readonly #inFlight = new Map<string, Invocation>();
  readonly #waiters: ServerResponse[] = [];
  readonly #readyWaiters: ((error?: Error) => void)[] = [];
  #polled = false;
  #initError: LambdaErrorPayload | undefined;

  constructor(server: Server, functionArn: string) {
    this.#server = server;
    this.#functionArn = functionArn;
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.#route(request, response);
    });
  }

  /** `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`. */
  get address(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  /** The init error the runtime reported, if any. */
  get initError(): LambdaErrorPayload | undefined {
    return this.#initError;
  }

  /** Resolves when the runtime first asks for an invocation, i.e. the handler module loaded. */
  ready(timeoutMs: number): Promise<void> {
    if (this.#polled) return Promise.resolve();
    if (this.#initError) return Promise.reject(initFailure(this.#initError));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`runtime did not poll within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#readyWaiters.push((error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  invoke(event: unknown, options: InvokeOptions = {}): Promise<InvocationResult> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const requestId = options.requestId ?? randomUUID();
    return new Promise((resolve, reject) => {
      const invocation: Invocation = {
        requestId,
        eventJson: JSON.stringify(event),
        deadlineMs: Date.now() + timeoutMs,
        onChunk: options.onChunk,
        resolve: (result) => {
          clearTimeout(invocation.watchdog);
          this.#inFlight.delete(requestId);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(invocation.watchdog);
          this.#inFlight.delete(requestId);
          reject(error);
        },
        watchdog: setTimeout(() => {
          const index = this.#queued.indexOf(invocation);
          if (index >= 0) this.#queued.splice(index, 1);
          invocation.reject(new Error(`Invocation ${requestId} timed out after ${timeoutMs} ms`));
        }, timeoutMs + DEADLINE_GRACE_MS),
      };
      this.#queued.push(invocation);
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    for (const invocation of [...this.#queued, ...this.#inFlight.values()]) {
      invocation.reject(new Error('Runtime API closed'));
    }
    this.#queued.length = 0;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #dispatch(): void {
    while (this.#queued.length > 0 && this.#waiters.length > 0) {
      const invocation = this.#queued.shift() as Invocation;
      const response = this.#waiters.shift() as ServerResponse;
      this.#inFlight.set(invocation.requestId, invocation);
      response.writeHead(200, {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
        'Lambda-Runtime-Deadline-Ms': String(invocation.deadlineMs),
        'Lambda-Runtime-Invoked-Function-Arn': this.#functionArn,
        'Lambda-Runtime-Trace-Id': traceId(),
      });
      response.end(invocation.eventJson);
    }
  }

  #route(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://runtime').pathname;
    if (request.method === 'GET' && path === `${API}/invocation/next`) {
      this.#next(response);
      return;
    }
    if (request.method === 'POST' && path === `${API}/init/error`) {
      void readAll(request).then((body) => this.#initFailed(request, response, body));
      return;
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    const invocation = match ? this.#inFlight.get(decodeURIComponent(match[1] ?? '')) : undefined;
    if (request.method !== 'POST' || !match || !invocation) {
      response.writeHead(match ? 400 : 404, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ errorType: match ? 'InvalidRequestID' : 'NotFound' }));
    } else if (match[2] === 'error') {
      void readAll(request).then((body) => {
        accepted(response);
        invocation.resolve({
          kind: 'error',
          requestId: invocation.requestId,
          phase: 'invoke',
          errorType: headerOf(request, 'lambda-runtime-function-error-type'),
          payload: errorPayloadOf(body.toString('utf8')),
        });
      });
    } else if (headerOf(request, 'lambda-runtime-function-response-mode') === 'streaming') {
      this.#streamed(request, response, invocation);
    } else {
      void readAll(request).then((body) => {
        accepted(response);
        const text = body.toString('utf8');
        invocation.resolve({
          kind: 'buffered',
          requestId: invocation.requestId,
          text,
          payload: jsonOrText(text),
        });
      });
    }
  }

  /** The runtime could not load the handler: it reports once, then its process exits. */
  #initFailed(request: IncomingMessage, response: ServerResponse, body: Buffer): void {
    this.#initError = errorPayloadOf(body.toString('utf8'));
    accepted(response);
    const error = initFailure(this.#initError);
    for (const notify of this.#readyWaiters.splice(0)) notify(error);
    for (const invocation of this.#queued.splice(0)) {
      invocation.resolve({
        kind: 'error',
        requestId: invocation.requestId,
        phase: 'init',
        errorType: headerOf(request, 'lambda-runtime-function-error-type'),
        payload: this.#initError,
      });
    }
  }

  #next(response: ServerResponse): void {
    this.#waiters.push(response);
    response.once('close', () => {
      const index = this.#waiters.indexOf(response);
      if (index >= 0) this.#waiters.splice(index, 1);
    });
    if (!this.#polled) {
      this.#polled = true;
      for (const notify of this.#readyWaiters.splice(0)) notify();
    }
    this.#dispatch();
  }

  #streamed(request: IncomingMessage, response: ServerResponse, invocation: Invocation): void {
    const contentType = headerOf(request, 'content-type');
    const framed = contentType === HTTP_INTEGRATION_CONTENT_TYPE;
    const chunks: StreamChunk[] = [];
    const bodyChunks: StreamChunk[] = [];
    let head = Buffer.alloc(0);
    let separatorSeen = !framed;
    let prelude: HttpPrelude | undefined;
    let preludeText: string | undefined;
    request.on('data', (bytes: Buffer) => {
      const chunk: StreamChunk = { at: Date.now(), bytes };
      chunks.push(chunk);
      let bodyBytes = bytes;
      if (!separatorSeen) {
        head = Buffer.concat([head, bytes]);
        const index = head.indexOf(SEPARATOR);
        if (index < 0) {
          bodyBytes = Buffer.alloc(0);
        } else {
          separatorSeen = true;
          preludeText = head.subarray(0, index).toString('utf8');
          prelude = preludeOf(preludeText);
          bodyBytes = head.subarray(index + SEPARATOR.length);
        }
      }
      if (bodyBytes.length > 0) bodyChunks.push({ at: chunk.at, bytes: bodyBytes });
      invocation.onChunk?.(chunk, bodyBytes);
    });
    request.once('end', () => {
      accepted(response);
      const errorType = request.trailers['lambda-runtime-function-error-type'];
      const errorBody = request.trailers['lambda-runtime-function-error-body'];
      invocation.resolve({
        kind: 'streamed',
        requestId: invocation.requestId,
        contentType,
        prelude,
        preludeText,
        separatorSeen: framed && separatorSeen,
        chunks,
        bodyChunks,
        body: Buffer.concat(bodyChunks.map((chunk) => chunk.bytes)).toString('utf8'),
        errorType,
        errorBody:
          errorBody === undefined
            ? undefined
            : errorPayloadOf(Buffer.from(errorBody, 'base64').toString('utf8')),
        endedAt: Date.now(),
      });
    });
    request.once('aborted', () => {
      invocation.reject(
        new Error(`The runtime aborted the response stream of ${invocation.requestId}`),
      );
    });
  }
}

export async function startRuntimeApi(options: {
  functionArn: string;
}): Promise<RuntimeApiEmulator> {
  const server = createServer();
  // Long polls of /next and long streamed responses must not be cut by Node's defaults.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 0;
  const emulator = new RuntimeApiEmulator(server, options.functionArn);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return emulator;
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readAll(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.once('end', () => resolve(Buffer.concat(parts)));
    request.once('error', reject);
  });
}

function accepted(response: ServerResponse): void {
  response.writeHead(202, { 'Content-Type': 'application/json' });
  response.end('{"status":"OK"}');
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorPayloadOf(text: string): LambdaErrorPayload | undefined {
  const json = jsonOrText(text);
  if (
    !isRecord(json) ||
    typeof json.errorType !== 'string' ||
    typeof json.errorMessage !== 'string'
  ) {
    return undefined;
  }
  const trace = Array.isArray(json.trace) ? json.trace.map(String) : undefined;
  return { errorType: json.errorType, errorMessage: json.errorMessage, trace };
}

/** The prelude, or undefined when it is not a JSON object (the raw text is kept beside it). */
function preludeOf(text: string): HttpPrelude | undefined {
  const json = jsonOrText(text);
  return isRecord(json) ? (json as HttpPrelude) : undefined;
}

function initFailure(payload: LambdaErrorPayload | undefined): Error {
  return new Error(
    `Function init failed: ${payload?.errorType ?? 'unknown'}: ${payload?.errorMessage ?? ''}`,
  );
}

/** An X-Ray trace header as Lambda passes it: `Root=1-<epoch hex>-<96 bits>;Parent=…;Sampled=0`. */
function traceId(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}
