import type { GatewayError } from './gateway-error.ts';

type Readable = import('node:stream').Readable;

import { PROBLEM_CONTENT_TYPE, problemOf } from './problem.ts';

/** What an operation returns: middy writes it buffered or streamed, as the route says. */
export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Readable;
}

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** RunPod's answer passed through byte for byte, as RunPod sent it. */
export function passThroughJson(bodyText: string): GatewayResponse {
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: bodyText };
}

export function problemResponse(error: GatewayError, requestId: string): GatewayResponse {
  return {
    statusCode: error.status,
    headers: {
      ...error.headers,
      'Content-Type': PROBLEM_CONTENT_TYPE,
      'Cache-Control': 'no-store',
    },
    body: JSON.stringify(problemOf(error, requestId)),
  };
}
