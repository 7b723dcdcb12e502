import type { GatewayError } from './gateway-error.ts';

type Readable = import('node:stream').Readable;

import { openAiErrorOf } from './openai-error.ts';
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

/** How a route writes its errors: RFC 9457 problems, or OpenAI's shape on its compatible routes. */
export type ErrorShape = 'problem' | 'openai';

export function problemResponse(
  error: GatewayError,
  requestId: string,
  shape: ErrorShape = 'problem',
): GatewayResponse {
  return {
    statusCode: error.status,
    headers: {
      ...error.headers,
      'Content-Type': shape === 'openai' ? 'application/json' : PROBLEM_CONTENT_TYPE,
      'Cache-Control': 'no-store',
    },
    body: JSON.stringify(
      shape === 'openai' ? openAiErrorOf(error, requestId) : problemOf(error, requestId),
    ),
  };
}
