import { rateLimitOf } from '../auth/key-store.ts';
import { GatewayError } from '../http/gateway-error.ts';
import type { RateDecision, RateLimit } from '../limits/rate-limiter.ts';
import { rateFor } from '../limits/rates.ts';
import { LONG_RUNNING_OPERATIONS, routeFor } from '../routes.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { GatewayMiddleware } from './request-state.ts';
import { required } from './request-state.ts';

/**
 * The IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers): the key's policy for this
 * operation (`q` requests at once, refilled over `w` seconds) and where it stands (`r` left,
 * full again in `t` seconds).
 */
function headersOf(
  policy: 'key' | 'endpoint',
  limit: RateLimit,
  decision: RateDecision,
): Record<string, string> {
  const window = Math.max(1, Math.ceil(limit.burst / limit.perSecond));
  return {
    'RateLimit-Policy': `"${policy}";q=${limit.burst};w=${window}`,
    RateLimit: `"${policy}";r=${decision.remaining};t=${decision.resetSeconds}`,
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
      state.responseHeaders = { ...state.responseHeaders, ...headersOf('key', limit, decision) };
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

/**
 * The surface's endpoint budget (`endpointRates` in the routing config): what all consumers
 * together may send one RunPod endpoint, counted per endpoint and operation after the endpoint
 * is chosen, so a burst past RunPod's own limits is refused here, to the consumer who sent it.
 * Its headers replace a key's own only on a refusal (the policy that refused is the one shown).
 */
export function endpointBudget(runtime: GatewayRuntime): GatewayMiddleware {
  return {
    before: async (request) => {
      const state = request.context.gateway;
      const surface = required(state.surface, 'surface');
      const limit = rateFor(surface.endpointRates, runtime.operation);
      if (limit === undefined) return;
      const endpointId = required(state.endpointId, 'endpoint');
      const decision = await runtime
        .rateLimiter()
        .take(`endpoint:${endpointId}`, runtime.operation, limit);
      if (!decision.allowed) {
        const wait = decision.retryAfterSeconds ?? 1;
        throw new GatewayError(
          'endpoint_rate_limited',
          `RunPod endpoint ${endpointId} takes ${limit.perSecond} ${runtime.operation} requests a second from this gateway (${limit.burst} at once), for all consumers together; retry in ${wait} s`,
          { headers: { 'Retry-After': String(wait), ...headersOf('endpoint', limit, decision) } },
        );
      }
    },
  };
}

/**
 * A key's concurrent long-running requests (`limits.concurrent`): a slot is taken before the
 * request goes on and given back when the invocation ends — for a stream, when its relay stops
 * (see `requestEnd` in api-handler.ts). Over it: 429 `rate_limited`.
 */
export function concurrencyLimit(runtime: GatewayRuntime): GatewayMiddleware {
  const holdMs = routeFor(runtime.operation).functionTimeoutSeconds * 1000;
  return {
    before: async (request) => {
      if (!LONG_RUNNING_OPERATIONS.has(runtime.operation)) return;
      const state = request.context.gateway;
      const key = required(state.key, 'key');
      const limit = key.limits?.concurrent;
      if (limit === undefined) return;
      const release = await runtime.concurrencySlots().acquire(key.id, limit, holdMs);
      if (release === undefined) {
        throw new GatewayError(
          'rate_limited',
          `API key ${key.id} may hold ${limit} streams, runsync and status-sync requests at once, and does; retry when one ends`,
          { headers: { 'Retry-After': '1' } },
        );
      }
      state.atEnd = [...(state.atEnd ?? []), release];
    },
  };
}
