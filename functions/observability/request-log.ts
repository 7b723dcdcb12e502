import type { RequestState } from '../middleware/request-state.ts';
import { logger } from './logger.ts';
import { publishRequestMetrics } from './request-metrics.ts';

/**
 * The one log line per request, and its metrics. Fields are named one by one so that nothing
 * else (headers, bodies, tokens, `s3Config`) can slip in.
 */
export function logCompletion(
  state: RequestState,
  status: number,
  code?: string,
  extra?: Readonly<Record<string, string | number>>,
): void {
  const fields = { ...state.logFields, ...extra };
  publishRequestMetrics(state, status, code, fields);
  logger.info('request completed', {
    requestId: state.requestId,
    operation: state.operation,
    keyId: state.key?.id,
    surface: state.surface ? state.surfaceName : undefined,
    endpointId: state.endpointId,
    jobId: state.jobId,
    status,
    code,
    upstreamStatus: state.upstreamStatus,
    upstreamLatencyMs: state.upstreamLatencyMs,
    latencyMs: Date.now() - state.startedAt,
    ...fields,
  });
}
