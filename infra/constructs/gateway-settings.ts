import { Token } from 'aws-cdk-lib';
import { MethodLoggingLevel } from 'aws-cdk-lib/aws-apigateway';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_RUNPOD_BASE_URL,
  DEFAULT_SECRETS_MAX_AGE_MS,
} from '../../functions/config/settings.ts';
import { LOG_LEVELS } from '../../functions/observability/logger.ts';
import {
  BUFFERED_INTEGRATION_TIMEOUT_SECONDS,
  LONG_RUNNING_OPERATIONS,
  OPERATIONS,
  type Operation,
  ROUTES,
  routeFor,
} from '../../functions/routes.ts';
import { parseRoutingConfig, type RoutingConfig } from '../../functions/routing/routing-config.ts';
import type { ExecutionLogLevel, GatewayLogLevel, RunPodGatewayProps } from './gateway-props.ts';
import {
  checkDurationMs,
  checkInteger,
  checkPositiveNumber,
  checkStageName,
  checkUpstreamBaseUrl,
} from './prop-checks.ts';

/**
 * The construct's props, checked (every bad value named with what is allowed, at synth time) and
 * with their defaults filled in.
 */

const DEFAULT_THROTTLING = { rateLimit: 100, burstLimit: 200 } as const;
const DEFAULT_MEMORY_MB = 256;
/** Lambda rejects invocation payloads above 6 MB; the body travels inside the event. */
const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
/** REST API integrations stream for at most 15 minutes, Lambda's own ceiling. */
const MAX_STREAMING_TIMEOUT_SECONDS = 900;
/** Room the stream function keeps after its relay budget to write the closing event. */
const STREAM_CLOSE_MARGIN_MS = 20_000;
const GATEWAY_LOG_LEVELS = LOG_LEVELS.filter(
  (level): level is GatewayLogLevel => level !== 'SILENT',
);
const EXECUTION_LOG_LEVELS: Readonly<Record<ExecutionLogLevel, MethodLoggingLevel>> = {
  INFO: MethodLoggingLevel.INFO,
  ERROR: MethodLoggingLevel.ERROR,
};
const WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/[^/]+\/[^/]+$/;

export interface ResolvedSettings {
  readonly routing: RoutingConfig;
  readonly upstreamBaseUrl: string;
  readonly throttling: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: RetentionDays;
  readonly secretsMaxAgeMs: number;
  readonly upstreamTimeoutsMs: Partial<Record<Operation, number>>;
  readonly maxRequestBodyBytes: number;
  readonly streamMaxDurationMs: number | undefined;
  readonly streamJournal: boolean;
  readonly streamLeaseMs: number | undefined;
  readonly maxUpstreamBodyBytes: number | undefined;
  readonly memorySize: number;
  readonly logLevel: GatewayLogLevel;
  readonly stageName: string;
  readonly executionLogLevel: MethodLoggingLevel;
  readonly cloudWatchRole: boolean;
  readonly tracing: boolean;
  readonly webAclArn: string | undefined;
  /** Reserved concurrency by operation (absent: none). */
  readonly reservedConcurrency: Partial<Record<Operation, number>>;
  /** Metrics, dashboard, top-consumer rules and metric alarms: all, totals only, or none. */
  readonly metrics: 'breakdown' | 'totals' | 'off';
  /** `USAGE_RETENTION_DAYS` when the prop is given. */
  readonly usageRetentionDays: number | undefined;
  /** When the sweep of unseen job ends runs; undefined when it is off. */
  readonly jobSweep: { readonly intervalMinutes: number; readonly minAgeMs: number } | undefined;
  /** Method throttling by operation (absent: the stage's). */
  readonly operationThrottling: Partial<
    Record<Operation, { readonly rateLimit: number; readonly burstLimit: number }>
  >;
}

/** Long-running functions get a cap of their own unless the operator says otherwise. */
const DEFAULT_RESERVED_CONCURRENCY: Partial<Record<Operation, number>> = Object.fromEntries(
  [...LONG_RUNNING_OPERATIONS].map((operation) => [operation, 50]),
);

/** From RunPod's per-endpoint limits: 2 purges and 100 cancels per 10 s. */
const DEFAULT_OPERATION_THROTTLING: Partial<
  Record<Operation, { readonly rateLimit: number; readonly burstLimit: number }>
> = {
  'purge-queue': { rateLimit: 0.2, burstLimit: 1 },
  cancel: { rateLimit: 10, burstLimit: 20 },
};

/** Validates every prop (and the route table's limits) and fills in the defaults. */
export function resolveSettings(props: RunPodGatewayProps): ResolvedSettings {
  checkRouteTable();
  const routing = parseRoutingConfig(props.routing);
  if (Object.keys(routing.surfaces).length === 0) {
    throw new Error(
      'Invalid routing config: surfaces must name at least one surface, e.g. {"surfaces":{"chat":{"endpointId":"…"}}}',
    );
  }

  const logLevel = props.logLevel ?? 'INFO';
  if (!GATEWAY_LOG_LEVELS.includes(logLevel)) {
    throw new Error(`logLevel must be one of ${GATEWAY_LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const executionLogLevel = props.executionLogLevel ?? 'ERROR';
  if (!Object.hasOwn(EXECUTION_LOG_LEVELS, executionLogLevel)) {
    throw new Error(`executionLogLevel must be INFO or ERROR, got "${executionLogLevel}"`);
  }

  const upstreamTimeoutsMs: Partial<Record<Operation, number>> = {};
  for (const [operation, timeout] of Object.entries(props.upstreamTimeouts ?? {})) {
    if (!isOperation(operation)) {
      throw new Error(
        `upstreamTimeouts has an unknown operation "${operation}"; operations are ${OPERATIONS.join(', ')}`,
      );
    }
    if (timeout === undefined) continue;
    upstreamTimeoutsMs[operation] = checkDurationMs(
      `upstreamTimeouts.${operation}`,
      timeout,
      routeFor(operation).functionTimeoutSeconds * 1000,
    );
  }

  const streamTimeoutMs = routeFor('stream').functionTimeoutSeconds * 1000;
  return {
    routing,
    upstreamBaseUrl: checkUpstreamBaseUrl(props.upstreamBaseUrl ?? DEFAULT_RUNPOD_BASE_URL),
    throttling: {
      rateLimit: checkPositiveNumber(
        'throttling.rateLimit',
        props.throttling?.rateLimit ?? DEFAULT_THROTTLING.rateLimit,
      ),
      burstLimit: checkInteger(
        'throttling.burstLimit',
        props.throttling?.burstLimit ?? DEFAULT_THROTTLING.burstLimit,
        1,
        Number.MAX_SAFE_INTEGER,
      ),
    },
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    secretsMaxAgeMs:
      props.secretsCacheMaxAge === undefined
        ? DEFAULT_SECRETS_MAX_AGE_MS
        : checkDurationMs('secretsCacheMaxAge', props.secretsCacheMaxAge, Number.MAX_SAFE_INTEGER),
    upstreamTimeoutsMs,
    maxRequestBodyBytes: checkInteger(
      'maxRequestBodyBytes',
      props.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES,
      1,
      LAMBDA_PAYLOAD_LIMIT_BYTES - 1,
    ),
    streamMaxDurationMs:
      props.streamMaxDuration === undefined
        ? undefined
        : checkDurationMs('streamMaxDuration', props.streamMaxDuration, streamTimeoutMs),
    streamJournal: props.streamJournal ?? true,
    jobSweep: jobSweepOf(props.jobSweep),
    usageRetentionDays: usageRetentionDaysOf(props.usageRetention),
    metrics: metricsOf(props.metrics),
    streamLeaseMs:
      props.streamLeaseDuration === undefined
        ? undefined
        : checkDurationMs('streamLeaseDuration', props.streamLeaseDuration, streamTimeoutMs),
    maxUpstreamBodyBytes:
      props.maxUpstreamBodyBytes === undefined
        ? undefined
        : checkInteger(
            'maxUpstreamBodyBytes',
            props.maxUpstreamBodyBytes,
            1_048_576,
            1_073_741_824,
          ),
    memorySize: checkInteger('memorySize', props.memorySize ?? DEFAULT_MEMORY_MB, 128, 10_240),
    logLevel,
    stageName: checkStageName(props.stageName ?? 'prod'),
    executionLogLevel: EXECUTION_LOG_LEVELS[executionLogLevel],
    cloudWatchRole: props.cloudWatchRole ?? true,
    tracing: props.tracing ?? false,
    webAclArn: props.webAclArn === undefined ? undefined : checkWebAclArn(props.webAclArn),
    reservedConcurrency: reservedConcurrencyOf(props.reservedConcurrency ?? {}),
    operationThrottling: operationThrottlingOf(props.operationThrottling ?? {}),
  };
}

function reservedConcurrencyOf(
  given: Partial<Record<string, number | false>>,
): Partial<Record<Operation, number>> {
  const resolved: Partial<Record<Operation, number>> = { ...DEFAULT_RESERVED_CONCURRENCY };
  for (const [operation, value] of Object.entries(given)) {
    if (!isOperation(operation)) {
      throw new Error(
        `reservedConcurrency has an unknown operation "${operation}"; operations are ${OPERATIONS.join(', ')}`,
      );
    }
    if (value === false) delete resolved[operation];
    else if (value !== undefined) {
      resolved[operation] = checkInteger(`reservedConcurrency.${operation}`, value, 1, 10_000);
    }
  }
  return resolved;
}

function operationThrottlingOf(
  given: Partial<Record<string, { rateLimit?: number; burstLimit?: number }>>,
): Partial<Record<Operation, { rateLimit: number; burstLimit: number }>> {
  const resolved: Partial<Record<Operation, { rateLimit: number; burstLimit: number }>> = {
    ...DEFAULT_OPERATION_THROTTLING,
  };
  for (const [operation, value] of Object.entries(given)) {
    if (!isOperation(operation)) {
      throw new Error(
        `operationThrottling has an unknown operation "${operation}"; operations are ${OPERATIONS.join(', ')}`,
      );
    }
    if (value === undefined) continue;
    const base = resolved[operation] ?? DEFAULT_THROTTLING;
    resolved[operation] = {
      rateLimit: checkPositiveNumber(
        `operationThrottling.${operation}.rateLimit`,
        value.rateLimit ?? base.rateLimit,
      ),
      burstLimit: checkInteger(
        `operationThrottling.${operation}.burstLimit`,
        value.burstLimit ?? base.burstLimit,
        1,
        Number.MAX_SAFE_INTEGER,
      ),
    };
  }
  return resolved;
}

/**
 * The route table is the lead's to change; this catches a timeout API Gateway or Lambda
 * would refuse, at synth time instead of in a failed deployment.
 */
function checkRouteTable(): void {
  for (const route of ROUTES) {
    const limit = route.streaming
      ? MAX_STREAMING_TIMEOUT_SECONDS
      : BUFFERED_INTEGRATION_TIMEOUT_SECONDS;
    if (route.functionTimeoutSeconds > limit) {
      throw new Error(
        `Route ${route.operation}: functionTimeoutSeconds ${route.functionTimeoutSeconds} exceeds the ${limit} s a ${route.streaming ? 'streamed' : 'buffered'} integration allows`,
      );
    }
  }
  if (routeFor('stream').functionTimeoutSeconds * 1000 <= STREAM_CLOSE_MARGIN_MS) {
    throw new Error('Route stream: functionTimeoutSeconds leaves no time to relay a stream');
  }
}

function checkWebAclArn(value: string): string {
  if (!Token.isUnresolved(value) && !WEB_ACL_ARN.test(value)) {
    throw new Error(
      `webAclArn must be a regional WAFv2 web ACL ARN (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>), got "${value}"`,
    );
  }
  return value;
}

function isOperation(value: string): value is Operation {
  return (OPERATIONS as readonly string[]).includes(value);
}

const DAY_MS = 86_400_000;

function jobSweepOf(props: RunPodGatewayProps['jobSweep']): ResolvedSettings['jobSweep'] {
  if (props === false) return undefined;
  const intervalMs =
    props?.interval === undefined
      ? 5 * 60_000
      : checkDurationMs('jobSweep.interval', props.interval, DAY_MS + 1);
  if (intervalMs < 60_000 || intervalMs % 60_000 !== 0) {
    throw new Error(
      `jobSweep.interval must be a whole number of minutes from 1 minute to 1 day, got ${intervalMs} ms`,
    );
  }
  return {
    intervalMinutes: intervalMs / 60_000,
    minAgeMs:
      props?.minAge === undefined
        ? 2 * 60_000
        : checkDurationMs('jobSweep.minAge', props.minAge, DAY_MS),
  };
}

function usageRetentionDaysOf(retention: RunPodGatewayProps['usageRetention']): number | undefined {
  if (retention === undefined) return undefined;
  const ms = checkDurationMs('usageRetention', retention, 10 * 365 * DAY_MS + 1);
  if (ms % DAY_MS !== 0 || ms < 2 * DAY_MS) {
    throw new Error(
      `usageRetention must be a whole number of days, at least 2, got ${retention.toHumanString()}`,
    );
  }
  return ms / DAY_MS;
}

function metricsOf(metrics: RunPodGatewayProps['metrics']): ResolvedSettings['metrics'] {
  if (metrics === undefined || metrics === true) return 'breakdown';
  if (metrics === false) return 'off';
  if (metrics === 'totals') return 'totals';
  throw new Error(`metrics must be true, false or 'totals', got ${JSON.stringify(metrics)}`);
}
