import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SweepSummary } from '../functions/ledger/job-end-sweep.ts';
import { handlerFileOf, OPERATIONS, type Operation } from '../functions/routes.ts';
import { configuredEndpointsOf } from '../functions/routing/resolve-endpoint.ts';
import { parseRoutingConfig } from '../functions/routing/routing-config.ts';
import { createGatewayServer, listen } from './gateway-server.ts';
import { installLambdaStreamingShim } from './lambda-streaming-shim.ts';
import {
  ensureLedgerTable,
  type LedgerEngine,
  LOCAL_LEDGER_TABLE,
  startLedgerEngine,
  useLocalAwsDefaults,
} from './ledger-engine.ts';
import { renderReference } from './reference-page.ts';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from './simulator/index.ts';

/** As the construct schedules it by default. */
const DEFAULT_SWEEP_INTERVAL_MS = 5 * 60_000;
/** The deployed sweep function's timeout. */
const SWEEP_TIMEOUT_MS = 5 * 60_000;

export interface LocalGatewayOptions {
  readonly port?: number;
  readonly host?: string;
  readonly routingConfigPath: string;
  readonly keysFile: string;
  /** A real (or other) RunPod upstream; when absent an embedded simulator is started. */
  readonly upstream?: { readonly baseUrl: string; readonly apiKeyVariable: string };
  /**
   * A DynamoDB-compatible engine for the job ledger (its table is created if missing); when
   * absent an embedded one is started.
   */
  readonly ledger?: { readonly endpoint: string; readonly tableName?: string };
  /** Options of the embedded simulator (tests shorten its holds). */
  readonly simulator?: Pick<SimulatorOptions, 'streamHoldMs' | 'syncWaitMs' | 'workers'>;
  /** Further settings for the handlers, e.g. STREAM_KEEPALIVE_MS (see functions/config/settings.ts). */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface LocalGateway {
  readonly url: string;
  readonly simulator: RunningSimulator | undefined;
  /** Where the job ledger lives: its engine's endpoint and table. */
  readonly ledger: { readonly endpoint: string; readonly tableName: string };
  /** Runs the sweep of unseen job ends now (it also runs every `SWEEP_INTERVAL_MS`, 5 min by default). */
  sweep(): Promise<SweepSummary>;
  close(): Promise<void>;
}

/**
 * Starts the local runtime. The handlers read their settings from the environment once, at
 * import (as on Lambda at cold start), so this sets the environment first and imports after:
 * one local gateway per process.
 */
export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const routingConfigPath = resolve(options.routingConfigPath);
  const routing = parseRoutingConfig(JSON.parse(await readFile(routingConfigPath, 'utf8')));
  let simulator: RunningSimulator | undefined;
  if (options.upstream) {
    process.env.RUNPOD_BASE_URL = options.upstream.baseUrl;
    process.env.RUNPOD_API_KEY_SECRET = `env:${options.upstream.apiKeyVariable}`;
  } else {
    const endpointIds = new Set(
      Object.values(routing.surfaces).flatMap((surface) => [...configuredEndpointsOf(surface)]),
    );
    simulator = await startSimulator({
      ...options.simulator,
      apiKey: `sim_${crypto.randomUUID()}`,
      endpointIds: [...endpointIds],
    });
    process.env.RUNPOD_BASE_URL = simulator.baseUrl;
    process.env.LOCAL_SIMULATOR_API_KEY = simulator.apiKey;
    process.env.RUNPOD_API_KEY_SECRET = 'env:LOCAL_SIMULATOR_API_KEY';
  }
  let engine: LedgerEngine | undefined;
  if (!options.ledger) engine = await startLedgerEngine();
  const ledger = {
    endpoint: options.ledger?.endpoint ?? engine?.endpoint ?? '',
    tableName: options.ledger?.tableName ?? LOCAL_LEDGER_TABLE,
  };
  useLocalAwsDefaults();
  await ensureLedgerTable(ledger.endpoint, ledger.tableName);
  process.env.DYNAMODB_ENDPOINT = ledger.endpoint;
  process.env.LEDGER_TABLE = ledger.tableName;
  process.env.GATEWAY_CONFIG = routingConfigPath;
  process.env.GATEWAY_KEY_STORE = `file:${resolve(options.keysFile)}`;
  process.env.SERVICE_NAME ??= 'runpod-gateway-local';
  // CloudWatch's metric lines would only clutter a terminal; POWERTOOLS_METRICS_DISABLED=false shows them.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // Keys created with `npm run keys` while the server runs should work within seconds.
  process.env.SECRETS_MAX_AGE_MS ??= '2000';
  Object.assign(process.env, options.settings);

  installLambdaStreamingShim();
  const handlers = {} as Record<Operation, unknown>;
  for (const operation of OPERATIONS) {
    const module = (await import(
      /* @vite-ignore */ `../functions/operations/${handlerFileOf(operation)}`
    )) as { handler: unknown };
    handlers[operation] = module.handler;
  }
  const reference = renderReference(
    JSON.parse(await readFile(resolve(import.meta.dirname, '..', 'docs', 'openapi.json'), 'utf8')),
  );
  const server = createGatewayServer(handlers, 'local', { '/docs': reference });
  const url = await listen(server, options.port ?? 0, options.host);
  // The scheduled sweep, as EventBridge runs it in AWS.
  const sweepFunction = await import('../functions/scheduled/sweep.ts');
  const sweep = () =>
    sweepFunction.handler(
      {},
      { getRemainingTimeInMillis: () => SWEEP_TIMEOUT_MS, awsRequestId: randomUUID() },
    );
  const sweepIntervalMs = Number(process.env.SWEEP_INTERVAL_MS ?? DEFAULT_SWEEP_INTERVAL_MS);
  const sweeps =
    sweepIntervalMs > 0
      ? setInterval(() => {
          sweep().catch((error: unknown) => console.error('job sweep failed', error));
        }, sweepIntervalMs).unref()
      : undefined;
  return {
    url,
    simulator,
    ledger,
    sweep,
    close: async () => {
      clearInterval(sweeps);
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await simulator?.close();
      await engine?.close();
    },
  };
}
