import type { RequestState } from '../middleware/request-state.ts';
import { emfLineOf, type MetricUnit } from './emf.ts';

/** The CloudWatch namespace of every gateway metric (the construct's dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'RunPodGateway';

/**
 * The gateway's metrics, in CloudWatch's embedded metric format (`emf.ts`): one
 * EMF line per request, written when the request completes (for a streamed route, when its
 * stream ends), in two dimension sets: `service` alone (the deployment's totals, which the alarms
 * watch) and `service`, `operation`, `surface` (the dashboard's breakdown) — all bounded by the
 * deployment's code and routing config. Key, job and request ids go in as properties, never as
 * dimensions. Every name is documented in docs/deployment.md ("Metrics").
 */
const SERVICE = process.env.SERVICE_NAME ?? 'runpod-gateway';
/** `POWERTOOLS_METRICS_DISABLED` (the Powertools convention): the construct's `metrics: false`. */
const DISABLED = ['1', 'true'].includes(
  (process.env.POWERTOOLS_METRICS_DISABLED ?? '').toLowerCase(),
);
/**
 * `METRICS_BREAKDOWN=off` (the construct's `metrics: 'totals'`) keeps the totals only: about 25
 * metrics instead of a set per operation and surface in use; `operation` and `surface` stay in
 * the line as properties, for Logs Insights.
 */
const DIMENSION_SETS =
  process.env.METRICS_BREAKDOWN === 'off'
    ? [['service']]
    : [['service'], ['service', 'operation', 'surface']];

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
  if (DISABLED) return;
  const now = Date.now();
  const metrics = new Map<string, { unit: MetricUnit; value: number }>();
  const count = (name: string, value = 1) => metrics.set(name, { unit: 'Count', value });
  const time = (name: string, value: number) => metrics.set(name, { unit: 'Milliseconds', value });
  count('Requests');
  time('Latency', now - state.startedAt);
  if (status >= 500) count('Errors5xx');
  else if (status >= 400) count('Errors4xx');
  if (code === 'unauthorized' || code === 'forbidden') count('AuthFailures');
  if (code === 'upstream_auth_failed') count('RunPodAuthFailures');
  if (code === 'ledger_unavailable') count('LedgerFailures');
  if (code !== undefined && LIMIT_CODES.has(code)) count('LimiterRejections');
  const upstream = upstreamClassOf(state.upstreamStatus, code);
  if (upstream !== undefined) count(`RunPod${upstream}`);
  if (state.upstreamLatencyMs !== undefined) time('RunPodLatency', state.upstreamLatencyMs);
  if (fields.replayed === 1) count('IdempotentReplays');
  const outcome = STREAM_OUTCOMES[String(fields.streamOutcome)];
  if (outcome !== undefined) {
    count(outcome);
    time('StreamDuration', now - state.startedAt);
    if (typeof fields.chunks === 'number') count('StreamChunks', fields.chunks);
  }
  if (typeof fields.promptTokens === 'number') count('PromptTokens', fields.promptTokens);
  if (typeof fields.completionTokens === 'number') {
    count('CompletionTokens', fields.completionTokens);
  }
  const line = emfLineOf({
    namespace: METRICS_NAMESPACE,
    dimensionSets: DIMENSION_SETS,
    dimensions: {
      service: SERVICE,
      operation: state.operation,
      surface: state.surface ? (state.surfaceName ?? 'none') : 'none',
    },
    metrics,
    properties: {
      requestId: state.requestId,
      keyId: state.key?.id,
      jobId: state.jobId,
      code,
    },
    timestamp: now,
  });
  // Looked up at each write, so that tests and the local runtime can capture stdout.
  process.stdout.write(`${line}\n`);
}
