import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface RouteMatch {
  readonly resource: string;
  readonly pathParameters: Record<string, string>;
}

/** What a REST proxy event is made of; everything else is API Gateway's boilerplate. */
export interface RestProxyRequest {
  readonly method: string;
  /** The route's resource, e.g. `/v1/runpod/{surface}/status/{jobId}`. */
  readonly resource: string;
  readonly path: string;
  readonly pathParameters: Record<string, string>;
  /** Header name/value pairs in the caller's case; repeated names keep every value. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly body?: string | null;
  /** @default a random UUID */
  readonly requestId?: string;
  /** @default '127.0.0.1' */
  readonly sourceIp?: string;
  /** @default 'local' */
  readonly stage?: string;
}

/** The event API Gateway's REST proxy integration (payload v1) hands to Lambda. */
export function restProxyEvent(request: RestProxyRequest): APIGatewayProxyEvent {
  const { last: headers, all: multiValueHeaders } = valuesByName(request.headers);
  const { last: query, all: multiValueQuery } = valuesByName(request.query);
  const hasQuery = Object.keys(query).length > 0;
  const stage = request.stage ?? 'local';
  const userAgent = Object.entries(headers).find(
    ([name]) => name.toLowerCase() === 'user-agent',
  )?.[1];
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: request.pathParameters,
    stageVariables: null,
    body: request.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      path: `/${stage}${request.path}`,
      stage,
      requestId: request.requestId ?? randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: request.resource,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp ?? '127.0.0.1',
        user: null,
        userAgent: userAgent ?? null,
        userArn: null,
      },
    },
  };
}

/** An HTTP request received by the local runtime, as API Gateway would hand it to Lambda. */
export function apiGatewayEventOf(
  request: IncomingMessage,
  url: { readonly pathname: string; readonly searchParams: URLSearchParams },
  match: RouteMatch,
  body: Buffer,
  stage: string,
): APIGatewayProxyEvent {
  const headers: [string, string][] = [];
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    headers.push([request.rawHeaders[index] ?? '', request.rawHeaders[index + 1] ?? '']);
  }
  return restProxyEvent({
    method: request.method ?? 'GET',
    resource: match.resource,
    path: url.pathname,
    pathParameters: match.pathParameters,
    headers,
    query: [...url.searchParams],
    body: body.length > 0 ? body.toString('utf8') : null,
    sourceIp: request.socket.remoteAddress,
    stage,
  });
}

/** API Gateway's two views of repeated names: the last value, and every value in order. */
function valuesByName(pairs: Iterable<readonly [string, string]> = []): {
  last: Record<string, string>;
  all: Record<string, string[]>;
} {
  const last: Record<string, string> = {};
  const all: Record<string, string[]> = {};
  for (const [name, value] of pairs) {
    last[name] = value;
    const values = all[name];
    if (values) values.push(value);
    else all[name] = [value];
  }
  return { last, all };
}
