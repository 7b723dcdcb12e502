import { OPERATIONS } from '../functions/routes.ts';
import { FileKeyStore } from '../local/keys/file-key-store.ts';
import { createKey } from '../local/keys/key-changes.ts';
import { localBenchKeys, SURFACE } from './events.ts';
import {
  gatewayEnvOf,
  READY,
  startLedgerProcess,
  startLoadGeneratorProcess,
  startSimulatorProcess,
} from './local-servers.ts';
import {
  baseEnv,
  ipcRequest,
  type ServerProcess,
  startServerProcess,
  tsxArgs,
} from './processes.ts';
import type { LoadReport } from './servers/load-generator.ts';

/**
 * How exact a key's request rate is when several gateway processes (standing in for Lambda
 * instances) enforce it together on one ledger engine: every process is loaded far past the
 * key's rate at once, and the requests admitted are compared with what the limit allows over the
 * load's wall time (`burst` + `perSecond` × seconds). The limiter should admit no more (its
 * conditional update is the only way in) and not much less.
 */
export interface LimiterAccuracyResult {
  readonly processes: number;
  readonly connectionsPerProcess: number;
  readonly perSecond: number;
  readonly burst: number;
  readonly runs: readonly LimiterRun[];
  /** Over all runs: the most admitted beyond the allowance (≤ 0 when exact). */
  readonly worstOverAdmitted: number;
  /** The median share of the allowance admitted. */
  readonly medianAdmittedShare: number;
}

export interface LimiterRun {
  readonly wallSeconds: number;
  readonly admitted: number;
  readonly refused: number;
  readonly errors: number;
  /** `burst` + `perSecond` × `wallSeconds`: the most the limit lets through. */
  readonly allowed: number;
}

export async function measureLimiterAccuracy(options: {
  readonly processes: number;
  readonly connectionsPerProcess: number;
  readonly perSecond: number;
  readonly burst: number;
  readonly durationSeconds: number;
  readonly repetitions: number;
  readonly log: (line: string) => void;
}): Promise<LimiterAccuracyResult> {
  const started: ServerProcess[] = [];
  try {
    const keys = await localBenchKeys('limits');
    const runs: LimiterRun[] = [];
    const simulator = await startSimulatorProcess('limits-simulator', keys.simKey, {
      SIM_WORKERS: '4',
    });
    started.push(simulator);
    const ledger = await startLedgerProcess('limits-ledger');
    started.push(ledger);
    const gateways: string[] = [];
    for (let index = 0; index < options.processes; index++) {
      const gateway = await startServerProcess({
        name: `limits-gateway-${index}`,
        args: tsxArgs('local/main.ts'),
        env: baseEnv(
          gatewayEnvOf(keys, simulator.ready, {
            DYNAMODB_ENDPOINT: ledger.ready,
            LOG_LEVEL: 'ERROR',
            SWEEP_INTERVAL_MS: '0',
          }),
        ),
        readyPattern: READY.server,
      });
      started.push(gateway);
      gateways.push(gateway.ready);
    }
    const loader = await startLoadGeneratorProcess('limits-load-generator');
    started.push(loader);
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      // A fresh key per run: its counter starts full, as a new key's does.
      const { token } = await createKey(new FileKeyStore(keys.keysFile), {
        id: `limited-${repetition}`,
        surfaces: ['*'],
        operations: [...OPERATIONS],
        limits: { rate: { health: { perSecond: options.perSecond, burst: options.burst } } },
      });
      // `npm start` reads the key store again within its cache age (2 s).
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const begin = performance.now();
      const reports = await Promise.all(
        gateways.map((url) =>
          ipcRequest<LoadReport>(loader.child, {
            url: `${url}/v1/runpod/${SURFACE}/health`,
            connections: options.connectionsPerProcess,
            durationSeconds: options.durationSeconds,
            method: 'GET',
            headers: { Authorization: `Bearer ${token}` },
          }),
        ),
      );
      const wallSeconds = (performance.now() - begin) / 1000;
      const run: LimiterRun = {
        wallSeconds: Math.round(wallSeconds * 1000) / 1000,
        admitted: sum(reports.map((report) => report.requests)),
        refused: sum(reports.map((report) => report.non2xx)),
        errors: sum(reports.map((report) => report.errors)),
        allowed: Math.floor(options.burst + options.perSecond * wallSeconds),
      };
      runs.push(run);
      options.log(
        `  limiter run ${repetition + 1}/${options.repetitions}: ${run.admitted} admitted, ${run.refused} refused of ${run.admitted + run.refused} in ${run.wallSeconds} s over ${options.processes} processes (allowed ${run.allowed})`,
      );
    }
    const shares = runs.map((run) => run.admitted / run.allowed).sort((a, b) => a - b);
    return {
      processes: options.processes,
      connectionsPerProcess: options.connectionsPerProcess,
      perSecond: options.perSecond,
      burst: options.burst,
      runs,
      worstOverAdmitted: Math.max(...runs.map((run) => run.admitted - run.allowed)),
      medianAdmittedShare:
        Math.round((shares[Math.floor((shares.length - 1) / 2)] ?? 0) * 1000) / 1000,
    };
  } finally {
    for (const process of started.reverse()) await process.stop();
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
