import { createHash, randomBytes } from 'node:crypto';
import { DynamoDbJobLedger } from '../../../functions/ledger/dynamodb-job-ledger.ts';
import { expiryOf } from '../../../functions/ledger/job-ledger.ts';
import { OPERATIONS, type Operation } from '../../../functions/routes.ts';
import { ensureLedgerTable, startLedgerEngine } from '../../../local/ledger-engine.ts';
import { type RunningSimulator, startSimulator } from '../../../local/simulator/index.ts';
import {
  type BundledFunction,
  type GatewayAssembly,
  KEY_STORE_SECRET_ARN,
  RUNPOD_KEY_SECRET_ARN,
  synthesizeGateway,
} from './cdk-assembly.ts';
import { type RestRequest, restProxyEvent } from './rest-proxy-event.ts';
import { type LambdaProcess, startLambdaProcess } from './ric-process.ts';
import type { InvocationResult } from './runtime-api-emulator.ts';
import { type SecretsManagerEmulator, startSecretsManager } from './secrets-manager-emulator.ts';

/** How the RunPod key secret stores the key: both forms are accepted by the functions. */
export type RunPodKeyForm = 'plain' | 'json';

export interface StartedBundle {
  readonly fn: BundledFunction;
  readonly process: LambdaProcess;
  /** This function's own Secrets Manager, so its calls are counted apart from the others'. */
  readonly secretsManager: SecretsManagerEmulator;
}

export interface BundleHarness {
  readonly assembly: GatewayAssembly;
  readonly simulator: RunningSimulator;
  /** The job ledger's engine and table, as the functions use them. */
  readonly ledger: { readonly endpoint: string; readonly tableName: string };
  /** A consumer token the key store grants every surface and operation. */
  readonly token: string;
  /**
   * Records a job submitted straight to the simulator as the token's, on `chat`, as a `run`
   * through the gateway would have: follow-up functions then find it in the ledger.
   */
  own(jobId: string, endpointId?: string): Promise<void>;
  /** Starts one execution environment of an operation's bundle, pointed at the simulator. */
  start(
    operation: Operation,
    options?: {
      readonly runpodKeyForm?: RunPodKeyForm;
      readonly upstreamBaseUrl?: string;
      /** Further replacements of template variables (a misconfiguration, say). */
      readonly environmentOverrides?: Readonly<Record<string, string>>;
    },
  ): Promise<StartedBundle>;
  /** Starts an execution environment of the scheduled sweep's bundle. */
  startSweep(options?: {
    readonly environmentOverrides?: Readonly<Record<string, string>>;
  }): Promise<StartedBundle>;
  /** Every process's output so far. */
  allOutput(): string;
  close(): Promise<void>;
}

/**
 * The synthesized gateway plus what its functions talk to: the RunPod simulator (with its own
 * random key) and, per function, a Secrets Manager holding the key store and the RunPod key.
 */
export async function startBundleHarness(): Promise<BundleHarness> {
  const assembly = await synthesizeGateway();
  const simulator = await startSimulator({
    apiKey: `sim_${randomBytes(18).toString('base64url')}`,
  });
  // The ledger table the construct creates, on a real DynamoDB-compatible engine.
  const engine = await startLedgerEngine();
  const ledger = { endpoint: engine.endpoint, tableName: 'bundle-test-ledger' };
  await ensureLedgerTable(ledger.endpoint, ledger.tableName);
  const token = `rpg_${randomBytes(24).toString('base64url')}`;
  const keyStore = JSON.stringify({
    keys: [
      {
        id: 'bundle-test',
        sha256: createHash('sha256').update(token).digest('hex'),
        surfaces: ['*'],
        operations: [...OPERATIONS],
      },
    ],
  });
  const started: StartedBundle[] = [];

  const startFunction = async (
    fn: BundledFunction,
    options: {
      readonly runpodKeyForm?: RunPodKeyForm;
      readonly upstreamBaseUrl?: string;
      readonly environmentOverrides?: Readonly<Record<string, string>>;
    },
  ): Promise<StartedBundle> => {
    const secretsManager = await startSecretsManager();
    secretsManager.putSecret(KEY_STORE_SECRET_ARN, keyStore);
    secretsManager.putSecret(
      RUNPOD_KEY_SECRET_ARN,
      options.runpodKeyForm === 'json'
        ? JSON.stringify({ apiKey: simulator.apiKey })
        : simulator.apiKey,
    );
    try {
      const lambda = await startLambdaProcess({
        definition: fn,
        functionName: `${assembly.stackName}-${fn.logicalId}`,
        secretsManagerUrl: secretsManager.url,
        dynamoDbUrl: ledger.endpoint,
        environmentOverrides: {
          ...options.environmentOverrides,
          RUNPOD_BASE_URL: options.upstreamBaseUrl ?? simulator.baseUrl,
          ...('LEDGER_TABLE' in fn.environment ? { LEDGER_TABLE: ledger.tableName } : {}),
        },
      });
      const bundle = { fn, process: lambda, secretsManager };
      started.push(bundle);
      return bundle;
    } catch (error) {
      await secretsManager.close();
      throw error;
    }
  };

  return {
    assembly,
    simulator,
    ledger,
    token,
    own: async (jobId, endpointId = 'chatendpoint01') => {
      const now = Date.now();
      await new DynamoDbJobLedger(ledger).record({
        jobId,
        ownerKeyId: 'bundle-test',
        surface: 'chat',
        endpointId,
        createdAt: now,
        expiresAt: expiryOf(now, 'run', undefined),
      });
    },
    start: (operation, options = {}) => startFunction(assembly.functions[operation], options),
    startSweep: (options = {}) => startFunction(assembly.sweep, options),
    allOutput: () => started.map((bundle) => bundle.process.output()).join('\n'),
    close: async () => {
      await Promise.all(
        started.map(async (bundle) => {
          await bundle.process.stop();
          await bundle.secretsManager.close();
        }),
      );
      await simulator.close();
      await engine.close();
    },
  };
}

/** An HTTP response as the caller of API Gateway sees it, whichever way the function answered. */
export interface CallerResponse {
  readonly mode: 'buffered' | 'streamed';
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Invokes a bundle with the REST proxy event for `request`; the answer as its caller gets it. */
export async function callBundle(
  bundle: Pick<StartedBundle, 'process'>,
  request: RestRequest,
): Promise<CallerResponse> {
  return callerResponseOf(await bundle.process.invoke(restProxyEvent(request)));
}

/**
 * The response API Gateway would build: from a buffered proxy result (`statusCode`, `headers`,
 * `body`), or from a streamed HTTP-integration response (prelude, 8 NULs, body). Throws on
 * anything else, e.g. a function error, which API Gateway turns into a 502.
 */
export function callerResponseOf(result: InvocationResult): CallerResponse {
  if (result.kind === 'buffered') {
    const payload = result.payload as { statusCode?: unknown; headers?: unknown; body?: unknown };
    if (typeof payload?.statusCode !== 'number' || typeof payload.body !== 'string') {
      throw new Error(`Not an API Gateway proxy result: ${result.text.slice(0, 300)}`);
    }
    return {
      mode: 'buffered',
      statusCode: payload.statusCode,
      headers: (payload.headers ?? {}) as Record<string, string>,
      body: payload.body,
    };
  }
  if (result.kind === 'streamed') {
    if (!result.separatorSeen || result.prelude === undefined) {
      throw new Error(`Streamed without an HTTP integration prelude: ${result.contentType}`);
    }
    return {
      mode: 'streamed',
      statusCode: result.prelude.statusCode ?? 200,
      headers: result.prelude.headers ?? {},
      body: result.body,
    };
  }
  throw new Error(`The function failed: ${JSON.stringify(result)}`);
}

export interface SseEvent {
  readonly event: string;
  readonly id?: string;
  readonly data: unknown;
}

/** Parses a Server-Sent Events body (comments such as keep-alives are skipped). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ event, id, data: JSON.parse(data.join('\n')) });
  }
  return events;
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** Calls the simulator directly, as RunPod's own clients would (to set up jobs). */
export async function simulatorCall(
  simulator: RunningSimulator,
  endpointId: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${simulator.baseUrl}/${endpointId}/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${simulator.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(`simulator ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** Polls the simulator until the job's status is one of `statuses`. */
export async function waitForJobStatus(
  simulator: RunningSimulator,
  endpointId: string,
  jobId: string,
  statuses: readonly string[],
): Promise<Record<string, unknown>> {
  const giveUpAt = Date.now() + 10_000;
  for (;;) {
    const job = await simulatorCall(simulator, endpointId, `status/${jobId}`);
    if (statuses.includes(String(job.status))) return job;
    if (Date.now() > giveUpAt) throw new Error(`Job ${jobId} stayed ${String(job.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
