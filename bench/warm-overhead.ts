import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { BuiltHarness } from './build-harness.ts';
import { roundSummary } from './cold-start.ts';
import { eventOf, upstreamRequestOf } from './events.ts';
import { LEDGER_TABLES, startBenchServices } from './instant-services.ts';
import { lambdaEnvironment } from './lambda-env.ts';
import { logFileOf, NODE, tailOf } from './processes.ts';
import { median, medianPairedDelta, round, type Summary, summarize } from './stats.ts';
import type { FunctionUnderTest } from './synth.ts';

/**
 * Warm overhead: each synthesized handler invoked over and over in one process (a warm execution
 * environment) against the instant upstream, in blocks alternating with a baseline that makes the
 * operation's upstream request with `fetch` directly. What the gateway adds per request (auth,
 * routing, validation, serialization, logging) is the difference of the two.
 */
export interface WarmOperation {
  readonly baselineUs: Summary;
  readonly gatewayUs: Summary;
  /**
   * Median over block pairs of (gateway block p50 − baseline block p50), µs: each pair ran back to
   * back in the same process, so drift of the shared machine cancels out.
   */
  readonly addedUsP50: number;
  /** p99(gateway) − p99(baseline), in microseconds. */
  readonly addedUsP99: number;
  /** Median over blocks of invocations per second (sequential, one at a time). */
  readonly baselinePerSecond: number;
  readonly gatewayPerSecond: number;
  /** Calls to the job ledger's table per invocation, by DynamoDB operation (counted by the instant DynamoDB). */
  readonly ledgerCallsPerRequest: Readonly<Record<string, number>>;
}

/** A run whose request sends `Idempotency-Key`: the submission plus its idempotency record. */
export const IDEMPOTENT_RUN_LABEL = 'run + Idempotency-Key';
/**
 * `stream` (a JSON poll of a job that ends with one chunk) with its stream journal on, as
 * deployed: the page and the journal's close are written on top of the lookup. The budgeted
 * `stream` row runs with the journal off, so it measures the gateway's own code as the other
 * rows do; this one shows what journaling costs.
 */
export const JOURNALED_STREAM_LABEL = 'stream + journal';
/**
 * `health` called with a key that has a request rate: its one counter update is the only
 * DynamoDB call, as the floor makes one read, so the row measures the limiter's own code.
 */
export const RATE_LIMITED_LABEL = 'health + key rate';

export interface WarmVariantResult {
  /** `LOG_LEVEL` the functions ran with. */
  readonly logLevel: string;
  readonly invocationsPerVariant: number;
  /** By label: the operation, or `<operation> (compare)` for a compared copy. */
  readonly operations: Readonly<Record<string, WarmOperation>>;
}

export interface WarmOverheadResult {
  /** As deployed (the template's log level), then any comparison levels. */
  readonly variants: readonly WarmVariantResult[];
}

interface WarmReport {
  readonly times: { readonly baseline: number[]; readonly gateway: number[] };
  readonly rates: { readonly baseline: number[]; readonly gateway: number[] };
}

export async function measureWarmOverhead(options: {
  readonly functions: readonly FunctionUnderTest[];
  readonly harness: BuiltHarness;
  readonly warmup: number;
  readonly blocks: number;
  readonly blockSize: number;
  /** Log levels to run, the first being the template's (as deployed). */
  readonly logLevels: readonly (string | undefined)[];
  readonly log: (line: string) => void;
}): Promise<WarmOverheadResult> {
  const services = await startBenchServices();
  const { upstream, secretsManager, token } = services;
  const variants: WarmVariantResult[] = [];
  try {
    for (const logLevel of options.logLevels) {
      const operations: Record<string, WarmOperation> = {};
      let effectiveLevel = logLevel ?? '';
      const noEnv: Readonly<Record<string, string>> = {};
      const journalOff: Readonly<Record<string, string>> = { STREAM_JOURNAL: 'off' };
      const runs = options.functions.flatMap((fn) =>
        fn.label === 'run'
          ? [
              { fn, label: fn.label, idempotent: false, env: noEnv },
              { fn, label: IDEMPOTENT_RUN_LABEL, idempotent: true, env: noEnv },
            ]
          : fn.label === 'health'
            ? [
                { fn, label: fn.label, idempotent: false, env: noEnv },
                { fn, label: RATE_LIMITED_LABEL, idempotent: false, env: noEnv },
              ]
            : fn.label === 'stream'
              ? [
                  {
                    fn,
                    label: fn.label,
                    idempotent: false,
                    env: journalOff,
                  },
                  { fn, label: JOURNALED_STREAM_LABEL, idempotent: false, env: noEnv },
                ]
              : [{ fn, label: fn.label, idempotent: false, env: noEnv }],
      );
      for (const { fn, label, idempotent, env: runEnv } of runs) {
        const { operation } = fn;
        const event = eventOf(
          operation,
          label === RATE_LIMITED_LABEL ? services.limitedToken : token,
        );
        // The instant DynamoDB always accepts the in-progress record, so every invocation takes
        // the path of a first request with this key.
        if (idempotent) {
          event.headers['Idempotency-Key'] = 'bench-idempotency-key';
          event.multiValueHeaders['Idempotency-Key'] = ['bench-idempotency-key'];
        }
        const ledgerBefore = services.dynamoDb.calls(LEDGER_TABLES.gateway);
        effectiveLevel = logLevel ?? fn.environment.LOG_LEVEL ?? 'INFO (the logger default)';
        const env = {
          ...lambdaEnvironment({
            functionName: `bench-${operation}`,
            taskRoot: fn.assetDir,
            memorySize: fn.memorySize,
            templateEnvironment: fn.environment,
            upstreamBaseUrl: upstream.url,
            secretsManagerUrl: secretsManager.url,
            dynamoDbUrl: services.dynamoDb.url,
            overrides: { ...runEnv, ...(logLevel === undefined ? {} : { LOG_LEVEL: logLevel }) },
          }),
          BENCH_TASK_ROOT: fn.assetDir,
          BENCH_EVENT: JSON.stringify(event),
          BENCH_BASELINE_REQUEST: JSON.stringify(upstreamRequestOf(operation, upstream.url)),
          BENCH_WARMUP: String(options.warmup),
          BENCH_BLOCKS: String(options.blocks),
          BENCH_BLOCK_SIZE: String(options.blockSize),
        };
        const report = await runWarmHarness(
          options.harness.warmHarness,
          fn.assetDir,
          env,
          `${label.replace(/\W+/g, '-')}-${logLevel ?? 'template'}`,
        );
        const invocations = options.warmup + options.blocks * options.blockSize;
        const ledgerAfter = services.dynamoDb.calls(LEDGER_TABLES.gateway);
        const ledgerCallsPerRequest: Record<string, number> = {};
        for (const [call, count] of Object.entries(ledgerAfter)) {
          // Rounded, so that the one read each process makes at cold start (the client's
          // warm-up) does not count as a per-request call.
          const perRequest = round((count - (ledgerBefore[call] ?? 0)) / invocations, 2);
          if (perRequest > 0) ledgerCallsPerRequest[call] = perRequest;
        }
        const baselineUs = summarize(report.times.baseline.map((ms) => ms * 1000));
        const gatewayUs = summarize(report.times.gateway.map((ms) => ms * 1000));
        const addedUsP50 = round(
          medianPairedDelta(
            blockMedians(report.times.gateway, options.blockSize),
            blockMedians(report.times.baseline, options.blockSize),
          ) * 1000,
          1,
        );
        operations[label] = {
          baselineUs: roundSummary(baselineUs, 1),
          gatewayUs: roundSummary(gatewayUs, 1),
          addedUsP50,
          addedUsP99: round(gatewayUs.p99 - baselineUs.p99, 1),
          baselinePerSecond: Math.round(median(report.rates.baseline)),
          gatewayPerSecond: Math.round(median(report.rates.gateway)),
          ledgerCallsPerRequest,
        };
        options.log(
          `  warm ${label} (log level ${effectiveLevel}): +${addedUsP50} µs p50 (${round(baselineUs.p50, 1)} → ${round(gatewayUs.p50, 1)} µs); ledger calls per request ${JSON.stringify(ledgerCallsPerRequest)}`,
        );
      }
      variants.push({
        logLevel: effectiveLevel,
        invocationsPerVariant: options.blocks * options.blockSize,
        operations,
      });
    }
  } finally {
    await services.close();
  }
  return { variants };
}

function runWarmHarness(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  name: string,
): Promise<WarmReport> {
  return new Promise((resolve, reject) => {
    // The function's log lines go to a file: nothing in the bench's process has to drain them
    // while the instant upstream (in this process) answers the function.
    const logFile = logFileOf(`warm-${name}`);
    const log = openSync(logFile, 'w');
    const child = spawn(NODE, [script], { cwd, env, stdio: ['ignore', log, log, 'pipe'] });
    closeSync(log);
    let report = '';
    const channel = child.stdio[3];
    if (!channel || !('on' in channel)) {
      reject(new Error('no report channel'));
      return;
    }
    channel.on('data', (part: Buffer) => {
      report += part.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || report === '')
        reject(new Error(`warm run of ${name} failed (exit ${code}):\n${tailOf(logFile)}`));
      else resolve(JSON.parse(report) as WarmReport);
    });
  });
}

/** The median of each consecutive block of `size` times. */
function blockMedians(times: readonly number[], size: number): number[] {
  const medians: number[] = [];
  for (let start = 0; start + size <= times.length; start += size)
    medians.push(median(times.slice(start, start + size)));
  return medians;
}
