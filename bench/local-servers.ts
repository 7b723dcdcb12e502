import type { LocalBenchKeys } from './events.ts';
import { baseEnv, type ServerProcess, startServerProcess, tsxArgs } from './processes.ts';

/**
 * The local server processes the e2e, streaming and profile sections start: the RunPod
 * simulator, `npm start`'s server, the minimal proxy and the load generator.
 */

/** What each prints once it is ready; the capture is the URL it listens at. */
export const READY = {
  simulator: /listening at (http:\/\/\S+)/,
  ledger: /ledger engine listening at (http:\/\/\S+)/,
  /** `local/main.ts` and the minimal proxy. */
  server: /listening on (http:\/\/\S+)/,
  loadGenerator: /load generator ready/,
} as const;

/** The simulator in a process of its own, answering `stats` on its IPC channel. */
export function startSimulatorProcess(
  name: string,
  simKey: string,
  env: Readonly<Record<string, string>> = {},
): Promise<ServerProcess> {
  return startServerProcess({
    name,
    args: tsxArgs('bench/servers/simulator-main.ts'),
    env: baseEnv({ SIM_API_KEY: simKey, ...env }),
    readyPattern: READY.simulator,
    ipc: true,
  });
}

/** The embedded ledger engine behind a counting proxy, answering `stats` on its IPC channel. */
export function startLedgerProcess(name: string): Promise<ServerProcess> {
  return startServerProcess({
    name,
    args: tsxArgs('bench/servers/ledger-main.ts'),
    env: baseEnv({}),
    readyPattern: READY.ledger,
    ipc: true,
  });
}

/** The autocannon process, driven over IPC (`bench/servers/load-generator.ts`). */
export function startLoadGeneratorProcess(name: string): Promise<ServerProcess> {
  return startServerProcess({
    name,
    args: tsxArgs('bench/servers/load-generator.ts'),
    env: baseEnv(),
    readyPattern: READY.loadGenerator,
    ipc: true,
  });
}

/** The environment of `npm start`'s server pointed at a simulator process, with the bench key. */
export function gatewayEnvOf(
  keys: Pick<LocalBenchKeys, 'keysFile' | 'simKey'>,
  simulatorUrl: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    PORT: '0',
    RUNPOD_BASE_URL: simulatorUrl,
    RUNPOD_API_KEY: keys.simKey,
    GATEWAY_KEYS_FILE: keys.keysFile,
    ...extra,
  };
}
