/**
 * An embedded RunPod Serverless queue-endpoint simulator: the default upstream of `npm start`
 * and the RunPod of integration tests and benchmarks. It follows RunPod's documented and
 * observed behaviour; what it does where that behaviour is unknown, and how a job scripts its simulated worker through `input.sim`, is in `docs/simulator.md`.
 *
 * @example
 * const sim = await startSimulator({ apiKey: 'sim-key' });
 * await fetch(`${sim.baseUrl}/my-endpoint/run`, {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${sim.apiKey}` },
 *   body: JSON.stringify({ input: { sim: { stream: 5 } } }),
 * });
 * await sim.close();
 */
import { createSimulatorServer } from './http-server.ts';
import { JobEngine } from './job-engine.ts';
import { type SimulatorStats, StatsRecorder } from './simulator-stats.ts';
import { TimerSet } from './timer-set.ts';
import { DEFAULT_WEBHOOK_RETRY_DELAYS_MS } from './webhook-sender.ts';

export type { JobChunkTimes, SimulatorStats } from './simulator-stats.ts';

export interface SimulatorOptions {
  /** @default 0 - a random free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The only RunPod API key accepted, as `Bearer <key>` or bare. */
  readonly apiKey: string;
  /** @default - every syntactically valid endpoint id exists */
  readonly endpointIds?: readonly string[];
  /** Concurrent workers per endpoint; 0 leaves every job queued. @default 2 */
  readonly workers?: number;
  /** How long an empty `/stream` poll without `?wait=` is held. @default 10000 */
  readonly streamHoldMs?: number;
  /**
   * How long `/runsync` and `/status-sync` without `?wait=` hold (RunPod's 90 s). Tests shorten
   * it to see what clients do with a job that outlives the default wait.
   * @default 90000
   */
  readonly syncWaitMs?: number;
  /**
   * Behave like a faulty upstream that ignores `/stream`'s `?wait=`: every empty poll is held
   * `streamHoldMs` (0: answered at once). For testing what the gateway does with one.
   * @default false
   */
  readonly ignoreStreamWait?: boolean;
  /** Gaps between webhook attempts; one attempt more than entries. @default [5000, 15000] */
  readonly webhookRetryDelaysMs?: readonly number[];
  /** Receives one line per request and per notable event. @default - silent */
  readonly log?: (line: string) => void;
}

export interface RunningSimulator {
  /** e.g. `http://127.0.0.1:41234/v2`; requests go to `${baseUrl}/{endpointId}/{operation}`. */
  readonly baseUrl: string;
  readonly apiKey: string;
  stats(): SimulatorStats;
  /** Stops every job, timer and webhook, and closes the server and its connections. */
  close(): Promise<void>;
}

export const DEFAULT_WORKERS = 2;
export const DEFAULT_STREAM_HOLD_MS = 10_000;
export const DEFAULT_SYNC_WAIT_MS = 90_000;

function checkOptions(options: SimulatorOptions): void {
  if (options.apiKey.trim() === '') throw new TypeError('apiKey must not be empty');
  const { workers, streamHoldMs, syncWaitMs } = options;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) {
    throw new TypeError(`workers must be an integer >= 0, got ${workers}`);
  }
  if (streamHoldMs !== undefined && !(Number.isFinite(streamHoldMs) && streamHoldMs >= 0)) {
    throw new TypeError(`streamHoldMs must be a number >= 0, got ${streamHoldMs}`);
  }
  if (syncWaitMs !== undefined && !(Number.isFinite(syncWaitMs) && syncWaitMs >= 0)) {
    throw new TypeError(`syncWaitMs must be a number >= 0, got ${syncWaitMs}`);
  }
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => {});
  const timers = new TimerSet();
  const stats = new StatsRecorder();
  const engine = new JobEngine({
    workers: options.workers ?? DEFAULT_WORKERS,
    timers,
    stats,
    webhookRetryDelaysMs: options.webhookRetryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
    log,
  });
  const server = createSimulatorServer({
    engine,
    timers,
    stats,
    apiKey: options.apiKey,
    endpointIds: options.endpointIds === undefined ? undefined : new Set(options.endpointIds),
    streamHoldMs: options.streamHoldMs ?? DEFAULT_STREAM_HOLD_MS,
    syncWaitMs: options.syncWaitMs ?? DEFAULT_SYNC_WAIT_MS,
    ignoreStreamWait: options.ignoreStreamWait ?? false,
    log,
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('simulator is not on TCP');
  const { port } = address;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    baseUrl: `http://${urlHost}:${port}/v2`,
    apiKey: options.apiKey,
    stats: () => stats.snapshot(),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        engine.close();
        timers.close();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
