import middy from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { KeyEntry } from '../auth/key-store.ts';
import type { GatewayResponse } from '../http/response.ts';
import { type Operation, routeFor } from '../routes.ts';
import { createGatewayRuntime, type GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { authenticate } from './authenticate.ts';
import { rateLimit } from './key-limits.ts';
import { problemErrors } from './problem-errors.ts';
import { requestContext } from './request-context.ts';
import { type GatewayContext, required } from './request-state.ts';
import { validateRequest } from './validate-request.ts';

/** An authenticated, validated request to a gateway-wide route (no surface, no RunPod call). */
export interface GatewayWideRequest<Query> {
  readonly requestId: string;
  readonly key: KeyEntry;
  readonly query: Query;
  readonly runtime: GatewayRuntime;
}

export interface GatewayWideSpec<QuerySchema extends z.ZodMiniType> {
  readonly operation: Operation;
  readonly query: QuerySchema;
  readonly handle: (request: GatewayWideRequest<z.infer<QuerySchema>>) => Promise<GatewayResponse>;
}

/**
 * The standard chain (see `createApiHandler`) for the routes outside every surface, without the
 * surface's steps: request id → problem errors → authenticate (the operation's grant) → the
 * key's rate → validate → operation.
 */
export function createGatewayWideHandler<QuerySchema extends z.ZodMiniType>(
  spec: GatewayWideSpec<QuerySchema>,
) {
  const route = routeFor(spec.operation);
  if (!route.gatewayWide || route.streaming) {
    throw new Error(`${spec.operation} is not a buffered gateway-wide route in routes.ts`);
  }
  const runtime = createGatewayRuntime(spec.operation);
  return middy<APIGatewayProxyEvent, GatewayResponse, Error, GatewayContext>()
    .use(requestContext(spec.operation))
    .use(problemErrors(spec.operation))
    .use(authenticate(runtime))
    .use(rateLimit(runtime))
    .use(validateRequest(runtime, { query: spec.query, hasJobId: false }))
    .handler((_event, context) => {
      const state = context.gateway;
      return spec.handle({
        requestId: state.requestId,
        key: required(state.key, 'key'),
        query: state.query as z.infer<QuerySchema>,
        runtime,
      });
    });
}
