import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
} from '../ledger/idempotency-errors.ts';
import { JobNotFoundError } from '../ledger/job-access.ts';
import { LedgerUnavailableError } from '../ledger/job-ledger.ts';
import { JobNotRecordedError } from '../ledger/job-submissions.ts';
import {
  RunPodHttpError,
  RunPodInvalidResponseError,
  RunPodNetworkError,
  RunPodResponseTooLargeError,
  RunPodTimeoutError,
} from '../runpod/errors.ts';
import { retryAfterSeconds } from '../runpod/retry-after.ts';
import { GatewayError } from './gateway-error.ts';

/** RunPod sends no Retry-After that anyone has captured; its rate windows are 10 s long. */
export const DEFAULT_RETRY_AFTER_SECONDS = '5';

/**
 * The one place where failures become what callers see. Anything that is neither a
 * GatewayError nor a known RunPod failure is a bug: it leaves as 500 `internal_error` with
 * no detail of its own.
 */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof RunPodHttpError) return fromHttpError(error);
  if (error instanceof JobNotFoundError) {
    return new GatewayError('job_not_found', error.message, { cause: error });
  }
  if (error instanceof InvalidIdempotencyKeyError) {
    return new GatewayError('invalid_idempotency_key', error.message, { cause: error });
  }
  if (error instanceof IdempotencyInProgressError) {
    return new GatewayError(
      'idempotency_in_progress',
      'The first request with this Idempotency-Key is still being processed; retry after Retry-After to get its answer',
      { headers: { 'Retry-After': '1' }, cause: error },
    );
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return new GatewayError(
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request (body, query or routing) in the last 24 hours; use a new key for a new request',
      { cause: error },
    );
  }
  if (error instanceof JobNotRecordedError) {
    return new GatewayError(
      'ledger_unavailable',
      error.cancelled
        ? `The gateway could not record job ${error.jobId}, so it cancelled the job at RunPod; submit it again shortly`
        : `The gateway could not record job ${error.jobId}, and cancelling it failed; the operator has been alerted`,
      { headers: { 'Retry-After': DEFAULT_RETRY_AFTER_SECONDS }, cause: error },
    );
  }
  if (error instanceof LedgerUnavailableError) {
    return new GatewayError(
      'ledger_unavailable',
      'The gateway\u2019s job ledger is unavailable; retry shortly',
      {
        headers: { 'Retry-After': DEFAULT_RETRY_AFTER_SECONDS },
        cause: error,
      },
    );
  }
  if (error instanceof RunPodTimeoutError) {
    return new GatewayError(
      'upstream_timeout',
      `RunPod did not answer within ${error.timeoutMs} ms`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof RunPodNetworkError) {
    return new GatewayError('upstream_unreachable', 'RunPod could not be reached', {
      cause: error,
    });
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    // middy's own early timeout, thrown just before the Lambda would be cut off.
    return new GatewayError('gateway_timeout', 'The gateway ran out of time for this request', {
      cause: error,
    });
  }
  if (error instanceof RunPodResponseTooLargeError) {
    return new GatewayError('upstream_error', error.message, { cause: error });
  }
  if (error instanceof RunPodInvalidResponseError) {
    return new GatewayError('upstream_error', error.message, { cause: error });
  }
  return new GatewayError(
    'internal_error',
    'The gateway failed unexpectedly; the failure was logged',
    {
      cause: error,
    },
  );
}

function fromHttpError(error: RunPodHttpError): GatewayError {
  const said = error.upstreamMessage ? `: ${error.upstreamMessage}` : '';
  switch (error.status) {
    case 400:
      return new GatewayError('upstream_bad_request', `RunPod rejected the request${said}`, {
        cause: error,
      });
    case 404:
      return new GatewayError('upstream_not_found', `RunPod found no such job or endpoint${said}`, {
        cause: error,
      });
    case 401:
    case 403:
      // The operator's RunPod key is wrong or lacks access; RunPod's text is not echoed.
      return new GatewayError(
        'upstream_auth_failed',
        'RunPod refused the gateway\u2019s API key; the operator must check the RunPod key secret',
        { cause: error },
      );
    case 429:
      return new GatewayError('upstream_rate_limited', 'RunPod rate limit reached; retry later', {
        headers: { 'Retry-After': retryAfterOf(error.retryAfter) },
        cause: error,
      });
    default:
      return new GatewayError('upstream_error', `RunPod answered ${error.status}`, {
        cause: error,
      });
  }
}

/** The longest wait passed on: RunPod's rate windows are 10 s long. */
export const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * RunPod's Retry-After (seconds or an HTTP date) as whole seconds from now, clamped to 1–60 s: an
 * upstream asking for days (or for none, or a date in the past) would otherwise stall or spin
 * every caller that obeys it.
 */
function retryAfterOf(value: string | undefined): string {
  const seconds = retryAfterSeconds(value);
  if (seconds === undefined) return DEFAULT_RETRY_AFTER_SECONDS;
  return String(Math.min(Math.max(seconds, 1), MAX_RETRY_AFTER_SECONDS));
}
