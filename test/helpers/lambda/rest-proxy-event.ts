import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type Operation, resourcePathOf, routeFor } from '../../../functions/routes.ts';
import { restProxyEvent as buildEvent } from '../../../local/api-gateway-event.ts';

export interface RestRequest {
  readonly operation: Operation;
  /** @default the route's first method */
  readonly method?: 'GET' | 'POST';
  readonly surface: string;
  readonly jobId?: string;
  readonly query?: Readonly<Record<string, string>>;
  /** The caller's headers, in the caller's case (API Gateway REST keeps it). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  /** API Gateway's request id (`requestContext.requestId`). @default a random UUID */
  readonly requestId?: string;
}

const STAGE = 'prod';
const API_ID = 'a1b2c3d4e5';

/**
 * The event a regional REST API's Lambda proxy integration (payload format 1.0) sends for a
 * request on one of the gateway's routes, including the headers API Gateway adds.
 */
export function restProxyEvent(request: RestRequest): APIGatewayProxyEvent {
  const route = routeFor(request.operation);
  const method = request.method ?? route.methods[0] ?? 'GET';
  const resource = resourcePathOf(route);
  // Gateway-wide routes (`/v1/usage`) have no surface in their path.
  const pathParameters: Record<string, string> = route.gatewayWide
    ? {}
    : { surface: request.surface };
  if (request.jobId !== undefined) pathParameters.jobId = request.jobId;
  const path = resource
    .replace('{surface}', encodeURIComponent(request.surface))
    .replace('{jobId}', encodeURIComponent(request.jobId ?? ''));
  const host = `${API_ID}.execute-api.us-east-1.amazonaws.com`;
  const headers: Record<string, string> = {
    Host: host,
    'User-Agent': 'bundle-tests/1.0',
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
    'X-Forwarded-For': '203.0.113.7',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    ...request.headers,
  };
  const body =
    request.body === undefined
      ? null
      : typeof request.body === 'string'
        ? request.body
        : JSON.stringify(request.body);
  const event = buildEvent({
    method,
    resource,
    path,
    pathParameters,
    headers: Object.entries(headers),
    query: Object.entries(request.query ?? {}),
    body,
    requestId: request.requestId,
    sourceIp: '203.0.113.7',
    stage: STAGE,
  });
  return { ...event, requestContext: { ...event.requestContext, apiId: API_ID, domainName: host } };
}
