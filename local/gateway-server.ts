import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ErrorCode } from '../functions/http/error-codes.ts';
import { GatewayError } from '../functions/http/gateway-error.ts';
import { problemResponse, REQUEST_ID_HEADER } from '../functions/http/response.ts';
import { type Operation, ROUTES, resourcePathOf, routeFor } from '../functions/routes.ts';
import { apiGatewayEventOf, type RouteMatch } from './api-gateway-event.ts';
import {
  type HttpPrelude,
  isStreamingHandler,
  LocalResponseStream,
} from './lambda-streaming-shim.ts';

/** API Gateway refuses request payloads above 10 MB before any Lambda runs. */
const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

const EMPTY_BODY = Buffer.alloc(0);

export type OperationHandlers = Readonly<Record<Operation, unknown>>;

interface CompiledRoute {
  readonly operation: Operation;
  readonly methods: readonly string[];
  readonly resource: string;
  readonly pattern: RegExp;
  readonly parameterNames: readonly string[];
}

function compileRoutes(): CompiledRoute[] {
  return ROUTES.map((route) => {
    const resource = resourcePathOf(route);
    const parameterNames: string[] = [];
    const source = resource
      .split('/')
      .map((segment) => {
        const parameter = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (!parameter) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        parameterNames.push(parameter);
        return '([^/]+)';
      })
      .join('/');
    return {
      operation: route.operation,
      methods: route.methods,
      resource,
      pattern: new RegExp(`^${source}/?$`),
      parameterNames,
    };
  });
}

/**
 * The local runtime: serves the very same handler modules as the Lambda functions by turning
 * each HTTP request into an API Gateway REST proxy event, and the handler's answer (buffered,
 * or a Lambda response stream) back into HTTP. Unknown routes and API Gateway's own limits
 * answer the way the deployed gateway's gateway responses do.
 */
export function createGatewayServer(
  handlers: OperationHandlers,
  stage = 'local',
  /** Static HTML pages of the local runtime only, by path (the API reference at `/docs`). */
  pages: Readonly<Record<string, string>> = {},
): Server {
  const routes = compileRoutes();
  return createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]?.replace(/\/$/, '') ?? '';
    const page = request.method === 'GET' ? pages[path] : undefined;
    if (page !== undefined) {
      response.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
      });
      response.end(page);
      return;
    }
    serve(routes, handlers, stage, request, response).catch((error: unknown) => {
      // Only a bug in this file gets here: the handlers map every failure to a response.
      console.error('local runtime failure', error);
      if (!response.headersSent)
        problem(response, 'gateway_error', 'The local runtime failed', randomUUID());
      else response.destroy();
    });
  });
}

export async function listen(server: Server, port: number, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return `http://${host}:${address.port}`;
}

async function serve(
  routes: readonly CompiledRoute[],
  handlers: OperationHandlers,
  stage: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = requestTargetOf(request.url ?? '');
  if (!url) {
    // Read the body to its end before answering: an answer sent while a body is still arriving
    // makes Node close the connection, and a client's next request on it fails (seen by fuzzing).
    await readBody(request);
    return problem(
      response,
      'invalid_request',
      'The request target must be a path (origin form, starting with a single /)',
      randomUUID(),
    );
  }
  const found = matchRoute(routes, request.method ?? 'GET', url.pathname);
  if (!found) {
    await readBody(request);
    return problem(
      response,
      'not_found',
      `No route ${request.method} ${url.pathname}`,
      randomUUID(),
    );
  }
  const body = await readBody(request);
  if (body === undefined) {
    return problem(
      response,
      'payload_too_large',
      `The request body exceeds API Gateway's ${API_GATEWAY_MAX_BODY_BYTES} byte limit`,
      randomUUID(),
    );
  }
  const event = apiGatewayEventOf(request, url, found.match, body, stage);
  const handler = handlers[found.route.operation];
  const context = lambdaContextOf(found.route.operation, event);
  if (isStreamingHandler(handler)) {
    await invokeStreaming(handler, event, context, response);
  } else if (typeof handler === 'function') {
    const result = (await handler(event, context)) as {
      statusCode: number;
      headers?: Record<string, string>;
      body?: string;
    };
    // As API Gateway does for a buffered integration: the length up front, no chunked encoding.
    const text = result.body ?? '';
    response.writeHead(result.statusCode, {
      ...result.headers,
      'Content-Length': Buffer.byteLength(text),
    });
    response.end(text);
  } else {
    throw new Error(`No handler for ${found.route.operation}`);
  }
}

/**
 * The request target as API Gateway routes it: the raw path, with no dot-segment folding or
 * percent-decoding (so `status/../health` and `%2e%2e` match no route), and the query. Only the
 * origin form is a target; anything else (`http://host/…`, `*`) is refused.
 */
export function requestTargetOf(
  target: string,
): { pathname: string; searchParams: URLSearchParams } | undefined {
  const queryAt = target.indexOf('?');
  const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
  if (!pathname.startsWith('/') || pathname.startsWith('//') || pathname.includes('#')) {
    return undefined;
  }
  return {
    pathname,
    searchParams: new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1)),
  };
}

function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  pathname: string,
): { route: CompiledRoute; match: RouteMatch } | undefined {
  for (const route of routes) {
    const groups = route.pattern.exec(pathname);
    if (!groups || !route.methods.includes(method)) continue;
    const pathParameters: Record<string, string> = {};
    for (const [index, name] of route.parameterNames.entries()) {
      const raw = groups[index + 1] ?? '';
      // API Gateway hands path parameters to Lambda URL-decoded.
      try {
        pathParameters[name] = decodeURIComponent(raw);
      } catch {
        pathParameters[name] = raw;
      }
    }
    return { route, match: { resource: route.resource, pathParameters } };
  }
  return undefined;
}

/**
 * The body, read to its end; undefined when it passes API Gateway's hard limit (the rest is read
 * and dropped, not kept, so the client still gets its 413 on an intact connection).
 */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  // Most reads (status, stream, health) carry no body: skip the stream machinery for them.
  if (
    request.headers['content-length'] === undefined &&
    request.headers['transfer-encoding'] === undefined
  ) {
    request.resume();
    return Promise.resolve(EMPTY_BODY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= API_GATEWAY_MAX_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    });
    request.once('end', () =>
      resolve(size > API_GATEWAY_MAX_BODY_BYTES ? undefined : Buffer.concat(chunks, size)),
    );
    request.once('error', reject);
  });
}

function lambdaContextOf(operation: Operation, event: APIGatewayProxyEvent) {
  const deadline = Date.now() + routeFor(operation).functionTimeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `local-${operation}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:local-${operation}`,
    memoryLimitInMB: '256',
    awsRequestId: event.requestContext.requestId,
    logGroupName: `/local/${operation}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Runs a streaming handler against a Lambda-like response stream. As on Lambda, once bytes
 * have flowed a failure can only cut the response; and when the caller goes away the stream
 * is destroyed, which stops the handler's work.
 */
async function invokeStreaming(
  handler: (event: unknown, stream: LocalResponseStream, context: unknown) => Promise<unknown>,
  event: APIGatewayProxyEvent,
  context: unknown,
  response: ServerResponse,
): Promise<void> {
  const stream = new LocalResponseStream(
    (prelude: HttpPrelude) => {
      const headers: Record<string, string | string[]> = { ...prelude.headers };
      if (prelude.cookies?.length) headers['Set-Cookie'] = prelude.cookies;
      response.writeHead(prelude.statusCode ?? 200, headers);
      response.flushHeaders();
    },
    (chunk, done) => {
      if (response.write(chunk)) done();
      else response.once('drain', done);
    },
  );
  response.on('close', () => {
    if (!response.writableFinished) stream.destroy();
  });
  try {
    await handler(event, stream, context);
    if (!response.writableEnded) response.end();
  } catch (error) {
    if (stream.started || response.headersSent) {
      response.destroy();
      return;
    }
    if (!response.destroyed) {
      console.error('streaming handler failed before its first byte', error);
      problem(response, 'gateway_error', 'The function failed', event.requestContext.requestId);
    }
  }
}

function problem(
  response: ServerResponse,
  code: ErrorCode,
  detail: string,
  requestId: string,
): void {
  const answer = problemResponse(new GatewayError(code, detail), requestId);
  response.writeHead(answer.statusCode, { ...answer.headers, [REQUEST_ID_HEADER]: requestId });
  response.end(answer.body);
}
