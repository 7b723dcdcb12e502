import { rateLimitOf } from '../auth/key-store.ts';
import { GatewayError } from '../http/gateway-error.ts';
import type { RateDecision, RateLimit } from '../limits/rate-limiter.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { GatewayMiddleware } from './request-state.ts';
import { required } from './request-state.ts';

/**
 * The IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers): the key's policy for this
 * operation (`q` requests at once, refilled over `w` seconds) and where it stands (`r` left,
 * full again in `t` seconds).
 */
function headersOf(limit: RateLimit, decision: RateDecision): Record<string, string> {
  const window = Math.max(1, Math.ceil(limit.burst / limit.perSecond));
  return {
    'RateLimit-Policy': `"key";q=${limit.burst};w=${window}`,
    RateLimit: `"key";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}

/**
 * A key's own request rate for the operation (`limits.rate` in its key store entry), enforced
 * across every instance before anything else is done for the request; keys without one pass
 * without a table call. Runs after authentication, so anonymous traffic cannot spend a key's
 * budget.
 */
export function rateLimit(runtime: GatewayRuntime): GatewayMiddleware {
  return {
    before: async (request) => {
      const state = request.context.gateway;
      const key = required(state.key, 'key');
      const limit = rateLimitOf(key, runtime.operation);
      if (limit === undefined) return;
      const decision = await runtime.rateLimiter().take(key.id, runtime.operation, limit);
      state.responseHeaders = { ...state.responseHeaders, ...headersOf(limit, decision) };
      if (!decision.allowed) {
        const wait = decision.retryAfterSeconds ?? 1;
        throw new GatewayError(
          'rate_limited',
          `API key ${key.id} may call ${runtime.operation} ${limit.perSecond} times a second, ${limit.burst} at once; retry in ${wait} s`,
          { headers: { 'Retry-After': String(wait) } },
        );
      }
    },
  };
}
