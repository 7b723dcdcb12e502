import type { GatewayError } from './gateway-error.ts';

/** An RFC 9457 problem document as the gateway writes it. */
export interface Problem {
  readonly type: 'about:blank';
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly code: string;
  readonly requestId: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemOf(error: GatewayError, requestId: string): Problem {
  return {
    type: 'about:blank',
    status: error.status,
    title: error.title,
    detail: error.detail,
    code: error.code,
    requestId,
  };
}
