import { type Operation, routeFor } from '../routes.ts';
import { DEFAULT_MAX_UPSTREAM_BODY_BYTES } from '../runpod/client.ts';
import { path } from '../runtime/builtins.ts';

/**
 * Runtime settings, read once per execution environment from environment variables.
 * The CDK construct sets them on each function; the local runtime sets them for its process.
 * None of them holds a secret: secrets are named by reference (see `secrets/secret-source.ts`).
 */
export interface Settings {
  /** Absolute path of the routing config JSON. */
  readonly routingConfigPath: string;
  /** Reference of the key store document (`file:<path>` or a Secrets Manager name/ARN). */
  readonly keyStoreRef: string;
  /** Reference of the default RunPod API key (`env:<VAR>`, `file:<path>` or a Secrets Manager name/ARN). */
  readonly runpodApiKeyRef: string;
  readonly runpodBaseUrl: string;
  readonly secretsMaxAgeMs: number;
  readonly maxRequestBodyBytes: number;
  /** The largest RunPod answer accepted (`MAX_UPSTREAM_BODY_BYTES`); larger is 502 `upstream_error`. */
  readonly maxUpstreamBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  readonly streamMaxDurationMs: number;
  readonly streamKeepAliveMs: number;
  readonly streamPollWaitMs: number;
  /**
   * Whether the stream route journals what it drains (`STREAM_JOURNAL`, `on` by default, `off`
   * to relay RunPod's stream alone, as before the journal).
   */
  readonly streamJournal: boolean;
  /** How long a stream relay's lease lasts unrenewed (`STREAM_LEASE_MS`): a dead relay's takeover delay. */
  readonly streamLeaseMs: number;
  /** The job ledger's DynamoDB table (`LEDGER_TABLE`); set for the operations that use it. */
  readonly ledgerTableName: string | undefined;
  /** A DynamoDB-compatible endpoint (`DYNAMODB_ENDPOINT`; the local runtime's engine), else AWS's. */
  readonly dynamoDbEndpoint: string | undefined;
  /**
   * How long job records and token counters stay for usage reports (`USAGE_RETENTION_DAYS`),
   * after RunPod has forgotten the job; 400 days by default (a year's chargebacks and more).
   */
  readonly usageRetentionDays: number;
}

export const DEFAULT_RUNPOD_BASE_URL = 'https://api.runpod.ai/v2';
/** Lambda refuses invocation events above 6 MB; the body is most of the event. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 5 * 1024 * 1024;
export const DEFAULT_SECRETS_MAX_AGE_MS = 5 * 60_000;
export const DEFAULT_STREAM_KEEPALIVE_MS = 15_000;
/** RunPod's own default hold of an empty /stream poll. */
export const DEFAULT_STREAM_POLL_WAIT_MS = 10_000;
/** At least two held polls of RunPod's default wait, with a margin. */
export const DEFAULT_STREAM_LEASE_MS = 30_000;
export const DEFAULT_USAGE_RETENTION_DAYS = 400;

/** Environment variable naming an operation's upstream timeout, e.g. UPSTREAM_TIMEOUT_MS_PURGE_QUEUE. */
export function upstreamTimeoutVariable(operation: Operation): string {
  return `UPSTREAM_TIMEOUT_MS_${operation.toUpperCase().replace('-', '_')}`;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`${name} must be "on" or "off", got "${raw}"`);
}

function baseUrl(raw: string | undefined): string {
  const value = raw && raw !== '' ? raw : DEFAULT_RUNPOD_BASE_URL;
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`RUNPOD_BASE_URL must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

export function readSettings(operation: Operation, env: NodeJS.ProcessEnv = process.env): Settings {
  const root = env.LAMBDA_TASK_ROOT ?? process.cwd();
  const configPath = env.GATEWAY_CONFIG ?? 'routing.json';
  const route = routeFor(operation);
  return {
    routingConfigPath: path.isAbsolute(configPath) ? configPath : path.resolve(root, configPath),
    keyStoreRef: required(env, 'GATEWAY_KEY_STORE'),
    runpodApiKeyRef: required(env, 'RUNPOD_API_KEY_SECRET'),
    runpodBaseUrl: baseUrl(env.RUNPOD_BASE_URL),
    secretsMaxAgeMs: positiveInteger(env, 'SECRETS_MAX_AGE_MS', DEFAULT_SECRETS_MAX_AGE_MS),
    maxRequestBodyBytes: positiveInteger(
      env,
      'MAX_REQUEST_BODY_BYTES',
      DEFAULT_MAX_REQUEST_BODY_BYTES,
    ),
    maxUpstreamBodyBytes: positiveInteger(
      env,
      'MAX_UPSTREAM_BODY_BYTES',
      DEFAULT_MAX_UPSTREAM_BODY_BYTES,
    ),
    upstreamTimeoutMs: positiveInteger(
      env,
      upstreamTimeoutVariable(operation),
      route.upstreamTimeoutMs,
    ),
    streamMaxDurationMs: positiveInteger(
      env,
      'STREAM_MAX_DURATION_MS',
      // Leave the function time to write the closing `timeout` event.
      (routeFor('stream').functionTimeoutSeconds - 20) * 1000,
    ),
    streamKeepAliveMs: positiveInteger(env, 'STREAM_KEEPALIVE_MS', DEFAULT_STREAM_KEEPALIVE_MS),
    streamPollWaitMs: positiveInteger(env, 'STREAM_POLL_WAIT_MS', DEFAULT_STREAM_POLL_WAIT_MS),
    streamJournal: onOff(env, 'STREAM_JOURNAL', true),
    streamLeaseMs: positiveInteger(env, 'STREAM_LEASE_MS', DEFAULT_STREAM_LEASE_MS),
    // An operation that keeps or checks job ownership must not run without its ledger.
    // The others use the table only for per-key rate counters, when a key has limits.
    ledgerTableName:
      route.ledger === 'none' ? optional(env, 'LEDGER_TABLE') : required(env, 'LEDGER_TABLE'),
    dynamoDbEndpoint: optionalUrl(env, 'DYNAMODB_ENDPOINT'),
    usageRetentionDays: positiveInteger(env, 'USAGE_RETENTION_DAYS', DEFAULT_USAGE_RETENTION_DAYS),
  };
}

function optionalUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const url = new URL(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
