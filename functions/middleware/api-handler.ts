import middy from '@middy/core';
import type { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type * as z from 'zod/mini';
import { headerOf } from '../http/headers.ts';
import type { GatewayResponse } from '../http/response.ts';
import { type Operation, routeFor } from '../routes.ts';
import type { RunPodAnswer } from '../runpod/client.ts';
import { RunPodHttpError } from '../runpod/errors.ts';
import { createGatewayRuntime, type GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { authenticate } from './authenticate.ts';
import { problemErrors } from './problem-errors.ts';
import { requestContext } from './request-context.ts';
import { type GatewayContext, type RequestState, required } from './request-state.ts';
import { routeEndpoint } from './route-endpoint.ts';
import { validateRequest } from './validate-request.ts';

export interface UpstreamCall {
  /** Path below the endpoint, from validated parts only, e.g. `status/${jobId}`. */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Reads that may be retried on connection failures and 502/503/504. */
  readonly idempotent?: boolean;
  /** How long the call asks RunPod to hold it (`wait`); added to the upstream timeout. */
  readonly holdMs?: number;
  readonly signal?: AbortSignal;
}

/** A validated, authenticated, routed request, as an operation sees it. */
export interface GatewayRequest<Query, Body> {
  readonly requestId: string;
  readonly surfaceName: string;
  readonly endpointId: string;
  readonly jobId: string | undefined;
  readonly query: Query;
  readonly body: Body;
  /** The request body exactly as sent, forwarded upstream unchanged. */
  readonly bodyText: string | undefined;
  readonly deadline: number;
  readonly runtime: GatewayRuntime;
  readonly state: RequestState;
  header(name: string): string | undefined;
  /** Calls RunPod on this request's endpoint with this surface's key. */
  call(call: UpstreamCall): Promise<RunPodAnswer>;
}

export interface OperationSpec<
  QuerySchema extends z.ZodMiniType,
  BodySchema extends z.ZodMiniType,
> {
  readonly operation: Operation;
  /**
   * middy's response streaming mode, for the routes `routes.ts` marks as streaming. The
   * operation module imports it, so buffered functions' bundles do not load it (and the web
   * streams it needs) at cold start.
   */
  readonly executionMode?: typeof executionModeStreamifyResponse;
  readonly query: QuerySchema;
  readonly body?: BodySchema;
  readonly handle: (
    request: GatewayRequest<z.infer<QuerySchema>, z.infer<BodySchema>>,
  ) => Promise<GatewayResponse>;
}

/**
 * The one standard chain every operation runs through:
 * request id → problem errors → authenticate → validate → resolve endpoint → operation.
 * Streaming routes use middy 7's streamify execution mode (its v6 `streamifyResponse: true`
 * option is silently ignored by v7).
 */
export function createApiHandler<
  QuerySchema extends z.ZodMiniType,
  BodySchema extends z.ZodMiniType,
>(spec: OperationSpec<QuerySchema, BodySchema>) {
  const route = routeFor(spec.operation);
  if ((spec.executionMode !== undefined) !== route.streaming) {
    throw new Error(
      `The ${spec.operation} handler must ${route.streaming ? '' : 'not '}pass middy's streaming execution mode: routes.ts marks the route ${route.streaming ? 'streaming' : 'buffered'}`,
    );
  }
  const runtime = createGatewayRuntime(spec.operation);
  const handle = (event: APIGatewayProxyEvent, context: GatewayContext) =>
    spec.handle(
      gatewayRequestOf(runtime, context.gateway, event) as GatewayRequest<
        z.infer<QuerySchema>,
        z.infer<BodySchema>
      >,
    );

  return middy<APIGatewayProxyEvent, GatewayResponse, Error, GatewayContext>(
    spec.executionMode ? { executionMode: spec.executionMode } : {},
  )
    .use(requestContext(spec.operation))
    .use(problemErrors())
    .use(authenticate(runtime))
    .use(
      validateRequest(runtime, {
        query: spec.query,
        body: spec.body,
        hasJobId: route.path.includes('{jobId}'),
      }),
    )
    .use(routeEndpoint())
    .handler(handle);
}

function gatewayRequestOf(
  runtime: GatewayRuntime,
  state: RequestState,
  event: APIGatewayProxyEvent,
): GatewayRequest<unknown, unknown> {
  const endpointId = required(state.endpointId, 'endpoint');
  const surface = required(state.surface, 'surface');
  return {
    requestId: state.requestId,
    surfaceName: required(state.surfaceName, 'surface'),
    endpointId,
    jobId: state.jobId,
    query: state.query,
    body: state.body,
    bodyText: state.bodyText,
    deadline: state.deadline,
    runtime,
    state,
    header: (name) => headerOf(event, name),
    call: async (call) => {
      const apiKey = await runtime.runpodApiKeys.get(
        surface.apiKeySecret ?? runtime.settings.runpodApiKeyRef,
      );
      const timeoutMs = Math.max(
        1,
        Math.min(
          runtime.settings.upstreamTimeoutMs + (call.holdMs ?? 0),
          state.deadline - Date.now(),
        ),
      );
      const started = Date.now();
      const request = {
        endpointId,
        path: call.path,
        method: call.method,
        query: call.query,
        body: call.body,
        apiKey,
        timeoutMs,
        signal: call.signal,
        requestId: state.requestId,
      };
      try {
        const answer = call.idempotent
          ? await runtime.client.sendIdempotent(request, { deadline: state.deadline })
          : await runtime.client.send(request);
        state.upstreamStatus = answer.status;
        return answer;
      } catch (error) {
        if (error instanceof RunPodHttpError) state.upstreamStatus = error.status;
        throw error;
      } finally {
        state.upstreamLatencyMs = Date.now() - started;
      }
    },
  };
}
