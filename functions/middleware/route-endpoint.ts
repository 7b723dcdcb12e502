import { jobForFollowUp } from '../ledger/job-access.ts';
import { routeFor } from '../routes.ts';
import { resolveEndpoint } from '../routing/resolve-endpoint.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { GatewayMiddleware } from './request-state.ts';
import { required } from './request-state.ts';

/**
 * Chooses the RunPod endpoint. A follow-up call on a job (status, stream, cancel, …) goes where
 * the ledger recorded the job, once the ledger says this key may act on it; anything else is
 * routed from the request: override, then model, then the surface's default.
 */
export function routeEndpoint(runtime: GatewayRuntime): GatewayMiddleware {
  const looksUpJob = routeFor(runtime.operation).ledger === 'lookup';
  return {
    before: async (request) => {
      const { context } = request;
      const state = context.gateway;
      const surfaceName = required(state.surfaceName, 'surface');
      const surface = required(state.surface, 'surface');
      const query = (state.query ?? {}) as { endpointId?: string; model?: string };
      const model = query.model ?? modelOfBody(state.body);
      if (model !== undefined) state.model = model;
      if (looksUpJob) {
        const job = await jobForFollowUp({
          ledger: required(runtime.ledger, 'ledger'),
          jobId: required(state.jobId, 'jobId'),
          key: required(state.key, 'key'),
          surfaceName,
          surface,
        });
        if (job !== undefined) {
          // The recorded endpoint wins over `?model=`/`?endpointId=`: RunPod's clients cannot
          // send them, and the job runs where it was submitted.
          state.job = job;
          state.endpointId = job.endpointId;
          return;
        }
      }
      state.endpointId = resolveEndpoint(surfaceName, {
        surface,
        override: query.endpointId,
        model,
      });
    },
  };
}

/** `model` of an OpenAI-compatible body, else `input.model` of a job submission. */
function modelOfBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  if ('model' in body && typeof body.model === 'string') return body.model;
  if (!('input' in body)) return undefined;
  const input = body.input;
  if (typeof input !== 'object' || input === null || !('model' in input)) return undefined;
  return typeof input.model === 'string' ? input.model : undefined;
}
