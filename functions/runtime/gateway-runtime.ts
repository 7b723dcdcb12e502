import { KeyStore } from '../auth/key-store.ts';
import { readSettings, type Settings } from '../config/settings.ts';
import { DynamoDbJobLedger } from '../ledger/dynamodb-job-ledger.ts';
import { DynamoDbTokenCounters } from '../ledger/token-counters.ts';
import { DynamoDbConcurrencySlots } from '../limits/concurrency-slots.ts';
import { DynamoDbDailyQuota } from '../limits/daily-quota.ts';
import type { JobCounters } from '../limits/job-limits.ts';
import { DynamoDbJobsInFlight } from '../limits/jobs-in-flight.ts';
import { DynamoDbRateLimiter } from '../limits/rate-limiter.ts';
import { type Operation, routeFor } from '../routes.ts';
import { parseRoutingConfig, type RoutingConfig } from '../routing/routing-config.ts';
import { RunPodClient } from '../runpod/client.ts';
import { SecretCache } from '../secrets/secret-cache.ts';
import { loadSecretText, parseRunPodApiKey } from '../secrets/secret-source.ts';
import { fs } from './builtins.ts';

/** What an execution environment keeps between invocations. Built once, at cold start. */
export interface GatewayRuntime extends JobCounters {
  readonly operation: Operation;
  readonly settings: Settings;
  readonly routing: RoutingConfig;
  readonly keyStores: SecretCache<KeyStore>;
  readonly runpodApiKeys: SecretCache<string>;
  readonly client: RunPodClient;
  /** The job ledger, for the operations that record or look up jobs. */
  readonly ledger: DynamoDbJobLedger | undefined;
  /** Per-key request rates, in the ledger's table; created on first use (keys with limits). */
  rateLimiter(): DynamoDbRateLimiter;
  /** Per-key concurrency slots, in the ledger's table; created on first use. */
  concurrencySlots(): DynamoDbConcurrencySlots;
  /** Per-key token counters of the OpenAI-compatible routes; created on first use. */
  tokenCounters(): DynamoDbTokenCounters;
}

/**
 * Reads settings and the routing config. A bad config fails the cold start loudly (and the
 * CDK construct validates the same config at synth time, so a deploy cannot carry one).
 */
export function createGatewayRuntime(operation: Operation, env = process.env): GatewayRuntime {
  const settings = readSettings(operation, env);
  let routingJson: unknown;
  try {
    routingJson = JSON.parse(fs.readFileSync(settings.routingConfigPath, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read routing config ${settings.routingConfigPath}`, { cause: error });
  }
  const table =
    settings.ledgerTableName === undefined
      ? undefined
      : new DynamoDbJobLedger({
          tableName: settings.ledgerTableName,
          endpoint: settings.dynamoDbEndpoint,
          usageRetentionDays: settings.usageRetentionDays,
        });
  // health and purge-queue get the table for rate counters only: no ledger, no warm-up.
  const ledger = routeFor(operation).ledger === 'none' ? undefined : table;
  let rateLimiter: DynamoDbRateLimiter | undefined;
  let dailyQuota: DynamoDbDailyQuota | undefined;
  let jobsInFlight: DynamoDbJobsInFlight | undefined;
  let tokenCounters: DynamoDbTokenCounters | undefined;
  let concurrencySlots: DynamoDbConcurrencySlots | undefined;
  const tableOf = (purpose: string) => {
    if (table === undefined)
      throw new Error(`LEDGER_TABLE is not set: ${purpose} need the ledger table`);
    return table;
  };
  const runtime: GatewayRuntime = {
    operation,
    settings,
    routing: parseRoutingConfig(routingJson),
    keyStores: new SecretCache({
      load: loadSecretText,
      parse: KeyStore.parse,
      maxAgeMs: settings.secretsMaxAgeMs,
      description: 'API key store',
    }),
    runpodApiKeys: new SecretCache({
      load: loadSecretText,
      parse: parseRunPodApiKey,
      maxAgeMs: settings.secretsMaxAgeMs,
      description: 'RunPod API key',
    }),
    client: new RunPodClient(settings.runpodBaseUrl, {
      maxBodyBytes: settings.maxUpstreamBodyBytes,
    }),
    ledger,
    rateLimiter: () => {
      const limits = tableOf('per-key rate limits');
      rateLimiter ??= new DynamoDbRateLimiter({
        tableName: limits.tableName,
        access: () => limits.access(),
      });
      return rateLimiter;
    },
    dailyQuota: () => {
      const quotas = tableOf('daily quotas');
      dailyQuota ??= new DynamoDbDailyQuota({
        tableName: quotas.tableName,
        access: () => quotas.access(),
      });
      return dailyQuota;
    },
    tokenCounters: () => {
      const counters = tableOf('token usage');
      tokenCounters ??= new DynamoDbTokenCounters(
        { tableName: counters.tableName, access: () => counters.access() },
        settings.usageRetentionDays,
      );
      return tokenCounters;
    },
    jobsInFlight: () => {
      const counters = tableOf('jobs-in-flight limits');
      jobsInFlight ??= new DynamoDbJobsInFlight({
        tableName: counters.tableName,
        access: () => counters.access(),
      });
      return jobsInFlight;
    },
    concurrencySlots: () => {
      const slots = tableOf('concurrency limits');
      concurrencySlots ??= new DynamoDbConcurrencySlots({
        tableName: slots.tableName,
        access: () => slots.access(),
      });
      return concurrencySlots;
    },
  };
  // Read both secrets now, side by side, while the runtime is still starting: the first
  // request then finds them cached instead of reading them one after the other. A failure
  // here is logged by the cache and retried by the first request that needs the secret.
  runtime.keyStores.get(settings.keyStoreRef).catch(() => undefined);
  runtime.runpodApiKeys.get(settings.runpodApiKeyRef).catch(() => undefined);
  // And load the DynamoDB client while the secrets are on their way.
  ledger?.warm();
  return runtime;
}
