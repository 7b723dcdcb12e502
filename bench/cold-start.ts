import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { BuiltHarness } from './build-harness.ts';
import { ENDPOINT_ID, eventOf } from './events.ts';
import { type InstantService, startBenchServices } from './instant-services.ts';
import { lambdaEnvironment } from './lambda-env.ts';
import { epochNow, logFileOf, NODE, tailOf } from './processes.ts';
import { invokeOnceUnderRic } from './runtime-api.ts';
import { median, round, type Summary, summarize } from './stats.ts';
import type { FunctionUnderTest, Synthesis } from './synth.ts';

/**
 * Cold start: from spawning a fresh Node 24 process to having the first invocation's response,
 * for the synthesized bundle of each operation and for the floor baseline (Secrets Manager client
 * + one secret + one fetch), against instant loopback services; plus `NODE_HTTP_FLOOR`. Two runners, each used alike
 * for the baseline and the gateway:
 * - `harness`: a tiny process that imports `index.mjs` and calls `handler(event, context)` once;
 *   it also reports where the time went (process boot, module load, first invocation);
 * - `ric`: the real runtime interface client (`aws-lambda-ric`) against a Runtime API emulator.
 * Runs alternate B, op₁, B, op₂, …, B (operation order rotated each round), and each operation's
 * added time is the median over rounds of (op − mean of the two baseline runs around it).
 * The loopback services timestamp each request, which splits the first invocation into:
 * module loaded → first Secrets Manager call → last one → upstream call → response.
 */
export type ColdRunner = 'harness' | 'ric';

/** Where the first invocation's time went, from the loopback services' arrival times (ms). */
export interface ColdTimeline {
  /** Module loaded (harness) / first poll (ric) → first Secrets Manager request arrives. */
  readonly loadedToFirstSecret: number;
  readonly secretCalls: number;
  /** First → last Secrets Manager request arrival (0 with one request). */
  readonly firstToLastSecret: number;
  /** Last Secrets Manager request → the upstream request arrives. */
  readonly lastSecretToUpstream: number;
  /** Upstream request → response received by the bench. */
  readonly upstreamToResponse: number;
}

export interface ColdSample {
  readonly totalMs: number;
  /** Spawn → the harness's first line ran (harness) / → the runtime's first poll (ric). */
  readonly bootMs: number;
  /** Module load (`import` of index.mjs); harness runner only (ric loads it before its first poll). */
  readonly initMs: number | undefined;
  /** The first invocation: handler call (harness) / event delivered (ric) → response. */
  readonly invokeMs: number;
  readonly timeline: ColdTimeline;
}

export interface ColdVariant {
  readonly totalMs: Summary;
  readonly bootMsP50: number;
  readonly initMsP50: number | undefined;
  readonly invokeMsP50: number;
  /** Medians of each timeline step. */
  readonly timelineP50: ColdTimeline;
}

export interface ColdOperation extends ColdVariant {
  /** Median over rounds of (this run − mean of the baseline runs just before and after it). */
  readonly addedMsP50: number;
}

export interface ColdRunnerResult {
  readonly rounds: number;
  readonly baseline: ColdVariant;
  /** By label: the operation for the synthesized functions, `<operation> (compare)` for a compared copy. */
  readonly operations: Readonly<Record<string, ColdOperation>>;
}

export interface ColdStartResult {
  readonly runners: Readonly<Partial<Record<ColdRunner, ColdRunnerResult>>>;
}

/**
 * An informational variant measured in the same rotation as the functions, never budgeted: the
 * floor handler with Node's own HTTP client in place of `fetch`, as the gateway's RunPod client
 * has. The floor's `fetch` compiles undici on its first call; this row shows what that costs, and
 * so what the gateway adds over a floor with the same HTTP client.
 */
export const NODE_HTTP_FLOOR = 'floor, node:http instead of fetch';

interface Variant {
  readonly name: string;
  readonly taskRoot: string;
  readonly memorySize: number;
  readonly templateEnvironment: Readonly<Record<string, string>>;
  readonly event: unknown;
  readonly timeoutMs: number;
}

interface Services {
  readonly upstream: InstantService;
  readonly secretsManager: InstantService;
  readonly dynamoDb: InstantService;
  /** fd of the log file every run's stdout and stderr (the functions' log lines) go to. */
  readonly log: number;
  readonly logFile: string;
}

export async function measureColdStarts(options: {
  readonly synthesis: Synthesis;
  readonly functions: readonly FunctionUnderTest[];
  readonly harness: BuiltHarness;
  readonly runners: readonly { readonly runner: ColdRunner; readonly rounds: number }[];
  readonly log: (line: string) => void;
}): Promise<ColdStartResult> {
  const bench = await startBenchServices();
  const { upstream, secretsManager, dynamoDb, token } = bench;
  const logFile = logFileOf('cold-start');
  const services: Services = {
    upstream,
    secretsManager,
    dynamoDb,
    log: openSync(logFile, 'w'),
    logFile,
  };
  const health = options.synthesis.functions.health;
  const baseline: Variant = {
    name: 'baseline',
    taskRoot: options.harness.baselineDir,
    memorySize: health.memorySize,
    templateEnvironment: {
      ...health.environment,
      BASELINE_UPSTREAM_URL: `${upstream.url}/${ENDPOINT_ID}/health`,
    },
    event: eventOf('health', token),
    timeoutMs: health.timeoutSeconds * 1000,
  };
  const variants = [
    { ...baseline, name: NODE_HTTP_FLOOR, taskRoot: options.harness.nodeHttpBaselineDir },
    ...options.functions.map(
      (fn): Variant => ({
        name: fn.label,
        taskRoot: fn.assetDir,
        memorySize: fn.memorySize,
        templateEnvironment: fn.environment,
        event: eventOf(fn.operation, token),
        timeoutMs: fn.timeoutSeconds * 1000,
      }),
    ),
  ];

  const runners: Partial<Record<ColdRunner, ColdRunnerResult>> = {};
  try {
    for (const { runner, rounds } of options.runners) {
      const runOnce = (variant: Variant) =>
        runner === 'harness'
          ? runHarness(options.harness.coldHarness, variant, services)
          : runRic(variant, services);
      // Unmeasured: page cache, the SDK's files, the bundles.
      await runOnce(baseline);
      for (const variant of variants) await runOnce(variant);

      const baselineSamples: ColdSample[] = [];
      const samples = new Map<string, ColdSample[]>();
      const added = new Map<string, number[]>();
      for (let roundIndex = 0; roundIndex < rounds; roundIndex++) {
        let before = await runOnce(baseline);
        baselineSamples.push(before);
        for (const variant of rotate(variants, roundIndex)) {
          const sample = await runOnce(variant);
          const after = await runOnce(baseline);
          baselineSamples.push(after);
          push(samples, variant.name, sample);
          push(added, variant.name, sample.totalMs - (before.totalMs + after.totalMs) / 2);
          before = after;
        }
        options.log(
          `  cold start (${runner}) round ${roundIndex + 1}/${rounds}: baseline ${before.totalMs.toFixed(1)} ms`,
        );
      }
      const operationResults: Record<string, ColdOperation> = {};
      for (const variant of variants) {
        operationResults[variant.name] = {
          ...variantOf(samples.get(variant.name) ?? []),
          addedMsP50: round(median(added.get(variant.name) ?? []), 2),
        };
      }
      runners[runner] = {
        rounds,
        baseline: variantOf(baselineSamples),
        operations: operationResults,
      };
    }
  } finally {
    closeSync(services.log);
    await bench.close();
  }
  return { runners };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function variantOf(samples: readonly ColdSample[]): ColdVariant {
  const inits = samples
    .map((sample) => sample.initMs)
    .filter((value): value is number => value !== undefined);
  const timeline = (pick: (timeline: ColdTimeline) => number) =>
    round(median(samples.map((sample) => pick(sample.timeline))));
  return {
    totalMs: roundSummary(summarize(samples.map((sample) => sample.totalMs))),
    bootMsP50: round(median(samples.map((sample) => sample.bootMs))),
    initMsP50: inits.length > 0 ? round(median(inits)) : undefined,
    invokeMsP50: round(median(samples.map((sample) => sample.invokeMs))),
    timelineP50: {
      loadedToFirstSecret: timeline((step) => step.loadedToFirstSecret),
      secretCalls: timeline((step) => step.secretCalls),
      firstToLastSecret: timeline((step) => step.firstToLastSecret),
      lastSecretToUpstream: timeline((step) => step.lastSecretToUpstream),
      upstreamToResponse: timeline((step) => step.upstreamToResponse),
    },
  };
}

export function roundSummary(summary: Summary, digits = 2): Summary {
  return {
    n: summary.n,
    p50: round(summary.p50, digits),
    p90: round(summary.p90, digits),
    p99: round(summary.p99, digits),
    mean: round(summary.mean, digits),
    min: round(summary.min, digits),
    max: round(summary.max, digits),
  };
}

function timelineOf(
  services: Services,
  loadedAt: number,
  receivedAt: number,
  spawnedAt: number,
): ColdTimeline {
  const secrets = services.secretsManager.arrivalsBetween(spawnedAt, receivedAt);
  const upstreamAt = services.upstream.arrivalsBetween(spawnedAt, receivedAt)[0] ?? Number.NaN;
  const first = secrets[0] ?? Number.NaN;
  const last = secrets.at(-1) ?? Number.NaN;
  return {
    loadedToFirstSecret: first - loadedAt,
    secretCalls: secrets.length,
    firstToLastSecret: last - first,
    lastSecretToUpstream: upstreamAt - last,
    upstreamToResponse: receivedAt - upstreamAt,
  };
}

function environmentOf(variant: Variant, services: Services): NodeJS.ProcessEnv {
  return lambdaEnvironment({
    functionName: `bench-${variant.name}`,
    taskRoot: variant.taskRoot,
    memorySize: variant.memorySize,
    templateEnvironment: variant.templateEnvironment,
    upstreamBaseUrl: services.upstream.url,
    secretsManagerUrl: services.secretsManager.url,
    dynamoDbUrl: services.dynamoDb.url,
  });
}

interface HarnessReport {
  readonly timeOrigin: number;
  readonly started: number;
  readonly loaded: number;
  readonly answered: number;
  readonly statusCode: number;
}

function runHarness(script: string, variant: Variant, services: Services): Promise<ColdSample> {
  const env = {
    ...environmentOf(variant, services),
    BENCH_TASK_ROOT: variant.taskRoot,
    BENCH_EVENT: JSON.stringify(variant.event),
  };
  return new Promise((resolve, reject) => {
    const spawnedAt = epochNow();
    const child = spawn(NODE, [script], {
      cwd: variant.taskRoot,
      env,
      stdio: ['ignore', services.log, services.log, 'pipe'],
    });
    let report = '';
    let receivedAt = 0;
    child.stdio[3]?.on('data', (part: Buffer) => {
      if (receivedAt === 0) receivedAt = epochNow();
      report += part.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || report === '') {
        reject(
          new Error(
            `${variant.name} cold start failed (exit ${code}):\n${tailOf(services.logFile)}`,
          ),
        );
        return;
      }
      const parsed = JSON.parse(report) as HarnessReport;
      if (parsed.statusCode !== 200) {
        reject(
          new Error(
            `${variant.name} answered ${parsed.statusCode} on its cold start:\n${tailOf(services.logFile)}`,
          ),
        );
        return;
      }
      const loadedAt = parsed.timeOrigin + parsed.loaded;
      resolve({
        totalMs: receivedAt - spawnedAt,
        bootMs: parsed.timeOrigin + parsed.started - spawnedAt,
        initMs: parsed.loaded - parsed.started,
        invokeMs: parsed.answered - parsed.loaded,
        timeline: timelineOf(services, loadedAt, receivedAt, spawnedAt),
      });
    });
  });
}

async function runRic(variant: Variant, services: Services): Promise<ColdSample> {
  const { spawnedAt, response } = await invokeOnceUnderRic({
    cwd: variant.taskRoot,
    env: environmentOf(variant, services),
    event: variant.event,
    functionName: `bench-${variant.name}`,
    timeoutMs: variant.timeoutMs,
    logFd: services.log,
    logFile: services.logFile,
    measure: () => undefined,
  });
  return {
    totalMs: response.receivedAt - spawnedAt,
    bootMs: response.firstPollAt - spawnedAt,
    initMs: undefined,
    invokeMs: response.receivedAt - response.firstPollAt,
    timeline: timelineOf(services, response.firstPollAt, response.receivedAt, spawnedAt),
  };
}
