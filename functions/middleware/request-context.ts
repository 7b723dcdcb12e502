import { BUFFERED_INTEGRATION_TIMEOUT_SECONDS, type Operation, routeFor } from '../routes.ts';
import { crypto } from '../runtime/builtins.ts';
import type { GatewayMiddleware } from './request-state.ts';

/** Time kept back from the deadline to write the answer. */
const ANSWER_MARGIN_MS = 1_000;

/**
 * First in the chain: gives the request its id (API Gateway's, or a fresh one locally) and
 * its deadline, which is the earlier of the function's remaining time and, for buffered
 * routes, API Gateway's 29 s integration cut-off.
 */
export function requestContext(operation: Operation): GatewayMiddleware {
  const route = routeFor(operation);
  return {
    before: (request) => {
      const { event, context } = request;
      const now = Date.now();
      const remaining =
        typeof context.getRemainingTimeInMillis === 'function'
          ? context.getRemainingTimeInMillis()
          : route.functionTimeoutSeconds * 1000;
      const limit = route.streaming
        ? remaining
        : Math.min(remaining, BUFFERED_INTEGRATION_TIMEOUT_SECONDS * 1000);
      context.gateway = {
        requestId: event.requestContext?.requestId || crypto.randomUUID(),
        operation,
        startedAt: now,
        deadline: now + limit - ANSWER_MARGIN_MS,
      };
    },
  };
}
