import type { GatewayError } from './gateway-error.ts';

/** OpenAI's error `type` for a status, as its clients (and vLLM's server) use them. */
function typeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 409) return 'conflict_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, for the
 * OpenAI-compatible routes, whose clients read nothing else: `code` is the gateway's stable code
 * (the problem+json table's), `message` its detail, and the request id rides along.
 */
export function openAiErrorOf(error: GatewayError, requestId: string): Record<string, unknown> {
  return {
    error: {
      message: error.detail,
      type: typeOf(error.status),
      param: null,
      code: error.code,
      request_id: requestId,
    },
  };
}
