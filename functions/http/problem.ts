import type { GatewayError } from './gateway-error.ts';

/** An RFC 9457 problem document as the gateway writes it. */
export interface Problem {
  readonly type: 'about:blank';
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly code: string;
  readonly requestId: string;
  /**
   * The reason again, as an RFC 9457 extension member: RunPod's SDKs and the ai-sdk provider
   * show an error body's `error` (or `message`) string and nothing else.
   */
  readonly error: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The problem document for an error; `detail` replaces the error's own where given. */
export function problemOf(error: GatewayError, requestId: string, detail = error.detail): Problem {
  return {
    type: 'about:blank',
    status: error.status,
    title: error.title,
    detail,
    code: error.code,
    requestId,
    error: detail,
  };
}
