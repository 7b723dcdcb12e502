import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RequestState } from '../middleware/request-state.ts';

/** The CloudWatch namespace of every gateway metric (the construct's dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'RunPodGateway';

/**
 * The gateway's metrics, in CloudWatch's embedded metric format through Powertools Metrics: one
 * EMF line per request, written when the request completes (for a streamed route, when its
 * stream ends), in two dimension sets: `service` alone (the deployment's totals, which the alarms
 * watch) and `service`, `operation`, `surface` (the dashboard's breakdown) — all bounded by the
 * deployment's code and routing config. Key, job and request ids go in as properties, never as
 * dimensions. Every name is documented in docs/deployment.md ("Metrics").
 */
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.SERVICE_NAME ?? 'runpod-gateway',
});

/** Codes the per-key and per-endpoint limits answer with. */
const LIMIT_CODES = new Set(['rate_limited', 'endpoint_rate_limited', 'quota_exceeded']);

/** How RunPod answered, as a bounded class: `2xx`, `4xx`, `429`, `5xx`, `timeout`, `unreachable`. */
function upstreamClassOf(status: number | undefined, code: string | undefined): string | undefined {
  if (code === 'upstream_timeout') return 'Timeout';
  if (code === 'upstream_unreachable') return 'Unreachable';
  if (status === undefined) return undefined;
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  return '2xx';
}

const STREAM_OUTCOMES: Readonly<Record<string, string>> = {
  done: 'StreamDone',
  timeout: 'StreamTimeout',
  error: 'StreamError',
  disconnected: 'StreamDisconnected',
};

/** Publishes the request's metrics (called once per request, with its completion log line). */
export function publishRequestMetrics(
  state: RequestState,
  status: number,
  code: string | undefined,
  fields: Readonly<Record<string, string | number>>,
): void {
  // The totals ({service}), then the breakdown.
  metrics.addDimensions({});
  metrics.addDimensions({
    operation: state.operation,
    surface: state.surface ? (state.surfaceName ?? 'none') : 'none',
  });
  const count = (name: string, value = 1) => metrics.addMetric(name, MetricUnit.Count, value);
  count('Requests');
  metrics.addMetric('Latency', MetricUnit.Milliseconds, Date.now() - state.startedAt);
  if (status >= 500) count('Errors5xx');
  else if (status >= 400) count('Errors4xx');
  if (code === 'unauthorized' || code === 'forbidden') count('AuthFailures');
  if (code === 'upstream_auth_failed') count('RunPodAuthFailures');
  if (code === 'ledger_unavailable') count('LedgerFailures');
  if (code !== undefined && LIMIT_CODES.has(code)) count('LimiterRejections');
  const upstream = upstreamClassOf(state.upstreamStatus, code);
  if (upstream !== undefined) count(`RunPod${upstream}`);
  if (state.upstreamLatencyMs !== undefined) {
    metrics.addMetric('RunPodLatency', MetricUnit.Milliseconds, state.upstreamLatencyMs);
  }
  if (fields.replayed === 1) count('IdempotentReplays');
  const outcome = STREAM_OUTCOMES[String(fields.streamOutcome)];
  if (outcome !== undefined) {
    count(outcome);
    metrics.addMetric('StreamDuration', MetricUnit.Milliseconds, Date.now() - state.startedAt);
    if (typeof fields.chunks === 'number') count('StreamChunks', fields.chunks);
  }
  if (typeof fields.promptTokens === 'number') count('PromptTokens', fields.promptTokens);
  if (typeof fields.completionTokens === 'number') {
    count('CompletionTokens', fields.completionTokens);
  }
  metrics.addMetadata('requestId', state.requestId);
  if (state.key !== undefined) metrics.addMetadata('keyId', state.key.id);
  if (state.jobId !== undefined) metrics.addMetadata('jobId', state.jobId);
  if (code !== undefined) metrics.addMetadata('code', code);
  metrics.publishStoredMetrics();
}
