/**
 * Every error code the gateway can answer with. Codes are a stable contract: callers
 * branch on them, so a code is never renamed or reused for another meaning.
 * README's "Error codes" table lists each of them (a test keeps the two in step).
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, title: 'Invalid request' },
  invalid_json: { status: 400, title: 'Request body is not valid JSON' },
  invalid_idempotency_key: { status: 400, title: 'Invalid Idempotency-Key' },
  missing_endpoint_id: { status: 400, title: 'No RunPod endpoint for this request' },
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  forbidden: { status: 403, title: 'API key not allowed here' },
  endpoint_not_allowed: { status: 403, title: 'Endpoint override not allowed' },
  not_found: { status: 404, title: 'No such route' },
  unknown_surface: { status: 404, title: 'Unknown surface' },
  job_not_found: { status: 404, title: 'No such job' },
  idempotency_in_progress: {
    status: 409,
    title: 'A request with this Idempotency-Key is in progress',
  },
  payload_too_large: { status: 413, title: 'Request body too large' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key used with another request' },
  throttled: { status: 429, title: 'Too many requests' },
  rate_limited: { status: 429, title: "Over this API key's rate or concurrency limit" },
  endpoint_rate_limited: { status: 429, title: "Over the RunPod endpoint's budget" },
  quota_exceeded: { status: 429, title: "This API key's daily quota is used up" },
  upstream_bad_request: { status: 400, title: 'RunPod rejected the request' },
  upstream_not_found: { status: 404, title: 'RunPod did not find it' },
  upstream_rate_limited: { status: 429, title: 'RunPod rate limit reached' },
  upstream_auth_failed: { status: 502, title: 'The gateway could not authenticate to RunPod' },
  upstream_error: { status: 502, title: 'RunPod answered with an error' },
  upstream_unreachable: { status: 502, title: 'RunPod could not be reached' },
  upstream_timeout: { status: 504, title: 'RunPod did not answer in time' },
  secrets_unavailable: { status: 503, title: 'Gateway secrets unavailable' },
  ledger_unavailable: { status: 503, title: 'Job ledger unavailable' },
  gateway_error: { status: 502, title: 'The gateway could not serve the request' },
  gateway_timeout: { status: 504, title: 'The gateway timed out' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
