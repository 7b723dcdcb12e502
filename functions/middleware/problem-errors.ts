import { toGatewayError } from '../http/map-error.ts';
import { problemResponse, REQUEST_ID_HEADER } from '../http/response.ts';
import { logger } from '../observability/logger.ts';
import { logCompletion } from '../observability/request-log.ts';
import { type Operation, routeFor } from '../routes.ts';
import type { GatewayMiddleware } from './request-state.ts';

/**
 * Last word on every response: errors become problem+json (RFC 9457; OpenAI's error shape on
 * the OpenAI-compatible routes), every answer gets
 * X-Request-Id and the headers earlier middleware asked for (RateLimit), and one log line records the outcome. Registered second in the chain so
 * its `after` runs after the handler's and its `onError` sees every failure.
 */
export function problemErrors(operation: Operation): GatewayMiddleware {
  // OpenAI's clients parse only OpenAI's error shape.
  const shape = routeFor(operation).openAi ? 'openai' : 'problem';
  return {
    after: (request) => {
      const { context, response } = request;
      if (!response) return;
      Object.assign(response.headers, context.gateway.responseHeaders);
      response.headers[REQUEST_ID_HEADER] = context.gateway.requestId;
      // A streamed body logs its own completion when it ends.
      if (typeof response.body === 'string') logCompletion(context.gateway, response.statusCode);
    },
    onError: (middyRequest) => {
      const state = middyRequest.context.gateway;
      const requestId = state?.requestId ?? middyRequest.context.awsRequestId ?? 'unknown';
      const error = toGatewayError(middyRequest.error);
      if (error.status >= 500 && error.code !== 'upstream_timeout') {
        logger.error('request failed', {
          requestId,
          code: error.code,
          error:
            middyRequest.error instanceof Error ? middyRequest.error : String(middyRequest.error),
        });
      }
      const response = problemResponse(error, requestId, shape);
      Object.assign(response.headers, state?.responseHeaders, error.headers);
      response.headers[REQUEST_ID_HEADER] = requestId;
      if (state) logCompletion(state, error.status, error.code);
      middyRequest.response = response;
    },
  };
}
