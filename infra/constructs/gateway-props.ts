import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { PolicyDocument } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { LineLevel } from '../../functions/observability/logger.ts';
import type { Operation } from '../../functions/routes.ts';
import type { RoutingConfig } from '../../functions/routing/routing-config.ts';

/** What a platform team sets on the `RunPodGateway` construct. */

/** Log levels the functions accept in `LOG_LEVEL`. */
export type GatewayLogLevel = LineLevel;

/** API Gateway execution-log levels; logging cannot be turned off (cdk-nag APIG6). */
export type ExecutionLogLevel = 'INFO' | 'ERROR';

/** Stage-wide request limits, shared by all callers (each key's own live in the key store). */
export interface GatewayThrottling {
  /**
   * Steady-state requests per second.
   * @default 100
   */
  readonly rateLimit?: number;
  /**
   * Requests that may arrive at once above the steady rate.
   * @default 200
   */
  readonly burstLimit?: number;
}

/** When the sweep of unseen job ends runs. */
export interface JobSweepProps {
  /**
   * How often it runs: from 1 minute to 1 day.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * How old an unfinished job must be before the sweep asks RunPod about it (its client has had
   * time to poll it): under 1 day.
   * @default Duration.minutes(2)
   */
  readonly minAge?: Duration;
}

export interface RunPodGatewayProps {
  /**
   * Surfaces and their RunPod endpoints. Validated at synth time and bundled into every
   * function as `routing.json`; a change redeploys the functions.
   */
  readonly routing: RoutingConfig;
  /**
   * Secret holding the consumer keys: `{"keys":[{"id","sha256","surfaces",...}]}` with
   * SHA-256 digests only, never tokens.
   * @default - a new secret holding `{"keys":[]}` (no caller is let in until keys are added)
   */
  readonly keyStoreSecret?: ISecret;
  /**
   * Secret holding the default RunPod API key, as plain text or `{"apiKey":"…"}`.
   * Surfaces may name their own with `apiKeySecret` in the routing config.
   * @default - a new secret holding a placeholder the operator replaces with put-secret-value
   */
  readonly runpodApiKeySecret?: ISecret;
  /**
   * RunPod's serverless API base URL. Must be https (plain http only for a loopback host).
   * @default 'https://api.runpod.ai/v2'
   */
  readonly upstreamBaseUrl?: string;
  /**
   * Stage-wide throttling.
   * @default - 100 requests per second, bursts of 200
   */
  readonly throttling?: GatewayThrottling;
  /**
   * Retention of the function logs and the API access logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * How long a function reuses a secret value before reading it again; bounds how long a
   * revoked consumer key keeps working.
   * @default Duration.minutes(5)
   */
  readonly secretsCacheMaxAge?: Duration;
  /**
   * Per-operation RunPod request timeouts, on top of any hold (`wait`) the request asks for.
   * Each must be below the operation's function timeout.
   * @default - each route's `upstreamTimeoutMs` in `functions/routes.ts`
   */
  readonly upstreamTimeouts?: Partial<Record<Operation, Duration>>;
  /**
   * Largest request body accepted, in bytes. Must stay below Lambda's 6 MB invocation limit
   * (6,291,456 bytes), which the rest of the event shares.
   * @default 5,242,880 (5 MiB)
   */
  readonly maxRequestBodyBytes?: number;
  /**
   * Longest time one `/stream` SSE connection is relayed before a closing `timeout` event.
   * Must be below the stream function's timeout.
   * @default - the stream function timeout minus 20 seconds (880 s)
   */
  readonly streamMaxDuration?: Duration;
  /**
   * Whether the stream route journals every chunk it drains in the ledger table, so viewers can
   * resume with `Last-Event-ID`, replay a finished job and share one relay. Off, the stream is
   * RunPod's alone: ids restart in every response and output drained for a caller who left is
   * lost. See README "Streaming" and docs/decisions.md for its cost.
   * @default true
   */
  readonly streamJournal?: boolean;
  /**
   * How long a stream relay's lease lasts without renewal: when a relay dies, another viewer
   * takes over polling RunPod this long after its last renewal. At least two polls' holds.
   * @default Duration.seconds(30)
   */
  readonly streamLeaseDuration?: Duration;
  /**
   * The largest RunPod answer the functions accept, in bytes; a larger one is a 502
   * `upstream_error`. RunPod documents outputs up to 20 MB for `/run` jobs. An answer is held
   * in memory once, as bytes: keep the limit well below `memorySize` (docs/performance.md has
   * the measured peak for a 20 MB output).
   * @default 33,554,432 (32 MiB)
   */
  readonly maxUpstreamBodyBytes?: number;
  /**
   * Memory of each function, in MB (also scales its CPU share).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Log level of the functions (`LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: GatewayLogLevel;
  /**
   * Name of the API stage; part of every URL.
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * API Gateway execution-log level. Data tracing (full requests in logs) is always off:
   * it would log bearer keys and payloads.
   * @default 'ERROR'
   */
  readonly executionLogLevel?: ExecutionLogLevel;
  /**
   * Whether to create API Gateway's CloudWatch Logs role and register it for the account
   * and region (needed for execution logs). Set false when the account already has one: it is
   * a single setting per account and region, shared by every REST API there.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * Whether to enable X-Ray active tracing on the stage and the functions.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * ARN of a regional WAFv2 web ACL to associate with the stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * What happens to the job ledger table (job owners, endpoints, outcomes) when the stack is
   * deleted or the table replaced.
   * @default RemovalPolicy.RETAIN
   */
  readonly ledgerRemovalPolicy?: RemovalPolicy;
  /**
   * Where every alarm sends its notification. `false` leaves the alarms without actions.
   * @default - a new SNS topic (encrypted with the AWS managed key, TLS only): subscribe to it
   */
  readonly alarmTopic?: ITopic | false;
  /**
   * Reserved concurrency per function, which also caps it: one caller holding many long requests
   * (a stream lasts up to 15 minutes, a runsync 6) cannot take the account's whole concurrency.
   * Lambda keeps at least 100 of the account's concurrency unreserved: lower these (or set an
   * operation to `false`) in accounts with a small limit.
   * @default - stream, runsync and status-sync 50 each; the other functions none
   */
  readonly reservedConcurrency?: Partial<Record<Operation, number | false>>;
  /**
   * Per-operation throttling, on top of the stage's (`throttling`), for all surfaces together.
   * @default - purge-queue 0.2 requests per second with bursts of 1 and cancel 10 per second with
   * bursts of 20 (RunPod allows 2 purges and 100 cancels per 10 s per endpoint); the others the
   * stage's
   */
  readonly operationThrottling?: Partial<Record<Operation, GatewayThrottling>>;
  /**
   * A resource policy for the REST API (e.g. allow only some source IPs or VPC endpoints).
   * @default - none
   */
  readonly apiResourcePolicy?: PolicyDocument;
  /**
   * The sweep that reads the end of jobs nobody polled to their end (so usage, jobs in flight
   * and GPU-seconds quotas count them): a function run on an EventBridge schedule, asking RunPod
   * once for each unfinished job at least `minAge` old. `false` turns it off (such jobs then stay
   * `unfinished` in usage and in flight until their records expire).
   * @default - every 5 minutes, for jobs submitted at least 2 minutes earlier
   */
  readonly jobSweep?: JobSweepProps | false;
  /**
   * How long job records (and token counters) stay in the ledger for usage reports, counted from
   * submission: whole days, at least 2. Follow-up calls stop finding a job when RunPod forgets it
   * whatever this says; this only decides when DynamoDB's TTL deletes the record.
   * @default Duration.days(400)
   */
  readonly usageRetention?: Duration;
  /**
   * The functions' metrics (CloudWatch embedded metric format, namespace `RunPodGateway`), the
   * dashboard, the top-consumer Contributor Insights rules and the alarms on those metrics.
   * `'totals'` keeps the deployment's totals only (about 25 metrics; the dashboard shows totals),
   * without the breakdown by operation and surface (`METRICS_BREAKDOWN=off`); `false` turns them
   * all off (`POWERTOOLS_METRICS_DISABLED`): no custom metric charges.
   * @default true
   */
  readonly metrics?: boolean | 'totals';
}
