import { ENDPOINT_ID, localBenchKeys, SURFACE } from './events.ts';
import {
  gatewayEnvOf,
  READY,
  startLoadGeneratorProcess,
  startSimulatorProcess,
} from './local-servers.ts';
import {
  baseEnv,
  cpuTimeMs,
  ipcRequest,
  type ServerProcess,
  startServerProcess,
  tsxArgs,
} from './processes.ts';
import type { LoadReport, LoadRequest } from './servers/load-generator.ts';
import { median, medianPairedDelta, ratio, round } from './stats.ts';

/**
 * Local end-to-end: `npm start`'s server (local/main.ts, the same handler modules the Lambdas run)
 * under autocannon, against (a) the RunPod simulator called directly and (b) a minimal forwarding
 * proxy in front of the same simulator; (c), for reference, the same proxy forwarding with
 * `node:http` instead of `fetch`. Simulator, gateway, proxy and load generator each run in
 * their own process. Targets are loaded one at a time, in alternating order each repetition.
 *
 * Two setups:
 * - `separate` (budgeted): one simulator process behind all three (npm start with RUNPOD_BASE_URL
 *   pointing at it, the proxy forwarding to it);
 * - `embedded` (informational): npm start's default, the simulator inside the gateway's process,
 *   against a proxy process with its own embedded simulator.
 */
export type E2eTarget =
  | 'simulator'
  | 'proxy'
  | 'proxy-node-http'
  | 'gateway'
  | 'gateway-log-error'
  | 'gateway-compare';

/** Targets compared with the proxy: every gateway, and the proxy forwarding with node:http. */
export function isComparedWithProxy(name: E2eTarget): boolean {
  return name !== 'simulator' && name !== 'proxy';
}

export interface E2eMeasure {
  /** Median over repetitions. */
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time (user + system) the target's process spent per request, µs (median over repetitions). */
  readonly cpuUsPerRequest: number;
  readonly perSecondRuns: readonly number[];
  readonly p50MsRuns: readonly number[];
}

export interface E2eConcurrencyResult {
  readonly connections: number;
  readonly targets: Readonly<Partial<Record<E2eTarget, E2eMeasure>>>;
  /** Median over repetitions of gateway ÷ proxy requests per second (each repetition ran both back to back). */
  readonly gatewayToProxyThroughput: number;
  /** proxy ÷ gateway CPU per request: the throughput ratio a machine with a core per process would show. */
  readonly gatewayToProxyCpu: number;
  /** Median over repetitions of (gateway p50 − proxy p50), ms. */
  readonly gatewayAddedP50Ms: number;
  /** The same for every target compared with the proxy (`isComparedWithProxy`). */
  readonly addedP50MsOverProxy: Readonly<Partial<Record<E2eTarget, number>>>;
  /** Median over repetitions of target ÷ proxy requests per second, for the same targets. */
  readonly throughputOverProxy: Readonly<Partial<Record<E2eTarget, number>>>;
  readonly proxyAddedP50Ms: number;
}

export interface E2eSetupResult {
  readonly route: string;
  readonly concurrency: readonly E2eConcurrencyResult[];
}

export interface LocalE2eResult {
  readonly durationSeconds: number;
  readonly repetitions: number;
  readonly setups: Readonly<Partial<Record<'separate' | 'embedded', E2eSetupResult>>>;
}

interface Target {
  readonly name: E2eTarget;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** The process serving it, for its CPU time. */
  readonly pid: number | undefined;
}

interface Run extends LoadReport {
  readonly cpuUsPerRequest: number;
}

export interface E2eOptions {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly repetitions: number;
  readonly connections: readonly number[];
  readonly embedded: boolean;
  /** Also runs a gateway with LOG_LEVEL=ERROR, to show what per-request logging costs. */
  readonly logComparison: boolean;
  /** A modified copy of the repository whose `local/main.ts` is measured too (`--compare`). */
  readonly compareRoot?: string;
  readonly log: (line: string) => void;
}

export async function measureLocalE2e(options: E2eOptions): Promise<LocalE2eResult> {
  const keys = await localBenchKeys('e2e');
  const { token, simKey } = keys;
  const processes: ServerProcess[] = [];
  const started = async (starting: Promise<ServerProcess>) => {
    const server = await starting;
    processes.push(server);
    return server;
  };
  const setups: Partial<Record<'separate' | 'embedded', E2eSetupResult>> = {};
  const upstreamRoute = `/v2/${ENDPOINT_ID}/health`;
  /** A server process (`cwd`: a compared copy) as the target `name`, loaded on `route`. */
  const serverTarget = async (
    name: E2eTarget,
    processName: string,
    server: { entry: string; route: string; headers: Record<string, string> },
    env: Record<string, string>,
    cwd?: string,
  ): Promise<Target> => {
    const running = await started(
      startServerProcess({
        name: `e2e-${processName}`,
        args: tsxArgs(server.entry),
        env: baseEnv(env),
        readyPattern: READY.server,
        ...(cwd === undefined ? {} : { cwd }),
      }),
    );
    return {
      name,
      url: `${running.ready}${server.route}`,
      headers: server.headers,
      pid: running.child.pid,
    };
  };
  const gatewayServer = {
    entry: 'local/main.ts',
    route: `/v1/runpod/${SURFACE}/health`,
    headers: { authorization: `Bearer ${token}` },
  };
  const proxyServer = {
    entry: 'bench/servers/minimal-proxy-main.ts',
    route: upstreamRoute,
    headers: {},
  };
  const gateway = (
    name: E2eTarget,
    processName: string,
    env: Record<string, string>,
    cwd?: string,
  ) => serverTarget(name, processName, gatewayServer, env, cwd);
  const proxy = (name: E2eTarget, processName: string, env: Record<string, string>) =>
    serverTarget(name, processName, proxyServer, env);
  try {
    const loader = await started(startLoadGeneratorProcess('e2e-load-generator'));
    const load = (target: Target, connections: number, durationSeconds: number) =>
      ipcRequest<LoadReport>(loader.child, {
        url: target.url,
        connections,
        durationSeconds,
        method: 'GET',
        headers: target.headers,
      } satisfies Omit<LoadRequest, 'id'>);

    // Separate processes: one simulator behind everything.
    const simulator = await started(startSimulatorProcess('e2e-simulator', simKey));
    const simOrigin = new URL(simulator.ready).origin;
    const upstream = { UPSTREAM_ORIGIN: simOrigin, UPSTREAM_AUTHORIZATION: `Bearer ${simKey}` };
    const targets: Target[] = [
      {
        name: 'simulator',
        url: `${simOrigin}${upstreamRoute}`,
        headers: { authorization: `Bearer ${simKey}` },
        pid: simulator.child.pid,
      },
      await proxy('proxy', 'proxy', upstream),
      // Informational: the same proxy with Node's own HTTP client, as the gateway's RunPod client.
      await proxy('proxy-node-http', 'proxy-node-http', { ...upstream, PROXY_CLIENT: 'node:http' }),
      await gateway('gateway', 'gateway', gatewayEnvOf(keys, simulator.ready)),
    ];
    if (options.logComparison) {
      targets.push(
        await gateway(
          'gateway-log-error',
          'gateway-log-error',
          gatewayEnvOf(keys, simulator.ready, { LOG_LEVEL: 'ERROR' }),
        ),
      );
    }
    if (options.compareRoot !== undefined) {
      targets.push(
        await gateway(
          'gateway-compare',
          'gateway-compare',
          gatewayEnvOf(keys, simulator.ready),
          options.compareRoot,
        ),
      );
    }
    setups.separate = await runSetup('separate', targets, load, options);

    if (options.embedded) {
      setups.embedded = await runSetup(
        'embedded',
        [
          await proxy('proxy', 'embedded-proxy', { EMBED_SIMULATOR: '1' }),
          await gateway('gateway', 'embedded-gateway', {
            PORT: '0',
            GATEWAY_KEYS_FILE: keys.keysFile,
          }),
        ],
        load,
        options,
      );
    }
  } finally {
    for (const server of processes.reverse()) await server.stop();
  }
  return { durationSeconds: options.durationSeconds, repetitions: options.repetitions, setups };
}

async function runSetup(
  setup: string,
  targets: readonly Target[],
  load: (target: Target, connections: number, durationSeconds: number) => Promise<LoadReport>,
  options: E2eOptions,
): Promise<E2eSetupResult> {
  const concurrency: E2eConcurrencyResult[] = [];
  const measured = async (target: Target, connections: number, seconds: number): Promise<Run> => {
    const cpuBefore = cpuTimeMs(target.pid);
    const report = check(await load(target, connections, seconds), target, connections);
    const cpuMs = cpuTimeMs(target.pid) - cpuBefore;
    return { ...report, cpuUsPerRequest: (cpuMs * 1000) / report.requests };
  };
  for (const connections of options.connections) {
    for (const target of targets) await measured(target, connections, options.warmupSeconds);
    const runs = new Map<E2eTarget, Run[]>();
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      const order = repetition % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const run = await measured(target, connections, options.durationSeconds);
        runs.set(target.name, [...(runs.get(target.name) ?? []), run]);
      }
    }
    const measures: Partial<Record<E2eTarget, E2eMeasure>> = {};
    for (const [name, reports] of runs) {
      measures[name] = {
        perSecond: Math.round(median(reports.map((report) => report.perSecond))),
        p50Ms: round(median(reports.map((report) => report.latencyMs.p50)), 3),
        p99Ms: round(median(reports.map((report) => report.latencyMs.p99)), 3),
        cpuUsPerRequest: round(median(reports.map((report) => report.cpuUsPerRequest)), 1),
        perSecondRuns: reports.map((report) => Math.round(report.perSecond)),
        p50MsRuns: reports.map((report) => round(report.latencyMs.p50, 3)),
      };
    }
    const of = (name: E2eTarget, pick: (run: Run) => number) => (runs.get(name) ?? []).map(pick);
    const perRepetitionRatio = (name: E2eTarget) => {
      const proxy = of('proxy', (run) => run.perSecond);
      return median(
        of(name, (run) => run.perSecond).map((value, index) =>
          ratio(value, proxy[index] ?? Number.NaN),
        ),
      );
    };
    const p50s = (name: E2eTarget) => of(name, (run) => run.latencyMs.p50);
    const result: E2eConcurrencyResult = {
      connections,
      targets: measures,
      gatewayToProxyThroughput: round(perRepetitionRatio('gateway'), 3),
      gatewayToProxyCpu: round(
        ratio(
          measures.proxy?.cpuUsPerRequest ?? Number.NaN,
          measures.gateway?.cpuUsPerRequest ?? Number.NaN,
        ),
        3,
      ),
      gatewayAddedP50Ms: round(medianPairedDelta(p50s('gateway'), p50s('proxy')), 3),
      addedP50MsOverProxy: Object.fromEntries(
        targets
          .filter((target) => isComparedWithProxy(target.name))
          .map((target) => [
            target.name,
            round(medianPairedDelta(p50s(target.name), p50s('proxy')), 3),
          ]),
      ),
      throughputOverProxy: Object.fromEntries(
        targets
          .filter((target) => isComparedWithProxy(target.name))
          .map((target) => [target.name, round(perRepetitionRatio(target.name), 3)]),
      ),
      proxyAddedP50Ms: round(medianPairedDelta(p50s('proxy'), p50s('simulator')), 3),
    };
    concurrency.push(result);
    const line = targets
      .map(
        (target) =>
          `${target.name} ${measures[target.name]?.perSecond} rps p50 ${measures[target.name]?.p50Ms} ms ${measures[target.name]?.cpuUsPerRequest} µs CPU/req`,
      )
      .join(' | ');
    options.log(`  e2e ${setup} c=${connections}: ${line}`);
  }
  return {
    route: 'GET /v1/runpod/chat/health (gateway) ≡ GET /v2/{endpointId}/health (simulator, proxy)',
    concurrency,
  };
}

function check(report: LoadReport, target: Target, connections: number): LoadReport {
  if (report.requests === 0 || report.non2xx > 0 || report.errors > 0) {
    throw new Error(
      `${target.name} at c=${connections}: ${report.requests} ok, ${report.non2xx} non-2xx, ${report.errors} errors (${target.url})`,
    );
  }
  return report;
}
