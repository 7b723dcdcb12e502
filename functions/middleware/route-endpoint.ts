import type { MiddlewareObj } from '@middy/core';
import { resolveEndpoint } from '../routing/resolve-endpoint.ts';
import type { GatewayMiddyRequest } from './request-state.ts';
import { required } from './request-state.ts';

/** Chooses the RunPod endpoint from the validated request: override, then model, then default. */
export function routeEndpoint(): MiddlewareObj {
  return {
    before: (request) => {
      const { context } = request as unknown as GatewayMiddyRequest;
      const state = context.gateway;
      const query = (state.query ?? {}) as { endpointId?: string; model?: string };
      state.endpointId = resolveEndpoint(required(state.surfaceName, 'surface'), {
        surface: required(state.surface, 'surface'),
        override: query.endpointId,
        model: query.model ?? modelOfBody(state.body),
      });
    },
  };
}

function modelOfBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('input' in body)) return undefined;
  const input = body.input;
  if (typeof input !== 'object' || input === null || !('model' in input)) return undefined;
  return typeof input.model === 'string' ? input.model : undefined;
}
